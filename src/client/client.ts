// ZkClient: one ZooKeeper session over one TCP connection at a time, with ZooKeeper's own client
// behaviour (ClientCnxn / ZooKeeper.java, 3.8):
//
// - Connect: the host list is shuffled and walked round-robin; each attempt has a connect timeout
//   of sessionTimeout / hostCount (the requested timeout until a session is negotiated, then the
//   negotiated one). After every host has been tried without success the client waits
//   retryDelayMs, and before every attempt but the first a random 0..reconnectJitterMs.
// - Handshake: ConnectRequest (lastZxidSeen, timeout, session id + password, readOnly; the
//   zkts-only localSession byte only when asked for), then, once the ConnectResponse is in:
//   SetWatches (or SetWatches2 when persistent watches exist) with relativeZxid = the last zxid
//   seen, the auth packets, and the requests queued meanwhile. A ConnectResponse with timeOut 0
//   means the session expired.
// - Liveness: a ping when nothing was sent for readTimeout / 2 (= timeout / 3); the connection is
//   dropped and the next host tried when nothing was received for readTimeout (= 2/3 timeout).
// - Pipelining: any number of requests in flight; replies come back in order and are matched
//   against the head of the pending queue (an out-of-order xid drops the connection). Special
//   xids: -1 watch event, -2 ping, -4 auth, -8 SetWatches.
// - Failure: a lost connection fails every request sent or queued with connectionLoss (-4), and
//   the client reconnects with the same session; an expired session fails them with
//   sessionExpired (-112) and the client is dead ('expired'), as after close() ('closed') or a
//   rejected auth ('authFailed').
//
// Hot path: one JuteWriter per client; requests of one turn are written with one socket.write
// (flushed in a microtask); one module-wide JuteReader decodes every reply; a reply costs the
// request object, its promise and the result, no closures.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import { isValidPath } from '../common/path.js';
import { AddWatchMode, CreateMode, Err, EventType, KeeperState, OpCode, WatcherType, Xid } from '../common/zk.js';
import {
  JuteReader,
  JuteWriter,
  decodeACLs,
  decodeConnectResponse,
  decodeResponse,
  decodeStat,
  encodeACLs,
  encodeConnectRequest,
  encodeRequest,
} from '../protocol/jute/index.js';
import type { ACL, ConnectResponse, MultiResult, Stat } from '../protocol/types.js';
import { Deque } from './deque.js';
import { ZkError } from './errors.js';
import { HostProvider, parseConnectString, type HostPort } from './hosts.js';
import {
  Acls,
  Transaction,
  createOpcode,
  fromMultiResults,
  toBytes,
  toMultiOps,
  toMultiReadOps,
  type CreateOptions,
  type Data,
  type Op,
  type OpResult,
  type ReadOp,
} from './ops.js';
import { WatchKind, WatchManager, eventName, type WatchEvent, type Watcher } from './watches.js';

export type ClientState =
  | 'connecting'
  | 'connected'
  | 'connectedReadOnly'
  | 'disconnected'
  | 'expired'
  | 'closed'
  | 'authFailed';

export interface AuthInfo {
  scheme: string;
  auth: Uint8Array | string;
}

export interface ClientOptions {
  /** Requested session timeout; the server negotiates it into its [min, max]. Default 30000. */
  sessionTimeoutMs?: number;
  /** Resume this session (with `password`) instead of creating one. */
  sessionId?: bigint;
  password?: Uint8Array;
  /** zkts only: ask for a local session (a trailing ConnectRequest byte, sent only when true). */
  localSession?: boolean;
  /** Accept a read-only server (ConnectRequest.readOnly). Default false. */
  readOnly?: boolean;
  /** Credentials sent at every (re)connect, as addAuth() adds them. */
  auth?: readonly AuthInfo[];
  /** Pause after every host has been tried without success. Default 1000. */
  retryDelayMs?: number;
  /** Local address to connect from (e.g. 127.0.0.2): a load generator spreads sessions over
   *  several loopback source addresses to get past one address's ephemeral ports. */
  localAddress?: string;
  /** Random pause of 0..this before each reconnect attempt (not the first connect). Default 1000. */
  reconnectJitterMs?: number;
  /** Per-attempt connect timeout; default the session timeout / host count. */
  connectTimeoutMs?: number;
  /** Shuffle the connect string's hosts (StaticHostProvider). Default true. */
  shuffleHosts?: boolean;
  /** Largest reply frame accepted. Default 4 MiB. */
  maxFrameBytes?: number;
}

/** `true`: the client's default watcher (client 'watch' event and watchEmitter(path)). */
export type WatchArg = Watcher | boolean | undefined;

export interface DataResult {
  data: Buffer | null;
  stat: Stat;
}
export interface ChildrenResult {
  children: string[];
  stat: Stat;
}
export interface ACLResult {
  acl: ACL[];
  stat: Stat;
}
export interface CreateResult {
  path: string;
  stat: Stat;
}
export interface ClientInfo {
  authScheme: string;
  user: string;
}

// ---------------------------------------------------------------------------------------------

const PHASE_IDLE = 0;
const PHASE_CONNECTING = 1; // TCP connect under way
const PHASE_HANDSHAKE = 2; // ConnectRequest sent
const PHASE_CONNECTED = 3;

const DEFAULT_SESSION_TIMEOUT_MS = 30000;
const DEFAULT_RETRY_DELAY_MS = 1000;
const DEFAULT_JITTER_MS = 1000;
const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** ClientCnxn's MAX_SEND_PING_INTERVAL. */
const PING_INTERVAL_MAX_MS = 10000;
/** ClientCnxn's SET_WATCHES_MAX_LENGTH: path characters per SetWatches packet. */
const SET_WATCHES_CHARS_MAX = 128 * 1024;
/** A writer that grew past this is replaced after its flush, so one big write does not pin it. */
const WRITER_KEEP_BYTES = 64 * 1024;
const WRITER_INITIAL_BYTES = 256;
/** How long close() waits for the closeSession reply, by default. */
const CLOSE_WAIT_MS_DEFAULT = 2000;

const NO_PASSWORD = new Uint8Array(16);

/** One request from submit to reply. Fields set in the constructor only: one shape. */
class Request {
  xid = 0;
  readonly op: number;
  /** The client path (for errors, watch registration, removal). */
  readonly path: string;
  watcher: Watcher | null = null;
  /** WatchKind the reply registers `watcher` in. */
  watchKind = 0;
  /** Per-op extra: create → wants the Stat (boolean); check/removeWatches → RemoveArg;
   *  multi → its Op[] (to name the failed op's path); multiRead → 'read'. */
  arg: unknown = null;
  /** The encoded frame while it waits for a connection. */
  frame: Buffer | null = null;
  resolve: (v: unknown) => void = noop;
  reject: (e: unknown) => void = noop;

  constructor(op: number, path: string) {
    this.op = op;
    this.path = path;
  }
}

interface RemoveArg {
  type: number;
  watcher: Watcher | null;
  local: boolean;
  /** false: checkWatches(), which only asks the server */
  remove: boolean;
}

function noop(): void {}

// new Promise(executor) runs the executor synchronously: one shared executor that stores the
// resolvers on the request being created saves a closure per request.
let capturing: Request | null = null;
function capture(resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
  const r = capturing as Request;
  r.resolve = resolve;
  r.reject = reject;
}
function promiseOf<T>(r: Request): Promise<T> {
  capturing = r;
  const p = new Promise<unknown>(capture);
  capturing = null;
  return p as Promise<T>;
}

/** One reader decodes every client's replies: a frame is decoded start to end synchronously, so
 *  two clients never use it at the same time. */
const READER = new JuteReader(undefined, { bufferBytesMax: 0x7fffffff, bufferViews: true });

function rethrowLater(e: unknown): void {
  process.nextTick(() => {
    throw e;
  });
}

function copyData(view: Uint8Array | null): Buffer | null {
  if (view === null) return null;
  const b = Buffer.allocUnsafe(view.byteLength);
  b.set(view);
  return b;
}

// ---------------------------------------------------------------------------------------------

/**
 * A ZooKeeper session. Events (also readable as `state`):
 * - 'connecting'              trying hosts (at start, and after 'disconnected')
 * - 'connected' (readOnly)    a session is established or re-established; 'connectedReadOnly'
 *                             instead when the server is read-only
 * - 'disconnected' (reason)   the connection was lost; requests in flight failed with
 *                             connectionLoss; the client reconnects on its own
 * - 'expired'                 the server no longer knows the session (terminal)
 * - 'closed'                  close() finished (terminal)
 * - 'authFailed'              the server rejected an auth packet (terminal)
 * - 'watch' (WatchEvent)      an event for the default watcher (watch = true)
 * Connection-state changes are not delivered to watchers (ZooKeeper sends them type-None
 * events); listen to the client instead. Requests made while not connected are sent once
 * connected, or fail with connectionLoss if the connection attempt under way fails.
 */
export class ZkClient extends EventEmitter {
  /** The connect string's hosts, in the order they are tried. */
  readonly hosts: readonly HostPort[];
  /** The connect string's chroot ('' for none). */
  readonly chroot: string;

  private readonly provider: HostProvider;
  private readonly requestedTimeout: number;
  private readonly retryDelayMs: number;
  private readonly localAddress: string | undefined;
  private readonly jitterMs: number;
  private readonly connectTimeoutOption: number;
  private readonly readOnlyAllowed: boolean;
  private readonly localSession: boolean;
  private readonly maxFrameBytes: number;

  private _state: ClientState = 'connecting';
  private _sessionId = 0n;
  private passwd: Uint8Array = NO_PASSWORD;
  private negotiated = 0;
  private readTimeout: number;
  private connectTimeout: number;
  private pingInterval: number;
  private _lastZxid = 0;
  private xid = 0;
  private serverReadOnly = false;
  private firstAttempt = true;
  private closing = false;
  private closePromise: Promise<void> | null = null;

  private socket: net.Socket | null = null;
  private phase = PHASE_IDLE;
  private host: HostPort | null = null;
  private out = new JuteWriter(WRITER_INITIAL_BYTES);
  private flushQueued = false;
  private lastSend = 0;
  private lastRecv = 0;
  private connectStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private inChunks: Buffer[] = [];
  private inBytes = 0;
  private inNeed = 4;
  private lastError: Error | null = null;

  private readonly pending = new Deque<Request>();
  private backlog: Request[] = [];
  private readonly authInfo: { scheme: string; auth: Uint8Array; waiter: Request | null }[] = [];
  /** Auth packets sent and not answered yet (null: one re-sent at a reconnect); made on first use. */
  private authWaiters: Deque<Request | null> | null = null;
  private watches: WatchManager | null = null;
  private pathEmitters: Map<string, EventEmitter> | null = null;
  private defaultWatcherFn: Watcher | null = null;

  constructor(connectString: string, options: ClientOptions = {}) {
    super();
    const cs = parseConnectString(connectString);
    this.chroot = cs.chroot;
    this.provider = new HostProvider(cs.hosts, options.shuffleHosts ?? true);
    this.hosts = this.provider.hosts;
    this.requestedTimeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (!Number.isInteger(this.requestedTimeout) || this.requestedTimeout <= 0) {
      throw new ZkError(Err.badArguments, undefined, `sessionTimeoutMs must be a positive integer`);
    }
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.localAddress = options.localAddress;
    this.jitterMs = options.reconnectJitterMs ?? DEFAULT_JITTER_MS;
    this.connectTimeoutOption = options.connectTimeoutMs ?? 0;
    this.readOnlyAllowed = options.readOnly ?? false;
    this.localSession = options.localSession ?? false;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (options.sessionId !== undefined && options.sessionId !== 0n) {
      this._sessionId = BigInt.asIntN(64, options.sessionId);
      this.passwd = options.password ?? NO_PASSWORD;
    }
    for (const a of options.auth ?? []) {
      this.authInfo.push({ scheme: a.scheme, auth: toAuthBytes(a.auth), waiter: null });
    }
    this.readTimeout = Math.floor((this.requestedTimeout * 2) / 3);
    this.connectTimeout = this.connectTimeoutOption || Math.floor(this.requestedTimeout / this.provider.size);
    this.pingInterval = Math.min(Math.floor(this.readTimeout / 2), PING_INTERVAL_MAX_MS);
    // Start on the next tick, so that listeners attached right after construction see it all.
    process.nextTick(() => {
      if (this.isTerminal()) return;
      this.emitSafe('connecting');
      if (!this.isTerminal()) this.nextAttempt();
    });
  }

  // ---- public state --------------------------------------------------------------------------

  /** The watcher that watch = true stands for: it emits 'watch' here and feeds watchEmitter(). */
  get defaultWatcher(): Watcher {
    if (this.defaultWatcherFn === null) this.defaultWatcherFn = (e) => this.onDefaultWatch(e);
    return this.defaultWatcherFn;
  }

  get state(): ClientState {
    return this._state;
  }
  /** The session id (0n until the first session is established). */
  get sessionId(): bigint {
    return this._sessionId;
  }
  /** The session password, for resuming the session from another client object. */
  get sessionPassword(): Buffer {
    return Buffer.from(this.passwd);
  }
  /** The negotiated session timeout (0 until connected). */
  get sessionTimeoutMs(): number {
    return this.negotiated;
  }
  /** The largest zxid seen in a reply. */
  get lastZxid(): number {
    return this._lastZxid;
  }
  /** "host:port" of the server connected to, or null. */
  get connectedHost(): string | null {
    return this.phase === PHASE_CONNECTED && this.host !== null ? `${this.host.host}:${this.host.port}` : null;
  }
  /** True when connected to a read-only server. */
  get readOnly(): boolean {
    return this.serverReadOnly;
  }
  /** Requests sent and not answered yet. */
  get outstanding(): number {
    return this.pending.length + this.backlog.length;
  }

  /** Resolves once connected (at once if connected); rejects if the client dies first or
   *  `timeoutMs` passes. */
  waitConnected(timeoutMs = 0): Promise<void> {
    if (this.phase === PHASE_CONNECTED) return Promise.resolve();
    if (this.isTerminal()) return Promise.reject(this.terminalError());
    return new Promise<void>((resolve, reject) => {
      let t: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (t !== null) clearTimeout(t);
        this.off('connected', ok);
        this.off('connectedReadOnly', ok);
        this.off('expired', dead);
        this.off('closed', dead);
        this.off('authFailed', dead);
      };
      const ok = (): void => {
        done();
        resolve();
      };
      const dead = (): void => {
        done();
        reject(this.terminalError());
      };
      this.on('connected', ok);
      this.on('connectedReadOnly', ok);
      this.on('expired', dead);
      this.on('closed', dead);
      this.on('authFailed', dead);
      if (timeoutMs > 0) {
        t = setTimeout(() => {
          done();
          reject(new ZkError(Err.connectionLoss, undefined, `not connected within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** The EventEmitter that the default watcher (watch = true) feeds for `path`: it emits each
   *  event under its name ('nodeDataChanged', ...) and as 'event'. */
  watchEmitter(path: string): EventEmitter {
    if (this.pathEmitters === null) this.pathEmitters = new Map();
    let e = this.pathEmitters.get(path);
    if (e === undefined) {
      e = new EventEmitter();
      this.pathEmitters.set(path, e);
    }
    return e;
  }

  /** Forgets the emitter of watchEmitter(path). */
  releaseWatchEmitter(path: string): void {
    this.pathEmitters?.delete(path);
  }

  // ---- requests --------------------------------------------------------------------------------

  /** Creates a node; resolves with its path (the sequential name for sequential modes). */
  create(path: string, data?: Data, options: CreateOptions = {}): Promise<string> {
    return this.createRequest(path, data, options, false) as Promise<string>;
  }

  /** create, answered with the new node's Stat too (create2 / createContainer / createTTL). */
  create2(path: string, data?: Data, options: CreateOptions = {}): Promise<CreateResult> {
    return this.createRequest(path, data, options, true) as Promise<CreateResult>;
  }

  private createRequest(path: string, data: Data | undefined, options: CreateOptions, withStat: boolean): Promise<unknown> {
    let op: number;
    let ttl: number;
    try {
      ({ op, ttl } = createOpcode(path, options, withStat));
    } catch (e) {
      return Promise.reject(e);
    }
    const r = new Request(op, path);
    r.arg = withStat;
    const p = promiseOf<unknown>(r);
    const w = this.begin(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    w.writeBuffer(toBytes(data));
    encodeACLs(w, (options.acl ?? Acls.openUnsafe) as ACL[]);
    w.writeInt(options.mode ?? CreateMode.persistent);
    if (op === OpCode.createTTL) w.writeLong(ttl);
    this.end(r);
    return p;
  }

  /** Deletes a node (version -1: any). */
  delete(path: string, version = -1): Promise<void> {
    const r = new Request(OpCode.delete, path);
    const p = promiseOf<void>(r);
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    w.writeInt(version);
    this.end(r);
    return p;
  }

  /** The node's Stat, or null when it does not exist. A watcher is set either way (a data watch
   *  on an existing node, an exist watch otherwise). */
  exists(path: string, watch?: WatchArg): Promise<Stat | null> {
    return this.pathWatchRequest(OpCode.exists, path, watch, WatchKind.data) as Promise<Stat | null>;
  }

  getData(path: string, watch?: WatchArg): Promise<DataResult> {
    return this.pathWatchRequest(OpCode.getData, path, watch, WatchKind.data) as Promise<DataResult>;
  }

  getChildren(path: string, watch?: WatchArg): Promise<string[]> {
    return this.pathWatchRequest(OpCode.getChildren, path, watch, WatchKind.child) as Promise<string[]>;
  }

  getChildren2(path: string, watch?: WatchArg): Promise<ChildrenResult> {
    return this.pathWatchRequest(OpCode.getChildren2, path, watch, WatchKind.child) as Promise<ChildrenResult>;
  }

  private pathWatchRequest(op: number, path: string, watch: WatchArg, kind: number): Promise<unknown> {
    const r = new Request(op, path);
    const watcher = watch === true ? this.defaultWatcher : typeof watch === 'function' ? watch : null;
    if (watcher !== null) {
      r.watcher = watcher;
      r.watchKind = kind;
    }
    const p = promiseOf<unknown>(r);
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    w.writeBool(watcher !== null);
    this.end(r);
    return p;
  }

  /** Sets data (version -1: any); resolves with the new Stat. */
  setData(path: string, data: Data, version = -1): Promise<Stat> {
    const r = new Request(OpCode.setData, path);
    const p = promiseOf<Stat>(r);
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    w.writeBuffer(toBytes(data));
    w.writeInt(version);
    this.end(r);
    return p;
  }

  getACL(path: string): Promise<ACLResult> {
    return this.pathOnly(OpCode.getACL, path) as Promise<ACLResult>;
  }

  setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    const r = new Request(OpCode.setACL, path);
    const p = promiseOf<Stat>(r);
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    encodeACLs(w, acl as ACL[]);
    w.writeInt(version);
    this.end(r);
    return p;
  }

  /** The number of descendants of path (not counting path). */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.pathOnly(OpCode.getAllChildrenNumber, path) as Promise<number>;
  }

  /** The session's ephemeral nodes whose path starts with prefixPath (default every one). */
  getEphemerals(prefixPath = '/'): Promise<string[]> {
    return this.pathOnly(OpCode.getEphemerals, prefixPath) as Promise<string[]>;
  }

  /** Waits until the server this client is connected to has caught up with the leader. */
  sync(path = '/'): Promise<string> {
    return this.pathOnly(OpCode.sync, path) as Promise<string>;
  }

  private pathOnly(op: number, path: string): Promise<unknown> {
    const r = new Request(op, path);
    const p = promiseOf<unknown>(r);
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    this.end(r);
    return p;
  }

  /** Checks a node's version inside a one-op multi (as Op.check does in a transaction). */
  async check(path: string, version = -1): Promise<void> {
    await this.multi([{ type: 'check', path, version }]);
  }

  /** Runs the ops atomically. Rejects with a ZkError of the first failed op's code, its
   *  `results` holding every op's result, when one fails. */
  multi(ops: readonly Op[]): Promise<OpResult[]> {
    let req;
    try {
      req = toMultiOps(ops, this.chroot);
    } catch (e) {
      return Promise.reject(e);
    }
    const r = new Request(OpCode.multi, '');
    r.arg = ops;
    const p = promiseOf<OpResult[]>(r);
    const w = this.begin(r);
    if (w === null) return p;
    encodeRequest(w, { op: OpCode.multi, req });
    this.end(r);
    return p;
  }

  /** Reads several nodes in one request; failed reads come back as { type: 'error' } results. */
  multiRead(ops: readonly ReadOp[]): Promise<OpResult[]> {
    let req;
    try {
      req = toMultiReadOps(ops, this.chroot);
    } catch (e) {
      return Promise.reject(e);
    }
    const r = new Request(OpCode.multiRead, '');
    r.arg = 'read';
    const p = promiseOf<OpResult[]>(r);
    const w = this.begin(r);
    if (w === null) return p;
    encodeRequest(w, { op: OpCode.multiRead, req });
    this.end(r);
    return p;
  }

  transaction(): Transaction {
    return new Transaction((ops) => this.multi(ops));
  }

  /** Adds credentials to the session (sent again at every reconnect); resolves when the server
   *  accepted them. A rejected auth kills the client ('authFailed'), as in ZooKeeper. */
  addAuth(scheme: string, auth: Uint8Array | string): Promise<void> {
    const r = new Request(OpCode.auth, '');
    const p = promiseOf<void>(r);
    if (this.isTerminal() || this.closing) {
      r.reject(this.terminalError());
      return p;
    }
    const bytes = toAuthBytes(auth);
    if (this.phase === PHASE_CONNECTED) {
      this.authInfo.push({ scheme, auth: bytes, waiter: null });
      this.writeAuth(scheme, bytes);
      this.authQueue().push(r);
      this.scheduleFlush();
    } else {
      this.authInfo.push({ scheme, auth: bytes, waiter: r });
    }
    return p;
  }

  /** The identities the server holds for this session ([{ authScheme, user }]). */
  whoAmI(): Promise<ClientInfo[]> {
    const r = new Request(OpCode.whoAmI, '');
    const p = promiseOf<ClientInfo[]>(r);
    const w = this.begin(r);
    if (w === null) return p;
    this.end(r);
    return p;
  }

  /** Sets a persistent (or persistent recursive) watch; it stays until removed. */
  addWatch(path: string, mode: number = AddWatchMode.persistent, watch: Watcher | true = true): Promise<void> {
    const r = new Request(OpCode.addWatch, path);
    r.watcher = watch === true ? this.defaultWatcher : watch;
    r.watchKind = mode === AddWatchMode.persistentRecursive ? WatchKind.persistentRecursive : WatchKind.persistent;
    const p = promiseOf<void>(r);
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    w.writeInt(mode);
    this.end(r);
    return p;
  }

  /** Removes one watcher (true: the default watcher) of WatcherType `type` at path, as
   *  ZooKeeper.removeWatches does: the server is asked whether it holds the watch
   *  (checkWatches) and the watcher is taken out here; it gets a *WatchRemoved event. With
   *  `local`, the watcher goes even when the server cannot be asked. */
  removeWatches(path: string, watcher: Watcher | true, type: number = WatcherType.any, local = false): Promise<void> {
    return this.removeRequest(OpCode.checkWatches, path, watcher === true ? this.defaultWatcher : watcher, type, local, true);
  }

  /** Removes every watcher of WatcherType `type` at path, here and on the server. */
  removeAllWatches(path: string, type: number = WatcherType.any, local = false): Promise<void> {
    return this.removeRequest(OpCode.removeWatches, path, null, type, local, true);
  }

  /** Asks the server whether it holds a watch of WatcherType `type` at path for this session;
   *  rejects with noWatcher (-121) when it does not. Changes nothing. */
  checkWatches(path: string, type: number = WatcherType.any): Promise<void> {
    return this.removeRequest(OpCode.checkWatches, path, null, type, false, false);
  }

  private removeRequest(op: number, path: string, watcher: Watcher | null, type: number, local: boolean, remove: boolean): Promise<void> {
    const r = new Request(op, path);
    const arg: RemoveArg = { type, watcher, local, remove };
    r.arg = arg;
    const p = promiseOf<void>(r);
    if (remove) {
      if (!isValidPath(path)) {
        r.reject(new ZkError(Err.badArguments, path));
        return p;
      }
      if (this.watches === null || !this.watches.contains(path, watcher, type)) {
        r.reject(new ZkError(Err.noWatcher, path));
        return p;
      }
      if (local && this.phase !== PHASE_CONNECTED && !this.isTerminal()) {
        this.removeLocally(path, watcher, type);
        r.resolve(undefined);
        return p;
      }
    }
    const w = this.beginPath(r);
    if (w === null) return p;
    w.writeString(this.serverPath(path));
    w.writeInt(type);
    this.end(r);
    return p;
  }

  /** Ends the session (closeSession) and the connection; requests sent before are answered
   *  first, later ones fail. When disconnected, closeSession goes out on the connection attempt
   *  under way (or the next), as ClientCnxn.close does; a failed attempt ends the close. Waits
   *  at most `timeoutMs` (default 2000). With { closeSession: false } only the connection goes:
   *  the session lives on until its timeout and can be resumed elsewhere. */
  close(options: { closeSession?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    if (this.isTerminal()) return Promise.resolve();
    this.closing = true;
    if (options.closeSession === false || (this._sessionId === 0n && this.phase !== PHASE_HANDSHAKE)) {
      this.finish('closed', Err.connectionLoss);
      this.closePromise = Promise.resolve();
      return this.closePromise;
    }
    const r = new Request(OpCode.closeSession, '');
    const p = promiseOf<void>(r);
    this.open(r);
    this.end(r);
    const wait = options.timeoutMs ?? CLOSE_WAIT_MS_DEFAULT;
    this.closePromise = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, wait);
      p.then(
        () => {
          clearTimeout(t);
          resolve();
        },
        () => {
          clearTimeout(t);
          resolve();
        },
      );
    }).then(() => {
      if (!this.isTerminal()) this.finish('closed', Err.connectionLoss);
    });
    return this.closePromise;
  }

  // ---- request plumbing ------------------------------------------------------------------------

  private serverPath(path: string): string {
    if (this.chroot === '') return path;
    return path === '/' ? this.chroot : this.chroot + path;
  }

  private stripChroot(serverPath: string): string {
    const c = this.chroot;
    if (c === '') return serverPath;
    if (serverPath === c) return '/';
    if (serverPath.length > c.length && serverPath.startsWith(c) && serverPath.charCodeAt(c.length) === 0x2f) {
      return serverPath.slice(c.length);
    }
    return serverPath;
  }

  private nextXid(): number {
    this.xid = this.xid >= 0x7fffffff ? 1 : this.xid + 1;
    return this.xid;
  }

  private isTerminal(): boolean {
    const s = this._state;
    return s === 'closed' || s === 'expired' || s === 'authFailed';
  }

  private terminalError(): ZkError {
    switch (this._state) {
      case 'expired':
        return new ZkError(Err.sessionExpired);
      case 'authFailed':
        return new ZkError(Err.authFailed);
      default:
        return new ZkError(Err.connectionLoss, undefined, 'connectionLoss (-4): the client is closed');
    }
  }

  /** begin() after validating r.path. */
  private beginPath(r: Request): JuteWriter | null {
    if (!isValidPath(r.path)) {
      r.reject(new ZkError(Err.badArguments, String(r.path), `badArguments (-8): invalid path '${String(r.path)}'`));
      return null;
    }
    return this.begin(r);
  }

  /** Opens r's frame in the writer, or rejects r (and returns null) if the client is dead. */
  private begin(r: Request): JuteWriter | null {
    if (this.isTerminal() || this.closing) {
      r.reject(this.terminalError());
      return null;
    }
    return this.open(r);
  }

  private open(r: Request): JuteWriter {
    const w = this.out;
    r.xid = this.nextXid();
    w.beginFrame();
    w.writeInt(r.xid);
    w.writeInt(r.op);
    return w;
  }

  /** Closes r's frame: sends it with this turn's others, or parks it until connected. */
  private end(r: Request): void {
    const w = this.out;
    w.endFrame();
    if (this.phase === PHASE_CONNECTED) {
      this.pending.push(r);
      if (!this.flushQueued) {
        this.flushQueued = true;
        enqueueFlush(this);
      }
    } else {
      r.frame = w.bytesCopy();
      w.reset();
      this.backlog.push(r);
    }
  }

  private scheduleFlush(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      enqueueFlush(this);
    }
  }

  /** @internal Writes what this turn's requests encoded (run by flushAll, or directly). */
  flush(): void {
    this.flushQueued = false;
    const w = this.out;
    if (w.length === 0) return;
    const sock = this.socket;
    if (sock === null || this.phase !== PHASE_CONNECTED) {
      w.reset();
      return;
    }
    sock.write(w.bytesCopy());
    this.lastSend = Date.now();
    if (w.length > WRITER_KEEP_BYTES) this.out = new JuteWriter(WRITER_INITIAL_BYTES);
    else w.reset();
  }

  private authQueue(): Deque<Request | null> {
    if (this.authWaiters === null) this.authWaiters = new Deque(2);
    return this.authWaiters;
  }

  private writeAuth(scheme: string, auth: Uint8Array): void {
    const w = this.out;
    w.beginFrame();
    w.writeInt(Xid.auth);
    w.writeInt(OpCode.auth);
    w.writeInt(0);
    w.writeString(scheme);
    w.writeBuffer(auth);
    w.endFrame();
  }

  // ---- connection --------------------------------------------------------------------------

  /** Picks the next host and connects to it, after the retry delay and jitter that apply. */
  private nextAttempt(): void {
    if (this.isTerminal() || this.retryTimer !== null) return;
    const { host, spin } = this.provider.next();
    let delay = spin ? this.retryDelayMs : 0;
    if (!this.firstAttempt && this.jitterMs > 0) delay += Math.floor(Math.random() * this.jitterMs);
    this.firstAttempt = false;
    if (this._state !== 'connecting') {
      this._state = 'connecting';
      this.emitSafe('connecting');
      if (this.isTerminal()) return;
    }
    if (delay <= 0) {
      this.connectTo(host);
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.isTerminal()) this.connectTo(host);
    }, delay);
  }

  private connectTo(host: HostPort): void {
    this.host = host;
    this.lastError = null;
    const sock =
      this.localAddress === undefined
        ? net.connect({ host: host.host, port: host.port, noDelay: true })
        : net.connect({ host: host.host, port: host.port, noDelay: true, localAddress: this.localAddress });
    this.socket = sock;
    this.phase = PHASE_CONNECTING;
    this.connectStart = Date.now();
    this.lastRecv = this.connectStart;
    this.inChunks = [];
    this.inBytes = 0;
    this.inNeed = 4;
    sock.on('connect', () => {
      if (sock === this.socket) this.onSocketConnect(sock);
    });
    sock.on('data', (chunk: Buffer) => {
      if (sock === this.socket) this.onData(sock, chunk);
    });
    sock.on('error', (e: Error) => {
      if (sock === this.socket) this.lastError = e;
    });
    sock.on('close', () => {
      if (sock === this.socket) this.connectionLost(this.lastError?.message ?? 'connection closed by the server');
    });
    this.arm(this.connectTimeout);
  }

  private onSocketConnect(sock: net.Socket): void {
    const w = this.out;
    w.reset();
    w.beginFrame();
    encodeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: this._lastZxid,
      timeOut: this.requestedTimeout,
      sessionId: this._sessionId,
      passwd: this.passwd,
      readOnly: this.readOnlyAllowed,
      localSession: this.localSession,
    });
    w.endFrame();
    sock.write(w.bytesCopy());
    w.reset();
    this.phase = PHASE_HANDSHAKE;
    this.lastSend = Date.now();
  }

  private onConnectResponse(res: ConnectResponse): void {
    if (res.timeOut <= 0) {
      this.finish('expired', Err.sessionExpired);
      return;
    }
    this.negotiated = res.timeOut;
    this.readTimeout = Math.floor((res.timeOut * 2) / 3);
    this.connectTimeout = this.connectTimeoutOption || Math.floor(res.timeOut / this.provider.size);
    this.pingInterval = Math.min(Math.floor(this.readTimeout / 2), PING_INTERVAL_MAX_MS);
    this._sessionId = res.sessionId;
    this.passwd = res.passwd;
    this.serverReadOnly = res.readOnly;
    this.provider.onConnected();
    this.phase = PHASE_CONNECTED;

    // SetWatches, auth, then whatever was queued meanwhile.
    this.primeWatches();
    for (const a of this.authInfo) {
      this.writeAuth(a.scheme, a.auth);
      this.authQueue().push(a.waiter);
      a.waiter = null;
    }
    const sock = this.socket as net.Socket;
    const backlog = this.backlog;
    this.backlog = [];
    if (backlog.length === 0) {
      if (this.out.length > 0) sock.write(this.out.bytesCopy());
    } else {
      const bufs: Buffer[] = [this.out.bytesCopy()];
      for (const r of backlog) {
        bufs.push(r.frame as Buffer);
        r.frame = null;
        this.pending.push(r);
      }
      sock.write(Buffer.concat(bufs));
    }
    this.out.reset();
    this.lastSend = Date.now();
    this.arm(this.pingInterval);
    this._state = res.readOnly ? 'connectedReadOnly' : 'connected';
    this.emitSafe(this._state, res.readOnly);
  }

  /** SetWatches (SetWatches2 when persistent watches exist), split into packets of at most
   *  SET_WATCHES_CHARS_MAX path characters, as ClientCnxn.primeConnection sends them. */
  private primeWatches(): void {
    const wm = this.watches;
    if (wm === null || wm.empty) return;
    const two = wm.hasPersistent;
    const tables = two
      ? [wm.data, wm.exist, wm.child, wm.persistent, wm.persistentRecursive]
      : [wm.data, wm.exist, wm.child];
    const lists: string[][] = tables.map(() => []);
    let chars = 0;
    const emit = (): void => {
      const w = this.out;
      w.beginFrame();
      w.writeInt(Xid.setWatches);
      w.writeInt(two ? OpCode.setWatches2 : OpCode.setWatches);
      w.writeLong(this._lastZxid);
      for (const l of lists) w.writeStringVector(l);
      w.endFrame();
      const r = new Request(two ? OpCode.setWatches2 : OpCode.setWatches, '');
      r.xid = Xid.setWatches;
      this.pending.push(r);
      for (const l of lists) l.length = 0;
      chars = 0;
    };
    tables.forEach((t, i) => {
      for (const path of t.keys()) {
        const sp = this.serverPath(path);
        if (chars > 0 && chars + sp.length > SET_WATCHES_CHARS_MAX) emit();
        (lists[i] as string[]).push(sp);
        chars += sp.length;
      }
    });
    if (chars > 0) emit();
  }

  private arm(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(ZkClient.onTimerOf, Math.max(1, ms), this);
    this.timer.unref();
  }

  /** A timer callback shared by every client (no closure per client). */
  private static onTimerOf(this: void, c: ZkClient): void {
    c.onTimer();
  }

  private onTimer(): void {
    this.timer = null;
    const now = Date.now();
    if (this.phase === PHASE_CONNECTED) {
      if (now - this.lastRecv >= this.readTimeout) {
        this.dropConnection(`no reply from the server for ${now - this.lastRecv} ms`);
        return;
      }
      if (now - this.lastSend >= this.pingInterval) {
        const w = this.out;
        w.beginFrame();
        w.writeInt(Xid.ping);
        w.writeInt(OpCode.ping);
        w.endFrame();
        this.flush();
      }
      this.arm(Math.min(this.lastRecv + this.readTimeout, this.lastSend + this.pingInterval) - now);
    } else if (this.phase === PHASE_CONNECTING || this.phase === PHASE_HANDSHAKE) {
      if (now - this.connectStart >= this.connectTimeout) {
        this.dropConnection(`no session within the connect timeout (${this.connectTimeout} ms)`);
        return;
      }
      this.arm(this.connectStart + this.connectTimeout - now);
    }
  }

  private dropConnection(reason: string): void {
    this.lastError = new Error(reason);
    this.connectionLost(reason);
  }

  /** Tears the connection down, fails what was in flight with connectionLoss, and (unless the
   *  client is closing or dead) moves on to the next host. */
  private connectionLost(reason: string): void {
    const wasConnected = this.phase === PHASE_CONNECTED;
    this.teardown();
    this.failAll(new ZkError(Err.connectionLoss, undefined, `connectionLoss (-4): ${reason}`));
    if (this.closing) {
      if (!this.isTerminal()) this.finish('closed', Err.connectionLoss);
      return;
    }
    if (this.isTerminal()) return;
    if (wasConnected) {
      this._state = 'disconnected';
      this.emitSafe('disconnected', reason);
    }
    this.nextAttempt();
  }

  private teardown(): void {
    const sock = this.socket;
    this.socket = null;
    this.phase = PHASE_IDLE;
    if (sock !== null) sock.destroy();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inChunks = [];
    this.inBytes = 0;
    this.inNeed = 4;
    this.out.reset();
  }

  /** Fails everything sent or waiting to be sent (not the auth not yet sent). */
  private failAll(err: ZkError): void {
    for (let r = this.pending.shift(); r !== undefined; r = this.pending.shift()) r.reject(err);
    const backlog = this.backlog;
    this.backlog = [];
    for (const r of backlog) r.reject(err);
    const aw = this.authWaiters;
    if (aw !== null) for (let a = aw.shift(); a !== undefined; a = aw.shift()) a?.reject(err);
  }

  /** Enters a terminal state. */
  private finish(state: 'closed' | 'expired' | 'authFailed', code: number): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.teardown();
    this._state = state;
    const err =
      code === Err.connectionLoss
        ? new ZkError(code, undefined, 'connectionLoss (-4): the client is closed')
        : new ZkError(code);
    this.failAll(err);
    for (const a of this.authInfo) {
      a.waiter?.reject(err);
      a.waiter = null;
    }
    this.watches?.clear();
    this.emitSafe(state);
  }

  // ---- incoming ------------------------------------------------------------------------------

  private onData(sock: net.Socket, chunk: Buffer): void {
    this.lastRecv = Date.now();
    let buf = chunk;
    if (this.inBytes > 0) {
      this.inChunks.push(chunk);
      this.inBytes += chunk.length;
      if (this.inBytes < this.inNeed) return;
      buf = Buffer.concat(this.inChunks, this.inBytes);
      this.inChunks = [];
      this.inBytes = 0;
    }
    const n = buf.length;
    let off = 0;
    try {
      while (n - off >= 4) {
        const len = buf.readInt32BE(off);
        if (len < 0 || len > this.maxFrameBytes) throw new Error(`bad frame length ${len}`);
        if (n - off - 4 < len) break;
        this.onFrame(buf, off + 4, off + 4 + len);
        off += 4 + len;
        if (sock !== this.socket) return;
      }
    } catch (e) {
      if (sock === this.socket) this.dropConnection(`protocol error: ${(e as Error).message}`);
      return;
    }
    if (off < n) {
      const rest = off === 0 ? buf : buf.subarray(off);
      this.inChunks = [rest];
      this.inBytes = rest.length;
      this.inNeed = rest.length >= 4 ? 4 + rest.readInt32BE(0) : 4;
    }
  }

  private onFrame(buf: Buffer, start: number, end: number): void {
    const r = READER.reset(buf, start, end);
    if (this.phase === PHASE_HANDSHAKE) {
      this.onConnectResponse(decodeConnectResponse(r));
      return;
    }
    if (this.phase !== PHASE_CONNECTED) throw new Error('reply before the handshake');
    const xid = r.readInt();
    const zxid = r.readLong();
    const err = r.readInt();
    if (xid === Xid.ping) return;
    if (xid === Xid.notification) {
      const type = r.readInt();
      const state = r.readInt();
      const path = r.readString();
      this.onWatchEvent(type, state, this.stripChroot(path));
      return;
    }
    if (xid === Xid.auth) {
      this.onAuthReply(err);
      return;
    }
    const req = this.pending.shift();
    if (req === undefined) throw new Error(`reply xid ${xid} with nothing pending`);
    if (req.xid !== xid) {
      req.reject(new ZkError(Err.connectionLoss, req.path === '' ? undefined : req.path, `connectionLoss (-4): xid out of order: got ${xid}, expected ${req.xid}`));
      throw new Error(`xid out of order: got ${xid}, expected ${req.xid}`);
    }
    if (zxid > 0) this._lastZxid = zxid;
    if (err !== 0) this.onError(req, err);
    else this.onReply(req, r);
  }

  private onReply(req: Request, r: JuteReader): void {
    switch (req.op) {
      case OpCode.getData: {
        const data = copyData(r.readBuffer());
        const stat = decodeStat(r);
        this.registerWatch(req);
        req.resolve({ data, stat });
        return;
      }
      case OpCode.exists: {
        const stat = decodeStat(r);
        this.registerWatch(req);
        req.resolve(stat);
        return;
      }
      case OpCode.setData:
      case OpCode.setACL:
        req.resolve(decodeStat(r));
        return;
      case OpCode.create:
        req.resolve(this.stripChroot(r.readString()));
        return;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const path = this.stripChroot(r.readString());
        if (req.arg === true) req.resolve({ path, stat: decodeStat(r) });
        else req.resolve(path);
        return;
      }
      case OpCode.delete:
      case OpCode.closeSession:
        req.resolve(undefined);
        return;
      case OpCode.getChildren: {
        const children = r.readStringVector();
        this.registerWatch(req);
        req.resolve(children);
        return;
      }
      case OpCode.getChildren2: {
        const children = r.readStringVector();
        const stat = decodeStat(r);
        this.registerWatch(req);
        req.resolve({ children, stat });
        return;
      }
      case OpCode.getACL: {
        const acl = decodeACLs(r);
        req.resolve({ acl, stat: decodeStat(r) });
        return;
      }
      case OpCode.sync:
        req.resolve(this.stripChroot(r.readString()));
        return;
      case OpCode.getAllChildrenNumber:
        req.resolve(r.readInt());
        return;
      case OpCode.getEphemerals:
        req.resolve(r.readStringVector().map((p) => this.stripChroot(p)));
        return;
      case OpCode.whoAmI: {
        const res = decodeResponse(OpCode.whoAmI, r);
        req.resolve(res.op === OpCode.whoAmI ? res.res.clientInfo : []);
        return;
      }
      case OpCode.multi:
      case OpCode.multiRead: {
        const res = decodeResponse(req.op, r);
        const results = fromMultiResults((res.res as MultiResult[] | null) ?? [], (p) => this.stripChroot(p));
        if (req.op === OpCode.multi) {
          const i = results.findIndex((x) => x.type === 'error' && x.code !== 0);
          const failed = results[i];
          if (failed !== undefined && failed.type === 'error') {
            const path = (req.arg as readonly Op[])[i]?.path;
            const message = path === undefined ? undefined : `${failed.codeName} (${failed.code}) for ${path} (multi op ${i})`;
            req.reject(new ZkError(failed.code, path, message, results));
            return;
          }
        }
        req.resolve(results);
        return;
      }
      case OpCode.addWatch:
        this.registerWatch(req);
        req.resolve(undefined);
        return;
      case OpCode.checkWatches:
      case OpCode.removeWatches:
        this.onRemoveReply(req, 0);
        return;
      default:
        req.resolve(undefined);
    }
  }

  private onError(req: Request, err: number): void {
    switch (req.op) {
      case OpCode.exists:
        if (err === Err.noNode) {
          if (req.watcher !== null) this.register(WatchKind.exist, req.path, req.watcher);
          req.resolve(null);
          return;
        }
        break;
      case OpCode.checkWatches:
      case OpCode.removeWatches:
        this.onRemoveReply(req, err);
        return;
      case OpCode.setWatches:
      case OpCode.setWatches2:
        return; // ClientCnxn ignores it too; the watches stay registered here
    }
    req.reject(new ZkError(err, req.path === '' ? undefined : req.path));
  }

  private onRemoveReply(req: Request, err: number): void {
    const arg = req.arg as RemoveArg;
    if (!arg.remove) {
      if (err === 0) req.resolve(undefined);
      else req.reject(new ZkError(err, req.path));
      return;
    }
    if (err !== 0 && !arg.local) {
      req.reject(new ZkError(err, req.path));
      return;
    }
    if (!this.removeLocally(req.path, arg.watcher, arg.type)) {
      req.reject(new ZkError(Err.noWatcher, req.path));
      return;
    }
    req.resolve(undefined);
  }

  /** Takes watchers out and sends them their *WatchRemoved events; false if none was there. */
  private removeLocally(path: string, watcher: Watcher | null, type: number): boolean {
    if (this.watches === null) return false;
    const removed = this.watches.remove(path, watcher, type);
    let any = false;
    const fire = (set: Set<Watcher>, evType: number): void => {
      if (set.size === 0) return;
      any = true;
      const ev: WatchEvent = { type: evType, name: eventName(evType), state: KeeperState.syncConnected, path };
      for (const w of set) callWatcher(w, ev);
    };
    fire(removed.child, EventType.childWatchRemoved);
    fire(removed.data, EventType.dataWatchRemoved);
    fire(removed.persistent, EventType.persistentWatchRemoved);
    return any;
  }

  private registerWatch(req: Request): void {
    if (req.watcher !== null) this.register(req.watchKind, req.path, req.watcher);
  }

  private register(kind: number, path: string, w: Watcher): void {
    if (this.watches === null) this.watches = new WatchManager();
    this.watches.register(kind, path, w);
  }

  private onWatchEvent(type: number, state: number, path: string): void {
    if (this.watches === null) return;
    const ws = this.watches.materialize(type, path);
    if (ws.size === 0) return;
    const ev: WatchEvent = { type, name: eventName(type), state, path };
    for (const w of ws) callWatcher(w, ev);
  }

  private onDefaultWatch(e: WatchEvent): void {
    this.emitSafe('watch', e);
    const pe = this.pathEmitters?.get(e.path);
    if (pe !== undefined) {
      try {
        pe.emit(e.name, e);
        pe.emit('event', e);
      } catch (x) {
        rethrowLater(x);
      }
    }
  }

  private onAuthReply(err: number): void {
    const waiter = this.authWaiters?.shift() ?? null;
    if (err === Err.authFailed) {
      waiter?.reject(new ZkError(Err.authFailed));
      this.finish('authFailed', Err.authFailed);
      return;
    }
    if (err !== 0) waiter?.reject(new ZkError(err));
    else waiter?.resolve(undefined);
  }

  /** emit() that never lets a listener's exception into the protocol code. */
  private emitSafe(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (e) {
      rethrowLater(e);
    }
  }
}

// Requests of one turn are written with one socket.write per client: clients with something to
// send queue here, and one microtask writes them all.
const flushQueue: ZkClient[] = [];
let flushQueued = false;

function enqueueFlush(c: ZkClient): void {
  flushQueue.push(c);
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  flushQueued = false;
  // flush() runs no user code, so nothing is added while this runs
  for (let i = 0; i < flushQueue.length; i++) (flushQueue[i] as ZkClient).flush();
  flushQueue.length = 0;
}

function callWatcher(w: Watcher, ev: WatchEvent): void {
  try {
    w(ev);
  } catch (e) {
    rethrowLater(e);
  }
}

function toAuthBytes(auth: Uint8Array | string): Uint8Array {
  return typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth;
}

/** Creates a client and starts connecting (on the next tick). */
export function createClient(connectString: string, options: ClientOptions = {}): ZkClient {
  return new ZkClient(connectString, options);
}
