// The lean raw-socket load client (issue 11, goal 4): many sessions in one process, each only a
// node:net socket, speaking the real protocol (ConnectRequest, then pings) and checking every
// reply, at as little cost per held session as the plain-Node floor server pays.
//
// - Per session state lives in typed arrays indexed by session slot (state, ping sent-at); a
//   socket's partial frame is kept only while it is partial; one set of listeners serves every
//   socket (the socket carries its slot), so a session costs its socket and no closures.
// - Connect timeouts are one sweep over the connects in flight, not a timer per connect.
// - One timer for all sessions: every leanPingTickMs a slice of the sessions is pinged, so each
//   session gets a ping every intervalMs; a session whose last ping is still unanswered is not
//   pinged again but counted late.
// - Every reply is checked: a ConnectResponse must carry protocol version 0, a positive timeout,
//   a nonzero session id and a 16-byte password; a ping's reply must be a 16-byte ReplyHeader with
//   xid -2 and err 0, and must answer a ping in flight. A failed check closes that session and is
//   counted by kind (`errors`).

import net from 'node:net';
import { Err, OpCode, Xid, errName } from '../common/zk.js';
import { JuteReader, JuteWriter, decodeConnectResponse, encodeConnectRequest } from '../protocol/jute/index.js';
import { Histogram } from './histogram.js';
import { errorKindsMax, leanConnectSweepMs, leanConnectsInFlightMax, leanFrameBytesMax, leanPingTickMs, leanSessionsMax, sessionPasswdBytes } from './limits.js';

/** A ping reply's body: ReplyHeader (xid int, zxid long, err int). */
const replyHeaderBytes = 16;

/** Why a ConnectResponse (the frame's body, bytes [start, end) of buf) is not a valid one, or null. */
export function checkConnectResponse(buf: Buffer, start: number, end: number): string | null {
  let res: ReturnType<typeof decodeConnectResponse>;
  try {
    res = decodeConnectResponse(new JuteReader().reset(buf, start, end));
  } catch {
    return 'connect: undecodable ConnectResponse';
  }
  if (res.protocolVersion !== 0) return `connect: protocol version ${res.protocolVersion}`;
  // A timeout of 0 (or less) is how a server says the session is expired.
  if (res.timeOut <= 0) return 'connect: session expired (timeout <= 0)';
  if (res.sessionId === 0n) return 'connect: session id 0';
  if (res.passwd.byteLength !== sessionPasswdBytes) return `connect: password of ${res.passwd.byteLength} bytes`;
  return null;
}

/** Why a reply frame's body (bytes [start, end) of buf) does not answer our ping, or null. */
export function checkPingReply(buf: Buffer, start: number, end: number): string | null {
  if (end - start < replyHeaderBytes) return `ping: reply of ${end - start} bytes`;
  const xid = buf.readInt32BE(start);
  const err = buf.readInt32BE(start + 12);
  if (xid !== Xid.ping) return xid === Xid.notification ? 'ping: unexpected watch event' : `ping: reply xid ${xid}`;
  if (err !== Err.ok) return `ping: err ${errName(err)}`;
  if (end - start !== replyHeaderBytes) return `ping: reply of ${end - start} bytes`;
  return null;
}

export interface LeanOptions {
  host: string;
  port: number;
  /** Local addresses to spread sessions over (round-robin); empty: the kernel picks. */
  sourceAddrs?: readonly string[];
  sessionTimeoutMs: number;
  /** Append zkts's localSession flag to the ConnectRequest (stock clients never do). */
  localSession?: boolean;
}

export interface OpenReport {
  opened: number;
  failed: number;
  elapsedMs: number;
}

/** Counters since the client was made; the bench takes differences over a window. */
export interface LeanCounters {
  opened: number;
  connectFailed: number;
  pingsSent: number;
  pingsAnswered: number;
  /** A ping was due while the last one was still unanswered. */
  pingsLate: number;
  /** A connected session's socket closed under us. */
  disconnects: number;
  /** Replies that failed a check (each closes its session). */
  protocolErrors: number;
}

/** A session slot's state (the values stored in `state`). */
const State = { none: 0, connecting: 1, connected: 2, closed: 3 } as const;

/** A socket carries its slot, so that one set of listeners serves every socket: no closure and
 *  no timer per session. */
interface SlotSocket extends net.Socket {
  zktsSlot: number;
}

/** The open() under way: slots [first, end) are being opened, `next` is the next to launch. */
interface Opening {
  first: number;
  next: number;
  end: number;
  inFlight: number;
  limit: number;
  timeoutMs: number;
  /** Slots below this have left 'connecting' (the connect-timeout sweep starts here). */
  sweepFrom: number;
  done: () => void;
}

export class LeanSessions {
  readonly capacity: number;
  readonly counters: LeanCounters = {
    opened: 0,
    connectFailed: 0,
    pingsSent: 0,
    pingsAnswered: 0,
    pingsLate: 0,
    disconnects: 0,
    protocolErrors: 0,
  };
  /** Error kinds, counted (at most errorKindsMax kinds; later ones fold into 'other'). */
  readonly errors = new Map<string, number>();
  /** Ping round trips, recorded only while `recording` is set. */
  readonly rtt = new Histogram();
  recording = false;

  private readonly opts: LeanOptions;
  private readonly sockets: Array<net.Socket | null>;
  private readonly partial: Array<Buffer | null>;
  private readonly state: Uint8Array;
  /** performance.now() of the ping in flight, or of the connect while connecting; 0: none. */
  private readonly sentAt: Float64Array;
  private readonly connectFrame: Buffer;
  private readonly pingFrame: Buffer;
  private used = 0;
  private opening: Opening | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingCursor = 0;
  private readonly onConnect: (this: net.Socket) => void;
  private readonly onSocketData: (this: net.Socket, chunk: Buffer) => void;
  private readonly onError: (this: net.Socket, e: NodeJS.ErrnoException) => void;
  private readonly onClose: (this: net.Socket) => void;

  constructor(capacity: number, opts: LeanOptions) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > leanSessionsMax) {
      throw new RangeError(`lean client capacity must be 1..${leanSessionsMax}, not ${capacity}`);
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
      localSession: opts.localSession === true,
    });
    w.endFrame();
    this.connectFrame = w.bytesCopy();
    w.reset();
    w.beginFrame();
    w.writeInt(Xid.ping);
    w.writeInt(OpCode.ping);
    w.endFrame();
    this.pingFrame = w.bytesCopy();

    const self = this;
    this.onConnect = function (this: net.Socket) {
      this.write(self.connectFrame);
    };
    this.onSocketData = function (this: net.Socket, chunk: Buffer) {
      self.onData((this as SlotSocket).zktsSlot, chunk);
    };
    this.onError = function (this: net.Socket, e: NodeJS.ErrnoException) {
      const i = (this as SlotSocket).zktsSlot;
      if (self.state[i] === State.connecting) self.fail(i, `connect: ${e.code ?? e.message}`, false);
    };
    this.onClose = function (this: net.Socket) {
      const i = (this as SlotSocket).zktsSlot;
      if (self.state[i] === State.connecting) self.fail(i, 'connect: closed by the server', false);
      else if (self.state[i] === State.connected) {
        self.state[i] = State.closed;
        self.counters.disconnects++;
      }
      self.sockets[i] = null;
      self.partial[i] = null;
    };
  }

  /** Sessions in state connected now. */
  get connected(): number {
    let n = 0;
    for (let i = 0; i < this.used; i++) if (this.state[i] === State.connected) n++;
    return n;
  }

  private countError(kind: string): void {
    const k = this.errors.has(kind) || this.errors.size < errorKindsMax ? kind : 'other';
    this.errors.set(k, (this.errors.get(k) ?? 0) + 1);
  }

  /** Closes session i after a failed check or a connect failure; counts it under `kind`. */
  private fail(i: number, kind: string, protocol: boolean): void {
    const was = this.state[i];
    this.state[i] = State.closed;
    this.countError(kind);
    if (protocol) this.counters.protocolErrors++;
    this.partial[i] = null;
    this.sentAt[i] = 0;
    this.sockets[i]?.destroy();
    if (was === State.connecting) {
      this.counters.connectFailed++;
      this.connectSettled();
    }
  }

  private onFrame(i: number, buf: Buffer, start: number, end: number): boolean {
    if (this.state[i] === State.connecting) {
      const bad = checkConnectResponse(buf, start, end);
      if (bad !== null) {
        this.fail(i, bad, true);
        return false;
      }
      this.state[i] = State.connected;
      this.sentAt[i] = 0;
      this.counters.opened++;
      this.connectSettled();
      return true;
    }
    const bad = checkPingReply(buf, start, end);
    const sent = this.sentAt[i]!;
    if (bad !== null || sent === 0) {
      this.fail(i, bad ?? 'ping: reply with no ping in flight', true);
      return false;
    }
    this.sentAt[i] = 0;
    this.counters.pingsAnswered++;
    if (this.recording) this.rtt.recordMs(performance.now() - sent);
    return true;
  }

  private onData(i: number, chunk: Buffer): void {
    if (this.state[i] === State.closed) return;
    const p = this.partial[i];
    const buf = p === null || p === undefined ? chunk : Buffer.concat([p, chunk]);
    this.partial[i] = null;
    let off = 0;
    // Bounded: every turn consumes one whole frame of at least 4 bytes.
    while (buf.length - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 0 || len > leanFrameBytesMax) return this.fail(i, `frame of ${len} bytes`, true);
      if (buf.length - off - 4 < len) break;
      const start = off + 4;
      off = start + len;
      if (!this.onFrame(i, buf, start, off)) return;
    }
    if (off < buf.length) this.partial[i] = buf.subarray(off);
  }

  private launch(i: number): void {
    const src = this.opts.sourceAddrs ?? [];
    const options: net.TcpNetConnectOpts = { host: this.opts.host, port: this.opts.port, noDelay: true };
    if (src.length > 0) options.localAddress = src[i % src.length]!;
    const socket = net.connect(options) as SlotSocket;
    socket.zktsSlot = i;
    this.sockets[i] = socket;
    this.state[i] = State.connecting;
    this.sentAt[i] = performance.now();
    socket.once('connect', this.onConnect);
    socket.on('data', this.onSocketData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** One connect of the open() under way has settled (opened or failed): launch the next. */
  private connectSettled(): void {
    const o = this.opening;
    if (o === null) return;
    o.inFlight--;
    while (o.inFlight < o.limit && o.next < o.end) {
      o.inFlight++;
      this.launch(o.next++);
    }
    if (o.inFlight === 0 && o.next === o.end) {
      this.opening = null;
      o.done();
    }
  }

  /** Fails the connects of the open() under way that have waited longer than its timeout. The
   *  connecting slots lie in [sweepFrom, next), as connects are launched in slot order. */
  private sweepConnects(): void {
    const o = this.opening;
    if (o === null) return;
    while (o.sweepFrom < o.next && this.state[o.sweepFrom] !== State.connecting) o.sweepFrom++;
    const tooOld = performance.now() - o.timeoutMs;
    for (let i = o.sweepFrom; i < o.next && this.opening === o; i++) {
      if (this.state[i] === State.connecting && this.sentAt[i]! < tooOld) this.fail(i, 'connect: timed out', false);
    }
  }

  /** Opens `count` more sessions with at most `inFlight` connects at once; each connect that has
   *  not had its ConnectResponse within timeoutMs fails. Resolves when every one has settled. */
  open(count: number, inFlight: number, timeoutMs: number): Promise<OpenReport> {
    if (!Number.isInteger(count) || count < 0 || this.used + count > this.capacity) {
      return Promise.reject(new RangeError(`cannot open ${count} more sessions: ${this.used} of ${this.capacity} used`));
    }
    if (this.opening !== null) return Promise.reject(new Error('an open() is already under way'));
    const first = this.used;
    this.used = first + count;
    const t0 = performance.now();
    const before = this.counters.opened;
    const failedBefore = this.counters.connectFailed;
    const report = (): OpenReport => ({
      opened: this.counters.opened - before,
      failed: this.counters.connectFailed - failedBefore,
      elapsedMs: performance.now() - t0,
    });
    if (count === 0) return Promise.resolve(report());
    return new Promise((resolve) => {
      const sweep = setInterval(() => this.sweepConnects(), leanConnectSweepMs);
      const o: Opening = {
        first,
        next: first,
        end: first + count,
        inFlight: 1,
        limit: Math.max(1, Math.min(inFlight, leanConnectsInFlightMax)),
        timeoutMs,
        sweepFrom: first,
        done: () => {
          clearInterval(sweep);
          resolve(report());
        },
      };
      this.opening = o;
      // Starts the first `limit` connects (the in-flight count starts at 1 for this call).
      this.connectSettled();
    });
  }

  /** Pings every connected session once per intervalMs, a slice per tick; one timer in all.
   *  The slice is what is due by the clock since the start, so a late tick catches up (one
   *  round of the sessions at most) instead of slowing the ping rate. */
  startPings(intervalMs: number): void {
    this.stopPings();
    const t0 = performance.now();
    let visited = 0;
    this.pingTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) * this.used) / intervalMs);
      const n = Math.min(due - visited, this.used);
      visited = due;
      this.pingSlice(n);
    }, leanPingTickMs);
  }

  stopPings(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  /** Pings the next n sessions in slot order (round-robin). */
  private pingSlice(n: number): void {
    const now = performance.now();
    for (let k = 0; k < n; k++) {
      const i = this.pingCursor;
      this.pingCursor = i + 1 >= this.used ? 0 : i + 1;
      if (this.state[i] !== State.connected) continue;
      if (this.sentAt[i] !== 0) {
        this.counters.pingsLate++;
        continue;
      }
      this.sentAt[i] = now;
      this.counters.pingsSent++;
      this.sockets[i]!.write(this.pingFrame);
    }
  }

  /** Stops pinging and closes every socket (no closeSession: a floor would not answer it);
   *  resolves when all are closed or after graceMs. */
  async closeAll(graceMs: number): Promise<void> {
    this.stopPings();
    const open: net.Socket[] = [];
    for (let i = 0; i < this.used; i++) {
      const s = this.sockets[i];
      this.state[i] = State.closed;
      if (s !== null && s !== undefined) {
        open.push(s);
        s.end();
      }
    }
    const deadline = performance.now() + graceMs;
    while (open.some((s) => !s.destroyed) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of open) s.destroy();
  }
}
