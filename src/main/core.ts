// The main thread's request loop: what ZooKeeper's processor chain does (prep → sync → final),
// as functions on one thread. Records from the session workers come in; requests are ordered per
// session, writes are prepared (txn + zxid), handed to the log stage, applied when durable, and
// their replies and watch events go back out; reads are answered at once unless their session
// has a write in flight (then they wait behind it, which keeps the session's FIFO order).
//
// Global sessions are created, closed and expired here, as transactions. This module never
// touches a socket: the Outbound interface (bridge.ts) writes ring records.

import { Err, OpCode, EventType, Perms } from '../common/zk.js';
import { checkAcl, type ACL } from '../common/acl.js';
import { sessionIdHex, sessionIdOf } from '../common/ids.js';
import { aclEntriesMax, authIdCharsMax, authIdsPerSessionMax } from '../common/limits.js';
import {
  JUTE_BUFFER_BYTES_MAX_DEFAULT,
  JuteError,
  JuteReader,
  JuteWriter,
  decodeRequest,
  encodeResponse,
} from '../protocol/jute/index.js';
import type { ClientRequest, ClientResponse, CreateRequest, MultiOp } from '../protocol/types.js';
import {
  AttachView,
  AuthView,
  DetachReason,
  DetachView,
  ReplyFlag,
  RequestView,
  SessionEndReason,
  SessionFlag,
  WatchKind,
  type EventReaders,
  replyBodyBytesMax,
} from '../shm/records.js';
import type { Logger } from './logger.js';
import type { LogStage } from './pipeline/log-stage.js';
import { SessionContext, SessionTable, type WaitingRequest } from './sessions/table.js';
import { LearnerRequests, type WaitingCreate, type WaitingWrite } from './forwarding/learner-requests.js';
import { WatchRouter } from './watches/router.js';
import { readersOf } from './watches/readers.js';
import { ZkDatabase, type PreparedTxn } from './pipeline/database.js';
import type { RequestContext } from './pipeline/context.js';
import type { ForwardMsg } from './net/codec.js';
import { newSessionSecretData, sessionSecretPath, treeSessionSecret } from './sessions/secret.js';

type ForwardRequest = Extract<ForwardMsg, { type: 'REQUEST' }>;
type ForwardError = Extract<ForwardMsg, { type: 'REQUESTERROR' }>;

/** What the core sends to workers. Implemented by the bridge over the rings. */
export interface Outbound {
  reply(worker: number, s: SessionContext, xid: number, zxid: number, err: number, body: Uint8Array | null, flags: number): void;
  attached(worker: number, hi: number, lo: number, connId: number, err: number, timeoutMs: number, flags: number): void;
  /** `readers`: who may see it (null: every watcher); see watches/readers.ts. */
  event(worker: number, targetHi: number, targetLo: number, type: number, zxid: number, path: string, readers: EventReaders | null): void;
  watchRegister(worker: number, s: SessionContext, kind: number, path: string): void;
  sessionEnd(worker: number, s: SessionContext, reason: number): void;
  upgraded(worker: number, s: SessionContext): void;
  /** Make what was written outside a ring batch (timers, log completions) visible. */
  flush(): void;
}

/**
 * Ensemble mode (driver.ts): writes are ordered by Zab instead of the local log stage. The core
 * prepares a txn only while `writable()` (an established leader whose tree holds the whole
 * history), hands it to `propose`, and applies it when the driver calls applyCommitted.
 */
export interface Replication {
  writable(): boolean;
  propose(p: PreparedTxn): void;
  /**
   * A follower or observer: sends a client write to the leader (Learner.request). Returns the
   * leader's epoch, or -1 when there is no synced leader to send it to now (the request waits
   * for one: learner-requests.ts).
   */
  forward?(m: ForwardMsg): number;
  /** The leader: sends a message to one learner (a session's old owner: it moved). */
  notify?(to: number, m: ForwardMsg): void;
}

export interface CoreOptions {
  tickTimeMs: number;
  localSessionsUpgradingEnabled: boolean;
  extendedTypesEnabled: boolean;
  /** jute.maxbuffer: the largest buffer a request may carry (plus BinaryInputArchive's 1 KiB
   *  slack); default 0xfffff. */
  juteMaxBufferBytes?: number;
  /** This member's id (myid; standalone 0): the owner of sessions attached here. */
  serverId?: number;
  /** `sessionSecret` is configured: the server never writes one into the tree. */
  sessionSecretConfigured?: boolean;
}

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

/** A reconnect on a learner, waiting for the leader's revalidation. */
interface Revalidating {
  worker: number;
  connId: number;
  timeoutMs: number;
  ip: string;
}

/** What a write is for, once it is durable and applied. */
const WriteFor = {
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

interface InFlightWrite {
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

const errorResponseOk = new Uint8Array(4);

/** Ops whose state lives on the worker: the core only keeps the session's order. */
function workerCompletes(op: number): boolean {
  return op === OpCode.removeWatches || op === OpCode.checkWatches || op === OpCode.whoAmI;
}

/** BinaryInputArchive accepts a buffer this much over jute.maxbuffer (reader.ts). */
const juteBufferSlackBytes = 1024;

/** The reply writer's first capacity. One that grew past writerBytesKept for a large reply is
 *  kept while large replies keep coming (its pages are already mapped: a fresh 32 MiB buffer
 *  costs more in page faults than the copy into it), and dropped by the first tick after
 *  writerLargeIdleMs without one. */
const writerBytesInitial = 4096;
const writerBytesKept = 1 << 20;
const writerLargeIdleMs = 10_000;

export class Core {
  readonly sessions: SessionTable;
  readonly router = new WatchRouter();
  /** Client requests: an ACL past aclEntriesMax is refused (InvalidACL) without decoding it all. */
  private readonly reader: JuteReader;
  /** Encodes reply bodies; replaced after a large one so its memory is not kept. */
  private writer = new JuteWriter(writerBytesInitial);
  /** When the writer last encoded a reply over writerBytesKept; 0: it is small. */
  private writerLargeAtMs = 0;
  private readonly inFlight: InFlightWrite[] = [];
  private flushing = false;
  private flushAgain = false;
  /** Ensemble mode: writes proposed to Zab and not yet applied, by zxid. */
  private readonly proposed = new Map<number, InFlightWrite>();
  /** Ensemble mode, a learner: writes and createSessions that wait for the leader. */
  private readonly learnerRequests = new LearnerRequests();
  /** Ensemble mode: syncs waiting until their point is applied here (see sync()). */
  private syncsAwaiting: AwaitingSync[] = [];
  /** Ensemble mode, a learner: global sessions touched since the last TOUCH to the leader. */
  private touchedGlobal = new Set<bigint>();
  /** Ensemble mode, a learner: reconnects waiting for the leader's revalidation, by session. */
  private readonly revalidating = new Map<bigint, Revalidating>();
  private readonly serverId: number;
  /** A context for work the server does itself (container reaping): session 0. */
  private readonly systemSession: SessionContext;
  readonly stats = { requests: 0, writes: 0, reads: 0, expired: 0 };
  private warnedReadersTruncated = false;

  constructor(
    readonly db: ZkDatabase,
    private readonly log: LogStage<PreparedTxn>,
    private readonly out: Outbound,
    private readonly opts: CoreOptions,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly onApplied: (zxid: number) => void,
    private readonly replication: Replication | null = null,
  ) {
    this.sessions = new SessionTable(opts.tickTimeMs, now());
    const juteMaxBufferBytes = opts.juteMaxBufferBytes ?? JUTE_BUFFER_BYTES_MAX_DEFAULT - juteBufferSlackBytes;
    this.reader = new JuteReader(undefined, {
      bufferBytesMax: juteMaxBufferBytes + juteBufferSlackBytes,
      aclEntriesKept: aclEntriesMax,
    });
    this.systemSession = new SessionContext(0n, 0, 0, -1, 0, 0, false, '127.0.0.1');
    this.systemSession.authIds = [{ scheme: 'super', id: 'zkts' }];
    this.serverId = opts.serverId ?? 0;
  }

  // ---- the session secret (sessions/secret.ts) ---------------------------------------------

  /**
   * Standalone at start, or a leader once it may order writes: if no secret is configured and
   * the tree holds none, write a new random one as the server (session 0). True if one is on
   * its way.
   */
  ensureSessionSecret(): boolean {
    if (this.opts.sessionSecretConfigured === true || !this.canOrderWrites()) return false;
    if (treeSessionSecret(this.db.tree) !== null) return false;
    const req = { path: sessionSecretPath, data: newSessionSecretData(), version: -1 };
    const p = this.db.prepare(this.contextOf(this.systemSession, 0), { op: OpCode.setData, req }, this.now());
    if (p.hdr.type === OpCode.error) {
      this.logger.error({ err: p.txn.type === -1 ? p.txn.err : 0 }, 'cannot write the session secret');
      return false;
    }
    this.logger.info('writing a new random session secret into the replicated state');
    this.startWrite({ p, for: WriteFor.system, s: null, xid: 0, connId: 0, op: OpCode.setData });
    return true;
  }

  // ---- recovery ----------------------------------------------------------------------------

  /**
   * Global sessions come back from disk detached: they expire unless their clients return within
   * their timeout (ZooKeeper re-arms every recovered session's timer). An ephemeral owner with no
   * recovered session is closed through the pipeline, so the removal is itself durable.
   */
  restoreSessions(sessions: ReadonlyMap<bigint, number>, ephemeralOwners: Iterable<bigint>): void {
    const now = this.now();
    for (const [id, timeoutMs] of sessions) this.sessions.add(this.detachedSession(id, timeoutMs), now);
    for (const owner of ephemeralOwners) {
      const id = BigInt.asUintN(64, owner);
      if (sessions.has(id)) continue;
      const s = this.detachedSession(id, 0);
      this.sessions.add(s, now);
      this.expireNow(s, now);
    }
  }

  private detachedSession(id: bigint, timeoutMs: number): SessionContext {
    const hi = Number(id >> 32n);
    const lo = Number(id & 0xffffffffn);
    return new SessionContext(id, hi, lo, -1, 0, timeoutMs, false, '');
  }

  // ---- records from workers ----------------------------------------------------------------

  onAttach(worker: number, a: AttachView): void {
    const now = this.now();
    if ((a.flags & SessionFlag.create) !== 0) {
      const local = (a.flags & SessionFlag.local) !== 0;
      const id = sessionIdOf(a.sidHi, a.sidLo);
      const s = new SessionContext(id, a.sidHi, a.sidLo, worker, a.connId, a.timeoutMs, local, a.ip);
      s.owner = this.serverId;
      if (this.sessions.get(a.sidHi, a.sidLo) !== undefined) {
        // A new id equal to a live one (ids are a keyed permutation, re-keyed at each start: a
        // chance of about n/2^48). Never overwrite the live session: the new one is refused and
        // its client tries again (another id).
        this.logger.warn({ session: sessionIdHex(id) }, 'new session id already in use: refused');
        if (local) this.out.sessionEnd(worker, s, SessionEndReason.expired);
        else this.out.attached(worker, a.sidHi, a.sidLo, a.connId, Err.connectionLoss, 0, 0);
        return;
      }
      this.sessions.add(s, now);
      if (local) return; // the worker has answered the client already
      if (!this.canOrderWrites() && this.isEnsemble()) {
        // Ensemble mode, not the leader: a global session is created by the leader (a forwarded
        // createSession; the worker is answered when this member applies its txn). Without a
        // synced leader it waits for one, within its timeout (forwarding/learner-requests.ts).
        const c = { s, connId: a.connId, pending: true, epoch: -1, since: now };
        const mayGo = !this.learnerRequests.anyPending; // (else it goes behind what waits)
        this.learnerRequests.addCreate(id, c);
        if (mayGo) this.noteSent(c, this.sendCreate(c));
        return;
      }
      const p = this.db.prepare(this.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: a.timeoutMs }, now);
      this.startWrite({ p, for: WriteFor.createSession, s, xid: 0, connId: a.connId, op: OpCode.createSession });
      return;
    }
    const s = this.sessions.get(a.sidHi, a.sidLo);
    if (!a.passwdOk) {
      // A wrong password: the worker answers "invalid session". ZooKeeper closes the holder's
      // connection first (ZooKeeperServer.reopenSession); zkts leaves it alone, so knowing a
      // session id is not enough to cut its holder off.
      this.out.attached(worker, a.sidHi, a.sidLo, a.connId, Err.sessionExpired, 0, 0);
      return;
    }
    if (s === undefined || s.closing) {
      this.out.attached(worker, a.sidHi, a.sidLo, a.connId, Err.sessionExpired, 0, 0);
      return;
    }
    const r: Revalidating = { worker, connId: a.connId, timeoutMs: a.timeoutMs, ip: a.ip };
    if (!s.local && !this.canOrderWrites() && this.isEnsemble()) {
      // A learner: the leader makes this member the session's owner before the client is
      // answered, so nothing the old connection (on another member) sends after this answer is
      // applied. Without a synced leader the session attaches here alone (reads go on; the next
      // leader takes the first member that forwards a write for it as the owner).
      const had = this.revalidating.get(s.id);
      this.revalidating.set(s.id, r);
      if (had !== undefined) {
        // Two reconnects at once: the newer one takes the leader's answer; the older is closed.
        this.out.attached(had.worker, s.hi, s.lo, had.connId, Err.connectionLoss, 0, 0);
        return;
      }
      const sent = this.sendForward({
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
      this.revalidating.delete(s.id);
    } else if (!s.local && this.isEnsemble()) {
      this.claim(s, this.serverId); // the leader: its own client
    }
    this.attachHere(s, r);
  }

  /** The session's connection is now `r` on this member. */
  private attachHere(s: SessionContext, r: Revalidating): void {
    // A session (local ones too: they live on this server) moves to the worker that now holds
    // its connection; the old worker drops it and closes the old connection.
    if (s.worker !== r.worker && s.worker >= 0) {
      this.out.sessionEnd(s.worker, s, SessionEndReason.moved);
      // Requests of the old connection still waiting behind its writes are dropped unanswered
      // (that connection is gone); its writes in flight apply, unanswered.
      if (s.waiting !== null) s.waiting.length = 0;
    }
    s.worker = r.worker;
    s.connId = r.connId;
    s.timeoutMs = r.timeoutMs; // a reconnect negotiates its timeout again
    s.authIds = [{ scheme: 'ip', id: r.ip }];
    s.movedAway = false;
    this.sessions.touch(s, this.now());
    this.noteTouched(s);
    this.out.attached(r.worker, s.hi, s.lo, r.connId, Err.ok, s.timeoutMs, s.local ? SessionFlag.local : 0);
  }

  /**
   * The leader: `owner` now holds the session (SessionTracker.setOwner). The member that held it
   * before is told, so that it fences its old connection; the leader fences its own.
   */
  private claim(s: SessionContext, owner: number): void {
    const before = s.owner;
    s.owner = owner;
    if (owner !== this.serverId) s.movedAway = true;
    if (before === owner || before < 0 || before === this.serverId) return;
    this.logger.info({ session: sessionIdHex(s.id), from: before, to: owner }, 'session moved to another member');
    this.replication?.notify?.(before, { type: 'REQUESTERROR', session: s.id, cxid: revalidateXid, err: Err.sessionMoved, zxid: 0 });
  }

  /** A learner: the leader's answer to a revalidation, or word that a session moved away. */
  private onRevalidated(m: ForwardError): void {
    const hi = Number(m.session >> 32n);
    const lo = Number(m.session & 0xffffffffn);
    const s = this.sessions.get(hi, lo);
    if (m.err === Err.sessionMoved) {
      if (s !== undefined && !s.local) {
        this.logger.info({ session: sessionIdHex(s.id) }, 'session moved to another member: its connection here is fenced');
        s.movedAway = true;
      }
      return;
    }
    const r = this.revalidating.get(m.session);
    if (r === undefined) return;
    this.revalidating.delete(m.session);
    if (s === undefined || s.closing || m.err === Err.sessionExpired) {
      this.out.attached(r.worker, hi, lo, r.connId, Err.sessionExpired, 0, 0);
      return;
    }
    // Ok; or a leader that does not revalidate (an older zkts) or stopped leading: attach alone.
    this.attachHere(s, r);
  }

  onDetach(worker: number, d: DetachView): void {
    const s = this.sessions.get(d.sidHi, d.sidLo);
    if (s === undefined || s.worker !== worker) return;
    if (d.reason === DetachReason.connectionClosed) {
      // Only the connection the session has now: a late detach of an older one changes nothing.
      if (s.connId === d.connId && !s.local) s.authIds = s.authIds.slice(0, 1);
      return;
    }
    // A local session ended on its worker (expired, or closed), whatever connection it had.
    if (s.local) this.sessions.remove(s);
  }

  onAuth(a: AuthView): void {
    const s = this.sessions.get(a.sidHi, a.sidLo);
    if (s === undefined) return;
    if (s.authIds.some((id) => id.scheme === a.scheme && id.id === a.id)) return;
    // The worker refuses an auth past the bound (AuthFailed); one that gets here anyway is
    // dropped, so that every ACL check of the session stays bounded (the ip id is the +1).
    if (s.authIds.length >= authIdsPerSessionMax + 1 || a.id.length > authIdCharsMax) {
      this.logger.warn({ session: sessionIdHex(s.id), scheme: a.scheme }, 'auth id past the session bound dropped');
      return;
    }
    s.authIds.push({ scheme: a.scheme, id: a.id });
  }

  onTouch(view: DataView, off: number): void {
    const now = this.now();
    const count = view.getUint32(off, true);
    for (let i = 0, at = off + 4; i < count; i++, at += 8) {
      const s = this.sessions.get(view.getUint32(at, true), view.getUint32(at + 4, true));
      if (s !== undefined) {
        this.sessions.touch(s, now);
        this.noteTouched(s);
      }
    }
  }

  /** A learner: a touched global session is reported to the leader, which expires it. */
  private noteTouched(s: SessionContext): void {
    if (!s.local && !s.closing && this.replication?.forward !== undefined && !this.canOrderWrites()) {
      this.touchedGlobal.add(s.id);
    }
  }

  /** A learner, each tick (driver.ts): the global sessions touched since the last call. */
  takeTouched(): bigint[] {
    if (this.touchedGlobal.size === 0) return [];
    const ids = [...this.touchedGlobal];
    this.touchedGlobal = new Set();
    return ids;
  }

  /** The leader: a learner's clients touched these global sessions (a TOUCH message). */
  onLearnerTouch(ids: readonly bigint[]): void {
    const now = this.now();
    for (const id of ids) {
      const s = this.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
      if (s !== undefined) this.sessions.touch(s, now);
    }
  }

  onRequest(worker: number, r: RequestView, bytes: Uint8Array): void {
    this.stats.requests++;
    const s = this.sessions.get(r.sidHi, r.sidLo);
    if (s === undefined || s.closing || s.worker !== worker) {
      if (s !== undefined && s.closing && s.worker === worker && s.waiting !== null) {
        // Pipelined behind the session's writes in flight (its closeSession among them): it is
        // answered SessionExpired in its turn (writeDone), not ahead of them, which the worker
        // would take for a reply out of order (ZooKeeper's error txn keeps its place too).
        s.waiting.push({ xid: r.xid, op: r.op, body: bytes.slice(r.bodyOffset, r.end) });
        return;
      }
      // A session that moved to another worker here: its old connection is fenced.
      const err = s !== undefined && !s.closing ? Err.sessionMoved : Err.sessionExpired;
      this.replyBare(worker, r.sidHi, r.sidLo, r.xid, err);
      return;
    }
    if (!this.canRunNow(s, r.op)) {
      s.waiting!.push({ xid: r.xid, op: r.op, body: bytes.slice(r.bodyOffset, r.end) });
      return;
    }
    this.execute(s, r.xid, r.op, bytes, r.bodyOffset, r.end);
  }

  /**
   * Per-session FIFO: a request runs at once unless it would overtake the session's writes in
   * flight. Writes pipeline (prepare validates against outstanding changes, and replies leave in
   * zxid order), so a write may join the writes in flight as long as nothing waits before it; any
   * other request waits until the session's writes have been applied. Once the session is
   * closing, nothing joins: what comes after its closeSession is answered after it.
   */
  private canRunNow(s: SessionContext, op: number): boolean {
    if (s.waiting === null) return true;
    if (s.waiting!.length > 0 || s.barrier || s.closing) return false;
    return op !== OpCode.closeSession && this.db.isWrite(op);
  }

  // ---- ticks -------------------------------------------------------------------------------

  /** Expire global sessions whose bucket is due (SessionTrackerImpl.run). */
  tick(): void {
    const now = this.now();
    if (this.writerLargeAtMs !== 0 && now - this.writerLargeAtMs >= writerLargeIdleMs) {
      this.writer = new JuteWriter(writerBytesInitial);
      this.writerLargeAtMs = 0;
    }
    for (const s of this.sessions.expire(now)) {
      if (s.closing) continue;
      // Ensemble mode: only the leader expires global sessions. A learner keeps them queued
      // (re-armed a timeout from now), so that if it becomes the leader it expires them.
      if (!s.local && !this.canOrderWrites()) {
        this.sessions.touch(s, now);
        continue;
      }
      this.logger.info({ session: sessionIdHex(s.id), timeoutMs: s.timeoutMs }, 'session expired');
      this.stats.expired++;
      this.expireNow(s, now);
    }
    if (this.learnerRequests.size > 0) this.failOverdue(now);
    this.out.flush();
  }

  private expireNow(s: SessionContext, now: number): void {
    s.closing = true;
    this.sessions.unbucket(s);
    const p = this.db.prepare(this.contextOf(s, 0), { op: OpCode.closeSession, req: null }, now);
    this.startWrite({ p, for: WriteFor.expire, s, xid: 0, connId: s.connId, op: OpCode.closeSession });
  }

  /** Delete empty containers and expired TTL nodes (ContainerManager). */
  reapContainers(paths: string[]): void {
    if (!this.canOrderWrites()) return;
    const now = this.now();
    for (const path of paths) {
      const p = this.db.prepare(this.contextOf(this.systemSession, 0), { op: OpCode.deleteContainer, req: { path } }, now);
      this.startWrite({ p, for: WriteFor.container, s: null, xid: 0, connId: 0, op: OpCode.deleteContainer });
    }
  }

  // ---- execution ---------------------------------------------------------------------------

  private execute(s: SessionContext, xid: number, op: number, bytes: Uint8Array, start: number, end: number): void {
    if (s.movedAway) {
      // Its session is held by a newer connection on another member (ZooKeeper's checkSession).
      this.out.reply(s.worker, s, xid, this.db.lastZxid, Err.sessionMoved, null, 0);
      return;
    }
    if (!s.local && s.owner < 0 && this.isEnsemble() && this.canOrderWrites()) s.owner = this.serverId;
    if (workerCompletes(op)) {
      this.out.reply(s.worker, s, xid, this.db.lastZxid, Err.ok, null, 1);
      return;
    }
    if (!this.canOrderWrites() && (op === OpCode.reconfig || (op !== OpCode.closeSession && this.db.isWrite(op)))) {
      // Ensemble mode on a follower or observer: the write goes to the leader, and is answered
      // when its committed txn is applied here. Without forwarding (a leader not yet
      // established), it is refused as a read-only server refuses it.
      if (s.local && this.opts.localSessionsUpgradingEnabled && this.isEnsemble() && this.needsUpgrade(op, bytes, start, end)) {
        // The first ephemeral of a local session: its createSession goes to the leader first
        // (LearnerZooKeeperServer / checkUpgradeSession), so the leader orders it before the write.
        this.logger.info({ session: sessionIdHex(s.id) }, 'upgrading local session to global (through the leader)');
        this.sessions.upgrade(s, this.now());
        this.out.upgraded(s.worker, s);
        this.forwardWrite(s, upgradeXid, OpCode.createSession, new Uint8Array(0), 'upgrade');
      }
      if (this.forwardWrite(s, xid, op, bytes.slice(start, end))) return;
      this.out.reply(s.worker, s, xid, this.db.lastZxid, Err.notReadOnly, null, 0);
      return;
    }
    const refusal = refusedWrite(op);
    if (refusal !== Err.ok) {
      if (op === OpCode.deleteContainer) {
        this.logger.warn({ session: sessionIdHex(s.id), xid, op }, 'deleteContainer from a client refused (server-only opcode)');
      }
      const p = this.db.prepareError(this.contextOf(s, xid), refusal, this.now());
      this.startWrite({ p, for: WriteFor.request, s, xid, connId: s.connId, op });
      return;
    }
    let request: ClientRequest;
    try {
      request = decodeRequest(op, this.reader.reset(bytes, start, end));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      if (s.waiting !== null) {
        // A write that cannot be read still answers in its turn, after the writes before it.
        s.waiting!.push({ xid, op, body: bytes.slice(start, end) });
        return;
      }
      this.logger.warn({ session: sessionIdHex(s.id), op, err: e.message }, 'malformed request body');
      this.out.reply(s.worker, s, xid, this.db.lastZxid, Err.marshallingError, null, 0);
      return;
    }
    if (op === OpCode.closeSession) {
      this.closeSession(s, xid);
      return;
    }
    if (this.db.isWrite(op)) {
      this.stats.writes++;
      if (s.local && this.opts.localSessionsUpgradingEnabled && needsGlobalSession(request)) {
        this.upgrade(s);
      }
      const p = this.db.prepare(this.contextOf(s, xid), request, this.now());
      this.startWrite({ p, for: WriteFor.request, s, xid, connId: s.connId, op });
      return;
    }
    this.stats.reads++;
    this.read(s, xid, request);
  }

  /** A write that creates an ephemeral (for a local session's upgrade); false if unreadable. */
  private needsUpgrade(op: number, bytes: Uint8Array, start: number, end: number): boolean {
    if (op !== OpCode.create && op !== OpCode.create2 && op !== OpCode.multi) return false;
    try {
      return needsGlobalSession(decodeRequest(op, this.reader.reset(bytes, start, end)));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      return false;
    }
  }

  private read(s: SessionContext, xid: number, request: ClientRequest): void {
    const zxid = this.db.lastZxid;
    switch (request.op) {
      case OpCode.sync:
        this.sync(s, xid, request.req.path);
        return;
      case OpCode.addWatch: {
        const kind = request.req.mode === 1 ? WatchKind.persistentRecursive : WatchKind.persistent;
        this.registerWatch(s, kind, request.req.path);
        // The reply body is an ErrorResponse(0): four zero bytes, which the Java client reads.
        this.out.reply(s.worker, s, xid, zxid, Err.ok, errorResponseOk, 0);
        return;
      }
      case OpCode.setWatches:
      case OpCode.setWatches2: {
        const result = this.db.setWatches(request.req, request.op === OpCode.setWatches2);
        for (const f of result.fire) {
          // The READ filter applies to replayed events too (ZooKeeper 3.8.7, CVE-2026-59739:
          // 3.8.4 sent them unchecked); a node that is gone has no ACL to check.
          if (f.acl !== null && !checkAcl(f.acl, Perms.read, s.authIds)) continue;
          this.out.event(s.worker, s.hi, s.lo, f.type, zxid, f.path, null);
        }
        for (const w of result.register) this.registerWatch(s, w.kind, w.path);
        this.replyWith(s, xid, zxid, Err.ok, { op: request.op, res: null });
        return;
      }
      default: {
        const r = this.db.read(this.contextOf(s, xid), request);
        if (r.watch !== null) this.registerWatch(s, r.watch.kind, r.watch.path);
        if (r.tooLarge) this.replyTooLarge(s, xid, zxid, request.op, null);
        else this.replyWith(s, xid, zxid, r.err, r.response);
      }
    }
  }

  /**
   * sync (ZooKeeper: Leader.processSync / Learner's SYNC): the answer waits until this member
   * has applied every write its leader had accepted when the sync reached it. A learner asks the
   * leader for that point (a forwarded sync); the leader's is its last prepared zxid. Nothing of
   * the session overtakes a sync (per-session FIFO).
   */
  private sync(s: SessionContext, xid: number, path: string): void {
    if (!this.isEnsemble()) {
      this.replyWith(s, xid, this.db.lastZxid, Err.ok, { op: OpCode.sync, res: { path } });
      return;
    }
    s.barrier = true;
    if (!this.canOrderWrites()) {
      this.writer.reset();
      this.writer.writeString(path);
      this.forwardWrite(s, xid, OpCode.sync, Uint8Array.from(this.writer.bytes()), 'sync');
      return;
    }
    s.writesInFlight++;
    if (s.waiting === null) s.waiting = [];
    this.awaitSync(s, xid, path, this.db.lastPreparedZxid);
  }

  /** A sync answered once `zxid` is applied here (now, if it already is). */
  private awaitSync(s: SessionContext, xid: number, path: string, zxid: number): void {
    const worker = s.worker;
    if (this.db.lastZxid >= zxid) this.syncDone({ s, worker, xid, path, zxid });
    else this.syncsAwaiting.push({ s, worker, xid, path, zxid });
  }

  private syncDone(w: AwaitingSync): void {
    const s = w.s;
    if (this.sessions.get(s.hi, s.lo) !== s) return;
    s.barrier = false;
    if (w.worker === s.worker) this.replyWith(s, w.xid, this.db.lastZxid, Err.ok, { op: OpCode.sync, res: { path: w.path } });
    this.writeDone(s);
  }

  /** After an apply: syncs whose point is reached are answered (all of them, with `all`). */
  private releaseSyncs(all: boolean): void {
    const applied = this.db.lastZxid;
    const due = this.syncsAwaiting.filter((w) => all || w.zxid <= applied);
    if (due.length === 0) return;
    this.syncsAwaiting = this.syncsAwaiting.filter((w) => !due.includes(w));
    for (const w of due) this.syncDone(w);
  }

  private registerWatch(s: SessionContext, kind: number, path: string): void {
    this.router.register(s.worker, kind, path);
    this.out.watchRegister(s.worker, s, kind, path);
  }

  private closeSession(s: SessionContext, xid: number): void {
    if (!s.local && !this.canOrderWrites() && this.forwardWrite(s, xid, OpCode.closeSession, new Uint8Array(0))) {
      // A learner: the leader closes the session; the client is answered when the txn is applied.
      if (this.learnerRequests.hasWrite(s.id, xid)) {
        s.closing = true;
        this.sessions.unbucket(s);
      }
      return;
    }
    if (s.local || !this.canOrderWrites()) {
      this.sessions.remove(s);
      this.out.reply(s.worker, s, xid, this.db.lastZxid, Err.ok, null, 0);
      this.out.sessionEnd(s.worker, s, SessionEndReason.closed);
      return;
    }
    s.closing = true;
    this.sessions.unbucket(s);
    const p = this.db.prepare(this.contextOf(s, xid), { op: OpCode.closeSession, req: null }, this.now());
    this.startWrite({ p, for: WriteFor.request, s, xid, connId: s.connId, op: OpCode.closeSession });
  }

  /** localSessionsUpgradingEnabled: the first ephemeral makes a local session global, through a
   *  createSession txn ahead of the request (LeaderZooKeeperServer.checkUpgradeSession). */
  private upgrade(s: SessionContext): void {
    this.logger.info({ session: sessionIdHex(s.id) }, 'upgrading local session to global');
    this.sessions.upgrade(s, this.now());
    this.out.upgraded(s.worker, s);
    const p = this.db.prepare(this.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: s.timeoutMs }, this.now());
    this.startWrite({ p, for: WriteFor.upgrade, s, xid: 0, connId: s.connId, op: OpCode.createSession });
  }

  // ---- the write path: log stage, then apply --------------------------------------------------

  private startWrite(w: InFlightWrite): void {
    if (w.s !== null) {
      w.worker = w.s.worker;
      w.s.writesInFlight++;
      if (w.s.waiting === null) w.s.waiting = [];
    }
    if (this.replication !== null) {
      this.proposed.set(w.p.hdr.zxid, w);
      this.replication.propose(w.p);
      return;
    }
    this.inFlight.push(w);
    this.log.append(w.p);
    this.requestFlush();
  }

  private requestFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    const batch = this.inFlight.length;
    this.log.flush(() => this.flushDone(batch));
  }

  private flushDone(batch: number): void {
    const done = this.inFlight.splice(0, batch);
    for (const w of done) this.applyWrite(w);
    this.out.flush();
    this.flushing = false;
    if (this.flushAgain || this.inFlight.length > 0) {
      this.flushAgain = false;
      if (this.inFlight.length > 0) this.requestFlush();
    }
  }

  private applyWrite(w: InFlightWrite): void {
    const result = this.db.apply(w.p);
    const zxid = w.p.hdr.zxid;
    this.onApplied(zxid);
    for (const t of result.triggers) this.fanOut(t.path, t.type, zxid, t.acl);
    const s = w.s;
    switch (w.for) {
      case WriteFor.request:
        if (s === null) break;
        // (not once the session moved to another worker: its old connection is gone there)
        if (w.worker === s.worker) this.replyWith(s, w.xid, zxid, result.err, result.response);
        if (w.op === OpCode.closeSession) {
          this.sessions.remove(s);
          this.out.sessionEnd(s.worker, s, SessionEndReason.closed);
        }
        break;
      case WriteFor.createSession:
        if (s === null) break;
        this.logger.info({ session: sessionIdHex(s.id), timeoutMs: s.timeoutMs }, 'session created');
        this.out.attached(s.worker, s.hi, s.lo, w.connId, Err.ok, s.timeoutMs, 0);
        break;
      case WriteFor.expire:
        if (s === null) break;
        this.sessions.remove(s);
        this.out.sessionEnd(s.worker, s, SessionEndReason.expired);
        break;
      case WriteFor.forwarded:
        this.applySessionTxn(w.p);
        if (w.p.hdr.type === OpCode.createSession && w.from !== undefined && w.from >= 0) {
          const id = BigInt.asUintN(64, BigInt(w.p.hdr.clientId));
          const created = this.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
          if (created !== undefined && created.owner < 0) created.owner = w.from;
        }
        break;
      default:
        break;
    }
    if (s !== null) this.writeDone(s);
  }

  // ---- ensemble mode ----------------------------------------------------------------------

  private canOrderWrites(): boolean {
    return this.replication === null || this.replication.writable();
  }

  /**
   * A committed txn (driver.ts): the write this member proposed, or one ordered elsewhere. A
   * learner answers the client whose forwarded write the txn carries (CommitProcessor matches
   * the txn's (session, cxid) to the waiting local request).
   */
  applyCommitted(p: PreparedTxn): void {
    const zxid = p.hdr.zxid;
    const w = this.proposed.get(zxid);
    if (w !== undefined) {
      this.proposed.delete(zxid);
      this.applyWrite(w);
      if (this.syncsAwaiting.length > 0) this.releaseSyncs(false);
      return;
    }
    const result = this.db.apply(p);
    this.onApplied(zxid);
    for (const t of result.triggers) this.fanOut(t.path, t.type, zxid, t.acl);
    if (this.learnerRequests.size > 0) {
      const f = this.learnerRequests.takeWrite(p.hdr.clientId, p.hdr.cxid);
      if (f !== undefined && this.sessions.get(f.s.hi, f.s.lo) === f.s) {
        // (else the session ended meanwhile)
        if (f.op === OpCode.closeSession && p.hdr.type === OpCode.error) {
          // Refused (SessionMoved): the session lives on.
          f.s.closing = false;
          this.sessions.touch(f.s, this.now());
        }
        if (!f.silent && f.worker === f.s.worker) this.replyWith(f.s, f.xid, zxid, result.err, result.response);
        this.writeDone(f.s);
      }
    }
    this.applySessionTxn(p);
    if (this.syncsAwaiting.length > 0) this.releaseSyncs(false);
  }

  /**
   * A createSession / closeSession txn this member did not order for a session of its own
   * (LearnerSessionTracker / LeaderSessionTracker): every member keeps every global session in
   * its table, so a client can reconnect to any member. A learner answers the worker waiting for
   * a session it forwarded; a closed session ends on the worker that holds it here.
   */
  private applySessionTxn(p: PreparedTxn): void {
    const type = p.hdr.type;
    if (type !== OpCode.createSession && type !== OpCode.closeSession) return;
    const id = BigInt.asUintN(64, BigInt(p.hdr.clientId));
    const hi = Number(id >> 32n);
    const lo = Number(id & 0xffffffffn);
    const s = this.sessions.get(hi, lo);
    if (type === OpCode.createSession) {
      const c = this.learnerRequests.takeCreate(id);
      if (c !== undefined) {
        if (s === c.s) {
          this.logger.info({ session: sessionIdHex(id), timeoutMs: s.timeoutMs }, 'session created (by the leader)');
          this.out.attached(s.worker, hi, lo, c.connId, Err.ok, s.timeoutMs, 0);
          return;
        }
      }
      if (s === undefined) {
        const timeoutMs = p.txn.type === -10 ? p.txn.timeOut : 0;
        this.sessions.add(this.detachedSession(id, timeoutMs), this.now());
      }
      return;
    }
    if (s === undefined || s.local) return;
    this.sessions.remove(s);
    if (s.worker >= 0) {
      this.out.sessionEnd(s.worker, s, p.hdr.cxid === 0 ? SessionEndReason.expired : SessionEndReason.closed);
    }
  }

  private isEnsemble(): boolean {
    return this.replication?.forward !== undefined;
  }

  /** A learner: sends a message to the leader; its epoch, or -1 without a synced leader. */
  private sendForward(m: ForwardMsg): number {
    const r = this.replication;
    return r === null || r.forward === undefined ? -1 : r.forward(m);
  }

  /** A learner: a new global session's createSession to the leader; false if none is synced. */
  private sendCreate(c: WaitingCreate): number {
    return this.sendForward({
      type: 'REQUEST',
      session: c.s.id,
      cxid: 0,
      op: OpCode.createSession,
      body: new Uint8Array(0),
      authIds: [{ scheme: 'ip', id: c.s.authIds[0]?.id ?? '' }],
      timeoutMs: c.s.timeoutMs,
      local: false,
    });
  }

  private sendWrite(w: WaitingWrite): number {
    const s = w.s;
    return this.sendForward({
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
  private noteSent(x: WaitingWrite | WaitingCreate, epoch: number): void {
    if (epoch >= 0) this.learnerRequests.markSent(x, epoch);
  }

  /** A learner: a createSession that will not be answered fails its client. */
  private failCreate(c: WaitingCreate): void {
    const s = c.s;
    if (this.sessions.get(s.hi, s.lo) !== s) return;
    this.sessions.remove(s);
    this.out.attached(s.worker, s.hi, s.lo, c.connId, Err.sessionExpired, 0, 0);
  }

  /**
   * A learner: a client write goes to the leader, or waits for one (forwarding/learner-requests.ts); it is
   * answered when its committed txn is applied here. False without a forwarding channel.
   */
  private forwardWrite(
    s: SessionContext,
    xid: number,
    op: number,
    body: Uint8Array,
    kind: 'write' | 'upgrade' | 'sync' = 'write',
  ): boolean {
    const silent = kind === 'upgrade';
    if (!this.isEnsemble()) return false;
    if (this.learnerRequests.hasWrite(s.id, xid)) {
      // The same xid twice while the first waits: the client broke its own order.
      this.out.reply(s.worker, s, xid, this.db.lastZxid, Err.connectionLoss, null, 0);
      return true;
    }
    const w: WaitingWrite = { s, worker: s.worker, xid, op, body, silent, pending: true, epoch: -1, since: this.now() };
    const mayGo = !this.learnerRequests.anyPending; // (else it goes behind what waits)
    this.learnerRequests.addWrite(w);
    if (mayGo) this.noteSent(w, this.sendWrite(w));
    if (kind === 'write') this.stats.writes++;
    s.writesInFlight++;
    if (s.waiting === null) s.waiting = [];
    return true;
  }

  /**
   * The leader: a write a learner forwarded, prepared with the session's context as the message
   * carries it and proposed like a local write; nobody is answered here (the learner answers
   * when it applies the txn). Returns null, or the answer to send back (a refusal before
   * proposing, or a sync's point).
   */
  onForwardedRequest(m: ForwardRequest, from = -1): ForwardError | null {
    const refuse = (err: number): ForwardError => ({ type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err, zxid: 0 });
    if (!this.canOrderWrites()) return refuse(Err.connectionLoss);
    // Session 0 is the server's own (containers, the session secret); no client has it.
    if (m.session === 0n) return refuse(Err.badArguments);
    const known = m.local ? undefined : this.sessions.get(Number(m.session >> 32n), Number(m.session & 0xffffffffn));
    if (m.op === revalidateOp && m.cxid === revalidateXid) {
      // Learner.validateSession: a client reconnected to `from` (LearnerHandler REVALIDATE).
      if (known === undefined || known.local || known.closing || from < 0) return refuse(Err.sessionExpired);
      this.claim(known, from);
      this.sessions.touch(known, this.now());
      return refuse(Err.ok);
    }
    if (m.op === OpCode.sync) {
      // Leader.processSync: the learner answers once it has applied what was accepted here.
      return { type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err: Err.ok, zxid: this.db.lastPreparedZxid };
    }
    const ctx: RequestContext = { sessionId: m.session, cxid: m.cxid, authIds: m.authIds, isLocalSession: m.local };
    const now = this.now();
    let p: PreparedTxn;
    if (m.op === OpCode.createSession) {
      // A global session created on a learner (LearnerSessionTracker → the leader's createSession).
      const hi = Number(m.session >> 32n);
      const lo = Number(m.session & 0xffffffffn);
      if (m.local || m.timeoutMs <= 0 || this.sessions.get(hi, lo) !== undefined) return refuse(Err.badArguments);
      p = this.db.prepare(ctx, { op: OpCode.createSession, req: null, timeOut: m.timeoutMs }, now);
    } else if (
      known !== undefined &&
      !known.local &&
      from >= 0 &&
      known.owner >= 0 &&
      known.owner !== from &&
      (this.db.isWrite(m.op) || m.op === OpCode.reconfig)
    ) {
      // PrepRequestProcessor's checkSession(owner): the session moved to another member since.
      // An error txn, so the answer keeps its place among the session's forwarded writes.
      this.logger.info({ session: sessionIdHex(known.id), from, owner: known.owner, op: m.op }, 'write from a session that moved: SessionMoved');
      p = this.db.prepareError(ctx, Err.sessionMoved, now);
    } else if (m.op === OpCode.closeSession) {
      const s = this.sessions.get(Number(m.session >> 32n), Number(m.session & 0xffffffffn));
      if (m.local || s === undefined || s.local || s.closing) return refuse(Err.sessionExpired);
      s.closing = true;
      this.sessions.unbucket(s);
      p = this.db.prepare(ctx, { op: OpCode.closeSession, req: null }, now);
    } else if (refusedWrite(m.op) !== Err.ok) {
      p = this.db.prepareError(ctx, refusedWrite(m.op), now);
    } else if (!this.db.isWrite(m.op)) {
      return refuse(Err.badArguments);
    } else {
      let request: ClientRequest | null = null;
      try {
        request = decodeRequest(m.op, this.reader.reset(m.body, 0, m.body.length));
      } catch (e) {
        if (!(e instanceof JuteError)) throw e;
      }
      // A body that cannot be read is answered through an error txn, so the answer keeps its
      // place among the session's other forwarded writes.
      p = request === null ? this.db.prepareError(ctx, Err.marshallingError, now) : this.db.prepare(ctx, request, now);
    }
    if (known !== undefined && known.owner < 0 && from >= 0 && m.op !== OpCode.createSession) known.owner = from;
    this.stats.writes++;
    this.startWrite({ p, for: WriteFor.forwarded, s: null, xid: m.cxid, connId: 0, op: m.op, from });
    return null;
  }

  /**
   * A learner: the leader refused a forwarded write before proposing it. ConnectionLoss means
   * the member was not (or no longer) leading: the request waits for the next leader instead.
   */
  onForwardError(m: ForwardError): void {
    if (m.cxid === revalidateXid) {
      this.onRevalidated(m);
      return;
    }
    if (m.err === Err.ok) {
      // A sync's answer: wait until the leader's point is applied here.
      const w = this.learnerRequests.takeWrite(m.session, m.cxid);
      if (w === undefined || w.op !== OpCode.sync) return;
      const path = new JuteReader().reset(w.body, 0, w.body.length).readString() ?? '/';
      this.awaitSync(w.s, w.xid, path, m.zxid);
      return;
    }
    if (m.cxid === 0 && this.learnerRequests.hasCreate(m.session)) {
      if (m.err === Err.connectionLoss) {
        this.learnerRequests.park(this.learnerRequests.peekCreate(m.session)!);
        return;
      }
      this.failCreate(this.learnerRequests.takeCreate(m.session)!);
      return;
    }
    if (m.err === Err.connectionLoss) {
      const w = this.learnerRequests.peekWrite(m.session, m.cxid);
      if (w !== undefined) this.learnerRequests.park(w);
      return;
    }
    const f = this.learnerRequests.takeWrite(m.session, m.cxid);
    if (f === undefined || this.sessions.get(f.s.hi, f.s.lo) !== f.s) return;
    if (f.op === OpCode.sync) f.s.barrier = false;
    if (!f.silent && f.worker === f.s.worker) this.out.reply(f.s.worker, f.s, f.xid, this.db.lastZxid, m.err, null, 0);
    this.writeDone(f.s);
  }

  /**
   * A learner lost its leader. ZooKeeper closes every client connection here; zkts keeps them
   * (sessions live on, reads go on) and keeps their writes and createSessions, which wait for the
   * next leader (forwarding/learner-requests.ts).
   */
  leaderLost(): void {
    this.learnerRequests.leaderLost();
    // Reconnects the lost leader did not answer attach here alone (as without a leader).
    const waiting = [...this.revalidating];
    this.revalidating.clear();
    for (const [id, r] of waiting) {
      const s = this.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn));
      if (s === undefined || s.closing) this.out.attached(r.worker, Number(id >> 32n), Number(id & 0xffffffffn), r.connId, Err.sessionExpired, 0, 0);
      else this.attachHere(s, r);
    }
    this.out.flush();
  }

  /** Something waits that must go to the leader before newer requests may. */
  hasPendingForLeader(): boolean {
    return this.learnerRequests.anyPending;
  }

  /**
   * A leader is synced again (`epoch`): what waited for it goes to it, in request order. When
   * this member is the new leader, it orders them itself (its history, already applied, holds
   * whatever of them the old epoch committed).
   */
  resumeLearnerRequests(epoch: number): void {
    // Synced with a leader: this member has applied whatever an older leader's sync point
    // covered that can still commit.
    if (this.syncsAwaiting.length > 0) this.releaseSyncs(true);
    if (!this.learnerRequests.anyPending) return;
    const { creates, writes } = this.learnerRequests.toSend(epoch);
    const leading = this.canOrderWrites();
    const now = this.now();
    for (const [id, c] of creates) {
      const s = c.s;
      if (this.sessions.get(s.hi, s.lo) !== s) {
        this.learnerRequests.takeCreate(id);
        continue;
      }
      if (leading) {
        this.learnerRequests.takeCreate(id);
        const p = this.db.prepare(this.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: s.timeoutMs }, now);
        this.startWrite({ p, for: WriteFor.createSession, s, xid: 0, connId: c.connId, op: OpCode.createSession });
        continue;
      }
      const e = this.sendCreate(c);
      if (e < 0) return this.out.flush(); // lost it again: the rest stays pending, in order
      this.noteSent(c, e);
    }
    for (const w of writes) {
      const s = w.s;
      if (this.sessions.get(s.hi, s.lo) !== s) {
        this.learnerRequests.takeWrite(s.id, w.xid);
        continue;
      }
      if (!leading) {
        const e = this.sendWrite(w);
        if (e < 0) break;
        this.noteSent(w, e);
        continue;
      }
      this.learnerRequests.takeWrite(s.id, w.xid);
      if (w.worker !== s.worker) {
        // From a connection the session has left (another worker took it): dropped, unanswered.
        this.writeDone(s);
        continue;
      }
      if (w.silent) {
        // A local session's upgrade: its createSession, then the write behind it.
        const p = this.db.prepare(this.contextOf(s, 0), { op: OpCode.createSession, req: null, timeOut: s.timeoutMs }, now);
        this.startWrite({ p, for: WriteFor.upgrade, s, xid: 0, connId: s.connId, op: OpCode.createSession });
      } else if (w.op === OpCode.closeSession) {
        this.closeSession(s, w.xid);
      } else {
        this.execute(s, w.xid, w.op, w.body, 0, w.body.length);
      }
      // The waiting entry counted as a write in flight; what execute started counts for itself.
      this.writeDone(s);
    }
    this.out.flush();
  }

  /** A learner, each tick: what waited longer than its session timeout is answered now. */
  private failOverdue(now: number): void {
    const { creates, writes } = this.learnerRequests.takeOverdue(now);
    for (const [, c] of creates) this.failCreate(c);
    for (const w of writes) {
      const s = w.s;
      if (this.sessions.get(s.hi, s.lo) !== s) continue;
      this.logger.warn({ session: sessionIdHex(s.id), xid: w.xid, op: w.op }, 'no leader answered a forwarded write within the session timeout');
      if (w.op === OpCode.sync) s.barrier = false;
      if (!w.silent && w.worker === s.worker) this.out.reply(s.worker, s, w.xid, this.db.lastZxid, Err.connectionLoss, null, 0);
      this.writeDone(s);
    }
  }

  /**
   * A new leader re-arms every global session's timer a full timeout from now (as ZooKeeper's
   * new leader builds its SessionTracker): learners' touches resume once they are synced.
   */
  rearmGlobalSessions(): void {
    const now = this.now();
    for (const s of this.sessions.all()) {
      if (s.local) continue;
      // Owners this member noted before it led are not the ensemble's: unknown until a member
      // writes for the session or revalidates it (ZooKeeper's new leader starts with null owners).
      s.owner = -1;
      if (!s.closing) this.sessions.touch(s, now);
    }
  }

  /** Makes the replies and events of applyCommitted calls visible to the workers. */
  flushOut(): void {
    this.out.flush();
  }

  /**
   * Leadership lost (or a proposal could not be made): writes proposed and not applied will not
   * be answered by this member. Their clients get ConnectionLoss (the write may still commit
   * under the next leader, as ZooKeeper's clients must assume after a disconnect), and prepared
   * changes are forgotten.
   */
  abortProposed(): void {
    const ws = [...this.proposed.values()];
    this.proposed.clear();
    for (const w of ws) {
      const s = w.s;
      if (s === null) continue;
      if (w.for === WriteFor.request && w.worker === s.worker) this.replyBare(s.worker, s.hi, s.lo, w.xid, Err.connectionLoss);
      else if (w.for === WriteFor.createSession) {
        this.sessions.remove(s);
        this.out.attached(s.worker, s.hi, s.lo, w.connId, Err.sessionExpired, 0, 0);
      }
      if (s.closing && w.for !== WriteFor.request) s.closing = false;
      this.writeDone(s);
    }
    this.db.resetPipeline(this.db.lastZxid);
    this.out.flush();
  }

  /**
   * Sends an event once to each worker watching `path`, with who may see it: the READ audience
   * of `acl`, the ACL of the node the event is about (CVE-2024-23944; null: no check).
   */
  private fanOut(path: string, type: number, zxid: number, acl: readonly ACL[] | null): void {
    let workers = this.router.route(path, type);
    if (workers === 0) return;
    const audience = readersOf(acl);
    if (audience.truncated && !this.warnedReadersTruncated) {
      this.warnedReadersTruncated = true;
      this.logger.warn({ path, aclEntries: acl?.length }, 'watch event readers too many to send: only super sessions see events on nodes with this ACL');
    }
    for (let worker = 0; workers !== 0; worker++, workers >>>= 1) {
      if ((workers & 1) !== 0) this.out.event(worker, 0, 0, type, zxid, path, audience.readers);
    }
  }

  /** A session's write is applied: requests that waited behind it run now, in order. */
  private writeDone(s: SessionContext): void {
    s.writesInFlight--;
    if (s.writesInFlight > 0 || s.waiting === null) return;
    const waiting = s.waiting;
    s.waiting = null;
    for (let i = 0; i < waiting.length; i++) {
      const q = waiting[i]!;
      if (!this.canRunNow(s, q.op)) {
        (s.waiting as WaitingRequest[] | null)!.push(q); // behind a write in flight, in order
        continue;
      }
      if (s.closing && q.op !== OpCode.closeSession) {
        this.replyBare(s.worker, s.hi, s.lo, q.xid, Err.sessionExpired);
        continue;
      }
      this.execute(s, q.xid, q.op, q.body, 0, q.body.length);
    }
  }

  // ---- replies ----------------------------------------------------------------------------

  private replyWith(s: SessionContext, xid: number, zxid: number, err: number, response: ClientResponse | null): void {
    let body: Uint8Array | null = null;
    if (err === Err.ok && response !== null && response.res !== null) {
      this.writer.reset();
      encodeResponse(this.writer, response);
      body = this.writer.bytes();
    } else if (response !== null && (response.op === OpCode.multi || response.op === OpCode.multiRead)) {
      // A failed multi still carries its per-op results (MultiResponse with error results).
      this.writer.reset();
      encodeResponse(this.writer, response);
      body = this.writer.bytes();
    }
    if (body !== null && body.length > replyBodyBytesMax) {
      this.replyTooLarge(s, xid, zxid, response!.op, body.length);
    } else {
      this.out.reply(s.worker, s, xid, zxid, err, body, 0);
    }
    if (body !== null && body.length > writerBytesKept) this.writerLargeAtMs = this.now();
  }

  /**
   * A reply larger than the rings deliver (a getChildren of a node with millions of children,
   * a multiRead of the same large node many times): ZooKeeper would send it and a client with a
   * smaller jute.maxbuffer would drop the connection. Here the connection pays at once: the
   * worker closes it in the session's turn (ReplyFlag.tooLarge). `bytes` is null when the reply
   * was not built (Reads stopped collecting past the bound).
   */
  private replyTooLarge(s: SessionContext, xid: number, zxid: number, op: number, bytes: number | null): void {
    this.logger.warn(
      { session: sessionIdHex(s.id), xid, op, replyBytes: bytes, replyBytesMax: replyBodyBytesMax },
      'reply too large to deliver: closing the connection',
    );
    this.out.reply(s.worker, s, xid, zxid, Err.ok, null, ReplyFlag.tooLarge);
  }

  private replyBare(worker: number, hi: number, lo: number, xid: number, err: number): void {
    const s = new SessionContext(sessionIdOf(hi, lo), hi, lo, worker, 0, 0, true, '');
    this.out.reply(worker, s, xid, this.db.lastZxid, err, null, 0);
  }

  private contextOf(s: SessionContext, xid: number): RequestContext {
    return { sessionId: s.id, cxid: xid, authIds: s.authIds, isLocalSession: s.local };
  }

  // ---- SNAP sync (driver.ts): the whole state replaced at once ------------------------------

  /** The global sessions (id -> timeout ms) that a SNAP image of the applied state carries. */
  globalSessions(): Map<bigint, number> {
    const out = new Map<bigint, number>();
    for (const s of this.sessions.all()) if (!s.local) out.set(BigInt.asUintN(64, s.id), s.timeoutMs);
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
  replaceState(zxid: number, load: () => ReadonlyMap<bigint, number>): void {
    for (const w of this.learnerRequests.takeSentWrites()) {
      const s = w.s;
      if (this.sessions.get(s.hi, s.lo) !== s) continue;
      if (!w.silent && w.worker === s.worker) this.out.reply(s.worker, s, w.xid, this.db.lastZxid, Err.connectionLoss, null, 0);
      this.writeDone(s);
    }
    const before = nodeStamps(this.db.tree);
    const sessions = load();
    this.db.lastZxid = zxid;
    this.db.resetPipeline(zxid);
    this.onApplied(zxid);
    const after = nodeStamps(this.db.tree);
    for (const [path, old] of before) {
      const now = after.get(path);
      if (now === undefined) {
        this.fanOut(path, EventType.nodeDeleted, zxid, old.acl);
        continue;
      }
      if (now.czxid !== old.czxid || now.mzxid !== old.mzxid) this.fanOut(path, EventType.nodeDataChanged, zxid, now.acl);
      if (now.czxid !== old.czxid || now.pzxid !== old.pzxid || now.cversion !== old.cversion) {
        this.fanOut(path, EventType.nodeChildrenChanged, zxid, now.acl);
      }
    }
    for (const [path, now] of after) if (!before.has(path)) this.fanOut(path, EventType.nodeCreated, zxid, now.acl);
    const nowMs = this.now();
    for (const s of [...this.sessions.all()]) {
      const id = BigInt.asUintN(64, s.id);
      if (s.local) continue;
      const c = this.learnerRequests.peekCreate(id);
      if (c !== undefined) {
        // Its createSession committed inside the snapshot: answer it; else it is still on its
        // way (parked, or in the stream after the snapshot) and is answered when applied.
        if (sessions.has(id) && this.learnerRequests.takeCreate(id) !== undefined && c.s === s) {
          this.out.attached(s.worker, s.hi, s.lo, c.connId, Err.ok, s.timeoutMs, 0);
        }
        continue;
      }
      if (sessions.has(id)) continue;
      this.sessions.remove(s);
      if (s.worker >= 0) this.out.sessionEnd(s.worker, s, SessionEndReason.expired);
    }
    for (const [id, timeoutMs] of sessions) {
      if (this.sessions.get(Number(id >> 32n), Number(id & 0xffffffffn)) === undefined) {
        this.sessions.add(this.detachedSession(id, timeoutMs), nowMs);
      }
    }
    this.logger.info({ zxid: `0x${zxid.toString(16)}`, nodes: after.size, sessions: sessions.size }, 'state replaced by a snapshot from the leader');
    this.flushOut();
  }
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
function refusedWrite(op: number): number {
  if (op === OpCode.reconfig) return Err.reconfigDisabled;
  if (op === OpCode.deleteContainer) return Err.badArguments;
  return Err.ok;
}

/**
 * The cxid of a learner's upgrade createSession (its txn carries it back): not 0, which some
 * clients (node-zookeeper-client) use for their first request, and no client xid (clients count
 * up from 0 or 1; ZooKeeper's negative xids are -1 notification, -2 ping, -4 auth, -8
 * setWatches).
 */
const upgradeXid = -10;

interface AwaitingSync {
  readonly s: SessionContext;
  readonly worker: number;
  readonly xid: number;
  readonly path: string;
  readonly zxid: number;
}

function isEphemeralMode(flags: number): boolean {
  return flags === 1 || flags === 3;
}

export { EventType };
