// The session worker: owns client connections and sessions, and is the worker end of the ring
// contract (src/shm/records.ts). What it does, in ZooKeeper's terms:
//
// - NIOServerCnxn / ServerCnxn: frames, four-letter words, per-connection stats (conn.ts);
// - ZooKeeperServer.processConnectRequest / processPacket: handshake, ping, auth (here and in
//   session/handshake.ts, session/auth.ts); every other request goes to the main thread as a
//   `request` record whose body is the raw jute bytes, and comes back as a `reply` record in the
//   session's order;
// - the learner's session tracking: local sessions expire here, global ones are reported as
//   touched to the main thread in batches (common/expiry-queue.ts);
// - WatchManager for this worker's sessions: `watchRegister` records fill the table, `event`
//   records fan out (watches/).
//
// Output is queued per connection and flushed once per event-loop turn: after each batch of ring
// records (the channel pump's afterBatch) and at the end of each turn of socket reads / ticks.

import type { Socket } from 'node:net';
import { AssertionError, assert } from '../common/assert.js';
import { sessionIdHi, sessionIdLo, sessionIdOf } from '../common/ids.js';
import { Err, OpCode, Xid } from '../common/zk.js';
import { JUTE_BUFFER_BYTES_MAX_DEFAULT, JuteError, JuteReader, JuteWriter, decodeConnectRequest } from '../protocol/jute/index.js';
import type { ConnectRequest } from '../protocol/types.js';
import type {
  MainToWorkerMessage,
  StatsRequestMessage,
  StatsSection,
  WorkerCounts,
  WorkerInit,
  WorkerStats,
  WorkerToMainMessage,
} from '../shm/admin.js';
import type { IpCountTable } from '../shm/ipcount.js';
import { largeRecordBufferTrimMs, recordBytesMax } from '../shm/limits.js';
import {
  DetachReason,
  ReplyFlag,
  SessionEndReason,
  SessionFlag,
  WatchKind,
  requestHeaderBytes,
  type AttachedView,
  type EventView,
  type ReplyView,
  type SessionEndView,
  type WatchRegisterView,
} from '../shm/records.js';
import type { SharedStatus } from '../shm/status.js';
import type { Bridge, BridgeHandler, RequestFields } from './bridge.js';
import { Conn, ConnState, OutSlab, Pause, type ConnHandler, type IoCounters } from './conn.js';
import type { WatchOpArg } from './fifo.js';
import {
  FourLetterWhitelist,
  fourLetterWordOf,
  notWhitelistedText,
  telnetClose,
} from './fourletter.js';
import { writeReplyFrame } from './frames.js';
import { Listener } from './listener.js';
import type { WorkerLog } from './log.js';
import { digestId, encodeWhoAmI } from './session/auth.js';
import { ExpiryQueue } from '../common/expiry-queue.js';
import { authIdCharsMax, authIdsPerSessionMax } from '../common/limits.js';
import {
  SessionIdGenerator,
  connectRequestBytesWithoutReadOnly,
  connectResponseFrame,
  planConnect,
  sessionPassword,
  sessionPasswordBytes,
  sessionlessConnectionTimeoutMs,
  type ConnectContext,
} from './session/handshake.js';
import { SessionTable, type Session } from './session/table.js';
import { Latency, connectionStats, lastOpName, resetConnectionStats, watchStats } from './stats.js';
import { Fanout } from './watches/fanout.js';
import { mayRead } from './watches/readers.js';
import { WatchTable, watcherTypeBits } from './watches/table.js';
import { StalledOutput } from './stalled-output.js';

/** Bounds of one worker (units last). */
export const workerLimits = {
  sessionsPerWorkerMax: 1 << 20,
  /** Requests one session may have at the main thread before its socket stops being read,
   *  whatever the server-wide total (globalOutstandingLimit) says: bounds one session's FIFO. */
  sessionRequestsOutstandingMax: 1000,
  /** Output queued in a socket above which it stops being read until it drains. */
  connOutputBytesPause: 1 << 20,
  /** Output queued in a socket above which the client is dropped as too slow. */
  connOutputBytesMax: 64 << 20,
  /** Output queued in this worker's stalled sockets (each above connOutputBytesPause: its
   *  client is not reading) above which the one holding the most is closed, so many slow
   *  clients together cannot hold more than this either. */
  workerStalledOutputBytesMax: 128 << 20,
  /** Records queued outside a full worker → main ring above which sockets stop being read. */
  ringOutboxBytesMax: 8 << 20,
  /** At most one "throttling reads" log line per this many milliseconds. */
  throttleLogMs: 10_000,
} as const;
assert(
  workerLimits.connOutputBytesPause < workerLimits.connOutputBytesMax &&
    workerLimits.connOutputBytesMax <= workerLimits.workerStalledOutputBytesMax,
  'workerLimits: output bounds out of order',
);
// The rings carry any legal request and any deliverable reply (in fragments past half a ring):
// a request of jute.maxbuffer's default crosses, and the largest reply record still fits under
// the output bound that would drop its client as too slow.
assert(
  recordBytesMax >= requestHeaderBytes + JUTE_BUFFER_BYTES_MAX_DEFAULT,
  'workerLimits: a ring record holds a request of jute.maxbuffer',
);
assert(
  workerLimits.connOutputBytesMax >= recordBytesMax + workerLimits.connOutputBytesPause,
  'workerLimits: a socket queues the largest reply record',
);

/** A handshake waiting for its `attached` record. */
export interface PendingAttach {
  sidHi: number;
  sidLo: number;
  timeoutMs: number;
  create: boolean;
  readOnly: boolean;
  oldClient: boolean;
}

/** A ConnectRequest held until the worker knows the session secret (its connection paused). */
interface HeldConnect {
  conn: ClientConn;
  req: ConnectRequest;
  oldClient: boolean;
}

/** A connection with the session state the worker keeps beside the transport. */
export class ClientConn extends Conn {
  /** Output bytes counted in the worker's stalled total (0 while the client reads). */
  stalledBytes = 0;
  session: Session<ClientConn> | null = null;
  pending: PendingAttach | null = null;
  fourLetterReqId = 0;
}

type WorkerSession = Session<ClientConn>;

export interface SessionWorkerOptions {
  init: WorkerInit;
  bridge: Bridge;
  status: SharedStatus;
  ipCounts: IpCountTable;
  log: WorkerLog;
  /** postMessage to the main thread (four-letter words, stats, lifecycle). */
  post(message: WorkerToMainMessage): void;
  /** Monotonic milliseconds (performance.now by default). */
  now?: () => number;
}

/** SetSASLResponse with a null token: a jute buffer of length -1. */
const saslNoToken = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/** Request.isValid (3.8) minus what the worker answers itself (ping, auth) or refuses
 *  (createSession is internal, SASL is not supported). */
function isForwarded(op: number): boolean {
  switch (op) {
    case OpCode.check:
    case OpCode.closeSession:
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.exists:
    case OpCode.getACL:
    case OpCode.getChildren:
    case OpCode.getAllChildrenNumber:
    case OpCode.getChildren2:
    case OpCode.getData:
    case OpCode.getEphemerals:
    case OpCode.multi:
    case OpCode.multiRead:
    case OpCode.reconfig:
    case OpCode.setACL:
    case OpCode.setData:
    case OpCode.setWatches:
    case OpCode.setWatches2:
    case OpCode.sync:
    case OpCode.checkWatches:
    case OpCode.removeWatches:
    case OpCode.addWatch:
    case OpCode.whoAmI:
      return true;
    default:
      return false;
  }
}

function hexOf(hi: number, lo: number): string {
  return `0x${sessionIdOf(hi, lo).toString(16)}`;
}

const sessionEndNames: Record<number, string> = {
  [SessionEndReason.expired]: 'expired',
  [SessionEndReason.moved]: 'moved',
  [SessionEndReason.closed]: 'closed',
};

export class SessionWorker implements ConnHandler, BridgeHandler {
  readonly #init: WorkerInit;
  readonly #bridge: Bridge;
  readonly #status: SharedStatus;
  readonly #log: WorkerLog;
  readonly #post: (message: WorkerToMainMessage) => void;
  readonly #now: () => number;
  readonly #listener: Listener;
  readonly #whitelist: FourLetterWhitelist;
  readonly #ids: SessionIdGenerator;
  readonly #connectContext: ConnectContext;

  readonly #sessions = new SessionTable<ClientConn>(workerLimits.sessionsPerWorkerMax);
  readonly #watches = new WatchTable();
  readonly #slab = new OutSlab();
  readonly #fanout: Fanout;
  readonly #counters: IoCounters = { packetsReceived: 0, packetsSent: 0 };
  readonly #latency = new Latency(); // worker-wide (ServerStats)
  readonly #conns = new Map<number, ClientConn>();
  readonly #connBySlot: (ClientConn | undefined)[] = [];
  readonly #freeConnSlots: number[] = [];
  #nextConnId = 1;
  /** Local sessions, by session slot. */
  readonly #sessionExpiry: ExpiryQueue;
  /** Every connection, by connection slot: idle for its timeout → closed
   *  (NIOServerCnxnFactory's connection expirer). */
  readonly #connExpiry: ExpiryQueue;
  #touched = new Int32Array(1024);
  #touchedCount = 0;
  #touchIds = new Uint32Array(2048);
  /** Requests of this worker's sessions in flight at the main thread. */
  #outstanding = 0;
  /** The last server-wide total seen was above globalOutstandingLimit (for the log lines). */
  #overLimit = false;
  #throttleLoggedMs = -Infinity;
  #throttleEpisodes = 0;

  readonly #reader: JuteReader;
  readonly #writer = new JuteWriter(256);
  readonly #fields: RequestFields = { sidHi: 0, sidLo: 0, xid: 0, op: 0, flags: 0, timeoutMs: 0 };
  readonly #header = { xid: 0, zxid: 0, err: 0 };
  readonly #idScratch = { hi: 0, lo: 0 };
  #dirty: ClientConn[] = [];
  /** Connections whose clients do not read (output above connOutputBytesPause), and the
   *  output they hold (see workerStalledOutputBytesMax). */
  readonly #stalled = new StalledOutput<ClientConn>();
  #turnScheduled = false;
  #ringPaused: ClientConn[] = [];
  #ringWaiting = false;
  readonly #fourLetter = new Map<number, ClientConn>();
  #fourLetterSeq = 0;
  /** Connects that arrived before the session secret (a new ensemble's first leader writes it). */
  #heldConnects: HeldConnect[] = [];
  #tickTimer: NodeJS.Timeout | undefined;
  #buffersTrimmedMs = 0;
  #stopped = false;

  readonly #endTurn = (): void => {
    this.#turnScheduled = false;
    this.#bridge.publish();
    this.#flushDirty();
  };
  readonly #expireLocalSession = (slot: number): void => this.#expireLocal(slot);
  readonly #expireConnection = (slot: number): void => this.#expireConn(slot);

  constructor(options: SessionWorkerOptions) {
    const init = options.init;
    this.#init = init;
    this.#bridge = options.bridge;
    this.#status = options.status;
    this.#log = options.log;
    this.#post = options.post;
    this.#now = options.now ?? (() => performance.now());
    this.#whitelist = new FourLetterWhitelist(init.fourLetterWhitelist);
    this.#ids = new SessionIdGenerator(init.serverId, init.workerIndex);
    this.#reader = new JuteReader(undefined, { bufferBytesMax: init.juteMaxBufferBytes });
    const now = this.#now();
    this.#sessionExpiry = new ExpiryQueue(init.tickTimeMs, now);
    this.#connExpiry = new ExpiryQueue(init.tickTimeMs, now);
    this.#fanout = new Fanout(
      this.#watches,
      (slot) => {
        const c = this.#sessions.at(slot)?.conn;
        return c == null || c.state !== ConnState.open ? null : this.#mark(c);
      },
      (bytes) => {
        const off = this.#slab.reserve(bytes);
        return this.#slab.buf.subarray(off, off + bytes);
      },
      (slot, readers) => {
        const s = this.#sessions.at(slot);
        return s !== undefined && s.conn !== null && mayRead(readers, s.superUser, s.authIds, s.conn.ip);
      },
    );
    this.#connectContext = this.#makeConnectContext();
    this.#listener = new Listener({
      spec: init.listen,
      ipCounts: options.ipCounts,
      maxClientCnxns: init.maxClientCnxns,
      sharedPort: init.workerCount > 1,
      log: this.#log,
      onConnection: (socket, ip, counted) => this.#accept(socket, ip, counted),
    });
  }

  #makeConnectContext(): ConnectContext {
    const init = this.#init;
    const status = this.#status;
    return {
      remote: '',
      get serving() {
        return status.serving;
      },
      get lastZxid() {
        return status.lastZxid;
      },
      minSessionTimeoutMs: init.minSessionTimeoutMs,
      maxSessionTimeoutMs: init.maxSessionTimeoutMs,
      localSessionsEnabled: init.localSessionsEnabled,
      sessionSecret: init.sessionSecret,
      knownLocal: (hi, lo) => this.#sessions.get(hi, lo)?.local === true,
    };
  }

  // ============================================================================ lifecycle

  /** Listen, pump the ring, start the tick. Resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    this.#bridge.start(this).catch((err: unknown) => {
      // A broken record from the main thread is a programmer error: crash the thread (and so
      // the process) rather than run past it.
      setImmediate(() => {
        throw err;
      });
    });
    const tickMs = Math.max(1, Math.floor(this.#init.tickTimeMs / 2));
    this.#tickTimer = setInterval(() => this.#tick(), tickMs);
    this.#tickTimer.unref();
    return this.#listener.start();
  }

  /** Stop accepting, close every connection, close the channel (releasing its doorbells). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tickTimer !== undefined) clearInterval(this.#tickTimer);
    const closing = this.#listener.close();
    for (const conn of [...this.#conns.values()]) conn.close();
    this.#bridge.close();
    await closing;
  }

  onAdminMessage(m: MainToWorkerMessage): void {
    switch (m.type) {
      case 'fourLetterReply':
        this.#fourLetterReply(m.reqId, m.text);
        return;
      case 'stats': {
        const stats = this.stats(m);
        const workerIndex = this.#init.workerIndex;
        this.#post({ type: 'statsReply', reqId: m.reqId, workerIndex, stats });
        return;
      }
      case 'stop':
        void this.stop();
        return;
      case 'sessionSecret':
        this.#setSessionSecret(m.secret);
        return;
    }
  }

  /** The secret is known (or changed): connects held for it go on, in arrival order. */
  #setSessionSecret(secret: string): void {
    this.#connectContext.sessionSecret = secret;
    if (secret === '') return;
    const held = this.#heldConnects;
    this.#heldConnects = [];
    const now = this.#now();
    for (const h of held) {
      if (this.#conns.get(h.conn.id) !== h.conn || h.conn.state !== ConnState.fresh) continue;
      // Planned while still paused: frames the client sent after its ConnectRequest must not be
      // read as one. An answered session reads on; one that waits for `attached` stays paused.
      this.#planConnect(h.conn, h.req, h.oldClient, now);
      if ((h.conn.state as number) === ConnState.open) h.conn.resume(Pause.handshake);
    }
    this.#scheduleTurn();
  }

  /** Sessions held by this worker (tests). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  // ============================================================================ connections

  #accept(socket: Socket, ip: string, counted: boolean): void {
    if (this.#stopped) {
      socket.destroy();
      if (counted) this.#listener.release(ip);
      return;
    }
    const id = this.#nextConnId;
    this.#nextConnId = id === 0xffffffff ? 1 : id + 1;
    const slot = this.#freeConnSlots.pop() ?? this.#connBySlot.length;
    const conn = new ClientConn({
      id,
      slot,
      socket,
      ip,
      handler: this,
      slab: this.#slab,
      counters: this.#counters,
      frameBytesMax: this.#init.juteMaxBufferBytes,
    });
    conn.ipCounted = counted;
    this.#conns.set(id, conn);
    this.#connBySlot[slot] = conn;
    this.#connExpiry.update(slot, this.#now(), sessionlessConnectionTimeoutMs);
    conn.start();
  }

  onFrame(c: Conn, buf: Buffer, start: number, end: number): void {
    const conn = c as ClientConn;
    const now = this.#now();
    const s = conn.session;
    const idleMs = s === null ? sessionlessConnectionTimeoutMs : s.timeoutMs;
    this.#connExpiry.update(conn.slot, now, idleMs);
    if (conn.state === ConnState.fresh) {
      this.#connect(conn, buf, start, end, now);
    } else if (conn.state === ConnState.open && s !== null) {
      this.#request(conn, s, buf, start, end, now);
    }
    this.#scheduleTurn();
  }

  onProtocolError(c: Conn, message: string): void {
    const conn = c as ClientConn;
    const fields = { remote: conn.remote, sid: conn.session?.hex };
    this.#log.warn(fields, `closing connection: ${message}`);
  }

  onClose(c: Conn): void {
    const conn = c as ClientConn;
    this.#stalled.set(conn, 0);
    this.#conns.delete(conn.id);
    this.#connBySlot[conn.slot] = undefined;
    this.#freeConnSlots.push(conn.slot);
    this.#connExpiry.remove(conn.slot);
    if (conn.ipCounted) this.#listener.release(conn.ip);
    if (conn.fourLetterReqId !== 0) this.#fourLetter.delete(conn.fourLetterReqId);
    if (this.#heldConnects.length > 0) this.#heldConnects = this.#heldConnects.filter((h) => h.conn !== conn);
    const p = conn.pending;
    if (p !== null) {
      conn.pending = null;
      this.#bridge.sendDetach(p.sidHi, p.sidLo, conn.id, DetachReason.connectionClosed);
    }
    const s = conn.session;
    if (s !== null && s.conn === conn) this.#detached(s, conn);
    this.#scheduleTurn();
  }

  /** NIOServerCnxnFactory's connection expirer: nothing heard for the session timeout. */
  #expireConn(slot: number): void {
    const conn = this.#connBySlot[slot];
    if (conn === undefined) return;
    this.#log.debug({ remote: conn.remote, sid: conn.session?.hex }, 'connection idle: closing');
    conn.close();
  }

  // ============================================================================ handshake

  #connect(conn: ClientConn, buf: Buffer, start: number, end: number, now: number): void {
    let req: ConnectRequest;
    try {
      req = decodeConnectRequest(this.#reader.reset(buf, start, end));
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.onProtocolError(conn, `malformed ConnectRequest: ${e.message}`);
      conn.close();
      return;
    }
    const oldClient = end - start <= connectRequestBytesWithoutReadOnly(req.passwd.length);
    if (this.#connectContext.sessionSecret === '') {
      // No password can be made or checked yet: hold the connect (its connection paused, as
      // ZooKeeper's is until the session is set up); the sessionless timeout still closes it.
      const passwd = Uint8Array.from(req.passwd.subarray(0, sessionPasswordBytes + 1));
      this.#heldConnects.push({ conn, req: { ...req, passwd }, oldClient });
      conn.pause(Pause.handshake);
      return;
    }
    this.#planConnect(conn, req, oldClient, now);
  }

  #planConnect(conn: ClientConn, req: ConnectRequest, oldClient: boolean, now: number): void {
    const hi = sessionIdHi(req.sessionId);
    const lo = sessionIdLo(req.sessionId);
    this.#connectContext.remote = conn.remote;
    const plan = planConnect(req, hi, lo, this.#connectContext);
    switch (plan.kind) {
      case 'refuse':
        this.#log.info({ remote: conn.remote }, plan.message);
        conn.close();
        return;
      case 'badPassword':
        this.#badPassword(conn, req, hi, lo, oldClient);
        return;
      case 'create':
        this.#create(conn, req, plan.local, plan.timeoutMs, oldClient, now);
        return;
      case 'reattachLocal':
        this.#reattachLocal(conn, req, hi, lo, plan.timeoutMs, oldClient, now);
        return;
      case 'reconnect': {
        const { timeoutMs } = plan;
        const readOnly = req.readOnly;
        const p = { sidHi: hi, sidLo: lo, timeoutMs, create: false, readOnly, oldClient };
        this.#awaitAttached(conn, req, p);
        return;
      }
    }
  }

  #create(
    conn: ClientConn,
    req: ConnectRequest,
    local: boolean,
    timeoutMs: number,
    oldClient: boolean,
    now: number,
  ): void {
    const id = this.#idScratch;
    this.#ids.next(id);
    // Unique within this run; one from before a restart (another key) could match by chance.
    while (this.#sessions.get(id.hi, id.lo) !== undefined) this.#ids.next(id);
    if (!local) {
      const readOnly = req.readOnly;
      const p = { sidHi: id.hi, sidLo: id.lo, timeoutMs, create: true, readOnly, oldClient };
      this.#awaitAttached(conn, req, p);
      return;
    }
    const s = this.#sessions.add(id.hi, id.lo, timeoutMs, true, req.readOnly);
    if (s === undefined) {
      this.#log.warn({ remote: conn.remote }, 'closing connection: session table full');
      conn.close();
      return;
    }
    const flags = SessionFlag.local | SessionFlag.create;
    this.#sendAttach(conn, s.sidHi, s.sidLo, flags, timeoutMs, req, true);
    this.#established(conn, s, oldClient, now, 'new local');
  }

  /** A reconnect of a local session this worker holds: answered here (LocalSessionTracker). */
  #reattachLocal(
    conn: ClientConn,
    req: ConnectRequest,
    hi: number,
    lo: number,
    timeoutMs: number,
    oldClient: boolean,
    now: number,
  ): void {
    const s = this.#sessions.get(hi, lo)!;
    this.#takeOver(s, conn);
    s.timeoutMs = timeoutMs;
    s.readOnly = req.readOnly;
    // No answer is awaited: the record tells the main thread the session's new connection and
    // ip (it resets the session's auth ids to that ip, as for any attach).
    this.#sendAttach(conn, hi, lo, SessionFlag.local, timeoutMs, req, true);
    this.#established(conn, s, oldClient, now, 'renewed local');
  }

  /**
   * A reconnect with the wrong password: "invalid session" (as ZooKeeper answers it), then close.
   * ZooKeeperServer.processConnectRequest closes the connection that holds the session before
   * reopenSession checks the password; zkts does not: whoever knows a session id (cons, dump and
   * wchc print them) could otherwise cut its holder off at will. The holder keeps its connection
   * and its session. The attach record (passwdOk false, no answer awaited) only tells the main
   * thread, which logs nothing more and changes nothing.
   */
  #badPassword(
    conn: ClientConn,
    req: ConnectRequest,
    hi: number,
    lo: number,
    oldClient: boolean,
  ): void {
    const sid = hexOf(hi, lo);
    const msg = `Incorrect password from /${conn.remote} for session ${sid}`;
    this.#log.warn({ remote: conn.remote, sid }, msg);
    this.#sendAttach(conn, hi, lo, 0, 0, req, false);
    this.#invalidSession(conn, hi, lo, oldClient);
  }

  #awaitAttached(conn: ClientConn, req: ConnectRequest, p: PendingAttach): void {
    conn.pending = p;
    conn.state = ConnState.handshaking;
    conn.pause(Pause.handshake); // ZooKeeper: cnxn.disableRecv() until the session is set up
    const flags = p.create ? SessionFlag.create : 0;
    this.#sendAttach(conn, p.sidHi, p.sidLo, flags, p.timeoutMs, req, true);
  }

  #sendAttach(
    conn: ClientConn,
    hi: number,
    lo: number,
    flags: number,
    timeoutMs: number,
    req: ConnectRequest,
    passwdOk: boolean,
  ): void {
    this.#bridge.sendAttach({
      sidHi: hi,
      sidLo: lo,
      flags: flags | (req.readOnly ? SessionFlag.readOnly : 0),
      timeoutMs,
      lastZxidSeen: req.lastZxidSeen,
      connId: conn.id,
      passwdOk,
      ip: conn.ip,
    });
  }

  onAttached(v: AttachedView): void {
    const conn = this.#conns.get(v.connId);
    const p = conn?.pending;
    // Answers nobody waits for (new local sessions, local re-attaches, bad passwords,
    // connections closed meanwhile) are ignored.
    if (conn === undefined || p == null || conn.state !== ConnState.handshaking) return;
    if (p.sidHi !== v.sidHi || p.sidLo !== v.sidLo) return;
    conn.pending = null;
    if (v.err === Err.ok) {
      // A new session has the timeout its attach asked for; a reconnect gets the one negotiated
      // from its own ConnectRequest, as ZooKeeper answers it (processConnectRequest sets it on
      // the new connection before reopenSession), not the one the session had before.
      this.#attachedOk(conn, p, (v.flags & SessionFlag.local) !== 0);
      return;
    }
    const e = v.err;
    if (e === Err.sessionExpired || e === Err.sessionMoved || e === Err.unknownSession) {
      this.#invalidSession(conn, p.sidHi, p.sidLo, p.oldClient);
      return;
    }
    const sid = hexOf(p.sidHi, p.sidLo);
    this.#log.warn({ remote: conn.remote, sid, err: v.err }, 'closing connection: session refused');
    conn.close();
  }

  #attachedOk(conn: ClientConn, p: PendingAttach, local: boolean): void {
    let s = this.#sessions.get(p.sidHi, p.sidLo);
    if (s !== undefined) {
      // Back on this worker (its old connection may still be open): keep the entry, so the
      // replies still due to the old connection are matched and dropped in order.
      this.#takeOver(s, conn);
      this.#sessions.setLocal(s, local);
      s.timeoutMs = p.timeoutMs;
      s.readOnly = p.readOnly;
    } else {
      s = this.#sessions.add(p.sidHi, p.sidLo, p.timeoutMs, local, p.readOnly);
      if (s === undefined) {
        this.#log.warn({ remote: conn.remote }, 'closing connection: session table full');
        conn.close();
        return;
      }
    }
    if (!local) this.#sessionExpiry.remove(s.slot);
    const how = p.create ? 'new global' : local ? 'moved local' : 'renewed global';
    this.#established(conn, s, p.oldClient, this.#now(), how);
    conn.resume(Pause.handshake);
  }

  /** `conn` takes `s` over from the connection it had (closed, without a detach). */
  #takeOver(s: WorkerSession, conn: ClientConn): void {
    const old = s.conn;
    if (old !== null && old !== conn) {
      old.session = null;
      old.close();
    }
    s.conn = null;
    // Watches and auth ids belong to a connection (ZooKeeper: the ServerCnxn is the Watcher and
    // holds authInfo); the client sends setWatches and its auth packets again on reconnect.
    this.#watches.dropSession(s.slot);
    s.authIds.clear();
    s.superUser = false;
  }

  #established(
    conn: ClientConn,
    s: WorkerSession,
    oldClient: boolean,
    now: number,
    how: string,
  ): void {
    s.conn = conn;
    conn.session = s;
    conn.state = ConnState.open;
    this.#connExpiry.update(conn.slot, now, s.timeoutMs);
    if (s.local) this.#sessionExpiry.update(s.slot, now, s.timeoutMs);
    const frame = connectResponseFrame(this.#writer, {
      valid: true,
      timeoutMs: s.timeoutMs,
      sessionId: sessionIdOf(s.sidHi, s.sidLo),
      passwd: sessionPassword(this.#connectContext.sessionSecret, s.sidHi, s.sidLo),
      oldClient,
    });
    this.#mark(conn).writeShared(frame);
    this.#log.info(
      { sid: s.hex, remote: conn.remote, timeoutMs: s.timeoutMs, local: s.local },
      `Established session ${s.hex} (${how}) with negotiated timeout ${s.timeoutMs} ` +
        `for client /${conn.remote}`,
    );
    this.#scheduleTurn();
  }

  /** finishSessionInit(cnxn, false): timeOut 0, session id 0, zero password, then close. */
  #invalidSession(conn: ClientConn, hi: number, lo: number, oldClient: boolean): void {
    const sid = hexOf(hi, lo);
    this.#log.info(
      { remote: conn.remote, sid },
      `Invalid session ${sid} for client /${conn.remote}, probably expired`,
    );
    const frame = connectResponseFrame(this.#writer, {
      valid: false,
      timeoutMs: 0,
      sessionId: 0n,
      passwd: new Uint8Array(0),
      oldClient,
    });
    this.#mark(conn).writeShared(frame);
    conn.closeAfterFlush();
    this.#scheduleTurn();
  }

  // ============================================================================ requests

  #request(
    conn: ClientConn,
    s: WorkerSession,
    buf: Buffer,
    start: number,
    end: number,
    now: number,
  ): void {
    if (end - start < 8) {
      this.onProtocolError(conn, `short request frame (${end - start} bytes)`);
      conn.close();
      return;
    }
    const xid = buf.readInt32BE(start);
    const op = buf.readInt32BE(start + 4);
    if (s.local) this.#sessionExpiry.update(s.slot, now, s.timeoutMs);
    else if (!s.touched) this.#markTouched(s);
    switch (op) {
      case OpCode.ping:
        this.#ping(conn);
        return;
      case OpCode.auth:
        this.#auth(conn, s, buf, start + 8, end, xid);
        return;
      case OpCode.removeWatches:
      case OpCode.checkWatches: {
        const arg = this.#watchOpArg(conn, buf, start + 8, end);
        if (arg !== null) this.#forward(conn, s, buf, start, end, arg, now);
        return;
      }
      case OpCode.closeSession:
        s.closing = true;
        this.#forward(conn, s, buf, start, end, null, now);
        return;
      case OpCode.sasl:
        // No SASL provider: ZooKeeper answers at once with an empty challenge
        // (SetSASLResponse{token: null}), header zxid 0, and the session goes on.
        this.#writeReply(conn, xid, 0, Err.ok, saslNoToken, 0, saslNoToken.length);
        return;
      default:
        if (isForwarded(op)) this.#forward(conn, s, buf, start, end, null, now);
        else this.#unimplemented(conn, xid, op);
    }
  }

  /** A `request` record: the frame's jute body goes to the ring as it came off the socket. */
  #forward(
    conn: ClientConn,
    s: WorkerSession,
    buf: Buffer,
    start: number,
    end: number,
    arg: WatchOpArg | null,
    now: number,
  ): void {
    const bridge = this.#bridge;
    const bodyStart = start + 8;
    if (requestHeaderBytes + end - bodyStart > recordBytesMax) {
      // Only with a jute.maxbuffer over recordBytesMax (README: jute.maxbuffer).
      this.onProtocolError(conn, `request of ${end - start} bytes is over the ring's recordBytesMax`);
      conn.close();
      return;
    }
    const r = this.#fields;
    r.sidHi = s.sidHi;
    r.sidLo = s.sidLo;
    r.xid = buf.readInt32BE(start);
    r.op = buf.readInt32BE(start + 4);
    r.flags = (s.local ? SessionFlag.local : 0) | (s.readOnly ? SessionFlag.readOnly : 0);
    r.timeoutMs = s.timeoutMs;
    bridge.sendRequest(r, buf, bodyStart, end);
    s.fifo.push(r.xid, r.op, conn.id, now, arg);
    this.#outstanding++;
    const inFlight = this.#status.addRequestsInFlight(1);
    if (this.#throttled(s.fifo.size, inFlight, workerLimits.sessionRequestsOutstandingMax)) {
      conn.pause(Pause.throttle);
    }
    if (bridge.outboxBytes > workerLimits.ringOutboxBytesMax) this.#ringPause(conn);
  }

  /**
   * Whether a connection whose session has `size` requests in flight stays unread: its own
   * bound (`sessionMax`), or ZooKeeper's global throttle (ServerCnxn.incrOutstandingAndCheck-
   * Throttle / ZooKeeperServer.shouldThrottle): while the requests in flight server-wide exceed
   * globalOutstandingLimit, every connection with one of its own in flight stops being read
   * until its last one is answered or the total drops. A connection with none in flight is
   * still read, so one flooder does not starve the sessions that wait for their answers.
   */
  #throttled(size: number, inFlight: number, sessionMax: number): boolean {
    const limit = this.#init.globalOutstandingLimit;
    const over = inFlight > limit;
    if (over && !this.#overLimit) {
      // Entering the throttled state: at most one line per throttleLogMs (it may flap).
      this.#throttleEpisodes++;
      const now = this.#now();
      if (now - this.#throttleLoggedMs >= workerLimits.throttleLogMs) {
        const fields = { inFlight, globalOutstandingLimit: limit, episodes: this.#throttleEpisodes };
        this.#log.info(fields, 'requests in flight above globalOutstandingLimit: throttling reads');
        this.#throttleLoggedMs = now;
        this.#throttleEpisodes = 0;
      }
    }
    this.#overLimit = over;
    return size >= sessionMax || (over && size > 0);
  }

  /** `n` requests of this worker will never be answered to anyone (their session ended). */
  #retire(n: number): void {
    if (n === 0) return;
    this.#outstanding -= n;
    this.#status.addRequestsInFlight(-n);
  }

  /** ZooKeeper answers a ping with the last processed zxid (FinalRequestProcessor). */
  #ping(conn: ClientConn): void {
    const zxid = this.#status.lastZxid;
    this.#writeHeader(conn, Xid.ping, zxid, Err.ok);
    this.#noteResponse(conn, OpCode.ping, Xid.ping, zxid, 0);
  }

  /** ZooKeeperServer.processPacket, OpCode.auth: digest and ip; anything else fails and closes. */
  #auth(
    conn: ClientConn,
    s: WorkerSession,
    buf: Buffer,
    start: number,
    end: number,
    xid: number,
  ): void {
    let scheme: string;
    let auth: Uint8Array;
    try {
      const r = this.#reader.reset(buf, start, end);
      r.readInt(); // AuthPacket.type: unused, as in ZooKeeper
      scheme = r.readString();
      auth = r.readBuffer() ?? new Uint8Array(0);
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.onProtocolError(conn, `malformed auth packet: ${e.message}`);
      conn.close();
      return;
    }
    if (scheme === 'digest') {
      const userPassword = Buffer.from(auth.buffer, auth.byteOffset, auth.byteLength);
      const id = digestId(userPassword.toString('utf8'));
      if (!s.authIds.has(id)) {
        // Bounded so that no session makes every ACL check, whoAmI and forwarded write it sends
        // cost more than authIdsPerSessionMax ids. Past the bound the auth is refused as
        // ZooKeeper refuses one (AuthFailed, then close): the client must not go on believing
        // it holds an id the server dropped.
        const why =
          id.length > authIdCharsMax
            ? `digest id of ${id.length} characters (authIdCharsMax ${authIdCharsMax})`
            : s.authIds.size >= authIdsPerSessionMax
              ? `more than ${authIdsPerSessionMax} auth ids on one session (authIdsPerSessionMax)`
              : null;
        if (why !== null) {
          this.#log.warn({ remote: conn.remote, sid: s.hex, scheme }, `Authentication refused: ${why}`);
          this.#writeHeader(conn, xid, 0, Err.authFailed);
          this.#closeAfterFlush(conn);
          return;
        }
        // DigestAuthenticationProvider.handleAuthentication: the super id comes first.
        if (!s.superUser && this.#init.superDigest !== null && id === this.#init.superDigest) {
          s.superUser = true;
          this.#bridge.sendAuth(s.sidHi, s.sidLo, 'super', '');
          this.#log.info({ sid: s.hex, remote: conn.remote }, 'authenticated as super');
        }
        s.authIds.add(id);
        this.#bridge.sendAuth(s.sidHi, s.sidLo, 'digest', id);
      }
      this.#writeHeader(conn, xid, 0, Err.ok);
      return;
    }
    if (scheme === 'ip') {
      this.#writeHeader(conn, xid, 0, Err.ok); // IPAuthenticationProvider: the ip id it already has
      return;
    }
    const fields = { remote: conn.remote, sid: s.hex, scheme };
    this.#log.warn(fields, `No authentication provider for scheme: ${scheme}`);
    this.#writeHeader(conn, xid, 0, Err.authFailed);
    this.#closeAfterFlush(conn);
  }

  #watchOpArg(conn: ClientConn, buf: Buffer, start: number, end: number): WatchOpArg | null {
    try {
      const r = this.#reader.reset(buf, start, end);
      const path = r.readString();
      return { path, type: r.readInt() };
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.onProtocolError(conn, `malformed watch request: ${e.message}`);
      conn.close();
      return null;
    }
  }

  /** UnimplementedRequestProcessor: answer Unimplemented (zxid -1) and close. */
  #unimplemented(conn: ClientConn, xid: number, op: number): void {
    const fields = { remote: conn.remote, sid: conn.session?.hex, op };
    this.#log.warn(fields, `Received packet at server of unknown type ${op}`);
    this.#writeHeader(conn, xid, -1, Err.unimplemented);
    this.#closeAfterFlush(conn);
  }

  // ============================================================================ ring records

  onReply(v: ReplyView, ring: Buffer): void {
    const s = this.#sessions.get(v.sidHi, v.sidLo);
    if (s === undefined) return; // the session ended meanwhile
    const fifo = s.fifo;
    if (fifo.size === 0 || fifo.headXid !== v.xid) {
      this.#replyOutOfOrder(s, v.xid);
      return;
    }
    const op = fifo.headOp;
    const connId = fifo.headConnId;
    const startMs = fifo.headStartMs;
    const arg = fifo.headArg;
    fifo.shift();
    this.#outstanding--;
    const inFlight = this.#status.addRequestsInFlight(-1);
    const conn = s.conn;
    if (conn !== null && conn.id === connId && conn.state === ConnState.open) {
      if ((v.flags & ReplyFlag.tooLarge) !== 0) this.#replyTooLarge(conn, s, op, v.xid);
      else if ((v.flags & ReplyFlag.workerCompletes) !== 0) this.#complete(conn, s, op, v, arg, ring);
      else this.#writeReply(conn, v.xid, v.zxid, v.err, ring, v.bodyOffset, v.end);
      // Whole milliseconds between two readings of a millisecond clock, as ZooKeeper measures.
      const latencyMs = Math.floor(this.#now()) - Math.floor(startMs);
      this.#noteResponse(conn, op, v.xid, v.zxid, latencyMs);
      // Resume below half the session's own bound (hysteresis), as the global rule allows.
      const sessionResume = (workerLimits.sessionRequestsOutstandingMax >>> 1) + 1;
      if (!this.#throttled(fifo.size, inFlight, sessionResume)) conn.resume(Pause.throttle);
      if (v.err === Err.sessionMoved) {
        // The session is held by a newer connection (elsewhere, or here on another worker): this
        // one is fenced. The answer goes out, then the connection closes, as ZooKeeper tears it
        // down (FinalRequestProcessor: SessionMovedException is a connection-level error).
        this.#log.info({ sid: s.hex, remote: conn.remote }, `Session ${s.hex} moved: closing its old connection`);
        this.#closeAfterFlush(conn);
      }
    }
    if (op === OpCode.closeSession) this.#closedByClient(s);
    else if (s.conn === null && !s.local && fifo.size === 0) this.#removeSession(s); // drained
  }

  /** The reply was over recordBytesMax (the main thread logged its size): the connection pays,
   *  after the replies before it, as a ZooKeeper client drops one whose reply is over its
   *  jute.maxbuffer. The session lives on. */
  #replyTooLarge(conn: ClientConn, s: WorkerSession, op: number, xid: number): void {
    this.#log.warn({ remote: conn.remote, sid: s.hex, xid, op }, 'closing connection: reply too large to deliver');
    this.#closeAfterFlush(conn);
  }

  /** The main thread answered out of the session's order: a contract breach. Close the
   *  connection (the client reconnects and resynchronises) rather than send replies a client
   *  would reject ("Xid out of order"). */
  #replyOutOfOrder(s: WorkerSession, xid: number): void {
    const expected = s.fifo.size > 0 ? s.fifo.headXid : null;
    const msg = 'reply out of session order from the main thread';
    this.#log.error({ sid: s.hex, xid, expected }, msg);
    this.#retire(s.fifo.size);
    s.fifo.clear();
    s.conn?.close();
  }

  /** removeWatches / checkWatches / whoAmI: the main thread kept the order, the worker answers. */
  #complete(
    conn: ClientConn,
    s: WorkerSession,
    op: number,
    v: ReplyView,
    arg: WatchOpArg | null,
    ring: Buffer,
  ): void {
    if (v.err !== Err.ok) {
      this.#writeHeader(conn, v.xid, v.zxid, v.err);
      return;
    }
    if ((op === OpCode.removeWatches || op === OpCode.checkWatches) && arg !== null) {
      this.#writeHeader(conn, v.xid, v.zxid, this.#watchOp(s, op, arg));
      return;
    }
    if (op === OpCode.whoAmI) {
      const w = this.#writer.reset();
      encodeWhoAmI(w, conn.ip, s.authIds);
      this.#writeReply(conn, v.xid, v.zxid, Err.ok, w.bytes(), 0, w.length);
      return;
    }
    this.#writeReply(conn, v.xid, v.zxid, v.err, ring, v.bodyOffset, v.end);
  }

  /**
   * FinalRequestProcessor: NoWatcher when nothing of that type is there; a type
   * WatcherType.fromInt does not know ends in MarshallingError. Types 4 and 5 (persistent,
   * persistent recursive) are 3.9's; 3.8 answers them MarshallingError too, but no 3.8 client
   * sends them. The server sends no *WatchRemoved event: the client makes those itself.
   */
  #watchOp(s: WorkerSession, op: number, arg: WatchOpArg): number {
    const bits = watcherTypeBits(arg.type);
    if (bits === 0) return Err.marshallingError;
    const found =
      op === OpCode.removeWatches
        ? this.#watches.remove(s.slot, arg.path, bits) !== 0
        : (this.#watches.bitsOf(s.slot, arg.path) & bits) !== 0;
    return found ? Err.ok : Err.noWatcher;
  }

  onEvent(v: EventView): void {
    if (v.targetHi !== 0 || v.targetLo !== 0) {
      const c = this.#sessions.get(v.targetHi, v.targetLo)?.conn;
      if (c != null && c.state === ConnState.open) {
        this.#fanout.deliverTo(this.#mark(c), v.type, v.path);
      }
      return;
    }
    this.#fanout.deliver(v.type, v.path, v.readers);
  }

  onWatchRegister(v: WatchRegisterView): void {
    const s = this.#sessions.get(v.sidHi, v.sidLo);
    // Watches belong to a connection: one registered after it closed is dropped with it.
    if (s === undefined || s.conn === null) return;
    if (v.kind < WatchKind.data || v.kind > WatchKind.persistentRecursive) {
      throw new AssertionError(`watchRegister: bad watch kind ${v.kind}`);
    }
    this.#watches.add(s.slot, v.path, v.kind);
  }

  onSessionEnd(v: SessionEndView): void {
    const s = this.#sessions.get(v.sidHi, v.sidLo);
    if (s === undefined) return;
    if (v.reason === SessionEndReason.closed && s.closing) return; // the closeSession reply ends it
    const reason = sessionEndNames[v.reason] ?? `ended (${v.reason})`;
    this.#log.info({ sid: s.hex, reason }, `Session ${s.hex} ${reason}`);
    const conn = s.conn;
    if (conn !== null) {
      conn.session = null;
      s.conn = null;
      conn.close();
    }
    this.#removeSession(s);
  }

  onUpgraded(sidHi: number, sidLo: number): void {
    const s = this.#sessions.get(sidHi, sidLo);
    if (s === undefined || !s.local) return;
    this.#sessions.setLocal(s, false);
    this.#sessionExpiry.remove(s.slot);
    this.#markTouched(s);
    this.#log.info({ sid: s.hex }, `Upgraded session ${s.hex} to a global session`);
  }

  afterBatch(): void {
    this.#flushDirty();
  }

  // ============================================================================ session ends

  /** The connection of `s` closed. */
  #detached(s: WorkerSession, conn: ClientConn): void {
    s.conn = null;
    conn.session = null;
    this.#watches.dropSession(s.slot);
    s.authIds.clear();
    s.superUser = false;
    this.#bridge.sendDetach(s.sidHi, s.sidLo, conn.id, DetachReason.connectionClosed);
    this.#log.info(
      { sid: s.hex, remote: conn.remote, local: s.local },
      `Closed socket connection for client /${conn.remote} which had sessionid ${s.hex}`,
    );
    // A global session lives on at the main thread; here it is kept only until the replies
    // still due to it have arrived. A local one stays until it expires.
    if (!s.local && s.fifo.size === 0 && !s.closing) this.#removeSession(s);
  }

  /** closeSession answered: the reply is queued; close after it (ServerCnxn.sendCloseSession). */
  #closedByClient(s: WorkerSession): void {
    const conn = s.conn;
    this.#log.info({ sid: s.hex, local: s.local }, `Session ${s.hex} closed by the client`);
    if (conn !== null) {
      conn.session = null;
      s.conn = null;
      this.#closeAfterFlush(conn);
    }
    if (s.local) {
      this.#bridge.sendDetach(s.sidHi, s.sidLo, conn?.id ?? 0, DetachReason.localSessionClosed);
    }
    this.#removeSession(s);
  }

  /** LocalSessionTracker's expirer. */
  #expireLocal(slot: number): void {
    const s = this.#sessions.at(slot);
    if (s === undefined || !s.local) return;
    const msg = `Expiring session ${s.hex}, timeout of ${s.timeoutMs}ms exceeded`;
    this.#log.info({ sid: s.hex }, msg);
    const conn = s.conn;
    if (conn !== null) {
      conn.session = null;
      s.conn = null;
      conn.close();
    }
    this.#bridge.sendDetach(s.sidHi, s.sidLo, conn?.id ?? 0, DetachReason.localSessionExpired);
    this.#removeSession(s);
  }

  #removeSession(s: WorkerSession): void {
    this.#watches.dropSession(s.slot);
    this.#sessionExpiry.remove(s.slot);
    this.#retire(s.fifo.size);
    s.fifo.clear();
    s.touched = false;
    this.#sessions.remove(s);
  }

  // ============================================================================ ticks, touches

  #tick(): void {
    const now = this.#now();
    this.#sessionExpiry.poll(now, this.#expireLocalSession);
    this.#connExpiry.poll(now, this.#expireConnection);
    if (now - this.#buffersTrimmedMs >= largeRecordBufferTrimMs) {
      this.#buffersTrimmedMs = now;
      this.#bridge.channel.releaseIdleBuffers();
    }
    this.#flushTouches();
    this.#endTurn();
  }

  #markTouched(s: WorkerSession): void {
    s.touched = true;
    if (this.#touchedCount === this.#touched.length) {
      const grown = new Int32Array(this.#touched.length * 2);
      grown.set(this.#touched);
      this.#touched = grown;
    }
    this.#touched[this.#touchedCount++] = s.slot;
  }

  /** One touch record (a few, if huge) for the global sessions heard from since the last. */
  #flushTouches(): void {
    const count = this.#touchedCount;
    if (count === 0) return;
    this.#touchedCount = 0;
    const batchMax = this.#bridge.touchBatchMax;
    const need = 2 * Math.min(count, batchMax);
    if (this.#touchIds.length < need) this.#touchIds = new Uint32Array(need);
    const ids = this.#touchIds;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const s = this.#sessions.at(this.#touched[i]!);
      if (s === undefined || !s.touched) continue; // gone, or a slot listed twice
      s.touched = false;
      if (s.local) continue;
      ids[2 * n] = s.sidHi;
      ids[2 * n + 1] = s.sidLo;
      if (++n === batchMax) {
        this.#bridge.sendTouch(ids, n);
        n = 0;
      }
    }
    if (n > 0) this.#bridge.sendTouch(ids, n);
  }

  // ============================================================================ output

  #mark(conn: ClientConn): ClientConn {
    if (!conn.dirty) this.#dirty.push(conn);
    return conn;
  }

  #closeAfterFlush(conn: ClientConn): void {
    this.#mark(conn);
    conn.closeAfterFlush();
  }

  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(this.#endTurn);
  }

  #flushDirty(): void {
    const dirty = this.#dirty;
    if (dirty.length === 0) return;
    this.#dirty = [];
    for (const conn of dirty) {
      conn.flush();
      const queued = conn.writableBytes;
      if (conn.stalledBytes !== 0) this.#stalled.set(conn, queued);
      if (queued <= workerLimits.connOutputBytesPause || conn.state !== ConnState.open) continue;
      if (queued > workerLimits.connOutputBytesMax) {
        this.#closeStalled(conn, queued, 'client does not read its replies');
        continue;
      }
      this.#stalled.set(conn, queued);
      if ((conn.pauseMask & Pause.output) === 0) {
        conn.pause(Pause.output);
        conn.socket.once('drain', () => {
          this.#stalled.set(conn, 0);
          conn.resume(Pause.output);
          this.#scheduleTurn();
        });
      }
    }
    while (this.#stalled.bytes > workerLimits.workerStalledOutputBytesMax) {
      const worst = this.#stalled.worst();
      if (worst === null) break;
      this.#closeStalled(worst, worst.stalledBytes, 'clients that do not read hold too much output');
    }
  }

  #closeStalled(conn: ClientConn, queued: number, why: string): void {
    const fields = {
      remote: conn.remote,
      sid: conn.session?.hex,
      queued,
      stalledOutputBytes: this.#stalled.bytes,
    };
    this.#log.warn(fields, `closing connection: ${why}`);
    this.#stalled.set(conn, 0);
    conn.close(); // drops what it queued
  }

  /** The worker → main ring is full and its outbox large: stop reading until it drains. */
  #ringPause(conn: ClientConn): void {
    conn.pause(Pause.ring);
    this.#ringPaused.push(conn);
    if (this.#ringWaiting) return;
    this.#ringWaiting = true;
    void this.#bridge.writable().then(() => {
      this.#ringWaiting = false;
      const paused = this.#ringPaused;
      this.#ringPaused = [];
      for (const c of paused) c.resume(Pause.ring);
      this.#scheduleTurn();
    });
  }

  #writeHeader(conn: ClientConn, xid: number, zxid: number, err: number): void {
    this.#writeReply(conn, xid, zxid, err, null, 0, 0);
  }

  /** ReplyHeader + body [bodyStart, bodyEnd) of `src` as one frame. */
  #writeReply(
    conn: ClientConn,
    xid: number,
    zxid: number,
    err: number,
    src: Buffer | null,
    bodyStart: number,
    bodyEnd: number,
  ): void {
    const h = this.#header;
    h.xid = xid;
    h.zxid = zxid;
    h.err = err;
    const off = writeReplyFrame(this.#slab, h, src, bodyStart, bodyEnd);
    this.#mark(conn).commitOut(off, 20 + bodyEnd - bodyStart);
  }

  /** ServerCnxn.updateStatsForResponse + ServerStats.updateLatency. */
  #noteResponse(conn: ClientConn, op: number, xid: number, zxid: number, latencyMs: number): void {
    if (xid >= 0) conn.lastCxid = xid;
    conn.lastZxid = zxid;
    conn.lastOp = lastOpName(op);
    conn.lastResponseMs = Date.now();
    conn.latency.add(latencyMs);
    this.#latency.add(latencyMs);
  }

  // ============================================================================ four-letter words

  onFourLetter(c: Conn, code: number): boolean {
    const word = fourLetterWordOf(code);
    if (word === undefined) return false;
    const conn = c as ClientConn;
    conn.pause(Pause.fourLetter);
    if (word === telnetClose) {
      conn.close();
      return true;
    }
    if (!this.#whitelist.isEnabled(word)) {
      const msg = `Command ${word} is not executed because it is not in the whitelist.`;
      this.#log.debug({ remote: conn.remote, word }, msg);
      this.#answerFourLetter(conn, notWhitelistedText(word));
      return true;
    }
    const msg = `Processing ${word} command from /${conn.remote}`;
    this.#log.info({ remote: conn.remote, word }, msg);
    if (word === 'ruok') {
      this.#answerFourLetter(conn, 'imok');
      return true;
    }
    const reqId = ++this.#fourLetterSeq;
    conn.fourLetterReqId = reqId;
    this.#fourLetter.set(reqId, conn);
    const workerIndex = this.#init.workerIndex;
    this.#post({ type: 'fourLetter', workerIndex, word, reqId, remote: conn.remote });
    return true;
  }

  #fourLetterReply(reqId: number, text: string): void {
    const conn = this.#fourLetter.get(reqId);
    if (conn === undefined) return;
    this.#fourLetter.delete(reqId);
    conn.fourLetterReqId = 0;
    this.#answerFourLetter(conn, text);
  }

  #answerFourLetter(conn: ClientConn, text: string): void {
    if (!conn.isOpen) return;
    this.#mark(conn).writeRaw(Buffer.from(text, 'utf8'));
    conn.closeAfterFlush();
    this.#scheduleTurn();
  }

  // ============================================================================ statistics

  stats(req: Pick<StatsRequestMessage, 'reset' | 'sections'> = {}): WorkerStats {
    if (req.reset === 'connections') {
      for (const c of this.#conns.values()) resetConnectionStats(c, c.latency);
    }
    if (req.reset === 'server') this.#resetServerStats();
    const sections = req.sections;
    const want = (s: StatsSection): boolean => sections === undefined || sections.includes(s);
    const out: WorkerStats = { workerIndex: this.#init.workerIndex };
    if (want('connections')) {
      out.connections = [...this.#conns.values()].map((c) => this.#connStats(c));
    }
    if (want('counts')) out.counts = this.#counts();
    const bySession = want('watchesBySession');
    const byPath = want('watchesByPath');
    if (want('watches') || bySession || byPath) {
      const name = (slot: number): string => this.#sessions.at(slot)?.hex ?? `slot:${slot}`;
      out.watches = watchStats(this.#watches, name, { bySession, byPath });
    }
    return out;
  }

  #connStats(c: ClientConn): ReturnType<typeof connectionStats> {
    const s = c.session;
    return connectionStats({
      conn: c,
      latency: c.latency,
      sid: s === null ? null : s.hex,
      timeoutMs: s === null ? sessionlessConnectionTimeoutMs : s.timeoutMs,
      queued: s === null ? 0 : s.fifo.countFor(c.id),
      local: s !== null && s.local,
    });
  }

  /**
   * Connections not yet closing. A 4lw connection is marked closing before its answer is written,
   * so a client that has read one answer and asks again never sees the old connection counted
   * (its socket's 'close' event may come a turn later), as ZooKeeper removes it on close.
   */
  #aliveConnections(): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.isOpen) n++;
    return n;
  }

  #counts(): WorkerCounts {
    const l = this.#latency;
    return {
      packetsReceived: this.#counters.packetsReceived,
      packetsSent: this.#counters.packetsSent,
      aliveConnections: this.#aliveConnections(),
      outstandingRequests: this.#outstanding,
      minLatencyMs: l.minOrZero,
      avgLatencyMs: l.count === 0 ? 0 : l.total / l.count,
      maxLatencyMs: l.max,
      latencyTotalMs: l.total,
      latencyCount: l.count,
      localSessions: this.#sessions.localCount,
      globalSessions: this.#sessions.globalCount,
    };
  }

  #resetServerStats(): void {
    this.#counters.packetsReceived = 0;
    this.#counters.packetsSent = 0;
    this.#latency.reset();
  }
}
