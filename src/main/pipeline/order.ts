// Per-session FIFO on the main thread: a session's writes in flight (prepared, forwarded, or a
// sync being answered) and the requests that wait behind them, released in order as they apply.

import { assert } from '../../common/assert.js';
import { OpCode, Err } from '../../common/zk.js';
import type { SessionContext, WaitingRequest } from '../sessions/table.js';
import type { CoreState } from './core-state.js';
import { replyBare } from './replies.js';

/**
 * Per-session FIFO: a request runs at once unless it would overtake the session's writes in
 * flight. Writes pipeline (prepare validates against outstanding changes, and replies leave in
 * zxid order), so a write may join the writes in flight as long as nothing waits before it; any
 * other request waits until the session's writes have been applied. Once the session is
 * closing, nothing joins: what comes after its closeSession is answered after it.
 */
export function canRunNow(c: CoreState, s: SessionContext, op: number): boolean {
  if (s.waiting === null) return true;
  if (s.waiting!.length > 0 || s.barrier || s.closing) return false;
  return op !== OpCode.closeSession && c.db.isWrite(op);
}

/** One more write of the session in flight: what comes after it may have to wait (canRunNow). */
export function holdForWrite(s: SessionContext): void {
  s.writesInFlight++;
  if (s.waiting === null) s.waiting = [];
}

/** A session's write is applied: requests that waited behind it run now, in order. */
export function writeDone(c: CoreState, s: SessionContext): void {
  s.writesInFlight--;
  assert(s.writesInFlight >= 0, `session 0x${s.id.toString(16)}: writes in flight went negative`);
  if (s.writesInFlight > 0 || s.waiting === null) return;
  const waiting = s.waiting;
  s.waiting = null;
  for (let i = 0; i < waiting.length; i++) {
    const q = waiting[i]!;
    if (!canRunNow(c, s, q.op)) {
      (s.waiting as WaitingRequest[] | null)!.push(q); // behind a write in flight, in order
      continue;
    }
    if (s.closing && q.op !== OpCode.closeSession) {
      replyBare(c, s.worker, s.hi, s.lo, q.xid, Err.sessionExpired);
      continue;
    }
    c.execute(s, q.xid, q.op, q.body, 0, q.body.length);
  }
}
