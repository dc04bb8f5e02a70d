// Sync barriers: a session's sync is answered once this member has applied every write its
// leader had accepted when the sync reached it; nothing of the session overtakes it meanwhile.

import { Err, OpCode } from '../../common/zk.js';
import { forwardWrite } from '../forwarding/forward.js';
import type { SessionContext } from '../sessions/table.js';
import type { CoreState } from './core-state.js';
import { holdForWrite, writeDone } from './order.js';
import { replyWith } from './replies.js';

export interface AwaitingSync {
  readonly s: SessionContext;
  readonly worker: number;
  readonly xid: number;
  readonly path: string;
  readonly zxid: number;
}

/**
 * sync (ZooKeeper: Leader.processSync / Learner's SYNC): the answer waits until this member
 * has applied every write its leader had accepted when the sync reached it. A learner asks the
 * leader for that point (a forwarded sync); the leader's is its last prepared zxid. Nothing of
 * the session overtakes a sync (per-session FIFO).
 */
export function sync(c: CoreState, s: SessionContext, xid: number, path: string): void {
  if (!c.isEnsemble()) {
    replyWith(c, s, xid, c.db.lastZxid, Err.ok, { op: OpCode.sync, res: { path } });
    return;
  }
  s.barrier = true;
  if (!c.canOrderWrites()) {
    c.writer.reset();
    c.writer.writeString(path);
    forwardWrite(c, s, xid, OpCode.sync, Uint8Array.from(c.writer.bytes()), 'sync');
    return;
  }
  holdForWrite(s);
  awaitSync(c, s, xid, path, c.db.lastPreparedZxid);
}

/** A sync answered once `zxid` is applied here (now, if it already is). */
export function awaitSync(c: CoreState, s: SessionContext, xid: number, path: string, zxid: number): void {
  const worker = s.worker;
  if (c.db.lastZxid >= zxid) syncDone(c, { s, worker, xid, path, zxid });
  else c.syncsAwaiting.push({ s, worker, xid, path, zxid });
}

function syncDone(c: CoreState, w: AwaitingSync): void {
  const s = w.s;
  if (c.sessions.get(s.hi, s.lo) !== s) return;
  s.barrier = false;
  if (w.worker === s.worker) replyWith(c, s, w.xid, c.db.lastZxid, Err.ok, { op: OpCode.sync, res: { path: w.path } });
  writeDone(c, s);
}

/** After an apply: syncs whose point is reached are answered (all of them, with `all`). */
export function releaseSyncs(c: CoreState, all: boolean): void {
  const applied = c.db.lastZxid;
  const due = c.syncsAwaiting.filter((w) => all || w.zxid <= applied);
  if (due.length === 0) return;
  c.syncsAwaiting = c.syncsAwaiting.filter((w) => !due.includes(w));
  for (const w of due) syncDone(c, w);
}
