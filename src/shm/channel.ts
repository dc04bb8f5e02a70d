// Channel: the pair of rings between the main thread and one session worker.
//
//   worker ── toMain ring (requests, session touches ...) ──▶ main
//   worker ◀── toWorker ring (replies, watch events ...) ──── main
//
// Each side builds `new Channel(descriptor, side)` over the same descriptor (two
// SharedArrayBuffers, passed to the worker in workerData). A Channel sends on its `tx` ring and
// receives on its `rx` ring:
//
//   side 'main':   rx = toMain,   tx = toWorker
//   side 'worker': rx = toWorker, tx = toMain
//
// Sending (zero-copy; the outbox only when the ring is full):
//
//   const off = ch.reserve(kind, n);        // never fails (RangeError if n > recordBytesMax)
//   ch.view.setUint32(off, x, true);        // write into ch.bytes / ch.view AS RETURNED NOW:
//   ch.commit();                            //   they are the ring, or a scratch buffer when full
//   ch.publish();                           // once per batch (the pump does it after each batch)
//
// When the tx ring is full, reserve() hands out a scratch buffer and commit() queues a copy in
// a JS outbox; from then on every record goes behind the outbox (order is kept) until the outbox
// has been flushed into the ring, which happens as soon as the consumer frees space (the
// Doorbell wakes us) or on the next reserve()/publish(). Nothing is lost or reordered. The outbox
// itself has no bound: producers that can outrun the consumer must watch `outboxBytes` and pause
// their sources, and resume after `await ch.writable()`. The worker pauses its sockets; the main
// thread, whose source is this channel's own rx ring, holds the pump (holdPump / releasePump),
// so a worker that does not take its replies stops getting its requests read.
//
// A record larger than the ring's maxPayloadBytes (half the ring) crosses as fragments and is
// reassembled on arrival (fragments.ts); the outbox lives in outbox.ts.
//
// Receiving: `ch.start(handler)` pumps the rx ring: it drains at most `budget` records per
// macrotask, calling `handler(kind, view, offset, payloadBytes, bytes)` for each (no allocation
// per record but a reassembled one's buffer), publishes tx after each batch (so replies written by the handler go out once per
// batch), yields with setImmediate between batches so sockets are not starved, and sleeps on
// the rx Doorbell when the ring is empty.

import { AssertionError } from '../common/assert.js';
import { Doorbell, type DoorbellOptions } from './doorbell.js';
import { FragmentReassembler, FragmentSender } from './fragments.js';
import {
  channelBudgetRecordsDefault,
  channelRingBytesDefault,
  fragmentKind,
  fragmentPieceBytesDefault,
  recordBytesMax,
} from './limits.js';
import { Outbox } from './outbox.js';
import { ByteRing } from './ring.js';

/** What travels to the worker (in workerData): two rings' shared memory. */
export interface ChannelDescriptor {
  toMain: SharedArrayBuffer;
  toWorker: SharedArrayBuffer;
}

export type ChannelSide = 'main' | 'worker';

/**
 * Called once per record. `view` and `bytes` are the same memory: the rx ring's, or for a record
 * that came in fragments, its reassembly buffer (then `offset` is 0). The payload is
 * `[offset, offset + payloadBytes)`. It is valid only during the call.
 */
export type RecordHandler = (kind: number, view: DataView, offset: number, payloadBytes: number, bytes: Buffer) => void;

export interface ChannelDescriptorOptions {
  /** Data-region bytes of the worker→main ring (power of two). */
  toMainBytes?: number;
  /** Data-region bytes of the main→worker ring (power of two). */
  toWorkerBytes?: number;
}

export interface ChannelOptions extends DoorbellOptions {
  /** Bytes of record per fragment this side sends (tests vary it; default: a quarter ring). */
  fragmentPieceBytes?: number;
}

export interface PumpOptions {
  /** Most records handled per macrotask (default 1024). */
  budget?: number;
  /** Called after each non-empty batch, before tx is published. */
  afterBatch?: (records: number) => void;
}

/** Allocate the shared memory of one channel (call on the main thread, before the worker starts). */
export function createChannelDescriptor(options: ChannelDescriptorOptions = {}): ChannelDescriptor {
  return {
    toMain: ByteRing.create(options.toMainBytes ?? channelRingBytesDefault).sab,
    toWorker: ByteRing.create(options.toWorkerBytes ?? channelRingBytesDefault).sab,
  };
}

const modeNone = 0;
const modeRing = 1;
const modeScratch = 2;
const modeDrop = 3;
/** The record is larger than the ring: built in a buffer of its own, sent as fragments. */
const modeFragments = 4;

export class Channel {
  readonly side: ChannelSide;
  /** Ring this side consumes. */
  readonly rx: ByteRing;
  /** Ring this side produces into. */
  readonly tx: ByteRing;
  /** Waits for records on rx (used by the pump). */
  readonly rxBell: Doorbell;
  /** Waits for space on tx (used by the outbox flusher). */
  readonly txBell: Doorbell;
  /**
   * Where to write the payload of the record just reserved: tx.bytes / tx.view, or a scratch
   * buffer when the record goes to the outbox. Re-read after every reserve(); never cache.
   */
  bytes: Uint8Array;
  view: DataView;

  #mode = modeNone;
  #resKind = 0;
  #resBytes = 0;
  #scratch: Uint8Array | undefined;
  #scratchView: DataView | undefined;
  /** The rx ring's memory, as a Buffer (handed to the handler). */
  readonly #rxBuf: Buffer;
  readonly #outbox: Outbox;
  readonly #fragmentSender: FragmentSender;
  readonly #reassembler: FragmentReassembler;

  // Pump.
  #running = false;
  #handler: RecordHandler | undefined;
  #budget = channelBudgetRecordsDefault;
  #afterBatch: ((records: number) => void) | undefined;
  #pumpResolve: (() => void) | undefined;
  #pumpReject: ((e: unknown) => void) | undefined;
  #immediate: NodeJS.Immediate | undefined;
  readonly #tick: () => void;
  readonly #onWake: () => void;
  #waiting = false; // a pump wait on rxBell is pending; its resolution continues the pump
  #held = false; // holdPump(): handle no more records until releasePump()

  #closed = false;
  /** A record committed since the last publish() wants the peer woken (commit, not commitQuiet). */
  #wakeDue = false;
  /** Records were published without waking the peer (publishQuiet), and no wake-up since. */
  #quietUnrung = false;

  constructor(descriptor: ChannelDescriptor, side: ChannelSide, options: ChannelOptions = {}) {
    if (side !== 'main' && side !== 'worker') throw new TypeError(`Channel: side must be 'main' or 'worker'`);
    this.side = side;
    const toMain = ByteRing.attach(descriptor.toMain);
    const toWorker = ByteRing.attach(descriptor.toWorker);
    this.rx = side === 'main' ? toMain : toWorker;
    this.tx = side === 'main' ? toWorker : toMain;
    this.rxBell = new Doorbell(this.rx, options);
    this.txBell = new Doorbell(this.tx, options);
    this.bytes = this.tx.bytes;
    this.view = this.tx.view;
    const rxBytes = this.rx.bytes;
    this.#rxBuf = Buffer.from(rxBytes.buffer, rxBytes.byteOffset, rxBytes.byteLength);
    this.#outbox = new Outbox(this.tx, this.txBell);
    const pieceBytes = options.fragmentPieceBytes ?? fragmentPieceBytesDefault(this.tx.capacityBytes);
    this.#fragmentSender = new FragmentSender(this.tx, this.#outbox, pieceBytes);
    this.#reassembler = new FragmentReassembler(this.#rxBuf, side);
    this.#tick = () => {
      this.#immediate = undefined;
      this.#pumpTick();
    };
    this.#onWake = () => {
      this.#waiting = false;
      if (this.#immediate === undefined) this.#pumpTick();
    };
  }

  /**
   * Drop the buffers kept for large records if none was used since the last call (a timer calls
   * this every second or so: bursts of large records reuse them, an idle channel frees them).
   */
  releaseIdleBuffers(): void {
    this.#fragmentSender.releaseIdle();
    this.#reassembler.releaseIdle();
  }

  /** Largest payload one ring record carries (half the tx ring minus the header); a larger
   *  record, up to recordBytesMax, crosses in fragments. */
  get maxPayloadBytes(): number {
    return this.tx.maxPayloadBytes;
  }

  /** True after close() here, or once the peer closed either ring. */
  get closed(): boolean {
    return this.#closed || this.rx.closed || this.tx.closed;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Reserve a record of `payloadBytes` on tx and return the payload offset in `this.bytes` /
   * `this.view` (which this call sets). Never returns -1: when the ring is full the record is
   * built in a scratch buffer and queued; a record over maxPayloadBytes is built in a buffer of
   * its own and sent as fragments. reserve → write → commit must run synchronously (no await in
   * between). Throws RangeError when `payloadBytes > recordBytesMax` (callers bound their
   * records) or `kind` is not a u32 record kind.
   */
  reserve(kind: number, payloadBytes: number): number {
    const tx = this.tx;
    if (payloadBytes > tx.maxPayloadBytes) return this.#reserveLarge(kind, payloadBytes);
    if (kind === fragmentKind) throw new RangeError('Channel.reserve: the fragment kind is the channel\'s own');
    if (this.#outbox.isEmpty() || this.#outbox.flush()) {
      const off = tx.reserve(kind, payloadBytes);
      if (off >= 0) {
        this.bytes = tx.bytes;
        this.view = tx.view;
        this.#mode = modeRing;
        return off;
      }
    } else if ((payloadBytes | 0) !== payloadBytes || payloadBytes < 0) {
      tx.canReserve(payloadBytes); // throws the ring's RangeError
    }
    if (kind >>> 0 !== kind || kind === fragmentKind) {
      throw new RangeError(`Channel.reserve: kind must be a u32 record kind, got ${kind}`);
    }
    // Full (rare path). If the channel is closed nobody will read it: build it, then drop it.
    const drop = this.#closed || tx.closed;
    return this.#reserveScratch(kind, payloadBytes, drop ? modeDrop : modeScratch);
  }

  /** Commit the record reserved last; `payloadBytes` may shrink it (see ByteRing.commit). */
  commit(payloadBytes?: number): void {
    this.#wakeDue = true;
    this.#commit(payloadBytes);
  }

  /**
   * commit() for a record the peer need not be woken for: publish() makes it visible without
   * the doorbell unless a record committed with commit() goes with it. It is handled at the
   * peer's next wake-up; `wakePeer()` bounds how late that is.
   */
  commitQuiet(payloadBytes?: number): void {
    this.#commit(payloadBytes);
  }

  #commit(payloadBytes: number | undefined): void {
    const mode = this.#mode;
    this.#mode = modeNone;
    if (mode === modeRing) {
      this.tx.commit(payloadBytes);
      return;
    }
    if (mode === modeDrop) {
      this.tx.noteDropped();
      return;
    }
    if (mode !== modeScratch && mode !== modeFragments) throw new AssertionError('Channel.commit without a reserve');
    let n = this.#resBytes;
    if (payloadBytes !== undefined) {
      if ((payloadBytes | 0) !== payloadBytes || payloadBytes < 0 || payloadBytes > n) {
        throw new RangeError(`Channel.commit: ${payloadBytes} bytes is not in [0, ${n}] (the reserved size)`);
      }
      n = payloadBytes;
    }
    if (mode === modeFragments) {
      const whole = this.bytes;
      this.bytes = this.tx.bytes;
      this.view = this.tx.view;
      this.#fragmentSender.send(this.#resKind, whole, n);
      return;
    }
    this.#outbox.queue(this.#resKind, null, this.#scratch!.slice(0, n));
  }

  /** A record over maxPayloadBytes: built in a buffer of its own (the caller writes it whole,
   *  at offset 0), sent as fragments by commit(). */
  #reserveLarge(kind: number, payloadBytes: number): number {
    if (!Number.isInteger(payloadBytes) || payloadBytes > recordBytesMax) {
      throw new RangeError(
        `Channel.reserve: a record of ${payloadBytes} bytes is over recordBytesMax (${recordBytesMax}); bound it before sending`,
      );
    }
    if (kind >>> 0 !== kind || kind === fragmentKind) {
      throw new RangeError(`Channel.reserve: kind must be a u32 record kind, got ${kind}`);
    }
    const buf = this.#fragmentSender.buffer(payloadBytes);
    this.bytes = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, payloadBytes);
    this.#mode = this.#closed || this.tx.closed ? modeDrop : modeFragments;
    this.#resKind = kind;
    this.#resBytes = payloadBytes;
    return 0;
  }

  /** Drop the record reserved last. */
  abort(): void {
    if (this.#mode === modeRing) this.tx.abort();
    this.#mode = modeNone;
  }

  /** Copy `payload` into one record (reserve + set + commit). */
  send(kind: number, payload: Uint8Array): void {
    const off = this.reserve(kind, payload.length);
    this.bytes.set(payload, off);
    this.commit();
  }

  /**
   * Make committed records visible to the peer and wake it if it sleeps. Flushes what it can of
   * the outbox first. Cheap when there is nothing to publish.
   */
  publish(): void {
    const outbox = this.#outbox;
    if (!outbox.isEmpty()) {
      // Records that waited in the outbox were committed earlier, and the publish() of that
      // turn found no room and so rang nothing: moving them into the ring now is what must
      // wake the peer. (Published quietly, they would wait for the peer's next wake-up.)
      const waiting = outbox.length;
      outbox.flush();
      if (outbox.length < waiting) this.#wakeDue = true;
    }
    if (this.#wakeDue) {
      this.#wakeDue = false;
      this.#quietUnrung = false;
      this.tx.publish();
    } else if (this.tx.publishQuiet()) {
      this.#quietUnrung = true;
    }
  }

  /** Records went out with publish() but no wake-up (all committed with commitQuiet). */
  get quietUnrung(): boolean {
    return this.#quietUnrung;
  }

  /** Wake the peer if it sleeps (for records published quietly). */
  wakePeer(): void {
    this.#quietUnrung = false;
    this.tx.ringDoorbell();
  }

  /** Records waiting in the outbox (0 unless tx was full). */
  get outboxLength(): number {
    return this.#outbox.length;
  }

  /** Payload bytes waiting in the outbox: a back-pressure signal for the sources. */
  get outboxBytes(): number {
    return this.#outbox.bytes;
  }

  /** Resolves when the outbox is empty (at once if it is), or when the channel closes (then the
   * outbox records were dropped). */
  writable(): Promise<void> {
    return this.#outbox.writable();
  }

  #reserveScratch(kind: number, payloadBytes: number, mode: number): number {
    let scratch = this.#scratch;
    if (scratch === undefined || scratch.length < payloadBytes) {
      scratch = new Uint8Array(Math.max(payloadBytes, 4096));
      this.#scratch = scratch;
      this.#scratchView = new DataView(scratch.buffer);
    }
    this.bytes = scratch;
    this.view = this.#scratchView!;
    this.#mode = mode;
    this.#resKind = kind;
    this.#resBytes = payloadBytes;
    return 0;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * Handle at most `budget` records from rx, then release them in one batch (one store of head,
   * and a wake-up of our peer if it waits for space). Returns the number handled. The record
   * is released before `handler` runs, so a throwing handler does not see it again; the error
   * propagates after the batch is released. Stops early once this side is closed (a handler
   * may call close()).
   */
  drain(handler: RecordHandler, budget: number): number {
    const rx = this.rx;
    const view = rx.view;
    const mem = this.#rxBuf;
    const reassembler = this.#reassembler;
    let n = 0;
    try {
      while (n < budget && !this.#closed && !this.#held) {
        const off = rx.peek();
        if (off < 0) break;
        const kind = rx.kind;
        const payloadBytes = rx.payloadBytes;
        rx.release(); // local: the bytes stay valid until releaseBatch below
        n++;
        if (kind === fragmentKind) {
          if (reassembler.take(view, off, payloadBytes)) reassembler.deliver(handler);
          continue;
        }
        if (reassembler.record !== undefined) reassembler.error(`a record of kind ${kind} inside a fragmented record`);
        handler(kind, view, off, payloadBytes, mem);
      }
    } finally {
      rx.releaseBatch();
    }
    return n;
  }

  /**
   * Pump rx until stop(), close(), or the peer closes and every published record is handled.
   * Resolves then; rejects (and stops) if `handler` or `afterBatch` throws.
   */
  start(handler: RecordHandler, options: PumpOptions = {}): Promise<void> {
    if (this.#running) throw new Error('Channel.start: the pump is already running');
    if (this.#closed) return Promise.resolve();
    const budget = options.budget ?? channelBudgetRecordsDefault;
    if (!(budget >= 1)) throw new RangeError(`Channel.start: budget must be >= 1, got ${budget}`);
    this.#handler = handler;
    this.#budget = budget;
    this.#afterBatch = options.afterBatch;
    this.#running = true;
    return new Promise<void>((resolve, reject) => {
      this.#pumpResolve = resolve;
      this.#pumpReject = reject;
      this.#scheduleTick();
    });
  }

  /**
   * Handle no more rx records (after the one being handled, if called from the handler) until
   * releasePump(). Records stay in rx; once it is full the peer's sends go to its outbox, and
   * its own back-pressure takes over. For a consumer whose output has nowhere to go.
   */
  holdPump(): void {
    this.#held = true;
  }

  /** Undo holdPump(): the pump handles rx records again. */
  releasePump(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#scheduleTick();
  }

  get pumpHeld(): boolean {
    return this.#held;
  }

  /** Stop the pump (records left in rx stay there). The start() promise resolves. */
  stop(): void {
    this.#endPump(undefined, false);
  }

  /**
   * Close both rings (the peer's pump ends once it has drained them, and its producer sees
   * `closed`), stop the pump, and release this side's doorbells so the thread can exit. The
   * outbox is flushed as far as the ring has room; what still does not fit is dropped (counted
   * in the ring's droppedCount).
   */
  close(): void {
    if (this.#closed) return;
    const outbox = this.#outbox;
    if (!outbox.isEmpty()) outbox.flush();
    outbox.drop();
    this.tx.publish();
    this.#closed = true;
    outbox.close();
    this.#reassembler.clear();
    this.#fragmentSender.clear();
    this.tx.close();
    this.rx.close();
    this.#endPump(undefined, false);
    this.rxBell.close();
    this.txBell.close();
    outbox.resolveWritable();
  }

  #pumpTick(): void {
    if (!this.#running || this.#held) return; // releasePump() schedules the next tick
    let n: number;
    try {
      n = this.drain(this.#handler!, this.#budget);
      if (n > 0) {
        this.#afterBatch?.(n);
        this.publish();
      }
    } catch (e) {
      this.#endPump(e, true);
      return;
    }
    if (this.#held && !this.#closed) return;
    if (n > 0) {
      this.#scheduleTick(); // yield to I/O between batches
      return;
    }
    if (this.rx.closed || this.#closed) {
      // The closed flag was read before this tail load: records published before the close
      // are visible to readable() now. Handle them before ending.
      if (!this.#closed && this.rx.readable()) {
        this.#scheduleTick();
        return;
      }
      this.#endPump(undefined, false);
      this.close();
      return;
    }
    this.#waiting = true;
    this.rxBell.wait().then(this.#onWake);
  }

  /** One pump continuation at a time: an immediate, or the pending doorbell wait. */
  #scheduleTick(): void {
    if (this.#running && this.#immediate === undefined && !this.#waiting) {
      this.#immediate = setImmediate(this.#tick);
    }
  }

  #endPump(error: unknown, failed: boolean): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
    const resolve = this.#pumpResolve;
    const reject = this.#pumpReject;
    this.#pumpResolve = undefined;
    this.#pumpReject = undefined;
    this.#handler = undefined;
    this.#afterBatch = undefined;
    if (failed) reject?.(error);
    else resolve?.();
  }
}
