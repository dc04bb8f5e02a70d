// ByteRing: a single-producer / single-consumer ring of variable-length binary records on a
// SharedArrayBuffer. One thread produces, one other thread consumes; each side builds its own
// ByteRing object over the same SharedArrayBuffer (`create` on one side, `attach` on the other)
// and uses only its side's methods. The layout is described in layout.ts.
//
// Producer, per batch:
//
//   const off = ring.reserve(kind, n);   // -1: no room now (see Doorbell.waitForSpace / Channel)
//   ring.view.setUint32(off, x, true);   // write the payload in place: ring.bytes / ring.view
//   ring.commit();                        // local only: the record is not visible yet
//   ... more reserve/commit ...
//   ring.publish();                       // one Atomics.store of tail; wakes a sleeping consumer
//
// Consumer, per batch:
//
//   for (let off = ring.peek(); off >= 0; off = ring.peek()) {
//     handle(ring.kind, ring.view, off, ring.payloadBytes);
//     ring.release();                     // local only: the bytes stay valid until releaseBatch
//   }
//   ring.releaseBatch();                  // one Atomics.store of head; wakes a waiting producer
//
// Memory ordering (ECMAScript memory model; Atomics operations are sequentially consistent and
// an Atomics.load that reads the value of an Atomics.store synchronizes-with it):
//
// 1. Producer → consumer (payload visibility). The producer writes the record header and payload
//    with plain (unordered) typed-array / DataView stores, then publish() does
//    Atomics.store(tail). The consumer reads tail with Atomics.load and only then reads the
//    headers and payloads of records below that tail, with plain loads. Program order on each
//    side plus synchronizes-with between the store and the load that observes it give
//    happens-before from every payload write to every payload read. The consumer caches the
//    loaded tail (`tailCache`) and reloads it only when it catches up with the cached value;
//    records below a cached tail were covered by the load that produced it.
//
// 2. Consumer → producer (slot reuse). The consumer finishes reading a record (program order)
//    before releaseBatch() does Atomics.store(head). The producer reuses bytes only below a head
//    value it read with Atomics.load(head), so the consumer's reads of the old record
//    happen-before the producer's writes of the new one: no record is overwritten while read.
//    The producer caches head (`headCache`) and reloads it only when the cached value says full.
//
// 3. Sleeping and waking (no lost wake-up). The consumer, before sleeping on the data doorbell
//    (doorbell.ts): reads dataSeq, Atomics.store(consumerSleeping, 1), then Atomics.load(tail);
//    if the tail moved it does not sleep. The producer: Atomics.store(tail), then
//    Atomics.load(consumerSleeping) and, if set, Atomics.exchange(consumerSleeping, 0),
//    Atomics.add(dataSeq, 1), Atomics.notify(dataSeq). Under sequential consistency either the
//    producer's load of the flag comes after the consumer's store of it (the producer notifies,
//    and Atomics.waitAsync(dataSeq, seqBefore) either sees the bumped sequence and does not
//    sleep, or is woken), or it comes before, in which case the consumer's later load of tail
//    sees the new tail and it does not sleep. The exchange makes exactly one producer publish
//    responsible for each sleep: the flag is cleared before the notify, hence before the
//    consumer wakes and before it can set the flag again for its next sleep. Space waits
//    (producerWaiting / head / spaceSeq) mirror this in the other direction. Doorbells also
//    wait with a timeout, so even a bug here costs latency, not liveness.
//
// Positions are free-running int32 byte counters (see layout.ts); everything is 8-byte aligned.
// No method allocates; the hot methods touch only numbers and typed arrays.

import { AssertionError } from '../common/assert.js';
import {
  Slot,
  isPowerOfTwo,
  maxPayloadBytes,
  recordHeaderBytes,
  ringCapacityBytesMax,
  ringCapacityBytesMin,
  ringHeaderBytes,
  ringMagic,
  ringVersion,
  wrapMarkerLength,
} from './layout.js';

/** Snapshot of a ring's shared counters, for metrics and tests. */
export interface RingStats {
  capacityBytes: number;
  /** Bytes published and not yet released by the consumer (racy snapshot). */
  usedBytes: number;
  fullCount: number;
  overflowCount: number;
  droppedCount: number;
  publishedBatches: number;
  releasedBatches: number;
  dataNotifies: number;
  /** Data waits that timed out with a record already there (see Slot.lateWakeups). */
  lateWakeups: number;
  closed: boolean;
}

function rangeErrorPayload(payloadBytes: number, max: number): RangeError {
  return new RangeError(
    `ByteRing.reserve: payload of ${payloadBytes} bytes is not an integer in [0, ${max}] ` +
      `(a record may use at most half the ring); split the payload or cap it`,
  );
}

export class ByteRing {
  /** The shared memory; send it to the other thread (e.g. in workerData) and `attach` there. */
  readonly sab: SharedArrayBuffer;
  /** Size of the data region in bytes (a power of two). */
  readonly capacityBytes: number;
  /** Largest payload reserve() accepts: capacityBytes / 2 - 8. */
  readonly maxPayloadBytes: number;
  /** Control header slots (layout.ts `Slot`). Only doorbell.ts and tests should touch it. */
  readonly ctl: Int32Array;
  /** The data region as bytes. Payload offsets returned by reserve()/peek() index into it. */
  readonly bytes: Uint8Array;
  /** The data region as a DataView (same offsets as `bytes`). Payload encoding is the caller's. */
  readonly view: DataView;

  readonly #words: Int32Array; // data region as int32: record header words
  readonly #mask: number;

  // Producer-local state.
  #wpos: number; // position after the last committed record (local tail)
  #pubTail: number; // last tail value stored to the header
  #headCache: number; // last head value loaded from the header
  #resHeaderPos = 0; // position of the pending reservation's header
  #resPayloadBytes = 0;
  #resEnd = 0; // position after the pending reservation (incl. any wrap skip)
  #reserved = false;
  #publishCount = 0;

  // Consumer-local state.
  #rpos: number; // position of the next record to peek (local head)
  #pubHead: number; // last head value stored to the header
  #tailCache: number; // last tail value loaded from the header
  #next = 0; // position after the record returned by the last peek()
  #kind = 0;
  #payloadBytes = 0;
  #peeked = false;
  #releaseCount = 0;

  /** A new ring with a data region of `capacityBytes` (power of two, 64 B ... 1 GiB). */
  static create(capacityBytes: number): ByteRing {
    if (
      !isPowerOfTwo(capacityBytes) ||
      capacityBytes < ringCapacityBytesMin ||
      capacityBytes > ringCapacityBytesMax
    ) {
      throw new RangeError(
        `ByteRing.create: capacityBytes must be a power of two in ` +
          `[${ringCapacityBytesMin}, ${ringCapacityBytesMax}], got ${capacityBytes}`,
      );
    }
    const sab = new SharedArrayBuffer(ringHeaderBytes + capacityBytes);
    const ctl = new Int32Array(sab, 0, ringHeaderBytes >>> 2);
    Atomics.store(ctl, Slot.capacityBytes, capacityBytes);
    Atomics.store(ctl, Slot.version, ringVersion);
    Atomics.store(ctl, Slot.magic, ringMagic); // last: marks the header initialised
    return new ByteRing(sab);
  }

  /** Attach to a ring created (possibly in another thread) by `ByteRing.create`. */
  static attach(sab: SharedArrayBuffer): ByteRing {
    return new ByteRing(sab);
  }

  private constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < ringHeaderBytes + ringCapacityBytesMin) {
      throw new TypeError('ByteRing.attach: not a ring SharedArrayBuffer');
    }
    const ctl = new Int32Array(sab, 0, ringHeaderBytes >>> 2);
    const capacityBytes = Atomics.load(ctl, Slot.capacityBytes);
    if (
      Atomics.load(ctl, Slot.magic) !== ringMagic ||
      Atomics.load(ctl, Slot.version) !== ringVersion ||
      !isPowerOfTwo(capacityBytes) ||
      sab.byteLength !== ringHeaderBytes + capacityBytes
    ) {
      throw new TypeError('ByteRing.attach: SharedArrayBuffer holds no ring of this version');
    }
    this.sab = sab;
    this.ctl = ctl;
    this.capacityBytes = capacityBytes;
    this.maxPayloadBytes = maxPayloadBytes(capacityBytes);
    this.bytes = new Uint8Array(sab, ringHeaderBytes, capacityBytes);
    this.view = new DataView(sab, ringHeaderBytes, capacityBytes);
    this.#words = new Int32Array(sab, ringHeaderBytes, capacityBytes >>> 2);
    this.#mask = capacityBytes - 1;
    const tail = Atomics.load(ctl, Slot.tail);
    const head = Atomics.load(ctl, Slot.head);
    this.#wpos = tail;
    this.#pubTail = tail;
    this.#headCache = head;
    this.#rpos = head;
    this.#pubHead = head;
    this.#tailCache = tail;
  }

  // ---------------------------------------------------------------- producer

  /**
   * Reserve room for one record of `payloadBytes` and return the offset of its payload in
   * `bytes` / `view` (8-byte aligned), or -1 when the ring has no room now. The caller writes
   * exactly the payload bytes there and calls commit(). A reserve() without commit() is
   * abandoned by the next reserve() (or abort()). Throws RangeError when `payloadBytes` exceeds
   * `maxPayloadBytes` (capacity / 2 - 8): such a record could never fit, the caller must split it.
   */
  reserve(kind: number, payloadBytes: number): number {
    if ((payloadBytes | 0) !== payloadBytes || payloadBytes < 0 || payloadBytes > this.maxPayloadBytes) {
      throw rangeErrorPayload(payloadBytes, this.maxPayloadBytes);
    }
    if (kind >>> 0 !== kind) throw new RangeError(`ByteRing.reserve: kind must be a u32, got ${kind}`);
    const need = (payloadBytes + recordHeaderBytes + 7) & ~7;
    const pos = this.#wpos;
    const idx = pos & this.#mask;
    const toEnd = this.capacityBytes - idx;
    const total = need <= toEnd ? need : need + toEnd;
    if (((pos - this.#headCache) >>> 0) + total > this.capacityBytes) {
      this.#headCache = Atomics.load(this.ctl, Slot.head);
      if (((pos - this.#headCache) >>> 0) + total > this.capacityBytes) {
        this.ctl[Slot.fullCount] = (this.ctl[Slot.fullCount]! + 1) | 0; // producer-owned statistic
        this.#reserved = false;
        return -1;
      }
    }
    const words = this.#words;
    let at = idx;
    let headerPos = pos;
    if (need > toEnd) {
      words[idx >>> 2] = wrapMarkerLength; // invisible until the tail passes it
      at = 0;
      headerPos = (pos + toEnd) | 0;
    }
    const w = at >>> 2;
    words[w] = payloadBytes + recordHeaderBytes;
    words[w + 1] = kind | 0;
    this.#resHeaderPos = headerPos;
    this.#resPayloadBytes = payloadBytes;
    this.#resEnd = (pos + total) | 0;
    this.#reserved = true;
    return at + recordHeaderBytes;
  }

  /**
   * Commit the pending reservation: it becomes part of the next publish(). Local only; no
   * atomic operation. `payloadBytes`, when given, shrinks the record to that many bytes
   * (<= the reserved size), for callers that reserve an upper bound before encoding.
   */
  commit(payloadBytes?: number): void {
    if (!this.#reserved) throw new AssertionError('ByteRing.commit without a successful reserve');
    this.#reserved = false;
    if (payloadBytes === undefined || payloadBytes === this.#resPayloadBytes) {
      this.#wpos = this.#resEnd;
      return;
    }
    if ((payloadBytes | 0) !== payloadBytes || payloadBytes < 0 || payloadBytes > this.#resPayloadBytes) {
      throw new RangeError(
        `ByteRing.commit: ${payloadBytes} bytes is not in [0, ${this.#resPayloadBytes}] (the reserved size)`,
      );
    }
    const hp = this.#resHeaderPos;
    this.#words[(hp & this.#mask) >>> 2] = payloadBytes + recordHeaderBytes;
    this.#wpos = (hp + ((payloadBytes + recordHeaderBytes + 7) & ~7)) | 0;
  }

  /** Drop the pending reservation (nothing was written that the consumer can see). */
  abort(): void {
    this.#reserved = false;
  }

  /**
   * Make every committed record visible to the consumer (one Atomics.store of tail) and, if the
   * consumer is asleep on the doorbell, wake it. Returns false when there was nothing to publish.
   */
  publish(): boolean {
    if (!this.publishQuiet()) return false;
    if (Atomics.load(this.ctl, Slot.consumerSleeping) !== 0) this.ringDoorbell();
    return true;
  }

  /**
   * publish() without the doorbell: the records become visible, but a sleeping consumer is not
   * woken; it finds them at its next wake-up (another publish(), ringDoorbell(), or its
   * doorbell's fallback timeout). For records nobody waits on, so that a burst of them costs one
   * wake-up instead of one each. Returns false when there was nothing to publish.
   */
  publishQuiet(): boolean {
    const w = this.#wpos;
    if (w === this.#pubTail) return false;
    this.#pubTail = w;
    const ctl = this.ctl;
    Atomics.store(ctl, Slot.tail, w);
    ctl[Slot.publishedBatches] = ++this.#publishCount | 0;
    return true;
  }

  /**
   * Wake the consumer if it sleeps on the data doorbell. publish() calls this; call it directly
   * only after close() or when you need an explicit wake-up. Returns whether it notified.
   */
  ringDoorbell(): boolean {
    const ctl = this.ctl;
    if (Atomics.exchange(ctl, Slot.consumerSleeping, 0) === 0) return false;
    Atomics.add(ctl, Slot.dataSeq, 1);
    Atomics.notify(ctl, Slot.dataSeq, 1);
    ctl[Slot.dataNotifies] = (ctl[Slot.dataNotifies]! + 1) | 0;
    return true;
  }

  /** Bytes committed since the last publish() (0 when everything is visible). */
  get unpublishedBytes(): number {
    return (this.#wpos - this.#pubTail) >>> 0;
  }

  /**
   * Whether a record of `payloadBytes` would fit now (loads head). Producer side; for waits.
   * Throws like reserve() for a payload that can never fit.
   */
  canReserve(payloadBytes: number): boolean {
    if ((payloadBytes | 0) !== payloadBytes || payloadBytes < 0 || payloadBytes > this.maxPayloadBytes) {
      throw rangeErrorPayload(payloadBytes, this.maxPayloadBytes);
    }
    const need = (payloadBytes + recordHeaderBytes + 7) & ~7;
    const pos = this.#wpos;
    const toEnd = this.capacityBytes - (pos & this.#mask);
    const total = need <= toEnd ? need : need + toEnd;
    this.#headCache = Atomics.load(this.ctl, Slot.head);
    return ((pos - this.#headCache) >>> 0) + total <= this.capacityBytes;
  }

  /** Count a record the producer decided to drop (statistics only). */
  noteDropped(count = 1): void {
    Atomics.add(this.ctl, Slot.droppedCount, count);
  }

  /** Count records queued outside the ring because it was full (statistics only; Channel). */
  noteOverflow(count = 1): void {
    Atomics.add(this.ctl, Slot.overflowCount, count);
  }

  // ---------------------------------------------------------------- consumer

  /**
   * Offset (in `bytes` / `view`) of the next record's payload, or -1 when no published record
   * is left. Sets `kind` and `payloadBytes`. Calling peek() again without release() returns the
   * same record. The payload stays valid until releaseBatch() after its release().
   */
  peek(): number {
    let pos = this.#rpos;
    if (pos === this.#tailCache) {
      this.#tailCache = Atomics.load(this.ctl, Slot.tail);
      if (pos === this.#tailCache) {
        this.#peeked = false;
        return -1;
      }
    }
    const words = this.#words;
    let idx = pos & this.#mask;
    let len = words[idx >>> 2]!;
    if (len === wrapMarkerLength) {
      pos = (pos + this.capacityBytes - idx) | 0;
      this.#rpos = pos;
      idx = 0;
      if (pos === this.#tailCache) throw new AssertionError('ByteRing.peek: wrap marker without a record');
      len = words[0]!;
    }
    if (len < recordHeaderBytes || len > this.maxPayloadBytes + recordHeaderBytes) {
      throw new AssertionError('ByteRing.peek: corrupt record length');
    }
    this.#kind = words[(idx >>> 2) + 1]! >>> 0;
    this.#payloadBytes = len - recordHeaderBytes;
    this.#next = (pos + ((len + 7) & ~7)) | 0;
    this.#peeked = true;
    return idx + recordHeaderBytes;
  }

  /** Kind of the record returned by the last peek(). */
  get kind(): number {
    return this.#kind;
  }

  /** Payload size of the record returned by the last peek(). */
  get payloadBytes(): number {
    return this.#payloadBytes;
  }

  /** Consume the record returned by the last peek(). Local only until releaseBatch(). */
  release(): void {
    if (!this.#peeked) throw new AssertionError('ByteRing.release without a record from peek');
    this.#peeked = false;
    this.#rpos = this.#next;
  }

  /**
   * Hand every released record's bytes back to the producer (one Atomics.store of head) and
   * wake the producer if it waits for space. Returns false when nothing was released.
   */
  releaseBatch(): boolean {
    const r = this.#rpos;
    if (r === this.#pubHead) return false;
    this.#pubHead = r;
    const ctl = this.ctl;
    Atomics.store(ctl, Slot.head, r);
    ctl[Slot.releasedBatches] = ++this.#releaseCount | 0;
    if (Atomics.load(ctl, Slot.producerWaiting) !== 0) this.notifySpace();
    return true;
  }

  /** Wake the producer if it waits for space. releaseBatch() calls this. */
  notifySpace(): boolean {
    const ctl = this.ctl;
    if (Atomics.exchange(ctl, Slot.producerWaiting, 0) === 0) return false;
    Atomics.add(ctl, Slot.spaceSeq, 1);
    Atomics.notify(ctl, Slot.spaceSeq, 1);
    return true;
  }

  /** Whether a published record is waiting to be peeked (loads tail). Consumer side. */
  readable(): boolean {
    if (this.#rpos !== this.#tailCache) return true;
    this.#tailCache = Atomics.load(this.ctl, Slot.tail);
    return this.#rpos !== this.#tailCache;
  }

  // ---------------------------------------------------------------- both sides

  /**
   * Mark the ring closed (sticky, visible to both sides) and wake whoever waits on it. Records
   * already published can still be consumed; a Channel pump stops once it has drained them.
   */
  close(): void {
    const ctl = this.ctl;
    Atomics.store(ctl, Slot.closed, 1);
    Atomics.add(ctl, Slot.dataSeq, 1);
    Atomics.notify(ctl, Slot.dataSeq);
    Atomics.add(ctl, Slot.spaceSeq, 1);
    Atomics.notify(ctl, Slot.spaceSeq);
  }

  get closed(): boolean {
    return Atomics.load(this.ctl, Slot.closed) !== 0;
  }

  /** A snapshot of the shared counters (allocates; for metrics, not the hot path). */
  stats(): RingStats {
    const ctl = this.ctl;
    return {
      capacityBytes: this.capacityBytes,
      usedBytes: (Atomics.load(ctl, Slot.tail) - Atomics.load(ctl, Slot.head)) >>> 0,
      fullCount: Atomics.load(ctl, Slot.fullCount),
      overflowCount: Atomics.load(ctl, Slot.overflowCount),
      droppedCount: Atomics.load(ctl, Slot.droppedCount),
      publishedBatches: Atomics.load(ctl, Slot.publishedBatches),
      releasedBatches: Atomics.load(ctl, Slot.releasedBatches),
      dataNotifies: Atomics.load(ctl, Slot.dataNotifies),
      lateWakeups: Atomics.load(ctl, Slot.lateWakeups),
      closed: Atomics.load(ctl, Slot.closed) !== 0,
    };
  }
}
