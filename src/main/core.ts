// The main thread's request loop: what ZooKeeper's processor chain does (prep → sync → final),
// as functions on one thread. Records from the session workers come in; requests are ordered per
// session, writes are prepared (txn + zxid), handed to the log stage, applied when durable, and
// their replies and watch events go back out; reads are answered at once unless their session
// has a write in flight (then they wait behind it, which keeps the session's FIFO order).
//
// Shape: this file is the dispatch (which stage a request goes to) and the reads. All state lives
// in one CoreState (pipeline/core-state.ts); each stage is a module of functions over it:
//   pipeline/order.ts          per-session FIFO: writes in flight, requests waiting behind them
//   pipeline/writes.ts         the write path: log stage or Zab, apply, replies of writes
//   pipeline/sync.ts           sync barriers
//   pipeline/replies.ts        reply encoding, too-large and bare replies
//   pipeline/replace-state.ts  SNAP installation
//   sessions/lifecycle.ts      attach, detach, auth, touch, expire, close, upgrade, recovery
//   forwarding/forward.ts      learner forwarding and the leader's side of it, revalidation
//   watches/fan-out.ts         watch registration and event fan-out
// Stages call each other's functions but hold no reference to one another or to the Core; a stage
// that releases a waiting request hands it back through CoreState.execute (this file's dispatch).
// The Core's public methods are the only way in from bridge.ts and driver.ts.
//
// Global sessions are created, closed and expired here, as transactions. This module never
// touches a socket: the Outbound interface (bridge.ts) writes ring records.

import { assert } from '../common/assert.js';
import { checkAcl } from '../common/acl.js';
import { sessionIdHex } from '../common/ids.js';
import { AddWatchMode, CreateMode, Err, OpCode, EventType, Perms } from '../common/zk.js';
import { JuteError, decodeRequest } from '../protocol/jute/index.js';
import type { ClientRequest, CreateRequest, MultiOp } from '../protocol/types.js';
import { type AttachView, type AuthView, type DetachView, ReplyFlag, type RequestView, WatchKind } from '../shm/records.js';
import * as forwarding from './forwarding/forward.js';
import { forwardWrite, upgradeXid, type ForwardError, type ForwardRequest } from './forwarding/forward.js';
import { CoreState, type CoreParts } from './pipeline/core-state.js';
import type { PreparedTxn, ZkDatabase } from './pipeline/database.js';
import { canRunNow } from './pipeline/order.js';
import * as snap from './pipeline/replace-state.js';
import { dropIdleLargeWriter, replyBare, replyTooLarge, replyWith } from './pipeline/replies.js';
import { sync } from './pipeline/sync.js';
import * as writes from './pipeline/writes.js';
import { WriteFor, refusedWrite, startWrite } from './pipeline/writes.js';
import * as lifecycle from './sessions/lifecycle.js';
import { closeSession, upgrade } from './sessions/lifecycle.js';
import { newSessionSecretData, sessionSecretPath, treeSessionSecret } from './sessions/secret.js';
import type { SessionContext, SessionTable } from './sessions/table.js';
import { registerWatch } from './watches/fan-out.js';
import type { WatchRouter } from './watches/router.js';

export type { CoreOptions, CoreParts, Outbound, Replication } from './pipeline/core-state.js';
export { revalidateOp, revalidateXid } from './forwarding/forward.js';

const errorResponseOk = new Uint8Array(4);

/** Ops whose state lives on the worker: the core only keeps the session's order. (whoAmI too:
 *  the worker answers it from its own ids once the reply, flagged workerCompletes, comes back;
 *  so Reads' whoAmI case is never reached from here.) */
function workerCompletes(op: number): boolean {
  return op === OpCode.removeWatches || op === OpCode.checkWatches || op === OpCode.whoAmI;
}

export class Core {
  readonly db: ZkDatabase;
  readonly sessions: SessionTable;
  readonly router: WatchRouter;
  readonly stats: CoreState['stats'];
  /** Everything the loop owns; the stages' functions take it. */
  private readonly c: CoreState;

  constructor(parts: CoreParts) {
    const c = new CoreState(parts);
    c.execute = (s, xid, op, bytes, start, end) => this.execute(s, xid, op, bytes, start, end);
    this.c = c;
    this.db = c.db;
    this.sessions = c.sessions;
    this.router = c.router;
    this.stats = c.stats;
  }

  // ---- the session secret (sessions/secret.ts) --------------------------------------------

  /**
   * Standalone at start, or a leader once it may order writes: if no secret is configured and
   * the tree holds none, write a new random one as the server (session 0). True if one is on
   * its way.
   */
  ensureSessionSecret(): boolean {
    const c = this.c;
    if (c.opts.sessionSecretConfigured === true || !c.canOrderWrites()) return false;
    if (treeSessionSecret(c.db.tree) !== null) return false;
    const req = { path: sessionSecretPath, data: newSessionSecretData(), version: -1 };
    const p = c.db.prepare(c.contextOf(c.systemSession, 0), { op: OpCode.setData, req }, c.now());
    if (p.hdr.type === OpCode.error) {
      c.logger.error({ err: p.txn.type === OpCode.error ? p.txn.err : 0 }, 'cannot write the session secret');
      return false;
    }
    c.logger.info('writing a new random session secret into the replicated state');
    startWrite(c, { p, for: WriteFor.system, s: null, xid: 0, connId: 0, op: OpCode.setData });
    return true;
  }

  // ---- sessions (sessions/lifecycle.ts) ----------------------------------------------------

  restoreSessions(sessions: ReadonlyMap<bigint, number>, ephemeralOwners: Iterable<bigint>): void {
    lifecycle.restoreSessions(this.c, sessions, ephemeralOwners);
  }

  onAttach(worker: number, a: AttachView): void {
    lifecycle.onAttach(this.c, worker, a);
  }

  onDetach(worker: number, d: DetachView): void {
    lifecycle.onDetach(this.c, worker, d);
  }

  onAuth(a: AuthView): void {
    lifecycle.onAuth(this.c, a);
  }

  onTouch(view: DataView, off: number): void {
    lifecycle.onTouch(this.c, view, off);
  }

  /** A learner, each tick (driver.ts): the global sessions touched since the last call. */
  takeTouched(): bigint[] {
    return lifecycle.takeTouched(this.c);
  }

  /** The leader: a learner's clients touched these global sessions (a TOUCH message). */
  onLearnerTouch(ids: readonly bigint[]): void {
    lifecycle.onLearnerTouch(this.c, ids);
  }

  /** A new leader re-arms every global session's timer a full timeout from now. */
  rearmGlobalSessions(): void {
    lifecycle.rearmGlobalSessions(this.c);
  }

  // ---- requests ----------------------------------------------------------------------------

  onRequest(worker: number, r: RequestView, bytes: Uint8Array): void {
    const c = this.c;
    c.stats.requests++;
    const s = c.sessions.get(r.sidHi, r.sidLo);
    if (s === undefined || s.closing || s.worker !== worker) {
      if (s?.closing && s.worker === worker && s.waiting !== null) {
        // Pipelined behind the session's writes in flight (its closeSession among them): it is
        // answered SessionExpired in its turn (writeDone), not ahead of them, which the worker
        // would take for a reply out of order (ZooKeeper's error txn keeps its place too).
        s.waiting.push({ xid: r.xid, op: r.op, body: bytes.slice(r.bodyOffset, r.end) });
        return;
      }
      // A session that moved to another worker here: its old connection is fenced.
      const err = s !== undefined && !s.closing ? Err.sessionMoved : Err.sessionExpired;
      replyBare(c, worker, r.sidHi, r.sidLo, r.xid, err);
      return;
    }
    if (!canRunNow(c, s, r.op)) {
      s.waiting!.push({ xid: r.xid, op: r.op, body: bytes.slice(r.bodyOffset, r.end) });
      return;
    }
    this.execute(s, r.xid, r.op, bytes, r.bodyOffset, r.end);
  }

  // ---- ticks -------------------------------------------------------------------------------

  /** Expire global sessions whose bucket is due (SessionTrackerImpl.run). */
  tick(): void {
    const c = this.c;
    const now = c.now();
    dropIdleLargeWriter(c, now);
    lifecycle.expireDue(c, now);
    if (c.learnerRequests.size > 0) forwarding.failOverdue(c, now);
    c.out.flush();
  }

  /** Delete empty containers and expired TTL nodes (ContainerManager). */
  reapContainers(paths: string[]): void {
    const c = this.c;
    if (!c.canOrderWrites()) return;
    const now = c.now();
    for (const path of paths) {
      const p = c.db.prepare(c.contextOf(c.systemSession, 0), { op: OpCode.deleteContainer, req: { path } }, now);
      startWrite(c, { p, for: WriteFor.container, s: null, xid: 0, connId: 0, op: OpCode.deleteContainer });
    }
  }

  // ---- execution ---------------------------------------------------------------------------

  private execute(s: SessionContext, xid: number, op: number, bytes: Uint8Array, start: number, end: number): void {
    const c = this.c;
    if (s.movedAway) {
      // Its session is held by a newer connection on another member (ZooKeeper's checkSession).
      c.out.reply(s.worker, s, xid, c.db.lastZxid, Err.sessionMoved, null, 0);
      return;
    }
    if (!s.local && s.owner < 0 && c.isEnsemble() && c.canOrderWrites()) s.owner = c.serverId;
    if (workerCompletes(op)) {
      answeredInOrder(s, op);
      c.out.reply(s.worker, s, xid, c.db.lastZxid, Err.ok, null, ReplyFlag.workerCompletes);
      return;
    }
    if (!c.canOrderWrites() && (op === OpCode.reconfig || (op !== OpCode.closeSession && c.db.isWrite(op)))) {
      // Ensemble mode on a follower or observer: the write goes to the leader, and is answered
      // when its committed txn is applied here. Without forwarding (a leader not yet
      // established), it is refused as a read-only server refuses it.
      if (s.local && c.opts.localSessionsUpgradingEnabled && c.isEnsemble() && this.needsUpgrade(op, bytes, start, end)) {
        // The first ephemeral of a local session: its createSession goes to the leader first
        // (LearnerZooKeeperServer / checkUpgradeSession), so the leader orders it before the write.
        c.logger.info({ session: sessionIdHex(s.id) }, 'upgrading local session to global (through the leader)');
        c.sessions.upgrade(s, c.now());
        c.out.upgraded(s.worker, s);
        forwardWrite(c, s, upgradeXid, OpCode.createSession, new Uint8Array(0), 'upgrade');
      }
      if (forwardWrite(c, s, xid, op, bytes.slice(start, end))) return;
      c.out.reply(s.worker, s, xid, c.db.lastZxid, Err.notReadOnly, null, 0);
      return;
    }
    const refusal = refusedWrite(op);
    if (refusal !== Err.ok) {
      if (op === OpCode.deleteContainer) {
        c.logger.warn({ session: sessionIdHex(s.id), xid, op }, 'deleteContainer from a client refused (server-only opcode)');
      }
      const p = c.db.prepareError(c.contextOf(s, xid), refusal, c.now());
      startWrite(c, { p, for: WriteFor.request, s, xid, connId: s.connId, op });
      return;
    }
    let request: ClientRequest;
    try {
      request = decodeRequest(op, c.reader.reset(bytes, start, end));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      if (s.waiting !== null) {
        // A write that cannot be read still answers in its turn, after the writes before it.
        s.waiting!.push({ xid, op, body: bytes.slice(start, end) });
        return;
      }
      c.logger.warn({ session: sessionIdHex(s.id), op, err: e.message }, 'malformed request body');
      c.out.reply(s.worker, s, xid, c.db.lastZxid, Err.marshallingError, null, 0);
      return;
    }
    if (op === OpCode.closeSession) {
      closeSession(c, s, xid);
      return;
    }
    if (c.db.isWrite(op)) {
      c.stats.writes++;
      if (s.local && c.opts.localSessionsUpgradingEnabled && needsGlobalSession(request)) {
        upgrade(c, s);
      }
      const p = c.db.prepare(c.contextOf(s, xid), request, c.now());
      startWrite(c, { p, for: WriteFor.request, s, xid, connId: s.connId, op });
      return;
    }
    c.stats.reads++;
    this.read(s, xid, request);
  }

  /** A write that creates an ephemeral (for a local session's upgrade); false if unreadable. */
  private needsUpgrade(op: number, bytes: Uint8Array, start: number, end: number): boolean {
    if (op !== OpCode.create && op !== OpCode.create2 && op !== OpCode.multi) return false;
    try {
      return needsGlobalSession(decodeRequest(op, this.c.reader.reset(bytes, start, end)));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      return false;
    }
  }

  private read(s: SessionContext, xid: number, request: ClientRequest): void {
    const c = this.c;
    const zxid = c.db.lastZxid;
    if (request.op === OpCode.sync) {
      sync(c, s, xid, request.req.path);
      return;
    }
    answeredInOrder(s, request.op);
    switch (request.op) {
      case OpCode.addWatch: {
        const kind = request.req.mode === AddWatchMode.persistentRecursive ? WatchKind.persistentRecursive : WatchKind.persistent;
        registerWatch(c, s, kind, request.req.path);
        // The reply body is an ErrorResponse(0): four zero bytes, which the Java client reads.
        c.out.reply(s.worker, s, xid, zxid, Err.ok, errorResponseOk, 0);
        return;
      }
      case OpCode.setWatches:
      case OpCode.setWatches2: {
        const result = c.db.setWatches(request.req, request.op === OpCode.setWatches2);
        for (const f of result.fire) {
          // The READ filter applies to replayed events too (ZooKeeper 3.8.7, CVE-2026-59739:
          // 3.8.4 sent them unchecked); a node that is gone has no ACL to check.
          if (f.acl !== null && !checkAcl(f.acl, Perms.read, s.authIds)) continue;
          c.out.event(s.worker, s.hi, s.lo, f.type, zxid, f.path, null);
        }
        for (const list of result.register) {
          const kind = list.kind;
          for (const path of list.paths) registerWatch(c, s, kind, path);
        }
        replyWith(c, s, xid, zxid, Err.ok, { op: request.op, res: null });
        return;
      }
      default: {
        const r = c.db.read(c.contextOf(s, xid), request);
        if (r.watch !== null) registerWatch(c, s, r.watch.kind, r.watch.path);
        if (r.tooLarge) replyTooLarge(c, s, xid, zxid, request.op, null);
        else replyWith(c, s, xid, zxid, r.err, r.response);
      }
    }
  }

  // ---- the write path (pipeline/writes.ts) --------------------------------------------------

  /** A committed txn (driver.ts): the write this member proposed, or one ordered elsewhere. */
  applyCommitted(p: PreparedTxn): void {
    writes.applyCommitted(this.c, p);
  }

  /** Makes the replies and events of applyCommitted calls visible to the workers. */
  flushOut(): void {
    this.c.out.flush();
  }

  /** Leadership lost (or a proposal could not be made): proposed writes fail ConnectionLoss. */
  abortProposed(): void {
    writes.abortProposed(this.c);
  }

  // ---- forwarding (forwarding/forward.ts) ---------------------------------------------------

  /** The leader: a write a learner forwarded; null, or the answer to send back. */
  onForwardedRequest(m: ForwardRequest, from = -1): ForwardError | null {
    return forwarding.onForwardedRequest(this.c, m, from);
  }

  /** A learner: the leader refused a forwarded write before proposing it (or answered a sync). */
  onForwardError(m: ForwardError): void {
    forwarding.onForwardError(this.c, m);
  }

  /** A learner lost its leader: its requests wait for the next one. */
  leaderLost(): void {
    forwarding.leaderLost(this.c);
  }

  /** Something waits that must go to the leader before newer requests may. */
  hasPendingForLeader(): boolean {
    return this.c.learnerRequests.anyPending;
  }

  /** A leader is synced again (`epoch`): what waited for it goes to it, in request order. */
  resumeLearnerRequests(epoch: number): void {
    forwarding.resumeLearnerRequests(this.c, epoch);
  }

  // ---- SNAP sync (pipeline/replace-state.ts) ------------------------------------------------

  /** The global sessions (id -> timeout ms) that a SNAP image of the applied state carries. */
  globalSessions(): Map<bigint, number> {
    return snap.globalSessions(this.c);
  }

  /** SNAP sync, learner side: `load` replaces the tree by the leader's snapshot at `zxid`. */
  replaceState(zxid: number, load: () => ReadonlyMap<bigint, number>): void {
    snap.replaceState(this.c, zxid, load);
  }
}

/**
 * A session's replies leave in request order: a reply sent at once (a read, an op the worker
 * completes) never overtakes a write of its session still in flight, since such a request waits
 * (canRunNow) until they are applied. Writes answer in zxid order, which is their request order;
 * a sync (a barrier that counts as a write in flight) answers through pipeline/sync.ts.
 */
function answeredInOrder(s: SessionContext, op: number): void {
  assert(s.writesInFlight === 0, `session ${sessionIdHex(s.id)}: op ${op} answered ahead of ${s.writesInFlight} write(s) in flight`);
}

/** A request that needs a global session: it creates an ephemeral node. */
function needsGlobalSession(request: ClientRequest): boolean {
  if (request.op === OpCode.create || request.op === OpCode.create2) {
    return isEphemeralMode((request.req as CreateRequest).flags);
  }
  if (request.op === OpCode.multi) {
    return (request.req as MultiOp[]).some(
      (m) => (m.op === OpCode.create || m.op === OpCode.create2) && isEphemeralMode(m.req.flags),
    );
  }
  return false;
}

function isEphemeralMode(flags: number): boolean {
  return flags === CreateMode.ephemeral || flags === CreateMode.ephemeralSequential;
}

export { EventType };
