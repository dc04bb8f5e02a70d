// The core's side of watches: a watch registered with the router and its worker, and a change
// event sent once to each worker watching the path, with who may read it.

import type { ACL } from '../../common/acl.js';
import type { CoreState } from '../pipeline/core-state.js';
import type { SessionContext } from '../sessions/table.js';
import { readersOf } from './readers.js';

/**
 * Sends an event once to each worker watching `path`, with who may see it: the READ audience
 * of `acl`, the ACL of the node the event is about (CVE-2024-23944; null: no check).
 */
export function fanOut(c: CoreState, path: string, type: number, zxid: number, acl: readonly ACL[] | null): void {
  let workers = c.router.route(path, type);
  if (workers === 0) return;
  const audience = readersOf(acl);
  if (audience.truncated && !c.warnedReadersTruncated) {
    c.warnedReadersTruncated = true;
    c.logger.warn({ path, aclEntries: acl?.length }, 'watch event readers too many to send: only super sessions see events on nodes with this ACL');
  }
  for (let worker = 0; workers !== 0; worker++, workers >>>= 1) {
    if ((workers & 1) !== 0) c.out.event(worker, 0, 0, type, zxid, path, audience.readers);
  }
}

export function registerWatch(c: CoreState, s: SessionContext, kind: number, path: string): void {
  c.router.register(s.worker, kind, path);
  c.out.watchRegister(s.worker, s, kind, path);
}
