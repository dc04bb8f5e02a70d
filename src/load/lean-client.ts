// size: one class whose per-slot typed arrays are shared by its connect, re-attach, ping and close
// paths; split, each part would reach into the others' state.
//
// The lean raw-socket load client (issue 11, goal 4): many sessions in one process, each only a
// node:net socket, speaking the real protocol (ConnectRequest, pings, closeSession) and checking
// every reply, at as little cost per held session as the plain-Node floor server pays. It is what
// `zkts load hold | connect | herd` run on by default (src/load/worker-process.ts).
//
// - Per session state lives in typed arrays indexed by session slot (state, ping sent-at, session
//   id, password); a socket's partial frame is kept only while it is partial; one set of listeners
//   serves every socket (the socket carries its slot), so a session costs its socket and no closures.
// - Connects, re-attaches and closes run as one job at a time: a queue of slots, a bound on those
//   in flight, an optional rate; one sweep (not a timer per connect) fails attempts that outlast
//   their timeout. A connect refused, closed by the server (a connection throttle sheds with a
//   close) or timed out is retried after a short jittered backoff until the slot's deadline.
// - One timer for all sessions: every leanPingTickMs a slice of the sessions is pinged, so each
//   session gets a ping every intervalMs; a session whose last ping is still unanswered is not
//   pinged again but counted late.
// - Every reply is checked (src/load/lean-checks.ts): a ConnectResponse must carry protocol version 0, a positive timeout,
//   a nonzero session id and a 16-byte password (a timeout of 0 answering a re-attach is the
//   server saying "expired", counted as an expiration); a ping's reply must be a 16-byte
//   ReplyHeader with xid -2 and err 0 answering a ping in flight; a closeSession's reply must carry
//   its xid and err 0. A failed check closes that session and is counted by kind (`errors`).

import net from 'node:net';
import { Err, OpCode, Xid, errName } from '../common/zk.js';
import { JuteWriter, encodeConnectRequest } from '../protocol/jute/index.js';
import { Histogram } from './histogram.js';
import { checkPingReply, connectResponseProblem, countKind, decodeOrNull, headerOnlyFrame, replyHeaderBytes } from './lean-checks.js';
import {
  leanCloseXid,
  leanConnectsInFlightMax,
  leanFrameBytesMax,
  leanPingTickMs,
  leanReadBufferBytes,
  leanRetryBackoffMsMax,
  leanRetryBackoffMsMin,
  leanSessionsMax,
  leanSweepMs,
  sessionPasswdBytes,
} from './limits.js';

export interface LeanOptions {
  host: string;
  port: number;
  /** Servers to spread sessions over (round-robin by slot, so a session re-attaches to the server
   *  it was opened on); when given, host and port are not used. */
  targets?: ReadonlyArray<{ host: string; port: number }>;
  /** Local addresses to spread sessions over (round-robin); empty: the kernel picks. */
  sourceAddrs?: readonly string[];
  /** The first slot's global index (so several processes spread evenly over sources and targets). */
  sourceOffset?: number;
  sessionTimeoutMs: number;
  /** Append zkts's localSession flag to the ConnectRequest (stock clients never do). */
  localSession?: boolean;
}

export interface OpenReport {
  opened: number;
  failed: number;
  elapsedMs: number;
}

export interface ReattachReport {
  dropped: number;
  resumed: number;
  /** The server answered the re-attach with "expired" (timeout 0). */
  expired: number;
  /** Not back by the deadline (or failed a check). */
  failed: number;
  /** Came back with another session id (should never happen). */
  changedId: number;
  /** From the drop to the last session back (0 when none came back). */
  allBackMs: number;
}

export interface CloseReport {
  closed: number;
  /** No closeSession reply within the timeout. */
  timedOut: number;
  /** Closed by the server (or a failed check) before the reply. */
  failed: number;
}

/** Counters since the client was made; callers take differences. */
export interface LeanCounters {
  opened: number;
  connectFailed: number;
  /** Connect attempts refused, closed or timed out, then tried again. */
  connectRetries: number;
  pingsSent: number;
  pingsAnswered: number;
  /** A ping was due while the last one was still unanswered. */
  pingsLate: number;
  /** A connected session's socket closed under us. */
  disconnects: number;
  /** Replies that failed a check (each closes its session). */
  protocolErrors: number;
  /** Re-attaches answered "expired". */
  expirations: number;
  resumed: number;
  changedId: number;
  closed: number;
  closeTimeouts: number;
}

/** A session slot's state (the values stored in `state`). */
const State = { none: 0, connecting: 1, connected: 2, closed: 3, dropped: 4, waiting: 5, closing: 6 } as const;

/** Drops a connection as a network fault would: an RST for a connected socket (no FIN handshake,
 *  and no TIME_WAIT left on our side holding the local port: a herd re-attaching at once needs
 *  those ports, one local address has ~28,000), a plain destroy otherwise. */
function reset(s: net.Socket): void {
  if (!s.destroyed && !s.pending) s.resetAndDestroy();
  else s.destroy();
}

/** A socket carries its slot, so that one set of listeners serves every socket: no closure and
 *  no timer per session. */
interface SlotSocket extends net.Socket {
  zktsSlot: number;
}

/** The job under way: connect (fresh or re-attach) or close every slot in `queue`. */
interface Job {
  kind: 'connect' | 'close';
  queue: Int32Array;
  head: number;
  inFlight: number;
  /** Slots waiting out a retry backoff. */
  retrying: number;
  limit: number;
  /** One attempt (connect or close) fails after this long. */
  attemptMs: number;
  /** A slot not done by this performance.now() fails (no more retries). */
  deadline: number;
  /** Attempts started per second at most; 0: no pacing. */
  ratePerSec: number;
  launched: number;
  t0: number;
  pump: NodeJS.Timeout | null;
  sweep: NodeJS.Timeout;
  done: () => void;
}

export class LeanSessions {
  readonly capacity: number;
  readonly counters: LeanCounters = {
    opened: 0,
    connectFailed: 0,
    connectRetries: 0,
    pingsSent: 0,
    pingsAnswered: 0,
    pingsLate: 0,
    disconnects: 0,
    protocolErrors: 0,
    expirations: 0,
    resumed: 0,
    changedId: 0,
    closed: 0,
    closeTimeouts: 0,
  };
  /** Error kinds, counted (at most errorKindsMax kinds; later ones fold into 'other'). */
  readonly errors = new Map<string, number>();
  /** Why connect attempts were retried, counted like `errors`. */
  readonly retries = new Map<string, number>();
  /** Ping round trips, recorded only while `recording` is set. */
  readonly rtt = new Histogram();
  /** Connect latency (from the first attempt to the ConnectResponse), fresh sessions. */
  readonly connectLatency = new Histogram();
  /** From the drop to each re-attached session's ConnectResponse. */
  readonly reattachLatency = new Histogram();
  /** From the closeSession request to its reply. */
  readonly closeLatency = new Histogram();
  recording = false;

  private readonly opts: LeanOptions;
  private readonly sockets: Array<net.Socket | null>;
  private readonly partial: Array<Buffer | null>;
  private readonly state: Uint8Array;
  /** performance.now() of the ping or close in flight, or of the connect attempt; 0: none. */
  private readonly sentAt: Float64Array;
  /** performance.now() of a connect's first attempt (latency is counted from there). */
  private readonly firstAt: Float64Array;
  private readonly attempts: Uint8Array;
  private readonly sessionId: BigInt64Array;
  private readonly passwd: Uint8Array;
  private readonly connectFrame: Buffer;
  private readonly pingFrame: Buffer;
  private readonly closeFrame: Buffer;
  private readonly writer = new JuteWriter(128);
  private used = 0;
  private job: Job | null = null;
  private dropAt = 0;
  private lastBackAt = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingCursor = 0;
  private readonly onConnect: (this: net.Socket) => void;
  /** Every socket reads into this one buffer (node:net's onread): no Buffer allocated per read;
   *  a partial frame is copied out before the next read can overwrite it. */
  private readonly readBuffer = Buffer.allocUnsafe(leanReadBufferBytes);
  private readonly onRead: (this: net.Socket, nread: number, buf: Uint8Array) => boolean;
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
    this.firstAt = new Float64Array(capacity);
    this.attempts = new Uint8Array(capacity);
    this.sessionId = new BigInt64Array(capacity);
    this.passwd = new Uint8Array(capacity * sessionPasswdBytes);
    this.connectFrame = this.encodeConnect(0n, new Uint8Array(sessionPasswdBytes));
    this.pingFrame = headerOnlyFrame(Xid.ping, OpCode.ping);
    this.closeFrame = headerOnlyFrame(leanCloseXid, OpCode.closeSession);

    const self = this;
    this.onConnect = function (this: net.Socket) {
      const i = (this as SlotSocket).zktsSlot;
      const id = self.sessionId[i]!;
      this.write(id === 0n ? self.connectFrame : self.encodeConnect(id, self.passwd.subarray(i * sessionPasswdBytes, (i + 1) * sessionPasswdBytes)));
    };
    this.onRead = function (this: net.Socket, nread: number) {
      self.onData((this as SlotSocket).zktsSlot, self.readBuffer, nread);
      return true;
    };
    this.onError = function (this: net.Socket, e: NodeJS.ErrnoException) {
      const i = (this as SlotSocket).zktsSlot;
      if (self.sockets[i] === this && self.state[i] === State.connecting) self.attemptFailed(i, `connect: ${e.code ?? e.message}`);
    };
    this.onClose = function (this: net.Socket) {
      const i = (this as SlotSocket).zktsSlot;
      if (self.sockets[i] !== this) return;
      self.sockets[i] = null;
      self.partial[i] = null;
      const s = self.state[i];
      if (s === State.connecting) self.attemptFailed(i, 'connect: closed by the server');
      else if (s === State.connected) {
        self.state[i] = State.closed;
        self.counters.disconnects++;
      } else if (s === State.closing) self.fail(i, 'close: closed before the reply', true);
    };
  }

  private encodeConnect(sessionId: bigint, passwd: Uint8Array): Buffer {
    const w = this.writer;
    w.reset();
    w.beginFrame();
    encodeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: this.opts.sessionTimeoutMs,
      sessionId,
      passwd,
      readOnly: false,
      localSession: this.opts.localSession === true,
    });
    w.endFrame();
    return w.bytesCopy();
  }

  /** Sessions in state connected now. */
  get connected(): number {
    let n = 0;
    for (let i = 0; i < this.used; i++) if (this.state[i] === State.connected) n++;
    return n;
  }

  /** Slots in use (sessions opened or being opened, in any state). */
  get size(): number {
    return this.used;
  }

  /** Closes session i after a failed check, a failed close or a connect that ran out of time;
   *  counts it under `kind`. */
  private fail(i: number, kind: string, protocol: boolean): void {
    const was = this.state[i];
    this.state[i] = State.closed;
    countKind(this.errors, kind);
    if (protocol) this.counters.protocolErrors++;
    this.partial[i] = null;
    this.sentAt[i] = 0;
    const s = this.sockets[i];
    this.sockets[i] = null;
    s?.destroy();
    if (was === State.connecting || was === State.waiting) this.counters.connectFailed++;
    if (was === State.connecting || was === State.closing) this.settled();
  }

  /** A connect attempt was refused, closed or timed out: retry it after a short jittered backoff
   *  (a shed client comes back fast) while the job's deadline allows, else fail the slot. */
  private attemptFailed(i: number, kind: string): void {
    const j = this.job;
    const backoff = Math.min(leanRetryBackoffMsMax, leanRetryBackoffMsMin * 2 ** Math.min(this.attempts[i]!, 8)) * (0.5 + Math.random());
    if (j === null || performance.now() + backoff >= j.deadline) return this.fail(i, kind, false);
    const s = this.sockets[i];
    this.sockets[i] = null;
    this.partial[i] = null;
    if (s !== null && s !== undefined) reset(s);
    this.state[i] = State.waiting;
    this.counters.connectRetries++;
    countKind(this.retries, kind);
    j.retrying++;
    j.inFlight--;
    setTimeout(() => {
      j.retrying--;
      if (this.job !== j || this.state[i] !== State.waiting) return this.maybeDone(j);
      if (performance.now() >= j.deadline) {
        this.fail(i, kind, false);
        return this.maybeDone(j);
      }
      j.inFlight++;
      this.launch(i);
    }, backoff);
    this.pump();
  }

  private onConnectResponse(i: number, buf: Buffer, start: number, end: number): boolean {
    const res = decodeOrNull(buf, start, end);
    const asked = this.sessionId[i]!;
    if (asked !== 0n && res !== null && res.protocolVersion === 0 && res.timeOut <= 0) {
      // The server says the session we re-attach to is gone.
      this.counters.expirations++;
      this.fail(i, 'reattach: session expired', false);
      this.counters.connectFailed--;
      return false;
    }
    const bad = connectResponseProblem(res);
    if (bad !== null || res === null) {
      this.fail(i, bad ?? 'connect: undecodable ConnectResponse', true);
      return false;
    }
    const now = performance.now();
    this.state[i] = State.connected;
    this.sentAt[i] = 0;
    if (asked === 0n) {
      this.counters.opened++;
      this.connectLatency.recordMs(now - this.firstAt[i]!);
    } else {
      this.counters.resumed++;
      if (res.sessionId !== asked) {
        this.counters.changedId++;
        countKind(this.errors, 'reattach: another session id');
      }
      this.reattachLatency.recordMs(now - this.dropAt);
      this.lastBackAt = now;
    }
    this.sessionId[i] = res.sessionId;
    this.passwd.set(res.passwd, i * sessionPasswdBytes);
    this.settled();
    return true;
  }

  private onFrame(i: number, buf: Buffer, start: number, end: number): boolean {
    const s = this.state[i];
    if (s === State.connecting) return this.onConnectResponse(i, buf, start, end);
    if (s === State.closing && end - start >= 4 && buf.readInt32BE(start) === leanCloseXid) {
      const err = end - start >= replyHeaderBytes ? buf.readInt32BE(start + 12) : Err.ok;
      if (end - start !== replyHeaderBytes || err !== Err.ok) {
        this.fail(i, end - start !== replyHeaderBytes ? `close: reply of ${end - start} bytes` : `close: err ${errName(err)}`, true);
        return false;
      }
      this.closeLatency.recordMs(performance.now() - this.firstAt[i]!);
      this.counters.closed++;
      this.state[i] = State.closed;
      const sock = this.sockets[i];
      this.sockets[i] = null;
      sock?.destroy();
      this.settled();
      return false;
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

  /** Bytes [0, n) of chunk arrived on session i's socket (chunk is the shared read buffer). */
  private onData(i: number, chunk: Buffer, n: number): void {
    const st = this.state[i];
    if (st !== State.connecting && st !== State.connected && st !== State.closing) return;
    const p = this.partial[i];
    const buf = p === null || p === undefined ? chunk : Buffer.concat([p, chunk.subarray(0, n)]);
    const end = buf === chunk ? n : buf.length;
    this.partial[i] = null;
    let off = 0;
    // Bounded: every turn consumes one whole frame of at least 4 bytes.
    while (end - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 0 || len > leanFrameBytesMax) return this.fail(i, `frame of ${len} bytes`, true);
      if (end - off - 4 < len) break;
      const start = off + 4;
      off = start + len;
      if (!this.onFrame(i, buf, start, off)) return;
    }
    // The shared read buffer is overwritten by the next read: a partial frame is copied out.
    if (off < end) this.partial[i] = buf === chunk ? Buffer.from(buf.subarray(off, end)) : buf.subarray(off, end);
  }


  private launch(i: number): void {
    const src = this.opts.sourceAddrs ?? [];
    const targets = this.opts.targets ?? [];
    const k = i + (this.opts.sourceOffset ?? 0);
    const t = targets.length > 0 ? targets[k % targets.length]! : this.opts;
    const options: net.TcpNetConnectOpts = { host: t.host, port: t.port, noDelay: true, onread: { buffer: this.readBuffer, callback: this.onRead } };
    // Several targets: the source address turns more slowly than the target, so every pair is used.
    if (src.length > 0) options.localAddress = src[Math.floor(k / Math.max(1, targets.length)) % src.length]!;
    const socket = net.connect(options) as SlotSocket;
    socket.zktsSlot = i;
    this.sockets[i] = socket;
    this.state[i] = State.connecting;
    this.sentAt[i] = performance.now();
    if (this.attempts[i]! < 255) this.attempts[i]!++;
    socket.once('connect', this.onConnect);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private startClose(i: number): void {
    const now = performance.now();
    this.state[i] = State.closing;
    this.firstAt[i] = now;
    // A ping still in flight may be answered first; sentAt keeps it so, and the close is timed by firstAt.
    this.sockets[i]!.write(this.closeFrame);
  }

  /** Starts what the job's bounds allow now; schedules itself for paced jobs. */
  private pump(): void {
    const j = this.job;
    if (j === null) return;
    const now = performance.now();
    while (j.inFlight < j.limit && j.head < j.queue.length) {
      if (j.ratePerSec > 0) {
        const due = j.t0 + (j.launched * 1000) / j.ratePerSec;
        if (due > now) {
          if (j.pump === null) {
            j.pump = setTimeout(() => {
              j.pump = null;
              this.pump();
            }, Math.max(1, due - now));
          }
          return;
        }
      }
      const i = j.queue[j.head++]!;
      j.launched++;
      if (j.kind === 'close') {
        if (this.state[i] !== State.connected) continue;
        j.inFlight++;
        this.startClose(i);
      } else {
        this.firstAt[i] = now;
        this.attempts[i] = 0;
        j.inFlight++;
        this.launch(i);
      }
    }
    this.maybeDone(j);
  }

  /** One attempt of the job under way has settled (done or failed for good). */
  private settled(): void {
    const j = this.job;
    if (j === null) return;
    j.inFlight--;
    this.pump();
  }

  private maybeDone(j: Job): void {
    if (this.job !== j || j.inFlight > 0 || j.retrying > 0 || j.head < j.queue.length) return;
    this.job = null;
    clearInterval(j.sweep);
    if (j.pump !== null) clearTimeout(j.pump);
    j.done();
  }

  /** Fails (or retries) the attempts of the job under way that have waited longer than its
   *  attempt timeout, and every slot past the job's deadline. */
  private sweep(): void {
    const j = this.job;
    if (j === null) return;
    const now = performance.now();
    const tooOld = now - j.attemptMs;
    for (let i = 0; i < this.used && this.job === j; i++) {
      const s = this.state[i];
      if (s === State.connecting && this.sentAt[i]! < tooOld) {
        if (now >= j.deadline) this.fail(i, 'connect: timed out', false);
        else this.attemptFailed(i, 'connect: attempt timed out');
      } else if (s === State.closing && this.firstAt[i]! < tooOld) {
        this.counters.closeTimeouts++;
        this.fail(i, 'close: timed out', false);
      }
    }
  }

  private run(kind: Job['kind'], slots: Int32Array, inFlight: number, attemptMs: number, deadlineMs: number, ratePerSec: number): Promise<void> {
    if (this.job !== null) return Promise.reject(new Error('a connect or close is already under way'));
    return new Promise((resolve) => {
      const j: Job = {
        kind,
        queue: slots,
        head: 0,
        inFlight: 0,
        retrying: 0,
        limit: Math.max(1, Math.min(inFlight, leanConnectsInFlightMax)),
        attemptMs,
        deadline: performance.now() + deadlineMs,
        ratePerSec,
        launched: 0,
        t0: performance.now(),
        pump: null,
        sweep: setInterval(() => this.sweep(), leanSweepMs),
        done: resolve,
      };
      this.job = j;
      this.pump();
    });
  }

  /** Opens `count` more sessions with at most `inFlight` connects at once (and at most
   *  ratePerSec started per second, 0: unpaced); a refused, shed or slow attempt (attemptMs) is
   *  retried with a short jittered backoff; a session not open within timeoutMs fails.
   *  Resolves when every one has settled. */
  async open(count: number, inFlight: number, timeoutMs: number, ratePerSec = 0, attemptMs = timeoutMs): Promise<OpenReport> {
    if (!Number.isInteger(count) || count < 0 || this.used + count > this.capacity) {
      throw new RangeError(`cannot open ${count} more sessions: ${this.used} of ${this.capacity} used`);
    }
    if (this.job !== null) throw new Error('an open() is already under way');
    const first = this.used;
    this.used = first + count;
    const t0 = performance.now();
    const before = this.counters.opened;
    const failedBefore = this.counters.connectFailed;
    const slots = new Int32Array(count);
    for (let k = 0; k < count; k++) slots[k] = first + k;
    if (count > 0) await this.run('connect', slots, inFlight, Math.min(attemptMs, timeoutMs), timeoutMs, ratePerSec);
    return { opened: this.counters.opened - before, failed: this.counters.connectFailed - failedBefore, elapsedMs: performance.now() - t0 };
  }

  /** The herd: drops every connected session at once (resets its socket), then re-attaches each
   *  with its session id and password, at most `inFlight` connects at once; an attempt is retried
   *  (short jittered backoff) until waitMs after the drop. The re-attaches start downMs after the
   *  drop, spread evenly over jitterMs (0: all at once). */
  async dropAndReattach(inFlight: number, waitMs: number, attemptMs: number, downMs = 0, jitterMs = 0): Promise<ReattachReport> {
    if (this.job !== null) throw new Error('a connect or close is already under way');
    const slots: number[] = [];
    this.dropAt = performance.now();
    this.lastBackAt = 0;
    for (let i = 0; i < this.used; i++) {
      if (this.state[i] !== State.connected) continue;
      this.state[i] = State.dropped;
      this.sentAt[i] = 0;
      this.partial[i] = null;
      const s = this.sockets[i];
      this.sockets[i] = null;
      if (s !== null && s !== undefined) reset(s);
      slots.push(i);
    }
    const c0 = { ...this.counters };
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    const rate = jitterMs > 0 ? (slots.length * 1000) / jitterMs : 0;
    const left = Math.max(1, waitMs - (performance.now() - this.dropAt));
    if (slots.length > 0) await this.run('connect', Int32Array.from(slots), inFlight, Math.min(attemptMs, left), left, rate);
    const c = this.counters;
    return {
      dropped: slots.length,
      resumed: c.resumed - c0.resumed,
      expired: c.expirations - c0.expirations,
      failed: c.connectFailed - c0.connectFailed,
      changedId: c.changedId - c0.changedId,
      allBackMs: this.lastBackAt > 0 ? this.lastBackAt - this.dropAt : 0,
    };
  }

  /** Ends every connected session with closeSession (xid leanCloseXid), at most `inFlight` at
   *  once and ratePerSec per second (0: unpaced); a close not answered within timeoutMs counts. */
  async closeSessions(inFlight: number, timeoutMs: number, ratePerSec = 0): Promise<CloseReport> {
    if (this.job !== null) throw new Error('a connect or close is already under way');
    const slots: number[] = [];
    for (let i = 0; i < this.used; i++) if (this.state[i] === State.connected) slots.push(i);
    const c0 = { ...this.counters };
    const e0 = this.errorTotal();
    if (slots.length > 0) await this.run('close', Int32Array.from(slots), inFlight, timeoutMs, timeoutMs, ratePerSec);
    const timedOut = this.counters.closeTimeouts - c0.closeTimeouts;
    return { closed: this.counters.closed - c0.closed, timedOut, failed: this.errorTotal() - e0 - timedOut };
  }

  private errorTotal(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
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
