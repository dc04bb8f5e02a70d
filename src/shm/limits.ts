// Every bound of the records that cross the rings, named with its unit last; relations between
// them are asserted when the module loads. Bounds that tie these to jute.maxbuffer live where
// both are known (shm imports common only): workerLimits in src/workers/server.ts and the reply
// bound in src/main/core.ts assert against recordBytesMax.

import { assert } from '../common/assert.js';
import { maxPayloadBytes, ringCapacityBytesMin } from './layout.js';

const MiB = 1024 * 1024;

/**
 * Largest payload of one record, of any kind and in either direction, once reassembled. A record
 * larger than its ring's maxPayloadBytes (half the ring) crosses in fragments (channel.ts); this
 * bounds what one record may make a receiver buffer. A request over it closes its connection
 * (src/workers/server.ts), a reply over it closes the connection it was for (main/pipeline/replies.ts).
 */
export const recordBytesMax = 32 * MiB;

/**
 * The ring kind of a fragment: a piece of a record too large for its ring. Payload:
 *   +0  u32 kind        the whole record's own kind
 *   +4  u32 totalBytes  the whole record's payload size
 *   +8  u32 offset      where this piece starts in that payload (pieces come in order)
 *   +12 u32 0           spare; keeps the piece 8-aligned in the ring
 *   +16 piece
 * The pieces of one record are contiguous in the ring (one producer writes them in one go, in
 * order, through the outbox when the ring is full), so a receiver needs one reassembly buffer.
 */
export const fragmentKind = 0xffff_fff0;
export const fragmentHeaderBytes = 16;

/** How often (about) the buffers kept for large records are freed when unused meanwhile. */
export const largeRecordBufferTrimMs = 1000;

/** The piece size a ring of `capacityBytes` uses: a quarter of the ring, so two records of the
 *  stream around it still fit beside a piece; never less than 8 bytes (tiny test rings). */
export function fragmentPieceBytesDefault(capacityBytes: number): number {
  const max = maxPayloadBytes(capacityBytes);
  return Math.max(max >>> 1, fragmentHeaderBytes + 8) - fragmentHeaderBytes;
}

assert(fragmentKind >>> 0 === fragmentKind && fragmentKind > 0xffff, 'fragmentKind is a u32 far from record kinds');
assert(fragmentPieceBytesDefault(ringCapacityBytesMin) >= 8, 'the smallest ring carries fragments');
assert(
  fragmentPieceBytesDefault(ringCapacityBytesMin) + fragmentHeaderBytes <= maxPayloadBytes(ringCapacityBytesMin),
  'a fragment fits the smallest ring',
);
assert(recordBytesMax < 2 ** 32 && recordBytesMax % 8 === 0, 'recordBytesMax fits a u32 field');
