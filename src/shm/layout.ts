// Memory layout of one SPSC byte ring on a SharedArrayBuffer (see ring.ts for the protocol).
//
//   SharedArrayBuffer = [ control header: ringHeaderBytes ][ data region: capacityBytes ]
//
// The control header is an Int32Array of `ringHeaderBytes / 4` slots. Slots are grouped by the
// thread that writes them, one 64-byte cache line per group, so the producer's stores to `tail`
// do not keep invalidating the line the consumer stores `head` into (false sharing).
//
//   line 0 (bytes   0..63)  written once at creation: magic, version, capacity; plus `closed`
//   line 1 (bytes  64..127) written by the CONSUMER: head, spaceSeq, consumerSleeping, releasedBatches
//   line 2 (bytes 128..191) written by the PRODUCER: tail, dataSeq, producerWaiting, counters
//
// Positions (head, tail) are free-running 32-bit counters of bytes ever written / consumed,
// stored as int32 and compared with wrap-around arithmetic: used bytes = (tail - head) >>> 0.
// The byte index of a position in the data region is `pos & (capacityBytes - 1)`. Because
// capacityBytes <= 2^30, the difference of two positions never exceeds 2^32 and the modular
// arithmetic is exact.
//
// Data region: a sequence of records, each starting at an 8-byte aligned index:
//
//   +0  u32 lengthBytes   record header + payload, NOT including the alignment padding (>= 8)
//   +4  u32 kind          caller-defined record kind
//   +8  payload           `lengthBytes - 8` bytes, 8-byte aligned
//   ... padding up to the next multiple of 8
//
// A record never straddles the end of the data region. When the next record does not fit in
// the bytes left before the end, the producer writes a wrap marker (a length word of 0, which
// no real record has) at the current index and the record goes to index 0. The consumer, on
// reading a length of 0, skips to the start of the region. The bytes left before the end are
// always >= 8 (everything is 8-aligned) so there is always room for the marker's length word.

import { assert } from '../common/assert.js';

/** Bytes of the control header in front of the data region. */
export const ringHeaderBytes = 256;

/** Identifies an initialised ring header ("ZKRG"). */
export const ringMagic = 0x5a4b5247;
/** Bumped when this layout changes incompatibly. */
export const ringVersion = 1;

/** Int32 slot indices into the control header. */
export const Slot = {
  // line 0: set at creation (plus the sticky `closed` flag, written by whichever side closes)
  magic: 0,
  version: 1,
  capacityBytes: 2,
  /** 0 = open; 1 = closed by either side (sticky). Waiters on both sides are woken. */
  closed: 3,

  // line 1: written by the consumer
  /** Free-running position of the first byte not yet released by the consumer. */
  head: 16,
  /** Space doorbell: the consumer increments it and notifies when the producer waits for space. */
  spaceSeq: 17,
  /** 1 while the consumer is (about to be) asleep on `dataSeq`; the producer exchanges it to 0. */
  consumerSleeping: 18,
  /** Statistics: number of head publications (release batches). */
  releasedBatches: 19,
  /** Statistics: data waits that timed out and found a record already published (a wake-up
   *  missed: a quiet publish whose wake-up had not come yet, or a bug). */
  lateWakeups: 20,

  // line 2: written by the producer
  /** Free-running position one past the last byte of the last published record. */
  tail: 32,
  /** Data doorbell: the producer increments it and notifies when the consumer sleeps. */
  dataSeq: 33,
  /** 1 while the producer is (about to be) waiting for space; the consumer exchanges it to 0. */
  producerWaiting: 34,
  /** Statistics: reserve() calls refused because the ring was full. */
  fullCount: 35,
  /** Statistics: records a Channel had to queue in its JS outbox because the ring was full. */
  overflowCount: 36,
  /** Statistics: records the producer chose to drop (callers that drop, e.g. lossy telemetry, count here). */
  droppedCount: 37,
  /** Statistics: tail publications (publish() calls that published something). */
  publishedBatches: 38,
  /** Statistics: Atomics.notify calls made to wake the consumer. */
  dataNotifies: 39,
} as const;
export type Slot = (typeof Slot)[keyof typeof Slot];

/** Bytes of a record header: u32 length + u32 kind. */
export const recordHeaderBytes = 8;
/** Records (and thus payloads) start at multiples of this. */
export const recordAlignBytes = 8;
/** Byte offset of the length word inside a record header. */
export const recordLengthOffset = 0;
/** Byte offset of the kind word inside a record header. */
export const recordKindOffset = 4;
/** Length word value that marks "the rest of the region is unused, continue at index 0". */
export const wrapMarkerLength = 0;

/** Smallest data region accepted (a few records). */
export const ringCapacityBytesMin = 64;
/** Largest data region accepted: keeps free-running int32 positions' arithmetic exact. */
export const ringCapacityBytesMax = 1 << 30;

/** Total bytes a record with `payloadBytes` of payload occupies in the ring (header + padding). */
export function recordFootprintBytes(payloadBytes: number): number {
  return (payloadBytes + recordHeaderBytes + recordAlignBytes - 1) & ~(recordAlignBytes - 1);
}

/** Largest payload a ring of `capacityBytes` accepts: the whole record fits in half the region. */
export function maxPayloadBytes(capacityBytes: number): number {
  return (capacityBytes >>> 1) - recordHeaderBytes;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

// Load-time relations between the constants above.
assert(ringHeaderBytes % 64 === 0, 'ring header must be whole cache lines');
assert(Math.max(...Object.values(Slot)) * 4 < ringHeaderBytes, 'ring header slots overflow the header');
assert(recordHeaderBytes % recordAlignBytes === 0, 'record header must keep payloads aligned');
assert(ringCapacityBytesMin >= 4 * recordHeaderBytes, 'ringCapacityBytesMin too small');
assert(isPowerOfTwo(ringCapacityBytesMin) && isPowerOfTwo(ringCapacityBytesMax), 'ring capacity bounds must be powers of two');
