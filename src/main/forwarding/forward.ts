// Forwarded requests, both sides. A learner sends its clients' writes, global createSessions,
// syncs and reconnect revalidations to the leader (or parks them: learner-requests.ts), and
// answers them from the committed txns or the leader's refusals; the leader prepares what
// learners forward and keeps each global session's owner.

import { sessionIdHex } from '../../common/ids.js';
import { Err, OpCode } from '../../common/zk.js';
import { JuteError, JuteReader, decodeRequest } from '../../protocol/jute/index.js';
import type { ClientRequest } from '../../protocol/types.js';
import type { ForwardMsg } from '../net/codec.js';
import type { RequestContext } from '../pipeline/context.js';
import type { CoreState } from '../pipeline/core-state.js';
import type { PreparedTxn } from '../pipeline/database.js';
import { holdForWrite, writeDone } from '../pipeline/order.js';
import { releaseSyncs, awaitSync } from '../pipeline/sync.js';
import { WriteFor, refusedWrite, startWrite } from '../pipeline/writes.js';
import { attachHere, claim, closeSession } from '../sessions/lifecycle.js';
import type { SessionContext } from '../sessions/table.js';
import type { WaitingCreate, WaitingWrite } from './learner-requests.js';

export type ForwardRequest = Extract<ForwardMsg, { type: 'REQUEST' }>;
export type ForwardError = Extract<ForwardMsg, { type: 'REQUESTERROR' }>;

/**
 * A learner's revalidation of a reconnect (ZooKeeper's Learner.validateSession / REVALIDATE): a
 * forwarded REQUEST with this op and cxid and an empty body; the leader makes the learner the
 * session's owner and answers with a REQUESTERROR of the same cxid (Ok, or SessionExpired). The
 * leader's REQUESTERROR of this cxid with SessionMoved, unasked, tells a learner that a session it
 * held moved to another member. No client sends a ping through the ring, and no client xid is
 * this one (see upgradeXid), so neither can be mistaken for a client's request; a leader from
 * before this refuses it (BadArguments), and the learner then attaches alone, as before.
 */
export const revalidateOp = OpCode.ping;
export const revalidateXid = -11;

/**
 * The cxid of a learner's upgrade createSession (its txn carries it back): not 0, which some
 * clients (node-zookeeper-client) use for their first request, and no client xid (clients count
 * up from 0 or 1; ZooKeeper's negative xids are -1 notification, -2 ping, -4 auth, -8
 * setWatches).
 */
export const upgradeXid = -10;

/** A reconnect on a learner, waiting for the leader's revalidation. */
export interface Revalidating {
  worker: number;
  connId: number;
  timeoutMs: number;
  ip: string;
}

// ---- a learner: sending ------------------------------------------------------------------

/** A learner: sends a message to the leader; its epoch, or -1 without a synced leader. */
export function sendForward(c: CoreState, m: ForwardMsg): number {
  const r = c.replication;
  return r === null || r.forward === undefined ? -1 : r.forward(m);
}

/** A learner: a new global session's createSession to the leader; false if none is synced. */
export function sendCreate(c: CoreState, w: WaitingCreate): number {
  return sendForward(c, {
    type: 'REQUEST',
    session: w.s.id,
    cxid: 0,
    op: OpCode.createSession,
    body: new Uint8Array(0),
    authIds: [{ scheme: 'ip', id: w.s.authIds[0]?.id ?? '' }],
    timeoutMs: w.s.timeoutMs,
    local: false,
  });
}

function sendWrite(c: CoreState, w: WaitingWrite): number {
  const s = w.s;
  return sendForward(c, {
    type: 'REQUEST',
    session: s.id,
    cxid: w.xid,
    op: w.op,
    body: w.body,
    authIds: s.authIds.map((a) => ({ scheme: a.scheme, id: a.id })),
    timeoutMs: s.timeoutMs,
    local: s.local,
  });
}

/** A waiting request went to the leader of `epoch` (-1: none is synced, it stays parked). */
export function noteSent(c: CoreState, x: WaitingWrite | WaitingCreate, epoch: number): void {
  if (epoch >= 0) c.learnerRequests.markSent(x, epoch);
}

/** A learner: a createSession that will not be answered fails its client. */
function failCreate(c: CoreState, w: WaitingCreate): void {
  const s = w.s;
  if (c.sessions.get(s.hi, s.lo) !== s) return;
  c.sessions.remove(s);
  c.out.attached(s.worker, s.hi, s.lo, w.connId, Err.sessionExpired, 0, 0);
}

/**
 * A learner: a client write goes to the leader, or waits for one (learner-requests.ts); it is
 * answered when its committed txn is applied here. False without a forwarding channel.
 */
export function forwardWrite(
  c: CoreState,
  s: SessionContext,
  xid: number,
  op: number,
  body: Uint8Array,
  kind: 'write' | 'upgrade' | 'sync' = 'write',
): boolean {
  const silent = kind === 'upgrade';
  if (!c.isEnsemble()) return false;
  if (c.learnerRequests.hasWrite(s.id, xid)) {
    // The same xid twice while the first waits: the client broke its own order.
    c.out.reply(s.worker, s, xid, c.db.lastZxid, Err.connectionLoss, null, 0);
    return true;
  }
  const w: WaitingWrite = { s, worker: s.worker, xid, op, body, silent, pending: true, epoch: -1, since: c.now() };
  const mayGo = !c.learnerRequests.anyPending; // (else it goes behind what waits)
  c.learnerRequests.addWrite(w);
  if (mayGo) noteSent(c, w, sendWrite(c, w));
  if (kind === 'write') c.stats.writes++;
  holdForWrite(s);
  return true;
}

// ---- the leader --------------------------------------------------------------------------

/**
 * The leader: a write a learner forwarded, prepared with the session's context as the message
 * carries it and proposed like a local write; nobody is answered here (the learner answers
 * when it applies the txn). Returns null, or the answer to send back (a refusal before
 * proposing, or a sync's point).
 */
export function onForwardedRequest(c: CoreState, m: ForwardRequest, from: number): ForwardError | null {
  const refuse = (err: number): ForwardError => ({ type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err, zxid: 0 });
  if (!c.canOrderWrites()) return refuse(Err.connectionLoss);
  // Session 0 is the server's own (containers, the session secret); no client has it.
  if (m.session === 0n) return refuse(Err.badArguments);
  const known = m.local ? undefined : c.sessions.get(Number(m.session >> 32n), Number(m.session & 0xffffffffn));
  if (m.op === revalidateOp && m.cxid === revalidateXid) {
    // Learner.validateSession: a client reconnected to `from` (LearnerHandler REVALIDATE).
    if (known === undefined || known.local || known.closing || from < 0) return refuse(Err.sessionExpired);
    claim(c, known, from);
    c.sessions.touch(known, c.now());
    return refuse(Err.ok);
  }
  if (m.op === OpCode.sync) {
    // Leader.processSync: the learner answers once it has applied what was accepted here.
    return { type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err: Err.ok, zxid: c.db.lastPreparedZxid };
  }
  const ctx: RequestContext = { sessionId: m.session, cxid: m.cxid, authIds: m.authIds, isLocalSession: m.local };
  const now = c.now();
  let p: PreparedTxn;
  if (m.op === OpCode.createSession) {
    // A global session created on a learner (LearnerSessionTracker → the leader's createSession).
    const hi = Number(m.session >> 32n);
    const lo = Number(m.session & 0xffffffffn);
    if (m.local || m.timeoutMs <= 0 || c.sessions.get(hi, lo) !== undefined) return refuse(Err.badArguments);
    p = c.db.prepare(ctx, { op: OpCode.createSession, req: null, timeOut: m.timeoutMs }, now);
  } else if (
    known !== undefined &&
    !known.local &&
    from >= 0 &&
    known.owner >= 0 &&
    known.owner !== from &&
    (c.db.isWrite(m.op) || m.op === OpCode.reconfig)
  ) {
    // PrepRequestProcessor's checkSession(owner): the session moved to another member since.
    // An error txn, so the answer keeps its place among the session's forwarded writes.
    c.logger.info({ session: sessionIdHex(known.id), from, owner: known.owner, op: m.op }, 'write from a session that moved: SessionMoved');
    p = c.db.prepareError(ctx, Err.sessionMoved, now);
  } else if (m.op === OpCode.closeSession) {
    const s = c.sessions.get(Number(m.session >> 32n), Number(m.session & 0xffffffffn));
    if (m.local || s === undefined || s.local || s.closing) return refuse(Err.sessionExpired);
    s.closing = true;
    c.sessions.unbucket(s);
    p = c.db.prepare(ctx, { op: OpCode.closeSession, req: null }, now);
  } else if (refusedWrite(m.op) !== Err.ok) {
    p = c.db.prepareError(ctx, refusedWrite(m.op), now);
  } else if (!c.db.isWrite(m.op)) {
    return refuse(Err.badArguments);
  } else {
    let request: ClientRequest | null = null;
    try {
      request = decodeRequest(m.op, c.reader.reset(m.body, 0, m.body.length));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
    }
    // A body that cannot be read is answered through an error txn, so the answer keeps its
    // place among the session's other forwarded writes.
    p = request === null ? c.db.prepareError(ctx, Err.marshallingError, now) : c.db.prepare(ctx, request, now);
  }
  if (known !== undefined && known.owner < 0 && from >= 0 && m.op !== OpCode.createSession) known.owner = from;
  c.stats.writes++;
  startWrite(c, { p, for: WriteFor.forwarded, s: null, xid: m.cxid, connId: 0, op: m.op, from });
  return null;
}

// ---- a learner: answers and leader changes -------------------------------------------------

/** A learner: the leader's answer to a revalidation, or word that a session moved away. */
function onRevalidated(c: CoreState, m: ForwardError): void {
  const hi = Number(m.session >> 32n);
  const lo = Number(m.session & 0xffffffffn);
  const s = c.sessions.get(hi, lo);
  if (m.err === Err.sessionMoved) {
    if (s !== undefined && !s.local) {
      c.logger.info({ session: sessionIdHex(s.id) }, 'session moved to another member: its connection here is fenced');
      s.movedAway = true;
    }
    return;
  }
  const r = c.revalidating.get(m.session);
  if (r === undefined) return;
  c.revalidating.delete(m.session);
  if (s === undefined || s.closing || m.err === Err.sessionExpired) {
    c.out.attached(r.worker, hi, lo, r.connId, Err.sessionExpired, 0, 0);
    return;
  }
  // Ok; or a leader that does not revalidate (an older zkts) or stopped leading: attach alone.
  attachHere(c, s, r);
}

/**
 * A learner: the leader refused a forwarded write before proposing it. ConnectionLoss means
 * the member was not (or no longer) leading: the request waits for the next leader instead.
 */
export function onForwardError(c: CoreState, m: ForwardError): void {
  if (m.cxid === revalidateXid) {
    onRevalidated(c, m);
    return;
  }
  if (m.err === Err.ok) {
    // A sync's answer: wait until the leader's point is applied here.
    const w = c.learnerRequests.takeWrite(m.session, m.cxid);
    if (w === undefined || w.op !== OpCode.sync) return;
    const path = new JuteReader().reset(w.body, 0, w.body.length).readString() ?? '/';
    awaitSync(c, w.s, w.xid, path, m.zxid);
    return;
  }
  if (m.cxid === 0 && c.learnerRequests.hasCreate(m.session)) {
    if (m.err === Err.connectionLoss) {
      c.learnerRequests.park(c.learnerRequests.peekCreate(m.session)!);
      return;
    }
    failCreate(c, c.learnerRequests.takeCreate(m.session)!);
    return;
  }
  if (m.err === Err.connectionLoss) {
    const w = c.learnerRequests.peekWrite(m.session, m.cxid);
    if (w !== undefined) c.learnerRequests.park(w);
    return;
  }
  const f = c.learnerRequests.takeWrite(m.session, m.cxid);
  if (f === undefined || c.sessions.get(f.s.hi, f.s.lo) !== f.s) return;
  if (f.op === OpCode.sync) f.s.barrier = false;
  if (!f.silent && f.worker === f.s.worker) c.out.reply(f.s.worker, f.s, f.xid, c.db.lastZxid, m.err, null, 0);
  writeDone(c, f.s);
}

/**
 * A learner lost its leader. ZooKeeper closes every client connection here; zkts keeps them
 * (sessions live on, reads go on) and keeps their writes and createSessions, which wait for the
 * next leader (learner-requests.ts).
 */
export function leaderLost(c: CoreState): void {
  c.learnerRequests.leaderLost();
  // Reconnects the lost leader did not answer attach here alone (as without a leader).
  const waiting = [...c.revalidating];
  c.revalidating.clear();
  for (const [id, r] of waiting) {
    const s = c.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
    if (s === undefined || s.closing) c.out.attached(r.worker, Number(id >> 32n), Number(id & 0xffffffffn), r.connId, Err.sessionExpired, 0, 0);
    else attachHere(c, s, r);
  }
  c.out.flush();
}

/**
 * A leader is synced again (`epoch`): what waited for it goes to it, in request order. When
 * this member is the new leader, it orders them itself (its history, already applied, holds
 * whatever of them the old epoch committed).
 */
export function resumeLearnerRequests(c: CoreState, epoch: number): void {
  // Synced with a leader: this member has applied whatever an older leader's sync point
  // covered that can still commit.
  if (c.syncsAwaiting.length > 0) releaseSyncs(c, true);
  if (!c.learnerRequests.anyPending) return;
  const { creates, writes } = c.learnerRequests.toSend(epoch);
  const leading = c.canOrderWrites();
  const now = c.now();
  for (const [id, w] of creates) {
    const s = w.s;
    if (c.sessions.get(s.hi, s.lo) !== s) {
      c.learnerRequests.takeCreate(id);
      continue;
    }
    if (leading) {
      c.learnerRequests.takeCreate(id);
      const p = c.db.prepare(c.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: s.timeoutMs }, now);
      startWrite(c, { p, for: WriteFor.createSession, s, xid: 0, connId: w.connId, op: OpCode.createSession });
      continue;
    }
    const e = sendCreate(c, w);
    if (e < 0) return c.out.flush(); // lost it again: the rest stays pending, in order
    noteSent(c, w, e);
  }
  for (const w of writes) {
    const s = w.s;
    if (c.sessions.get(s.hi, s.lo) !== s) {
      c.learnerRequests.takeWrite(s.id, w.xid);
      continue;
    }
    if (!leading) {
      const e = sendWrite(c, w);
      if (e < 0) break;
      noteSent(c, w, e);
      continue;
    }
    c.learnerRequests.takeWrite(s.id, w.xid);
    if (w.worker !== s.worker) {
      // From a connection the session has left (another worker took it): dropped, unanswered.
      writeDone(c, s);
      continue;
    }
    if (w.silent) {
      // A local session's upgrade: its createSession, then the write behind it.
      const p = c.db.prepare(c.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: s.timeoutMs }, now);
      startWrite(c, { p, for: WriteFor.upgrade, s, xid: 0, connId: s.connId, op: OpCode.createSession });
    } else if (w.op === OpCode.closeSession) {
      closeSession(c, s, w.xid);
    } else {
      c.execute(s, w.xid, w.op, w.body, 0, w.body.length);
    }
    // The waiting entry counted as a write in flight; what execute started counts for itself.
    writeDone(c, s);
  }
  c.out.flush();
}

/** A learner, each tick: what waited longer than its session timeout is answered now. */
export function failOverdue(c: CoreState, now: number): void {
  const { creates, writes } = c.learnerRequests.takeOverdue(now);
  for (const [, w] of creates) failCreate(c, w);
  for (const w of writes) {
    const s = w.s;
    if (c.sessions.get(s.hi, s.lo) !== s) continue;
    c.logger.warn({ session: sessionIdHex(s.id), xid: w.xid, op: w.op }, 'no leader answered a forwarded write within the session timeout');
    if (w.op === OpCode.sync) s.barrier = false;
    if (!w.silent && w.worker === s.worker) c.out.reply(s.worker, s, w.xid, c.db.lastZxid, Err.connectionLoss, null, 0);
    writeDone(c, s);
  }
}
