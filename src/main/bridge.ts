// The main thread's side of the rings: one Channel per session worker. Incoming records are
// decoded in place into flyweights and handed to the core; the core's replies, events and
// session records are encoded straight into the worker's ring (or its overflow outbox).
//
// Back-pressure: when a worker does not take its records (its ring is full and the outbox holds
// more than `toWorkerOutboxHoldBytes` (limits.ts)), this thread stops reading that worker's
// requests (Channel.holdPump) until the outbox has drained. Its ring toward us then fills, the
// worker's own outbox grows past ringOutboxBytesMax (src/workers/limits.ts) and it stops reading its
// sockets. While held, the outbox still takes what is already owed: replies to requests
// already read (each request gets one) and watch events from other workers' writes.

import { Channel, type ChannelDescriptor } from '../shm/channel.js';
import { channelBudgetRecordsDefault } from '../shm/limits.js';
import {
  AttachView,
  AuthView,
  DetachView,
  RecordKind,
  RequestView,
  attachedBytes,
  encodeAttached,
  encodeEvent,
  encodeReplyHeader,
  encodeSessionEnd,
  encodeUpgraded,
  encodeWatchRegister,
  eventBytes,
  replyHeaderBytes,
  sessionEndBytes,
  upgradedBytes,
  watchRegisterBytes,
  type EventReaders,
} from '../shm/records.js';
import type { Core, Outbound } from './core.js';
import { holdLogIntervalMs, toWorkerOutboxHoldBytes } from './limits.js';
import type { SessionContext } from './sessions/table.js';

function newViews(): { request: RequestView; attach: AttachView; detach: DetachView; auth: AuthView } {
  return { request: new RequestView(), attach: new AttachView(), detach: new DetachView(), auth: new AuthView() };
}

/** What the bridge reports (a pino logger fits). */
export interface BridgeLog {
  warn(fields: object, msg: string): void;
}

export class Bridge implements Outbound {
  readonly channels: Channel[];
  private core: Core | null = null;
  /** A publish of every ring is due at the end of this event-loop iteration (flush()). */
  private flushScheduled = false;
  private stopped = false;
  /** The flyweights records are read into; catchUp reads into a set of its own, so that the
   *  record whose handling called it keeps its fields. */
  private readonly pumpViews = newViews();
  private readonly catchUpViews = newViews();
  private views = this.pumpViews;
  /** Each worker's record handler (catchUp drains with it outside the pump). */
  private readonly handlers: Array<(kind: number, view: DataView, off: number, bytes: number, mem: Buffer) => void> = [];
  private catchingUp = false;

  /** Times a worker's requests were held because it did not take its replies (stats). */
  holds = 0;
  private readonly log: BridgeLog | null;
  private readonly holdLoggedMs: number[] = [];
  private readonly holdsSinceLog: number[] = [];

  constructor(descriptors: ChannelDescriptor[], log: BridgeLog | null = null) {
    this.channels = descriptors.map((d) => new Channel(d, 'main'));
    this.log = log;
  }

  /** After every record queued for `worker`: hold its requests while its outbox is too big. */
  private checkOutbox(worker: number, ch: Channel): void {
    const queued = ch.outboxBytes;
    if (queued <= toWorkerOutboxHoldBytes || ch.pumpHeld || ch.closed) return;
    ch.holdPump();
    this.holds++;
    this.holdsSinceLog[worker] = (this.holdsSinceLog[worker] ?? 0) + 1;
    const now = performance.now();
    if (now - (this.holdLoggedMs[worker] ?? -Infinity) >= holdLogIntervalMs) {
      this.holdLoggedMs[worker] = now;
      const fields = {
        worker,
        queued,
        toWorkerOutboxHoldBytes,
        holds: this.holdsSinceLog[worker],
      };
      this.holdsSinceLog[worker] = 0;
      this.log?.warn(fields, 'session worker does not take its replies: holding its requests until it does');
    }
    void ch.writable().then(() => ch.releasePump());
  }

  /** Start pumping every worker's requests into the core. */
  start(core: Core): void {
    this.core = core;
    this.channels.forEach((ch, worker) => {
      const handler = (kind: number, view: DataView, off: number, bytes: number, mem: Buffer): void =>
        this.onRecord(worker, kind, view, off, bytes, mem);
      this.handlers[worker] = handler;
      ch.start(handler).catch((e: unknown) => {
        // A pump failure is a programmer error: crash rather than serve half a server.
        setImmediate(() => {
          throw e;
        });
      });
    });
  }

  /**
   * Handle now what every other worker has published (its pump would have soon). A worker
   * publishes some records without waking this thread (a new local session's attach: nobody
   * waits for its answer), so before this thread finds a session unknown for a record of
   * `worker`, the session may be waiting in another worker's ring: a client that opened it on
   * one worker and re-establishes it on another. Not nested: records handled here that call it
   * again find the rings drained.
   */
  catchUp(worker: number): void {
    if (this.catchingUp) return;
    this.catchingUp = true;
    this.views = this.catchUpViews;
    try {
      this.channels.forEach((ch, w) => {
        const handler = this.handlers[w];
        if (w === worker || handler === undefined || ch.closed) return;
        if (ch.drain(handler, channelBudgetRecordsDefault) > 0) ch.publish();
      });
    } finally {
      this.catchingUp = false;
      this.views = this.pumpViews;
    }
  }

  /** Timer: frees the channels' large-record buffers that went unused since the last call. */
  releaseIdleBuffers(): void {
    for (const ch of this.channels) ch.releaseIdleBuffers();
  }

  stop(): void {
    if (!this.stopped) this.publishAll();
    this.stopped = true;
    for (const ch of this.channels) ch.close();
  }

  /** One worker → main record; `mem` is the memory `view` covers (the ring, or a reassembled
   *  record's buffer). */
  private onRecord(worker: number, kind: number, view: DataView, off: number, bytes: number, mem: Buffer): void {
    const core = this.core!;
    switch (kind) {
      case RecordKind.request:
        core.onRequest(worker, this.views.request.read(view, off, bytes), mem);
        return;
      case RecordKind.attach:
        core.onAttach(worker, this.views.attach.read(mem, view, off));
        return;
      case RecordKind.detach:
        core.onDetach(worker, this.views.detach.read(view, off));
        return;
      case RecordKind.auth:
        core.onAuth(this.views.auth.read(mem, view, off));
        return;
      case RecordKind.touch:
        core.onTouch(view, off);
        return;
      default:
        throw new Error(`unknown ring record kind ${kind} from worker ${worker}`);
    }
  }

  // ---- Outbound ------------------------------------------------------------------------------

  reply(worker: number, s: SessionContext, xid: number, zxid: number, err: number, body: Uint8Array | null, flags: number): void {
    const ch = this.channel(worker);
    if (ch === null) return;
    const n = body === null ? 0 : body.length;
    const off = ch.reserve(RecordKind.reply, replyHeaderBytes + n);
    const at = encodeReplyHeader(ch.view, off, { sidHi: s.hi, sidLo: s.lo, xid, err, zxid, flags });
    if (body !== null) ch.bytes.set(body, at);
    ch.commit();
    this.checkOutbox(worker, ch);
  }

  attached(worker: number, hi: number, lo: number, connId: number, err: number, timeoutMs: number, flags: number): void {
    const ch = this.channel(worker);
    if (ch === null) return;
    const off = ch.reserve(RecordKind.attached, attachedBytes);
    encodeAttached(ch.view, off, { sidHi: hi, sidLo: lo, connId, err, timeoutMs, flags });
    ch.commit();
  }

  event(worker: number, targetHi: number, targetLo: number, type: number, zxid: number, path: string, readers: EventReaders | null): void {
    const ch = this.channel(worker);
    if (ch === null) return;
    const off = ch.reserve(RecordKind.event, eventBytes(path, readers));
    const end = encodeEvent(ch.bytes, ch.view, off, { targetHi, targetLo, type, zxid, path, readers });
    ch.commit(end - off);
    this.checkOutbox(worker, ch);
  }

  watchRegister(worker: number, s: SessionContext, kind: number, path: string): void {
    const ch = this.channel(worker);
    if (ch === null) return;
    const off = ch.reserve(RecordKind.watchRegister, watchRegisterBytes(path));
    const end = encodeWatchRegister(ch.bytes, ch.view, off, { sidHi: s.hi, sidLo: s.lo, kind, path });
    ch.commit(end - off);
  }

  sessionEnd(worker: number, s: SessionContext, reason: number): void {
    const ch = this.channel(worker);
    if (ch === null) return;
    const off = ch.reserve(RecordKind.sessionEnd, sessionEndBytes);
    encodeSessionEnd(ch.view, off, { sidHi: s.hi, sidLo: s.lo, reason });
    ch.commit();
  }

  upgraded(worker: number, s: SessionContext): void {
    const ch = this.channel(worker);
    if (ch === null) return;
    const off = ch.reserve(RecordKind.upgraded, upgradedBytes);
    encodeUpgraded(ch.view, off, { sidHi: s.hi, sidLo: s.lo });
    ch.commit();
  }

  /**
   * Records written outside a pump batch (timers, log completions, quorum messages) need a
   * publish. It happens once per event-loop iteration: waking a sleeping worker is a futex
   * syscall, and a follower applying commit after commit in one iteration woke its workers
   * for each (6% of its main thread under write load). Order is kept: rings are FIFO.
   */
  flush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    setImmediate(this.publishAll);
  }

  private readonly publishAll = (): void => {
    this.flushScheduled = false;
    if (this.stopped) return;
    for (const ch of this.channels) ch.publish();
  };

  private channel(worker: number): Channel | null {
    return this.channels[worker] ?? null;
  }
}
