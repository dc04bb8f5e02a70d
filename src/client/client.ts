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
//   xids (Xid in src/common/zk.ts): notification (watch event), ping, auth, setWatches.
// - Failure: a lost connection fails every request sent or queued with connectionLoss, and the
//   client reconnects with the same session; an expired session fails them with sessionExpired
//   and the client is dead ('expired'), as after close() ('closed') or a rejected auth
//   ('authFailed').
//
// Hot path: one JuteWriter per client; requests of one turn are written with one socket.write
// (flushed in a microtask); one module-wide JuteReader decodes every reply; a reply costs the
// request object, its promise and the result, no closures.
//
// The shape: ownership runs one way, down, and only the connection calls back up.
//
//   client.ts      ZkClient: the public API; encodes each request's body, nothing else
//     session.ts   Session: identity, state and its events, frame routing, lost/terminal handling
//       connection.ts   Connection: socket, host walk, framing, writer + flush, timers; it reports
//                       to its owner through the ConnectionOwner interface (Session implements it)
//       queue.ts        RequestQueue: xids, sent / parked requests in order, auth waiters
//       watches.ts      ClientWatches: watch tables, delivery, default watcher
//     handshake.ts  ConnectRequest, timeouts, SetWatches / auth priming (functions)
//     replies.ts    reply decoding, a table keyed by opcode (functions of request, reader, context)
//   limits.ts, types.ts, hosts.ts, ops.ts, errors.ts, deque.ts: leaves.

import { EventEmitter } from 'node:events';
import { isValidPath } from '../common/path.js';
import { AddWatchMode, CreateMode, Err, OpCode, WatchKind, WatcherType } from '../common/zk.js';
import { encodeACLs, encodeRequest } from '../protocol/jute/index.js';
import type { ACL, Stat } from '../protocol/types.js';
import { ZkError } from './errors.js';
import { HostProvider, parseConnectString, serverPath, type HostPort } from './hosts.js';
import { closeWaitMsDefault, sessionTimeoutMsDefault } from './limits.js';
import {
  Acls,
  Transaction,
  createOpcode,
  toBytes,
  toMultiOps,
  toMultiReadOps,
  type CreateOptions,
  type Data,
  type Op,
  type OpResult,
  type ReadOp,
} from './ops.js';
import { Request, promiseOf, type RemoveArg } from './queue.js';
import { Session } from './session.js';
import type {
  ACLResult,
  ChildrenResult,
  ClientInfo,
  ClientOptions,
  ClientState,
  CreateResult,
  DataResult,
  WatchArg,
} from './types.js';
import type { Watcher } from './watches.js';

export type {
  ACLResult,
  AuthInfo,
  ChildrenResult,
  ClientInfo,
  ClientOptions,
  ClientState,
  ClientTlsOptions,
  CreateResult,
  DataResult,
  WatchArg,
} from './types.js';

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

  private readonly session: Session;
  private closePromise: Promise<void> | null = null;

  constructor(connectString: string, options: ClientOptions = {}) {
    super();
    const cs = parseConnectString(connectString);
    this.chroot = cs.chroot;
    const provider = new HostProvider(cs.hosts, options.shuffleHosts ?? true);
    this.hosts = provider.hosts;
    const sessionTimeoutMs = options.sessionTimeoutMs ?? sessionTimeoutMsDefault;
    if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs <= 0) {
      throw new ZkError(Err.badArguments, undefined, { message: `sessionTimeoutMs must be a positive integer` });
    }
    this.session = new Session({ events: this, chroot: this.chroot, provider, sessionTimeoutMs, client: options });
  }

  // ---- public state --------------------------------------------------------------------------

  /** The watcher that watch = true stands for: it emits 'watch' here and feeds watchEmitter(). */
  get defaultWatcher(): Watcher {
    return this.session.watches.defaultWatcher;
  }

  get state(): ClientState {
    return this.session.state;
  }
  /** The session id (0n until the first session is established). */
  get sessionId(): bigint {
    return this.session.sessionId;
  }
  /** The session password, for resuming the session from another client object. */
  get sessionPassword(): Buffer {
    return Buffer.from(this.session.passwd);
  }
  /** The negotiated session timeout (0 until connected). */
  get sessionTimeoutMs(): number {
    return this.session.negotiated;
  }
  /** The largest zxid seen in a reply. */
  get lastZxid(): number {
    return this.session.lastZxid;
  }
  /** "host:port" of the server connected to, or null. */
  get connectedHost(): string | null {
    return this.session.conn.connectedHost;
  }
  /** True when connected to a read-only server. */
  get readOnly(): boolean {
    return this.session.serverReadOnly;
  }
  /** Requests sent and not answered yet. */
  get outstanding(): number {
    return this.session.queue.length;
  }
  /** @internal The socket of the connection (null when none): src/load reads its localAddress. */
  get socket(): { readonly localAddress?: string | undefined } | null {
    return this.session.conn.socket;
  }

  /** Resolves once connected (at once if connected); rejects if the client dies first or
   *  `timeoutMs` passes. */
  waitConnected(timeoutMs = 0): Promise<void> {
    if (this.session.conn.connected) return Promise.resolve();
    if (this.session.isTerminal()) return Promise.reject(this.session.terminalError());
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
        reject(this.session.terminalError());
      };
      this.on('connected', ok);
      this.on('connectedReadOnly', ok);
      this.on('expired', dead);
      this.on('closed', dead);
      this.on('authFailed', dead);
      if (timeoutMs > 0) {
        t = setTimeout(() => {
          done();
          reject(new ZkError(Err.connectionLoss, undefined, { message: `not connected within ${timeoutMs} ms` }));
        }, timeoutMs);
      }
    });
  }

  /** The EventEmitter that the default watcher (watch = true) feeds for `path`: it emits each
   *  event under its name ('nodeDataChanged', ...) and as 'event'. */
  watchEmitter(path: string): EventEmitter {
    return this.session.watches.watchEmitter(path);
  }

  /** Forgets the emitter of watchEmitter(path). */
  releaseWatchEmitter(path: string): void {
    this.session.watches.releaseWatchEmitter(path);
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
    const w = this.session.begin(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    w.writeBuffer(toBytes(data));
    encodeACLs(w, (options.acl ?? Acls.openUnsafe) as ACL[]);
    w.writeInt(options.mode ?? CreateMode.persistent);
    if (op === OpCode.createTTL) w.writeLong(ttl);
    this.session.end(r);
    return p;
  }

  /** Deletes a node (version -1: any). */
  delete(path: string, version = -1): Promise<void> {
    const r = new Request(OpCode.delete, path);
    const p = promiseOf<void>(r);
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    w.writeInt(version);
    this.session.end(r);
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
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    w.writeBool(watcher !== null);
    this.session.end(r);
    return p;
  }

  /** Sets data (version -1: any); resolves with the new Stat. */
  setData(path: string, data: Data, version = -1): Promise<Stat> {
    const r = new Request(OpCode.setData, path);
    const p = promiseOf<Stat>(r);
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    w.writeBuffer(toBytes(data));
    w.writeInt(version);
    this.session.end(r);
    return p;
  }

  getACL(path: string): Promise<ACLResult> {
    return this.pathOnly(OpCode.getACL, path) as Promise<ACLResult>;
  }

  setACL(path: string, acl: readonly ACL[], version = -1): Promise<Stat> {
    const r = new Request(OpCode.setACL, path);
    const p = promiseOf<Stat>(r);
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    encodeACLs(w, acl as ACL[]);
    w.writeInt(version);
    this.session.end(r);
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
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    this.session.end(r);
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
    const w = this.session.begin(r);
    if (w === null) return p;
    encodeRequest(w, { op: OpCode.multi, req });
    this.session.end(r);
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
    const w = this.session.begin(r);
    if (w === null) return p;
    encodeRequest(w, { op: OpCode.multiRead, req });
    this.session.end(r);
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
    if (this.session.isTerminal() || this.session.closing) {
      r.reject(this.session.terminalError());
      return p;
    }
    this.session.addAuth(r, scheme, auth);
    return p;
  }

  /** The identities the server holds for this session ([{ authScheme, user }]). */
  whoAmI(): Promise<ClientInfo[]> {
    const r = new Request(OpCode.whoAmI, '');
    const p = promiseOf<ClientInfo[]>(r);
    const w = this.session.begin(r);
    if (w === null) return p;
    this.session.end(r);
    return p;
  }

  /** Sets a persistent (or persistent recursive) watch; it stays until removed. */
  addWatch(path: string, mode: number = AddWatchMode.persistent, watch: Watcher | true = true): Promise<void> {
    const r = new Request(OpCode.addWatch, path);
    r.watcher = watch === true ? this.defaultWatcher : watch;
    r.watchKind = mode === AddWatchMode.persistentRecursive ? WatchKind.persistentRecursive : WatchKind.persistent;
    const p = promiseOf<void>(r);
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    w.writeInt(mode);
    this.session.end(r);
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
      if (!this.session.watches.contains(path, watcher, type)) {
        r.reject(new ZkError(Err.noWatcher, path));
        return p;
      }
      if (local && !this.session.conn.connected && !this.session.isTerminal()) {
        this.session.watches.removeLocally(path, watcher, type);
        r.resolve(undefined);
        return p;
      }
    }
    const w = this.session.beginPath(r);
    if (w === null) return p;
    w.writeString(serverPath(this.chroot, path));
    w.writeInt(type);
    this.session.end(r);
    return p;
  }

  /** Ends the session (closeSession) and the connection; requests sent before are answered
   *  first, later ones fail. When disconnected, closeSession goes out on the connection attempt
   *  under way (or the next), as ClientCnxn.close does; a failed attempt ends the close. Waits
   *  at most `timeoutMs` (default 2000). With { closeSession: false } only the connection goes:
   *  the session lives on until its timeout and can be resumed elsewhere. */
  close(options: { closeSession?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    if (this.session.isTerminal()) return Promise.resolve();
    this.session.closing = true;
    if (options.closeSession === false || (this.session.sessionId === 0n && !this.session.conn.handshaking)) {
      this.session.finish('closed', Err.connectionLoss);
      this.closePromise = Promise.resolve();
      return this.closePromise;
    }
    const r = new Request(OpCode.closeSession, '');
    const p = promiseOf<void>(r);
    this.session.open(r);
    this.session.end(r);
    const wait = options.timeoutMs ?? closeWaitMsDefault;
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
      if (!this.session.isTerminal()) this.session.finish('closed', Err.connectionLoss);
    });
    return this.closePromise;
  }

  /** @internal Writes what this turn's requests encoded (normally flushed in a microtask). */
  flush(): void {
    this.session.conn.flush();
  }
}

/** Creates a client and starts connecting (on the next tick). */
export function createClient(connectString: string, options: ClientOptions = {}): ZkClient {
  return new ZkClient(connectString, options);
}
