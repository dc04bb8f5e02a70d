// Who may see a watch event: the READ audience of the ACL of the node it is about, in the form the
// event record carries to the workers (EventReaders). ZooKeeper 3.8.4 checks READ for each watcher
// as the event is delivered (ServerCnxn.process with the node's ACL, CVE-2024-23944); zkts works
// the ACL out once per event on the main thread, and each worker matches it against the ids of
// the sessions it notifies. Nodes share a handful of ACL lists (the tree interns them), so the
// answer is cached per list.

import { type ACL, x509ReaderId } from '../../common/acl.js';
import { Perms } from '../../common/zk.js';
import { eventReadersBytesMax } from '../../shm/limits.js';
import { eventReadersBytes, type EventReaders } from '../../shm/records.js';

/** The readers of an ACL that no list fits in an event record: only super sessions see it. */
export const superOnlyReaders: EventReaders = Object.freeze({
  digestIds: Object.freeze([]) as readonly string[],
  ipIds: Object.freeze([]) as readonly string[],
});

/** One cached answer: the readers (null: everyone), and whether they were too many to send. */
interface Audience {
  readonly readers: EventReaders | null;
  readonly truncated: boolean;
}

const cache = new WeakMap<readonly ACL[], Audience>();

/**
 * The readers of a node with `acl` (null for a node that is gone: setWatches' NodeDeleted, which
 * ZooKeeper delivers unchecked). Only the schemes zkts authenticates count: digest (the worker
 * holds each session's digest ids), x509 (its connections' certificate subjects, carried among the
 * digest ids as x509ReaderId) and ip (the connection's address). An entry of any other
 * scheme matches nobody, as checkAcl finds no id of that scheme on a session.
 */
export function readersOf(acl: readonly ACL[] | null): Audience {
  if (acl === null || acl.length === 0) return everyone;
  let audience = cache.get(acl);
  if (audience === undefined) {
    audience = compute(acl);
    cache.set(acl, audience);
  }
  return audience;
}

const everyone: Audience = Object.freeze({ readers: null, truncated: false });

function compute(acl: readonly ACL[]): Audience {
  const digestIds = new Set<string>();
  const ipIds = new Set<string>();
  for (const a of acl) {
    if ((a.perms & Perms.read) === 0) continue;
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') return everyone;
    if (scheme === 'digest') digestIds.add(id);
    else if (scheme === 'x509') digestIds.add(x509ReaderId(id));
    else if (scheme === 'ip') ipIds.add(id);
  }
  const readers: EventReaders = { digestIds: [...digestIds], ipIds: [...ipIds] };
  if (eventReadersBytes(readers) > eventReadersBytesMax) {
    return Object.freeze({ readers: superOnlyReaders, truncated: true });
  }
  return Object.freeze({ readers, truncated: false });
}
