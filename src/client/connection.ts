// The connection: the socket to one host at a time, the walk over the host list with its retry
// delay and jitter, reply framing, the writer requests are encoded into and its once-per-turn
// flush, and the timers (connect timeout, read timeout, pings). What frames mean, and what a lost
// connection means for the session, is its owner's (ConnectionOwner, the session).

import { createRequire } from 'node:module';
import net from 'node:net';
import type * as tlsTypes from 'node:tls';
import { OpCode, Xid } from '../common/zk.js';
import { FrameReader, frameLengthOk } from '../protocol/frame-reader.js';
import { JuteWriter } from '../protocol/jute/index.js';
import type { Timeouts } from './handshake.js';
import { hostText, wsUrl, type HostPort, type HostProvider } from './hosts.js';
import { writerInitialBytes, writerKeepBytes } from './limits.js';
import { WsClientSocket } from './ws-socket.js';
import type { ClientTlsOptions } from './types.js';

const require = createRequire(import.meta.url);
let tlsModule: typeof tlsTypes | null = null;
/** node:tls, loaded by the first TLS connection (a plain client never pays for it). */
function tlsLib(): typeof tlsTypes {
  tlsModule ??= require('node:tls') as typeof tlsTypes;
  return tlsModule;
}

const PHASE_IDLE = 0;
const PHASE_CONNECTING = 1; // TCP connect under way
const PHASE_HANDSHAKE = 2; // ConnectRequest sent
const PHASE_CONNECTED = 3;

/** What the connection tells the session. */
export interface ConnectionOwner {
  /** An attempt is about to start (state 'connecting'); the owner may die meanwhile. */
  onAttempt(): void;
  /** TCP is up: the first frame to send, the ConnectRequest. */
  connectRequest(): Buffer;
  /** One whole frame; a throw drops the connection as a protocol error. */
  onFrame(buf: Buffer, start: number, end: number): void;
  /** The connection is gone (torn down already); `wasConnected` when a session was on it. */
  onLost(reason: string, wasConnected: boolean): void;
}

export interface ConnectionOptions {
  readonly owner: ConnectionOwner;
  readonly provider: HostProvider;
  readonly retryDelayMs: number;
  readonly reconnectJitterMs: number;
  readonly localAddress: string | undefined;
  /** TLS options (the server's secureClientPort); undefined: plain TCP. */
  readonly tls?: ClientTlsOptions | undefined;
  readonly frameBytesMax: number;
  readonly timeouts: Timeouts;
}

export class Connection {
  /** The writer requests are encoded into; replaced after a big flush, so read it each time. */
  out = new JuteWriter(writerInitialBytes);
  private readonly owner: ConnectionOwner;
  private readonly provider: HostProvider;
  private readonly retryDelayMs: number;
  private readonly jitterMs: number;
  private readonly localAddress: string | undefined;
  private readonly tls: ClientTlsOptions | undefined;
  /** Replies: an int32 length, then the frame; an empty one is the session's to refuse. */
  private readonly reader: FrameReader;
  private readonly frameBytesMax: number;
  private timeouts: Timeouts;

  /** @internal src/load reads socket.localAddress through the client, for diagnostics. */
  socket: net.Socket | WsClientSocket | null = null;
  private phase = PHASE_IDLE;
  private host: HostPort | null = null;
  private firstAttempt = true;
  /** Set by stop(): no more attempts. */
  private stopped = false;
  private flushQueued = false;
  private lastSend = 0;
  private lastRecv = 0;
  private connectStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private lastError: Error | null = null;

  constructor(options: ConnectionOptions) {
    this.owner = options.owner;
    this.provider = options.provider;
    this.retryDelayMs = options.retryDelayMs;
    this.jitterMs = options.reconnectJitterMs;
    this.localAddress = options.localAddress;
    this.tls = options.tls;
    this.reader = new FrameReader(options.frameBytesMax, 'deliver');
    this.frameBytesMax = options.frameBytesMax;
    this.timeouts = options.timeouts;
  }

  /** A session is on this connection (the handshake is done). */
  get connected(): boolean {
    return this.phase === PHASE_CONNECTED;
  }

  /** The ConnectRequest went out and its answer is awaited. */
  get handshaking(): boolean {
    return this.phase === PHASE_HANDSHAKE;
  }

  /** "host:port" of the server connected to, or null. */
  get connectedHost(): string | null {
    return this.phase === PHASE_CONNECTED && this.host !== null ? hostText(this.host) : null;
  }

  /** Picks the next host and connects to it, after the retry delay and jitter that apply. */
  nextAttempt(): void {
    if (this.stopped || this.retryTimer !== null) return;
    const { host, spin } = this.provider.next();
    let delay = spin ? this.retryDelayMs : 0;
    if (!this.firstAttempt && this.jitterMs > 0) delay += Math.floor(Math.random() * this.jitterMs);
    this.firstAttempt = false;
    this.owner.onAttempt();
    if (this.stopped) return;
    if (delay <= 0) {
      this.connectTo(host);
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connectTo(host);
    }, delay);
  }

  private connectTo(host: HostPort): void {
    this.host = host;
    this.lastError = null;
    if (host.wsPath !== undefined) {
      this.connectWs(host);
      return;
    }
    const sock = this.dial(host);
    this.socket = sock;
    this.phase = PHASE_CONNECTING;
    this.connectStart = Date.now();
    this.lastRecv = this.connectStart;
    this.reader.reset();
    // With TLS the ConnectRequest waits for the handshake (ClientCnxnSocketNetty does the same).
    sock.on(this.tls === undefined ? 'connect' : 'secureConnect', () => {
      if (sock === this.socket) this.onSocketConnect(sock);
    });
    sock.on('data', (chunk: Buffer) => {
      if (sock === this.socket) this.onData(sock, chunk);
    });
    sock.on('error', (e: Error) => {
      if (sock === this.socket) this.lastError = e;
    });
    sock.on('close', () => {
      if (sock === this.socket) this.lost(this.lastError?.message ?? 'connection closed by the server');
    });
    this.arm(this.timeouts.connectTimeoutMs);
  }

  /** A ws:// host: the same frames, one WebSocket message each (ws-socket.ts). */
  private connectWs(host: HostPort): void {
    const options = { frameBytesMax: this.frameBytesMax, localAddress: this.localAddress };
    const sock: WsClientSocket = new WsClientSocket(wsUrl(host), options, {
      open: () => {
        if (sock === this.socket) this.onSocketConnect(sock);
      },
      message: (frame) => {
        if (sock === this.socket) this.onMessage(sock, frame);
      },
      bad: (reason) => {
        if (sock === this.socket) this.drop(`protocol error: ${reason}`);
      },
      error: (e) => {
        if (sock === this.socket) this.lastError = e;
      },
      close: () => {
        if (sock === this.socket) this.lost(this.lastError?.message ?? 'connection closed by the server');
      },
    });
    this.socket = sock;
    this.phase = PHASE_CONNECTING;
    this.connectStart = Date.now();
    this.lastRecv = this.connectStart;
    this.reader.reset();
    this.arm(this.timeouts.connectTimeoutMs);
  }

  private onMessage(sock: WsClientSocket, frame: Buffer): void {
    this.lastRecv = Date.now();
    try {
      this.owner.onFrame(frame, 0, frame.length);
    } catch (e) {
      if (sock === this.socket) this.drop(`protocol error: ${(e as Error).message}`);
    }
  }

  private dial(host: HostPort): net.Socket {
    const local = this.localAddress === undefined ? {} : { localAddress: this.localAddress };
    const t = this.tls;
    if (t === undefined) return net.connect({ host: host.host, port: host.port, noDelay: true, ...local });
    const servername = t.servername ?? (net.isIP(host.host) === 0 ? host.host : undefined);
    const sock = tlsLib().connect({ ...t, host: host.host, port: host.port, ...local, ...(servername === undefined ? {} : { servername }) });
    sock.setNoDelay(true);
    return sock;
  }

  private onSocketConnect(sock: net.Socket | WsClientSocket): void {
    sock.write(this.owner.connectRequest());
    this.phase = PHASE_HANDSHAKE;
    this.lastSend = Date.now();
  }

  /** The handshake succeeded: the timers run on the negotiated timeouts from now on. */
  established(timeouts: Timeouts): void {
    this.timeouts = timeouts;
    this.provider.onConnected();
    this.phase = PHASE_CONNECTED;
  }

  /** Writes the packets that prime the connection (after established()) and starts pinging. */
  writePrimed(bytes: Buffer | null): void {
    if (bytes !== null) this.socket?.write(bytes);
    this.out.reset();
    this.lastSend = Date.now();
    this.arm(this.timeouts.pingIntervalMs);
  }

  /** Sends what the writer holds with this turn's other requests (one socket.write per client
   *  per turn, flushed in a microtask). */
  scheduleFlush(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      enqueueFlush(this);
    }
  }

  /** Writes what this turn's requests encoded (run by flushAll, or directly). */
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
    if (w.length > writerKeepBytes) this.out = new JuteWriter(writerInitialBytes);
    else w.reset();
  }

  private arm(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(Connection.onTimerOf, Math.max(1, ms), this);
    this.timer.unref();
  }

  /** A timer callback shared by every connection (no closure per client). */
  private static onTimerOf(this: void, c: Connection): void {
    c.onTimer();
  }

  private onTimer(): void {
    this.timer = null;
    const now = Date.now();
    const { readTimeoutMs, connectTimeoutMs, pingIntervalMs } = this.timeouts;
    if (this.phase === PHASE_CONNECTED) {
      if (now - this.lastRecv >= readTimeoutMs) {
        this.drop(`no reply from the server for ${now - this.lastRecv} ms`);
        return;
      }
      if (now - this.lastSend >= pingIntervalMs) {
        const w = this.out;
        w.beginFrame();
        w.writeInt(Xid.ping);
        w.writeInt(OpCode.ping);
        w.endFrame();
        this.flush();
      }
      this.arm(Math.min(this.lastRecv + readTimeoutMs, this.lastSend + pingIntervalMs) - now);
    } else if (this.phase === PHASE_CONNECTING || this.phase === PHASE_HANDSHAKE) {
      if (now - this.connectStart >= connectTimeoutMs) {
        this.drop(`no session within the connect timeout (${connectTimeoutMs} ms)`);
        return;
      }
      this.arm(this.connectStart + connectTimeoutMs - now);
    }
  }

  /** Drops the connection for `reason` (a protocol error, a timeout); the owner hears onLost. */
  drop(reason: string): void {
    this.lastError = new Error(reason);
    this.lost(reason);
  }

  private lost(reason: string): void {
    const wasConnected = this.phase === PHASE_CONNECTED;
    this.teardown();
    this.owner.onLost(reason, wasConnected);
  }

  /** Closes the socket and the timers; no more attempts after this. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.teardown();
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
    this.reader.reset();
    this.out.reset();
  }

  private onData(sock: net.Socket, chunk: Buffer): void {
    this.lastRecv = Date.now();
    let bad: number;
    try {
      bad = this.reader.pushSpans(chunk, (buf, start, end) => {
        this.owner.onFrame(buf, start, end);
        return sock === this.socket;
      });
    } catch (e) {
      if (sock === this.socket) this.drop(`protocol error: ${(e as Error).message}`);
      return;
    }
    // The length word is an int32: `| 0` shows the one over 0x7fffffff as the negative it is.
    if (bad !== frameLengthOk && sock === this.socket) this.drop(`protocol error: bad frame length ${bad | 0}`);
  }
}

// Requests of one turn are written with one socket.write per client: connections with something
// to send queue here, and one microtask writes them all.
const flushQueue: Connection[] = [];
let flushQueued = false;

function enqueueFlush(c: Connection): void {
  flushQueue.push(c);
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  flushQueued = false;
  // flush() runs no user code, so nothing is added while this runs
  for (let i = 0; i < flushQueue.length; i++) (flushQueue[i] as Connection).flush();
  flushQueue.length = 0;
}
