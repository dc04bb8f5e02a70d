// The session behind a ZkClient: its identity (id, password, negotiated timeout, last zxid), its
// state and the events that report it, the handshake's answer, routing each incoming frame
// (replies, watch events, pings, auth replies), opening and closing request frames, and what a
// lost connection or a terminal state does to the requests in flight.

import type { EventEmitter } from 'node:events';
import { isValidPath } from '../common/path.js';
import { Err, Xid } from '../common/zk.js';
import { decodeConnectResponse, type JuteWriter } from '../protocol/jute/index.js';
import type { ConnectResponse } from '../protocol/types.js';
import { Connection, type ConnectionOwner } from './connection.js';
import { ZkError, rethrowLater } from './errors.js';
import { connectRequestFrame, timeoutsOf, writeAuth, writeSetWatches } from './handshake.js';
import { stripChroot, type HostProvider } from './hosts.js';
import { frameBytesMaxDefault, passwordBytes, reconnectJitterMsDefault, retryDelayMsDefault } from './limits.js';
import { RequestQueue, type Request } from './queue.js';
import { READER, settle, type ReplyContext } from './replies.js';
import type { ClientOptions, ClientState } from './types.js';
import { ClientWatches } from './watches.js';

const NO_PASSWORD = new Uint8Array(passwordBytes);

export interface SessionOptions {
  /** Gets the state events ('connecting', 'connected', ...) and the default watcher's 'watch'. */
  readonly events: EventEmitter;
  readonly chroot: string;
  readonly provider: HostProvider;
  /** The requested session timeout, validated. */
  readonly sessionTimeoutMs: number;
  readonly client: ClientOptions;
}

export class Session implements ConnectionOwner, ReplyContext {
  readonly chroot: string;
  readonly watches: ClientWatches;
  readonly queue = new RequestQueue();
  readonly conn: Connection;
  private readonly events: EventEmitter;
  private readonly provider: HostProvider;
  private readonly requestedTimeout: number;
  private readonly connectTimeoutOption: number;
  private readonly readOnlyAllowed: boolean;
  private readonly localSession: boolean;

  state: ClientState = 'connecting';
  sessionId = 0n;
  passwd: Uint8Array = NO_PASSWORD;
  negotiated = 0;
  lastZxid = 0;
  serverReadOnly = false;
  /** close() was called. */
  closing = false;
  private readonly authInfo: { scheme: string; auth: Uint8Array; waiter: Request | null }[] = [];

  constructor(options: SessionOptions) {
    const o = options.client;
    this.events = options.events;
    this.chroot = options.chroot;
    this.provider = options.provider;
    this.watches = new ClientWatches(options.events);
    this.requestedTimeout = options.sessionTimeoutMs;
    this.connectTimeoutOption = o.connectTimeoutMs ?? 0;
    this.readOnlyAllowed = o.readOnly ?? false;
    this.localSession = o.localSession ?? false;
    if (o.sessionId !== undefined && o.sessionId !== 0n) {
      this.sessionId = BigInt.asIntN(64, o.sessionId);
      this.passwd = o.password ?? NO_PASSWORD;
    }
    for (const a of o.auth ?? []) {
      this.authInfo.push({ scheme: a.scheme, auth: toAuthBytes(a.auth), waiter: null });
    }
    this.conn = new Connection({
      owner: this,
      provider: this.provider,
      retryDelayMs: o.retryDelayMs ?? retryDelayMsDefault,
      reconnectJitterMs: o.reconnectJitterMs ?? reconnectJitterMsDefault,
      localAddress: o.localAddress,
      tls: o.tls,
      frameBytesMax: o.maxFrameBytes ?? frameBytesMaxDefault,
      timeouts: timeoutsOf(this.requestedTimeout, this.provider.size, this.connectTimeoutOption),
    });
    // Start on the next tick, so that listeners attached right after construction see it all.
    process.nextTick(() => {
      if (this.isTerminal()) return;
      this.emitSafe('connecting');
      if (!this.isTerminal()) this.conn.nextAttempt();
    });
  }

  isTerminal(): boolean {
    const s = this.state;
    return s === 'closed' || s === 'expired' || s === 'authFailed';
  }

  terminalError(): ZkError {
    switch (this.state) {
      case 'expired':
        return new ZkError(Err.sessionExpired);
      case 'authFailed':
        return new ZkError(Err.authFailed);
      default:
        return new ZkError(Err.connectionLoss, undefined, { message: 'connectionLoss (-4): the client is closed' });
    }
  }

  // ---- request frames --------------------------------------------------------------------------

  /** begin() after validating r.path. */
  beginPath(r: Request): JuteWriter | null {
    if (!isValidPath(r.path)) {
      r.reject(new ZkError(Err.badArguments, String(r.path), { message: `badArguments (-8): invalid path '${String(r.path)}'` }));
      return null;
    }
    return this.begin(r);
  }

  /** Opens r's frame in the writer, or rejects r (and returns null) if the client is dead. */
  begin(r: Request): JuteWriter | null {
    if (this.isTerminal() || this.closing) {
      r.reject(this.terminalError());
      return null;
    }
    return this.open(r);
  }

  open(r: Request): JuteWriter {
    const w = this.conn.out;
    r.xid = this.queue.nextXid();
    w.beginFrame();
    w.writeInt(r.xid);
    w.writeInt(r.op);
    return w;
  }

  /** Closes r's frame: sends it with this turn's others, or parks it until connected. */
  end(r: Request): void {
    const w = this.conn.out;
    w.endFrame();
    if (this.conn.connected) {
      this.queue.sent(r);
      this.conn.scheduleFlush();
    } else {
      const frame = w.bytesCopy();
      w.reset();
      this.queue.park(r, frame);
    }
  }

  /** Adds credentials (sent again at every reconnect); `r` gets the server's answer. */
  addAuth(r: Request, scheme: string, auth: Uint8Array | string): void {
    const bytes = toAuthBytes(auth);
    if (this.conn.connected) {
      this.authInfo.push({ scheme, auth: bytes, waiter: null });
      writeAuth(this.conn.out, scheme, bytes);
      this.queue.sentAuth(r);
      this.conn.scheduleFlush();
    } else {
      this.authInfo.push({ scheme, auth: bytes, waiter: r });
    }
  }

  // ---- the connection's events ---------------------------------------------------------------

  onAttempt(): void {
    if (this.state !== 'connecting') {
      this.state = 'connecting';
      this.emitSafe('connecting');
    }
  }

  connectRequest(): Buffer {
    return connectRequestFrame(this.conn.out, {
      protocolVersion: 0,
      lastZxidSeen: this.lastZxid,
      timeOut: this.requestedTimeout,
      sessionId: this.sessionId,
      passwd: this.passwd,
      readOnly: this.readOnlyAllowed,
      localSession: this.localSession,
    });
  }

  onFrame(buf: Buffer, start: number, end: number): void {
    const r = READER.reset(buf, start, end);
    if (this.conn.handshaking) {
      this.onConnectResponse(decodeConnectResponse(r));
      return;
    }
    if (!this.conn.connected) throw new Error('reply before the handshake');
    const xid = r.readInt();
    const zxid = r.readLong();
    const err = r.readInt();
    if (xid === Xid.ping) return;
    if (xid === Xid.notification) {
      const type = r.readInt();
      const state = r.readInt();
      const path = r.readString();
      this.watches.onEvent(type, state, stripChroot(this.chroot, path));
      return;
    }
    if (xid === Xid.auth) {
      this.onAuthReply(err);
      return;
    }
    const req = this.queue.replyTo(xid);
    if (zxid > 0) this.lastZxid = zxid;
    settle(req, err, r, this);
  }

  private onConnectResponse(res: ConnectResponse): void {
    if (res.timeOut <= 0) {
      this.finish('expired', Err.sessionExpired);
      return;
    }
    this.negotiated = res.timeOut;
    this.sessionId = res.sessionId;
    this.passwd = res.passwd;
    this.serverReadOnly = res.readOnly;
    this.conn.established(timeoutsOf(res.timeOut, this.provider.size, this.connectTimeoutOption));

    // SetWatches, auth, then whatever was queued meanwhile.
    const w = this.conn.out;
    const tables = this.watches.tables;
    if (tables !== null) writeSetWatches(w, tables, this.lastZxid, this.chroot, this.queue);
    for (const a of this.authInfo) {
      writeAuth(w, a.scheme, a.auth);
      this.queue.sentAuth(a.waiter);
      a.waiter = null;
    }
    const bufs: Buffer[] = [w.bytesCopy()];
    if (this.queue.unpark(bufs) === 0) this.conn.writePrimed(w.length > 0 ? (bufs[0] as Buffer) : null);
    else this.conn.writePrimed(Buffer.concat(bufs));
    this.state = res.readOnly ? 'connectedReadOnly' : 'connected';
    this.emitSafe(this.state, res.readOnly);
  }

  private onAuthReply(err: number): void {
    const waiter = this.queue.authReplied();
    if (err === Err.authFailed) {
      waiter?.reject(new ZkError(Err.authFailed));
      this.finish('authFailed', Err.authFailed);
      return;
    }
    if (err !== Err.ok) waiter?.reject(new ZkError(err));
    else waiter?.resolve(undefined);
  }

  /** Fails what was in flight with connectionLoss and (unless the client is closing or dead)
   *  moves on to the next host. */
  onLost(reason: string, wasConnected: boolean): void {
    this.queue.failAll(new ZkError(Err.connectionLoss, undefined, { message: `connectionLoss (-4): ${reason}` }));
    if (this.closing) {
      if (!this.isTerminal()) this.finish('closed', Err.connectionLoss);
      return;
    }
    if (this.isTerminal()) return;
    if (wasConnected) {
      this.state = 'disconnected';
      this.emitSafe('disconnected', reason);
    }
    this.conn.nextAttempt();
  }

  /** Enters a terminal state. */
  finish(state: 'closed' | 'expired' | 'authFailed', code: number): void {
    this.conn.stop();
    this.state = state;
    const err =
      code === Err.connectionLoss
        ? new ZkError(code, undefined, { message: 'connectionLoss (-4): the client is closed' })
        : new ZkError(code);
    this.queue.failAll(err);
    for (const a of this.authInfo) {
      a.waiter?.reject(err);
      a.waiter = null;
    }
    this.watches.clear();
    this.emitSafe(state);
  }

  /** emit() that never lets a listener's exception into the protocol code. */
  emitSafe(event: string, ...args: unknown[]): void {
    try {
      this.events.emit(event, ...args);
    } catch (e) {
      rethrowLater(e);
    }
  }
}

function toAuthBytes(auth: Uint8Array | string): Uint8Array {
  return typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth;
}
