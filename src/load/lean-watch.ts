// Lean watchers for `zkts load watch --lean` (issue 11, goal 6): many sessions in this process,
// each only a node:net socket, speaking the real protocol and checking every frame, so that the
// watch scenario measures the server's fan-out and not the load client's per-session cost (the
// full client per session cost as much CPU as the server during the event).
//
// Per session: ConnectRequest → ConnectResponse (checked as the lean client checks it), then
// exists(path, watch=true) → a reply with our xid and err ok (the node exists: the scenario made
// it), then one WatcherEvent frame: xid -1, err ok, type nodeDataChanged, state SyncConnected and
// our path, byte for byte. Pings (xid -2) keep the sessions alive, a slice per tick as the lean
// client does, so a long ramp does not expire the first sessions. Anything else (a reply xid we
// did not send, a second event, an event of another type or path) is counted and that session is
// closed. Sessions end with a CloseSession request, so the server does not hold them to expiry.
//
// State per session lives in typed arrays indexed by slot, one set of listeners serves every
// socket, and a socket's partial frame is kept only while it is partial. Every socket reads into
// one shared buffer (node:net's onread, as the lean client does): no Buffer and no stream 'data'
// event per read, so the 10,000 notifications of one event cost this process little next to the
// server that writes them.

import net from 'node:net';
import { Err, EventType, KeeperState, OpCode, Xid, errName } from '../common/zk.js';
import { JuteWriter, encodeConnectRequest } from '../protocol/jute/index.js';
import { Histogram } from './histogram.js';
import { checkConnectResponse, countKind, headerOnlyFrame, replyHeaderBytes } from './lean-checks.js';
import {
  leanConnectsInFlightMax,
  leanFrameBytesMax,
  leanPingTickMs,
  leanReadBufferBytes,
  leanSweepMs,
  leanSessionsMax,
  sessionPasswdBytes,
} from './limits.js';
import { nowMs } from './protocol.js';
import type { OpenPhase } from './scenarios/common.js';
import type { ScenarioContext } from './types.js';

/** A session slot's state (the values stored in `state`). */
const State = { none: 0, connecting: 1, connected: 2, arming: 3, armed: 4, notified: 5, closed: 6 } as const;

/** The xid of every session's exists request (one per session; pings use Xid.ping). */
const existsXid = 1;
/** The xid of every session's CloseSession request. */
const closeXid = 2;

interface SlotSocket extends net.Socket {
  zktsSlot: number;
}

export interface LeanWatchOptions {
  host: string;
  port: number;
  sessionTimeoutMs: number;
  localSession: boolean;
}

export interface LeanOpenReport {
  opened: number;
  failed: number;
  wallMs: number;
  /** Connect latency (TCP connect to ConnectResponse). */
  latency: Histogram;
}

export interface LeanWaitReport {
  /** nowMs() of each notification, in arrival order. */
  arrivals: number[];
  /** Frames that failed a check (each closed its session). */
  unexpected: number;
}

/** host and port of the first server of a connect string ("h1:p1,h2:p2/chroot"). */
export function firstServer(connect: string): { host: string; port: number } {
  const first = (connect.split('/')[0] ?? '').split(',')[0] ?? '';
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(first);
  if (m === null) return { host: first === '' ? '127.0.0.1' : first, port: 2181 };
  return { host: m[1]!, port: Number(m[2]) };
}

/** An exists request frame (length prefix included) with a watch on `path`. */
export function existsWatchFrame(path: string): Buffer {
  const w = new JuteWriter(64 + Buffer.byteLength(path));
  w.beginFrame();
  w.writeInt(existsXid);
  w.writeInt(OpCode.exists);
  w.writeString(path);
  w.writeBool(true);
  w.endFrame();
  return w.bytesCopy();
}

/**
 * Why a frame body (bytes [start, end) of buf) is not the notification a data watch on the path
 * whose UTF-8 bytes are `path` must get after a setData, or null: ReplyHeader (xid -1, err ok),
 * then WatcherEvent (nodeDataChanged, SyncConnected, the path).
 */
export function checkDataChangedEvent(buf: Buffer, start: number, end: number, path: Buffer): string | null {
  if (end - start < replyHeaderBytes + 12) return `event: frame of ${end - start} bytes`;
  if (buf.readInt32BE(start) !== Xid.notification) return `event: xid ${buf.readInt32BE(start)}`;
  const err = buf.readInt32BE(start + 12);
  if (err !== Err.ok) return `event: err ${errName(err)}`;
  const type = buf.readInt32BE(start + 16);
  if (type !== EventType.nodeDataChanged) return `event: type ${type}`;
  const state = buf.readInt32BE(start + 20);
  if (state !== KeeperState.syncConnected) return `event: state ${state}`;
  const len = buf.readInt32BE(start + 24);
  const at = start + replyHeaderBytes + 12;
  if (len !== path.length || at + len !== end) return 'event: another path';
  // Byte by byte: a path is short, and Buffer.compare's native call cost more than the loop.
  for (let k = 0; k < len; k++) if (buf[at + k] !== path[k]) return 'event: another path';
  return null;
}

export class LeanWatchers {
  readonly capacity: number;
  /** Error kinds, counted (at most errorKindsMax kinds; later ones fold into 'other'). */
  readonly errors = new Map<string, number>();
  private readonly opts: LeanWatchOptions;
  private readonly sockets: Array<net.Socket | null>;
  private readonly partial: Array<Buffer | null>;
  private readonly state: Uint8Array;
  /** performance.now() of the connect while connecting, or of the ping in flight; 0: none. */
  private readonly sentAt: Float64Array;
  private readonly connectFrame: Buffer;
  private readonly pingFrame: Buffer;
  private readonly closeFrame: Buffer;
  private used = 0;
  private opened = 0;
  private connectFailed = 0;
  private inFlight = 0;
  private next = 0;
  private limit = 1;
  private openDone: (() => void) | null = null;
  private latency = new Histogram();
  private armPending = 0;
  private armDone: (() => void) | null = null;
  private armFailed = 0;
  private path = Buffer.alloc(0);
  private arrivals: number[] = [];
  private unexpected = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingCursor = 0;
  private readonly onConnect: (this: net.Socket) => void;
  /** Every socket reads into this one buffer (node:net's onread); a partial frame is copied out
   *  before the next read can overwrite it. */
  private readonly readBuffer = Buffer.allocUnsafe(leanReadBufferBytes);
  private readonly onRead: (this: net.Socket, nread: number, buf: Uint8Array) => boolean;
  private readonly onError: (this: net.Socket, e: NodeJS.ErrnoException) => void;
  private readonly onClose: (this: net.Socket) => void;

  constructor(capacity: number, opts: LeanWatchOptions) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > leanSessionsMax) {
      throw new RangeError(`lean watchers: capacity must be 1..${leanSessionsMax}, not ${capacity}`);
    }
    this.capacity = capacity;
    this.opts = opts;
    this.sockets = new Array<net.Socket | null>(capacity).fill(null);
    this.partial = new Array<Buffer | null>(capacity).fill(null);
    this.state = new Uint8Array(capacity);
    this.sentAt = new Float64Array(capacity);
    const w = new JuteWriter(128);
    w.beginFrame();
    encodeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: opts.sessionTimeoutMs,
      sessionId: 0n,
      passwd: new Uint8Array(sessionPasswdBytes),
      readOnly: false,
      localSession: opts.localSession,
    });
    w.endFrame();
    this.connectFrame = w.bytesCopy();
    this.pingFrame = headerOnlyFrame(Xid.ping, OpCode.ping);
    this.closeFrame = headerOnlyFrame(closeXid, OpCode.closeSession);

    const self = this;
    this.onConnect = function (this: net.Socket) {
      this.write(self.connectFrame);
    };
    this.onRead = function (this: net.Socket, nread: number) {
      self.onData((this as SlotSocket).zktsSlot, self.readBuffer, nread);
      return true;
    };
    this.onError = function (this: net.Socket, e: NodeJS.ErrnoException) {
      const i = (this as SlotSocket).zktsSlot;
      if (self.state[i] === State.connecting) self.fail(i, `connect: ${e.code ?? e.message}`);
    };
    this.onClose = function (this: net.Socket) {
      const i = (this as SlotSocket).zktsSlot;
      const s = self.state[i];
      if (s === State.connecting) self.fail(i, 'connect: closed by the server');
      else if (s !== State.closed) self.fail(i, 'closed by the server');
      self.sockets[i] = null;
      self.partial[i] = null;
    };
  }

  private countError(kind: string): void {
    countKind(this.errors, kind);
  }

  /** Closes session i after a failed check, a failed connect or a lost socket. */
  private fail(i: number, kind: string): void {
    const was = this.state[i];
    if (was === State.closed) return;
    this.state[i] = State.closed;
    this.countError(kind);
    this.partial[i] = null;
    this.sentAt[i] = 0;
    this.sockets[i]?.destroy();
    if (was === State.connecting) {
      this.connectFailed++;
      this.connectSettled();
    } else if (was === State.arming) {
      this.armFailed++;
      this.armSettled();
    } else if (was === State.armed || was === State.notified) this.unexpected++;
  }

  private onFrame(i: number, buf: Buffer, start: number, end: number): boolean {
    const s = this.state[i];
    if (s === State.connecting) {
      const bad = checkConnectResponse(buf, start, end);
      if (bad !== null) {
        this.fail(i, bad);
        return false;
      }
      this.state[i] = State.connected;
      this.latency.recordMs(performance.now() - this.sentAt[i]!);
      this.sentAt[i] = 0;
      this.opened++;
      this.connectSettled();
      return true;
    }
    if (end - start < replyHeaderBytes) {
      this.fail(i, `frame of ${end - start} bytes`);
      return false;
    }
    const xid = buf.readInt32BE(start);
    if (xid === Xid.ping) {
      const err = buf.readInt32BE(start + 12);
      if (this.sentAt[i] === 0 || err !== Err.ok || end - start !== replyHeaderBytes) {
        this.fail(i, this.sentAt[i] === 0 ? 'ping: reply with no ping in flight' : `ping: err ${errName(err)}`);
        return false;
      }
      this.sentAt[i] = 0;
      return true;
    }
    if (xid === Xid.notification) {
      const bad = s === State.armed ? checkDataChangedEvent(buf, start, end, this.path) : 'event: not armed';
      if (bad !== null) {
        this.fail(i, bad);
        return false;
      }
      this.arrivals.push(nowMs());
      this.state[i] = State.notified;
      return true;
    }
    if (xid === existsXid && s === State.arming) {
      const err = buf.readInt32BE(start + 12);
      if (err !== Err.ok) {
        this.fail(i, `exists: err ${errName(err)}`);
        return false;
      }
      this.state[i] = State.armed;
      this.armSettled();
      return true;
    }
    if (xid === closeXid) return true;
    this.fail(i, `reply xid ${xid}`);
    return false;
  }

  /** Bytes [0, n) of chunk arrived on session i's socket (chunk is the shared read buffer). */
  private onData(i: number, chunk: Buffer, n: number): void {
    if (this.state[i] === State.closed) return;
    const p = this.partial[i];
    const buf = p === null || p === undefined ? chunk : Buffer.concat([p, chunk.subarray(0, n)]);
    const end = buf === chunk ? n : buf.length;
    this.partial[i] = null;
    let off = 0;
    // Bounded: every turn consumes one whole frame of at least 4 bytes.
    while (end - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 0 || len > leanFrameBytesMax) return this.fail(i, `frame of ${len} bytes`);
      if (end - off - 4 < len) break;
      const start = off + 4;
      off = start + len;
      if (!this.onFrame(i, buf, start, off)) return;
    }
    // The shared read buffer is overwritten by the next read: a partial frame is copied out.
    if (off < end) this.partial[i] = buf === chunk ? Buffer.from(buf.subarray(off, end)) : buf.subarray(off, end);
  }

  private launch(i: number): void {
    const options: net.TcpNetConnectOpts = { host: this.opts.host, port: this.opts.port, noDelay: true, onread: { buffer: this.readBuffer, callback: this.onRead } };
    const socket = net.connect(options) as SlotSocket;
    socket.zktsSlot = i;
    this.sockets[i] = socket;
    this.state[i] = State.connecting;
    this.sentAt[i] = performance.now();
    socket.once('connect', this.onConnect);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private connectSettled(): void {
    if (this.openDone === null) return;
    this.inFlight--;
    while (this.inFlight < this.limit && this.next < this.used) {
      this.inFlight++;
      this.launch(this.next++);
    }
    if (this.inFlight === 0 && this.next === this.used) {
      const done = this.openDone;
      this.openDone = null;
      done();
    }
  }

  /** Opens `count` sessions, at most `inFlight` connects at once; a connect without its
   *  ConnectResponse within timeoutMs fails. Then pings every session once per third of its
   *  timeout until closeAll. */
  async open(count: number, inFlight: number, timeoutMs: number): Promise<LeanOpenReport> {
    if (this.used !== 0 || count < 1 || count > this.capacity) throw new RangeError(`lean watchers: cannot open ${count}`);
    const t0 = performance.now();
    this.used = count;
    this.limit = Math.max(1, Math.min(inFlight, leanConnectsInFlightMax));
    const sweep = setInterval(() => {
      const tooOld = performance.now() - timeoutMs;
      for (let i = 0; i < this.next; i++) {
        if (this.state[i] === State.connecting && this.sentAt[i]! < tooOld) this.fail(i, 'connect: timed out');
      }
    }, leanSweepMs);
    try {
      await new Promise<void>((resolve) => {
        this.openDone = resolve;
        this.inFlight = 1;
        this.connectSettled();
      });
    } finally {
      clearInterval(sweep);
    }
    this.startPings(Math.max(leanPingTickMs, this.opts.sessionTimeoutMs / 3));
    return { opened: this.opened, failed: this.connectFailed, wallMs: performance.now() - t0, latency: this.latency };
  }

  private armSettled(): void {
    if (--this.armPending === 0 && this.armDone !== null) {
      const done = this.armDone;
      this.armDone = null;
      done();
    }
  }

  /** Sends exists(path, watch) on every open session not waiting for a reply or an event (again
   *  after a round, once its event came); resolves with how many watches were set once each has
   *  its reply (or failed), or after timeoutMs. */
  async arm(path: string, timeoutMs: number): Promise<{ armed: number; failed: number }> {
    this.path = Buffer.from(path, 'utf8');
    this.arrivals = [];
    this.unexpected = 0;
    this.armFailed = 0;
    const frame = existsWatchFrame(path);
    this.armPending = 1;
    for (let i = 0; i < this.used; i++) {
      if (this.state[i] !== State.connected && this.state[i] !== State.notified) continue;
      this.state[i] = State.arming;
      this.armPending++;
      this.sockets[i]!.write(frame);
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.armDone = resolve;
      timer = setTimeout(resolve, timeoutMs);
      this.armSettled();
    });
    clearTimeout(timer);
    this.armDone = null;
    let armed = 0;
    for (let i = 0; i < this.used; i++) {
      if (this.state[i] === State.armed) armed++;
      else if (this.state[i] === State.arming) this.fail(i, 'exists: no reply in time');
    }
    return { armed, failed: this.armFailed };
  }

  /** Sessions notified since the last arm(). */
  get notified(): number {
    return this.arrivals.length;
  }

  /** nowMs() of each notification since the last arm(), in arrival order. */
  get arrivalTimes(): readonly number[] {
    return this.arrivals;
  }

  /** Waits until `expected` sessions got their event, or timeoutMs. */
  async wait(expected: number, timeoutMs: number): Promise<LeanWaitReport> {
    const end = performance.now() + timeoutMs;
    while (this.arrivals.length < expected && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
    return { arrivals: this.arrivals, unexpected: this.unexpected };
  }

  /** Pings every open session once per intervalMs, a slice per tick; one timer in all. */
  private startPings(intervalMs: number): void {
    const t0 = performance.now();
    let visited = 0;
    this.pingTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * this.used) / intervalMs);
      const n = Math.min(due - visited, this.used);
      visited = due;
      const now = performance.now();
      for (let k = 0; k < n; k++) {
        const i = this.pingCursor;
        this.pingCursor = i + 1 >= this.used ? 0 : i + 1;
        const s = this.state[i];
        if (s === State.connecting || s === State.closed || this.sentAt[i] !== 0) continue;
        this.sentAt[i] = now;
        this.sockets[i]!.write(this.pingFrame);
      }
    }, leanPingTickMs);
  }

  /** Closes every session (CloseSession, then the socket once the server closes it); resolves
   *  when all sockets are gone or after graceMs. */
  async closeAll(graceMs: number): Promise<void> {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    const open: net.Socket[] = [];
    for (let i = 0; i < this.used; i++) {
      const s = this.sockets[i];
      this.state[i] = State.closed;
      if (s !== null && s !== undefined && !s.destroyed) {
        open.push(s);
        s.end(this.closeFrame);
      }
    }
    const deadline = performance.now() + graceMs;
    while (open.some((s) => !s.destroyed) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of open) s.destroy();
  }
}

/** `zkts load watch --lean`: the watchers of one run, in this process, and their open phase as
 *  the watch scenario reports one. */
export async function openLeanWatchers(
  ctx: ScenarioContext,
  n: number,
  concurrency: number,
): Promise<{ lean: LeanWatchers; open: OpenPhase }> {
  const { host, port } = firstServer(ctx.common.connect);
  const lean = new LeanWatchers(n, { host, port, sessionTimeoutMs: ctx.common.sessionTimeoutMs, localSession: ctx.common.localSession });
  ctx.progress.phase('open', () => `opening ${n} lean watcher sessions`);
  const perSessionTimeout = Math.min(ctx.common.sessionTimeoutMs * 2, 60000);
  const r = await lean.open(n, concurrency, perSessionTimeout);
  const open: OpenPhase = {
    requested: n,
    opened: r.opened,
    failed: r.failed,
    errors: Object.fromEntries(lean.errors),
    wallMs: Math.round(r.wallMs),
    sessionsPerSec: r.opened / (r.wallMs / 1000),
    latencyMs: r.latency.summaryMs(),
  };
  return { lean, open };
}
