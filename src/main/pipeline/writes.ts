// The write path of a standalone server or a leader: a prepared txn goes to the log stage
// (standalone: group commit) or to Zab (ensemble), is applied once durable or committed, and its
// reply, session change and watch events go out; writes proposed and lost with leadership fail.

import { assert } from '../../common/assert.js';
import { sessionIdHex } from '../../common/ids.js';
import { Err, OpCode } from '../../common/zk.js';
import { SessionEndReason } from '../../shm/records.js';
import { applySessionTxn } from '../sessions/lifecycle.js';
import type { SessionContext } from '../sessions/table.js';
import { fanOut } from '../watches/fan-out.js';
import type { CoreState } from './core-state.js';
import type { ApplyResult, PreparedTxn } from './database.js';
import { holdForWrite, writeDone } from './order.js';
import { replyBare, replyWith } from './replies.js';
import { releaseSyncs } from './sync.js';

/** What a write is for, once it is durable and applied. */
export const WriteFor = {
  request: 0,
  createSession: 1,
  upgrade: 2,
  expire: 3,
  container: 4,
  /** The leader: a write a learner forwarded; the learner answers its client. */
  forwarded: 5,
  /** The server's own write (the session secret). */
  system: 6,
} as const;

export interface InFlightWrite {
  p: PreparedTxn;
  for: number;
  s: SessionContext | null;
  xid: number;
  connId: number;
  op: number;
  /** The leader: the member that forwarded it (a createSession's owner). */
  from?: number;
  /** The worker of the session's connection when it started (set by startWrite). */
  worker?: number;
}

/**
 * Writes a client may send that are refused through an error txn (so the answer keeps its place
 * among the session's writes), before their body is read; Err.ok for every other opcode.
 *   - reconfig: reconfigEnabled is false (zkts has no dynamic reconfiguration): ZooKeeper answers
 *     ReconfigDisabled.
 *   - deleteContainer: only ContainerManager issues it, and it checks no ACL. ZooKeeper's
 *     PrepRequestProcessor reads a client's as a path made of the whole packet, header included,
 *     whose NUL bytes make it BadArguments; zkts refuses it the same way, on purpose.
 * (createSession, error and notification from a client never get here: the worker answers them
 * Unimplemented and closes. ZooKeeper does so for error and notification, which Request.isValid
 * leaves out; a client's createSession it lets into its pipeline, zkts does not.)
 */
export function refusedWrite(op: number): number {
  if (op === OpCode.reconfig) return Err.reconfigDisabled;
  if (op === OpCode.deleteContainer) return Err.badArguments;
  return Err.ok;
}

export function startWrite(c: CoreState, w: InFlightWrite): void {
  if (w.s !== null) {
    w.worker = w.s.worker;
    holdForWrite(w.s);
  }
  if (c.replication !== null) {
    c.proposed.set(w.p.hdr.zxid, w);
    c.replication.propose(w.p);
    return;
  }
  c.inFlight.push(w);
  c.log.append(w.p);
  requestFlush(c);
}

function requestFlush(c: CoreState): void {
  if (c.flushing) {
    c.flushAgain = true;
    return;
  }
  c.flushing = true;
  const batch = c.inFlight.length;
  c.log.flush(() => flushDone(c, batch));
}

function flushDone(c: CoreState, batch: number): void {
  const done = c.inFlight.splice(0, batch);
  for (const w of done) applyWrite(c, w);
  c.out.flush();
  c.flushing = false;
  if (c.flushAgain || c.inFlight.length > 0) {
    c.flushAgain = false;
    if (c.inFlight.length > 0) requestFlush(c);
  }
}

/** A txn into the tree, in zxid order; its watch events go out. */
function applyInOrder(c: CoreState, p: PreparedTxn): ApplyResult {
  const zxid = p.hdr.zxid;
  assert(zxid > c.db.lastZxid, `txn 0x${zxid.toString(16)} applied after 0x${c.db.lastZxid.toString(16)}`);
  const result = c.db.apply(p);
  c.onApplied(zxid);
  for (const t of result.triggers) fanOut(c, t.path, t.type, zxid, t.acl);
  return result;
}

function applyWrite(c: CoreState, w: InFlightWrite): void {
  const result = applyInOrder(c, w.p);
  const zxid = w.p.hdr.zxid;
  const s = w.s;
  switch (w.for) {
    case WriteFor.request:
      if (s === null) break;
      // (not once the session moved to another worker: its old connection is gone there)
      if (w.worker === s.worker) replyWith(c, s, w.xid, zxid, result.err, result.response);
      if (w.op === OpCode.closeSession) {
        c.sessions.remove(s);
        c.out.sessionEnd(s.worker, s, SessionEndReason.closed);
      }
      break;
    case WriteFor.createSession:
      if (s === null) break;
      c.logger.info({ session: sessionIdHex(s.id), timeoutMs: s.timeoutMs }, 'session created');
      c.out.attached(s.worker, s.hi, s.lo, w.connId, Err.ok, s.timeoutMs, 0);
      break;
    case WriteFor.expire:
      if (s === null) break;
      c.sessions.remove(s);
      c.out.sessionEnd(s.worker, s, SessionEndReason.expired);
      break;
    case WriteFor.forwarded:
      applySessionTxn(c, w.p);
      if (w.p.hdr.type === OpCode.createSession && w.from !== undefined && w.from >= 0) {
        const id = BigInt.asUintN(64, BigInt(w.p.hdr.clientId));
        const created = c.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
        if (created !== undefined && created.owner < 0) created.owner = w.from;
      }
      break;
    default:
      break;
  }
  if (s !== null) writeDone(c, s);
}

/**
 * A committed txn (driver.ts): the write this member proposed, or one ordered elsewhere. A
 * learner answers the client whose forwarded write the txn carries (CommitProcessor matches
 * the txn's (session, cxid) to the waiting local request).
 */
export function applyCommitted(c: CoreState, p: PreparedTxn): void {
  const zxid = p.hdr.zxid;
  const w = c.proposed.get(zxid);
  if (w !== undefined) {
    c.proposed.delete(zxid);
    applyWrite(c, w);
    if (c.syncsAwaiting.length > 0) releaseSyncs(c, false);
    return;
  }
  const result = applyInOrder(c, p);
  if (c.learnerRequests.size > 0) {
    const f = c.learnerRequests.takeWrite(p.hdr.clientId, p.hdr.cxid);
    if (f !== undefined && c.sessions.get(f.s.hi, f.s.lo) === f.s) {
      // (else the session ended meanwhile)
      if (f.op === OpCode.closeSession && p.hdr.type === OpCode.error) {
        // Refused (SessionMoved): the session lives on.
        f.s.closing = false;
        c.sessions.touch(f.s, c.now());
      }
      if (!f.silent && f.worker === f.s.worker) replyWith(c, f.s, f.xid, zxid, result.err, result.response);
      writeDone(c, f.s);
    }
  }
  applySessionTxn(c, p);
  if (c.syncsAwaiting.length > 0) releaseSyncs(c, false);
}

/**
 * Leadership lost (or a proposal could not be made): writes proposed and not applied will not
 * be answered by this member. Their clients get ConnectionLoss (the write may still commit
 * under the next leader, as ZooKeeper's clients must assume after a disconnect), and prepared
 * changes are forgotten.
 */
export function abortProposed(c: CoreState): void {
  const ws = [...c.proposed.values()];
  c.proposed.clear();
  for (const w of ws) {
    const s = w.s;
    if (s === null) continue;
    if (w.for === WriteFor.request && w.worker === s.worker) replyBare(c, s.worker, s.hi, s.lo, w.xid, Err.connectionLoss);
    else if (w.for === WriteFor.createSession) {
      c.sessions.remove(s);
      c.out.attached(s.worker, s.hi, s.lo, w.connId, Err.sessionExpired, 0, 0);
    }
    if (s.closing && w.for !== WriteFor.request) s.closing = false;
    writeDone(c, s);
  }
  c.db.resetPipeline(c.db.lastZxid);
  c.out.flush();
}
