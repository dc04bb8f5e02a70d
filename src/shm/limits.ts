// Every bound of the records that cross the rings, named with its unit last; relations between
// them are asserted when the module loads. Bounds that tie these to jute.maxbuffer live where
// both are known (shm imports common only): src/workers/limits.ts asserts them against
// recordBytesMax.

import { assert } from '../common/assert.js';
import { maxPayloadBytes, ringCapacityBytesMax, ringCapacityBytesMin } from './layout.js';

const MiB = 1024 * 1024;

/**
 * Largest payload of one record, of any kind and in either direction, once reassembled. A record
 * larger than its ring's maxPayloadBytes (half the ring) crosses in fragments (fragments.ts); this
 * bounds what one record may make a receiver buffer. A request over it closes its connection
 * (src/workers/requests/router.ts), a reply over it closes the connection it was for
 * (src/main/pipeline/replies.ts).
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

/** Default data-region size of each ring of a channel: 4 MiB (records up to 2 MiB - 8). */
export const channelRingBytesDefault = 1 << 22;
/** Default number of records a pump handles per macrotask. */
export const channelBudgetRecordsDefault = 1024;
/** A channel's outbox (outbox.ts) compacts its array once this many sent records lead it. */
export const outboxCompactRecordsMin = 1024;

/**
 * Default fallback: a doorbell wait resolves after this long even if nobody notified. The
 * flag + sequence protocol (ring.ts) loses no wake-up, so this is only a safety net, and it is
 * long on purpose: every fallback wake-up of an idle ring costs a thread wake (about 100 us of
 * CPU with V8's timer task), and a tier host runs dozens of idle servers. A wait that times out
 * with a record already there is counted (RingStats.lateWakeups), so a lost wake-up shows up as
 * a counter and a late record, not as a hang.
 */
export const doorbellTimeoutMs = 60_000;
/** While a doorbell waits, an interval this long keeps the event loop alive (it never fires in
 *  practice; it only holds a ref). */
export const doorbellKeepAliveIntervalMs = 1 << 30;

/** Default number of distinct client addresses tracked at once (table of 2x as many cells). */
export const ipAddressesMaxDefault = 1 << 16;
/** Bounds of `addressesMax`: at least 8, at most 2^22 (a 192 MiB table). */
export const ipAddressesMaxMin = 8;
export const ipAddressesMaxMax = 1 << 22;

/**
 * Most bytes the readers of one event may take. A larger list (an ACL of thousands of READ
 * entries) is not sent: the event then goes only to super sessions (fail closed), and the main
 * thread logs it.
 */
export const eventReadersBytesMax = 64 * 1024;

assert(fragmentKind >>> 0 === fragmentKind && fragmentKind > 0xffff, 'fragmentKind is a u32 far from record kinds');
assert(fragmentPieceBytesDefault(ringCapacityBytesMin) >= 8, 'the smallest ring carries fragments');
assert(
  fragmentPieceBytesDefault(ringCapacityBytesMin) + fragmentHeaderBytes <= maxPayloadBytes(ringCapacityBytesMin),
  'a fragment fits the smallest ring',
);
assert(recordBytesMax < 2 ** 32 && recordBytesMax % 8 === 0, 'recordBytesMax fits a u32 field');
assert(
  channelRingBytesDefault >= ringCapacityBytesMin && channelRingBytesDefault <= ringCapacityBytesMax,
  'the default channel ring is a legal ring',
);
assert(ipAddressesMaxMin <= ipAddressesMaxDefault && ipAddressesMaxDefault <= ipAddressesMaxMax, 'the default ip table size is in range');
assert(eventReadersBytesMax < recordBytesMax, 'an event with its readers fits a record');
assert(doorbellTimeoutMs > 0 && doorbellTimeoutMs < doorbellKeepAliveIntervalMs, 'the doorbell fallback fires before the keep-alive would');

/**
 * Connection throttling (ZooKeeper 3.6's BlueThrottle), ZooKeeper's defaults: tokens 0 = off;
 * one token back per millisecond; BLUE's random dropping off (freeze time -1); with weights on,
 * a new global session takes 3 tokens, a renewed one 2, a new local one 1.
 */
export const connThrottleTokensDefault = 0;
export const connThrottleFillTimeMsDefault = 1;
export const connThrottleFillCountDefault = 1;
export const connThrottleFreezeTimeMsDefault = -1;
export const connThrottleDropIncreaseDefault = 0.02;
export const connThrottleDropDecreaseDefault = 0.002;
export const connThrottleDecreaseRatioDefault = 0;
export const connThrottleGlobalSessionWeightDefault = 3;
export const connThrottleLocalSessionWeightDefault = 1;
export const connThrottleRenewSessionWeightDefault = 2;
/** Largest token count (after weighting): the bucket's arithmetic stays exact far below 2^53. */
export const connThrottleTokensMax = 2 ** 31 - 1;

assert(
  connThrottleLocalSessionWeightDefault <= connThrottleRenewSessionWeightDefault &&
    connThrottleRenewSessionWeightDefault <= connThrottleGlobalSessionWeightDefault,
  'throttle weights: local <= renew <= global (what each costs the server)',
);
assert(connThrottleFillTimeMsDefault > 0 && connThrottleFillCountDefault > 0, 'the throttle bucket refills');

/**
 * Worker figures for the Prometheus exporter (metrics.ts): a summary's quantiles cover the
 * values recorded over the last window to two windows (a Prometheus summary's sliding window);
 * the main thread folds the workers' wrapping u32 counters at least this often, far more often
 * than any cell can wrap (2^32 counts, or 2^32 µs of latency summed, per worker).
 */
export const metricsWindowMs = 60_000;
export const metricsFoldIntervalMs = 10_000;
assert(metricsFoldIntervalMs <= metricsWindowMs, 'the window rotates on a fold');
