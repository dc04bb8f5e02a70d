// A session's life on the main thread: attach (create or reconnect), detach, auth, touches and
// expiry, close, a local session's upgrade, recovery, and the owner of a global session; global
// sessions are created, closed and expired as transactions.

import { authIdCharsMax, authIdsPerSessionMax } from '../../common/limits.js';
import { sessionIdHex, sessionIdOf } from '../../common/ids.js';
import { Err, OpCode } from '../../common/zk.js';
import { type AttachView, type AuthView, DetachReason, type DetachView, SessionEndReason, SessionFlag } from '../../shm/records.js';
import { forwardWrite, noteSent, revalidateOp, revalidateXid, sendCreate, sendForward, type Revalidating } from '../forwarding/forward.js';
import type { CoreState } from '../pipeline/core-state.js';
import type { PreparedTxn } from '../pipeline/database.js';
import { WriteFor, startWrite } from '../pipeline/writes.js';
import { SessionContext } from './table.js';

export function onAttach(c: CoreState, worker: number, a: AttachView): void {
  const now = c.now();
  if ((a.flags & SessionFlag.create) !== 0) {
    const local = (a.flags & SessionFlag.local) !== 0;
    const id = sessionIdOf(a.sidHi, a.sidLo);
    const s = new SessionContext({ id, hi: a.sidHi, lo: a.sidLo, worker, connId: a.connId, timeoutMs: a.timeoutMs, local, ip: a.ip });
    s.owner = c.serverId;
    if (c.sessions.get(a.sidHi, a.sidLo) !== undefined) {
      // A new id equal to a live one (ids are a keyed permutation, re-keyed at each start: a
      // chance of about n/2^48). Never overwrite the live session: the new one is refused and
      // its client tries again (another id).
      c.logger.warn({ session: sessionIdHex(id) }, 'new session id already in use: refused');
      if (local) c.out.sessionEnd(worker, s, SessionEndReason.expired);
      else c.out.attached(worker, a.sidHi, a.sidLo, a.connId, Err.connectionLoss, 0, 0);
      return;
    }
    c.sessions.add(s, now);
    if (local) return; // the worker has answered the client already
    if (!c.canOrderWrites() && c.isEnsemble()) {
      // Ensemble mode, not the leader: a global session is created by the leader (a forwarded
      // createSession; the worker is answered when this member applies its txn). Without a
      // synced leader it waits for one, within its timeout (forwarding/learner-requests.ts).
      const w = { s, connId: a.connId, pending: true, epoch: -1, since: now };
      const mayGo = !c.learnerRequests.anyPending; // (else it goes behind what waits)
      c.learnerRequests.addCreate(id, w);
      if (mayGo) noteSent(c, w, sendCreate(c, w));
      return;
    }
    const p = c.db.prepare(c.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: a.timeoutMs }, now);
    startWrite(c, { p, for: WriteFor.createSession, s, xid: 0, connId: a.connId, op: OpCode.createSession });
    return;
  }
  // A local session back on the worker that holds it (the attach says local): that worker has
  // answered its client already (session/attach.ts #reattachLocal) and waits for no `attached`
  // record, so none is sent; in a herd that is one ring record and one worker wake-up less per
  // re-established session.
  const answered = (a.flags & SessionFlag.local) !== 0;
  let s = c.sessions.get(a.sidHi, a.sidLo);
  if (s === undefined && a.passwdOk && c.out.catchUp !== undefined) {
    // Opened on another worker a moment ago, its attach not handled yet (it did not wake us).
    c.out.catchUp(worker);
    s = c.sessions.get(a.sidHi, a.sidLo);
  }
  if (!a.passwdOk) {
    // A wrong password: the worker answers "invalid session". ZooKeeper closes the holder's
    // connection first (ZooKeeperServer.reopenSession); zkts leaves it alone, so knowing a
    // session id is not enough to cut its holder off.
    c.out.attached(worker, a.sidHi, a.sidLo, a.connId, Err.sessionExpired, 0, 0);
    return;
  }
  if (s === undefined || s.closing) {
    if (!answered) c.out.attached(worker, a.sidHi, a.sidLo, a.connId, Err.sessionExpired, 0, 0);
    return;
  }
  const r: Revalidating = { worker, connId: a.connId, timeoutMs: a.timeoutMs, ip: a.ip };
  if (!s.local && !c.canOrderWrites() && c.isEnsemble()) {
    // A learner: the leader makes this member the session's owner before the client is
    // answered, so nothing the old connection (on another member) sends after this answer is
    // applied. Without a synced leader the session attaches here alone (reads go on; the next
    // leader takes the first member that forwards a write for it as the owner).
    const had = c.revalidating.get(s.id);
    c.revalidating.set(s.id, r);
    if (had !== undefined) {
      // Two reconnects at once: the newer one takes the leader's answer; the older is closed.
      c.out.attached(had.worker, s.hi, s.lo, had.connId, Err.connectionLoss, 0, 0);
      return;
    }
    const sent = sendForward(c, {
      type: 'REQUEST',
      session: s.id,
      cxid: revalidateXid,
      op: revalidateOp,
      body: new Uint8Array(0),
      authIds: [],
      timeoutMs: a.timeoutMs,
      local: false,
    });
    if (sent >= 0) return;
    c.revalidating.delete(s.id);
  } else if (!s.local && c.isEnsemble()) {
    claim(c, s, c.serverId); // the leader: its own client
  }
  attachHere(c, s, r, !answered);
}

/** The session's connection is now `r` on this member; `answer`: tell its worker (`attached`). */
export function attachHere(c: CoreState, s: SessionContext, r: Revalidating, answer = true): void {
  // A session (local ones too: they live on this server) moves to the worker that now holds
  // its connection; the old worker drops it and closes the old connection.
  if (s.worker !== r.worker && s.worker >= 0) {
    c.out.sessionEnd(s.worker, s, SessionEndReason.moved);
    // Requests of the old connection still waiting behind its writes are dropped unanswered
    // (that connection is gone); its writes in flight apply, unanswered.
    if (s.waiting !== null) s.waiting.length = 0;
  }
  s.worker = r.worker;
  s.connId = r.connId;
  s.timeoutMs = r.timeoutMs; // a reconnect negotiates its timeout again
  s.authIds = [{ scheme: 'ip', id: r.ip }];
  s.movedAway = false;
  c.sessions.touch(s, c.now());
  noteTouched(c, s);
  if (answer) c.out.attached(r.worker, s.hi, s.lo, r.connId, Err.ok, s.timeoutMs, s.local ? SessionFlag.local : 0);
}

/**
 * The leader: `owner` now holds the session (SessionTracker.setOwner). The member that held it
 * before is told, so that it fences its old connection; the leader fences its own.
 */
export function claim(c: CoreState, s: SessionContext, owner: number): void {
  const before = s.owner;
  s.owner = owner;
  if (owner !== c.serverId) s.movedAway = true;
  if (before === owner || before < 0 || before === c.serverId) return;
  c.logger.info({ session: sessionIdHex(s.id), from: before, to: owner }, 'session moved to another member');
  c.replication?.notify?.(before, { type: 'REQUESTERROR', session: s.id, cxid: revalidateXid, err: Err.sessionMoved, zxid: 0 });
}

export function onDetach(c: CoreState, worker: number, d: DetachView): void {
  const s = c.sessions.get(d.sidHi, d.sidLo);
  if (s === undefined || s.worker !== worker) return;
  if (d.reason === DetachReason.connectionClosed) {
    // Only the connection the session has now: a late detach of an older one changes nothing.
    if (s.connId === d.connId && !s.local) s.authIds = s.authIds.slice(0, 1);
    return;
  }
  // A local session ended on its worker (expired, or closed), whatever connection it had.
  if (s.local) c.sessions.remove(s);
}

export function onAuth(c: CoreState, a: AuthView): void {
  const s = c.sessions.get(a.sidHi, a.sidLo);
  if (s === undefined) return;
  if (s.authIds.some((id) => id.scheme === a.scheme && id.id === a.id)) return;
  // The worker refuses an auth past the bound (AuthFailed); one that gets here anyway is
  // dropped, so that every ACL check of the session stays bounded (the ip id is the +1).
  if (s.authIds.length >= authIdsPerSessionMax + 1 || a.id.length > authIdCharsMax) {
    c.logger.warn({ session: sessionIdHex(s.id), scheme: a.scheme }, 'auth id past the session bound dropped');
    return;
  }
  s.authIds.push({ scheme: a.scheme, id: a.id });
}

export function onTouch(c: CoreState, view: DataView, off: number): void {
  const now = c.now();
  const count = view.getUint32(off, true);
  for (let i = 0, at = off + 4; i < count; i++, at += 8) {
    const s = c.sessions.get(view.getUint32(at, true), view.getUint32(at + 4, true));
    if (s !== undefined) {
      c.sessions.touch(s, now);
      noteTouched(c, s);
    }
  }
}

/** A learner: a touched global session is reported to the leader, which expires it. */
function noteTouched(c: CoreState, s: SessionContext): void {
  if (!s.local && !s.closing && c.replication?.forward !== undefined && !c.canOrderWrites()) {
    if (c.touchedGlobal.size === 0) c.touchedSinceMs = c.now();
    c.touchedGlobal.add(s.id);
  }
}

/** A learner, each tick (driver.ts): the global sessions touched since the last call. */
export function takeTouched(c: CoreState): bigint[] {
  if (c.touchedGlobal.size === 0) return [];
  const ids = [...c.touchedGlobal];
  c.touchedGlobal = new Set();
  c.onTouchesSent(c.now() - c.touchedSinceMs);
  return ids;
}

/** The leader: a learner's clients touched these global sessions (a TOUCH message). */
export function onLearnerTouch(c: CoreState, ids: readonly bigint[]): void {
  const now = c.now();
  for (const id of ids) {
    const s = c.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
    if (s !== undefined) c.sessions.touch(s, now);
  }
}

/** Expire global sessions whose bucket is due (SessionTrackerImpl.run). */
export function expireDue(c: CoreState, now: number): void {
  for (const s of c.sessions.expire(now)) {
    if (s.closing) continue;
    // Ensemble mode: only the leader expires global sessions. A learner keeps them queued
    // (re-armed a timeout from now), so that if it becomes the leader it expires them.
    if (!s.local && !c.canOrderWrites()) {
      c.sessions.touch(s, now);
      continue;
    }
    c.logger.info({ session: sessionIdHex(s.id), timeoutMs: s.timeoutMs }, 'session expired');
    c.stats.expired++;
    expireNow(c, s, now);
  }
}

function expireNow(c: CoreState, s: SessionContext, now: number): void {
  s.closing = true;
  c.sessions.unbucket(s);
  const p = c.db.prepare(c.contextOf(s, 0), { op: OpCode.closeSession, req: null }, now);
  startWrite(c, { p, for: WriteFor.expire, s, xid: 0, connId: s.connId, op: OpCode.closeSession });
}

export function closeSession(c: CoreState, s: SessionContext, xid: number): void {
  if (!s.local && !c.canOrderWrites() && forwardWrite(c, s, xid, OpCode.closeSession, new Uint8Array(0))) {
    // A learner: the leader closes the session; the client is answered when the txn is applied.
    if (c.learnerRequests.hasWrite(s.id, xid)) {
      s.closing = true;
      c.sessions.unbucket(s);
    }
    return;
  }
  if (s.local || !c.canOrderWrites()) {
    c.sessions.remove(s);
    c.out.reply(s.worker, s, xid, c.db.lastZxid, Err.ok, null, 0);
    c.out.sessionEnd(s.worker, s, SessionEndReason.closed);
    return;
  }
  s.closing = true;
  c.sessions.unbucket(s);
  const p = c.db.prepare(c.contextOf(s, xid), { op: OpCode.closeSession, req: null }, c.now());
  startWrite(c, { p, for: WriteFor.request, s, xid, connId: s.connId, op: OpCode.closeSession });
}

/** localSessionsUpgradingEnabled: the first ephemeral makes a local session global, through a
 *  createSession txn ahead of the request (LeaderZooKeeperServer.checkUpgradeSession). */
export function upgrade(c: CoreState, s: SessionContext): void {
  c.logger.info({ session: sessionIdHex(s.id) }, 'upgrading local session to global');
  c.sessions.upgrade(s, c.now());
  c.out.upgraded(s.worker, s);
  const p = c.db.prepare(c.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: s.timeoutMs }, c.now());
  startWrite(c, { p, for: WriteFor.upgrade, s, xid: 0, connId: s.connId, op: OpCode.createSession });
}

/**
 * Global sessions come back from disk detached: they expire unless their clients return within
 * their timeout (ZooKeeper re-arms every recovered session's timer). An ephemeral owner with no
 * recovered session is closed through the pipeline, so the removal is itself durable.
 */
export function restoreSessions(c: CoreState, sessions: ReadonlyMap<bigint, number>, ephemeralOwners: Iterable<bigint>): void {
  const now = c.now();
  for (const [id, timeoutMs] of sessions) c.sessions.add(detachedSession(id, timeoutMs), now);
  for (const owner of ephemeralOwners) {
    const id = BigInt.asUintN(64, owner);
    if (sessions.has(id)) continue;
    const s = detachedSession(id, 0);
    c.sessions.add(s, now);
    expireNow(c, s, now);
  }
}

/** A global session known here with no connection (recovered, or created on another member). */
export function detachedSession(id: bigint, timeoutMs: number): SessionContext {
  const hi = Number(id >> 32n);
  const lo = Number(id & 0xffffffffn);
  return new SessionContext({ id, hi, lo, worker: -1, connId: 0, timeoutMs, local: false, ip: '' });
}

/**
 * A new leader re-arms every global session's timer a full timeout from now (as ZooKeeper's
 * new leader builds its SessionTracker): learners' touches resume once they are synced.
 */
export function rearmGlobalSessions(c: CoreState): void {
  const now = c.now();
  for (const s of c.sessions.all()) {
    if (s.local) continue;
    // Owners this member noted before it led are not the ensemble's: unknown until a member
    // writes for the session or revalidates it (ZooKeeper's new leader starts with null owners).
    s.owner = -1;
    if (!s.closing) c.sessions.touch(s, now);
  }
}

/**
 * A createSession / closeSession txn this member did not order for a session of its own
 * (LearnerSessionTracker / LeaderSessionTracker): every member keeps every global session in
 * its table, so a client can reconnect to any member. A learner answers the worker waiting for
 * a session it forwarded; a closed session ends on the worker that holds it here.
 */
export function applySessionTxn(c: CoreState, p: PreparedTxn): void {
  const type = p.hdr.type;
  if (type !== OpCode.createSession && type !== OpCode.closeSession) return;
  const id = BigInt.asUintN(64, BigInt(p.hdr.clientId));
  const hi = Number(id >> 32n);
  const lo = Number(id & 0xffffffffn);
  const s = c.sessions.get(hi, lo);
  if (type === OpCode.createSession) {
    const w = c.learnerRequests.takeCreate(id);
    if (w !== undefined) {
      if (s === w.s) {
        c.logger.info({ session: sessionIdHex(id), timeoutMs: s.timeoutMs }, 'session created (by the leader)');
        c.out.attached(s.worker, hi, lo, w.connId, Err.ok, s.timeoutMs, 0);
        return;
      }
    }
    if (s === undefined) {
      const timeoutMs = p.txn.type === OpCode.createSession ? p.txn.timeOut : 0;
      c.sessions.add(detachedSession(id, timeoutMs), c.now());
    }
    return;
  }
  if (s === undefined || s.local) return;
  c.sessions.remove(s);
  if (s.worker >= 0) {
    c.out.sessionEnd(s.worker, s, p.hdr.cxid === 0 ? SessionEndReason.expired : SessionEndReason.closed);
  }
}
