// SNAP sync on the main thread (driver.ts): the whole state replaced by the leader's snapshot at
// once, with the watch events, session ends and answers that applying it txn by txn would give.

import type { ACL } from '../../common/acl.js';
import { Err, EventType } from '../../common/zk.js';
import { SessionEndReason } from '../../shm/records.js';
import { detachedSession } from '../sessions/lifecycle.js';
import { fanOut } from '../watches/fan-out.js';
import type { CoreState } from './core-state.js';
import type { ZkDatabase } from './database.js';
import { writeDone } from './order.js';

/** The global sessions (id -> timeout ms) that a SNAP image of the applied state carries. */
export function globalSessions(c: CoreState): Map<bigint, number> {
  const out = new Map<bigint, number>();
  for (const s of c.sessions.all()) if (!s.local) out.set(BigInt.asUintN(64, s.id), s.timeoutMs);
  return out;
}

/**
 * SNAP sync, learner side: `load` replaces the tree by the leader's snapshot at `zxid` and
 * returns its global sessions. Clients keep their connections across a sync, so:
 *   - writes already sent to a leader fail with ConnectionLoss: one committed inside the
 *     snapshot is never applied here one by one, so it would never be matched, and resending
 *     it would apply it twice (parked ones, never sent, go to the leader as usual); a
 *     createSession whose session the snapshot holds was committed: its client is answered;
 *   - every watch on a path that differs fires (created, deleted, data or children changed,
 *     from each node's zxids), as if the txns in between had been applied one by one;
 *   - global sessions the snapshot lacks end here (their createSession never committed, or
 *     their closeSession did); those it adds are kept detached, as after recovery.
 */
export function replaceState(c: CoreState, zxid: number, load: () => ReadonlyMap<bigint, number>): void {
  for (const w of c.learnerRequests.takeSentWrites()) {
    const s = w.s;
    if (c.sessions.get(s.hi, s.lo) !== s) continue;
    if (!w.silent && w.worker === s.worker) c.out.reply(s.worker, s, w.xid, c.db.lastZxid, Err.connectionLoss, null, 0);
    writeDone(c, s);
  }
  const before = nodeStamps(c.db.tree);
  const sessions = load();
  c.db.lastZxid = zxid;
  c.db.resetPipeline(zxid);
  c.onApplied(zxid);
  const after = nodeStamps(c.db.tree);
  for (const [path, old] of before) {
    const now = after.get(path);
    if (now === undefined) {
      fanOut(c, path, EventType.nodeDeleted, zxid, old.acl);
      continue;
    }
    if (now.czxid !== old.czxid || now.mzxid !== old.mzxid) fanOut(c, path, EventType.nodeDataChanged, zxid, now.acl);
    if (now.czxid !== old.czxid || now.pzxid !== old.pzxid || now.cversion !== old.cversion) {
      fanOut(c, path, EventType.nodeChildrenChanged, zxid, now.acl);
    }
  }
  for (const [path, now] of after) if (!before.has(path)) fanOut(c, path, EventType.nodeCreated, zxid, now.acl);
  const nowMs = c.now();
  for (const s of [...c.sessions.all()]) {
    const id = BigInt.asUintN(64, s.id);
    if (s.local) continue;
    const w = c.learnerRequests.peekCreate(id);
    if (w !== undefined) {
      // Its createSession committed inside the snapshot: answer it; else it is still on its
      // way (parked, or in the stream after the snapshot) and is answered when applied.
      if (sessions.has(id) && c.learnerRequests.takeCreate(id) !== undefined && w.s === s) {
        c.out.attached(s.worker, s.hi, s.lo, w.connId, Err.ok, s.timeoutMs, 0);
      }
      continue;
    }
    if (sessions.has(id)) continue;
    c.sessions.remove(s);
    if (s.worker >= 0) c.out.sessionEnd(s.worker, s, SessionEndReason.expired);
  }
  for (const [id, timeoutMs] of sessions) {
    if (c.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn)) === undefined) {
      c.sessions.add(detachedSession(id, timeoutMs), nowMs);
    }
  }
  c.logger.info({ zxid: `0x${zxid.toString(16)}`, nodes: after.size, sessions: sessions.size }, 'state replaced by a snapshot from the leader');
  c.out.flush();
}

/** What replaceState compares per node: enough to tell which watches a change would fire. */
interface NodeStamp {
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly cversion: number;
  /** For the READ filter of the events the comparison raises. */
  readonly acl: readonly ACL[];
}

function nodeStamps(tree: ZkDatabase['tree']): Map<string, NodeStamp> {
  const out = new Map<string, NodeStamp>();
  const stack = ['/'];
  for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
    const node = tree.getNode(path);
    if (node === undefined) continue;
    out.set(path, { czxid: node.czxid, mzxid: node.mzxid, pzxid: node.pzxid, cversion: node.cversion, acl: node.acl });
    if (node.children === null) continue;
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const name of node.children) stack.push(prefix + name);
  }
  return out;
}
