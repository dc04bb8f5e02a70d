// Every bound of the session workers, named with its unit last; relations between them are
// asserted when the module loads. One export (with its comment) per group, so that bounds moved
// here from several files merge cleanly: add new ones at the end, before the asserts.

import { assert } from '../common/assert.js';

/** A worker's index and the server id each take one byte of a session id (handshake.ts). */
export const workerIndexMax = 255;
export const workerCountMax = workerIndexMax + 1;
export const serverIdMax = 255;

/** WorkerInit bounds checked before a worker starts (worker.ts). */
export const tickTimeMsMax = 3_600_000;
export const globalOutstandingLimitMax = 1 << 30;
export const juteMaxBufferBytesMin = 1024;

/** ZooKeeper's sessionlessCnxnTimeout: a connection without a session is closed after this. */
export const sessionlessConnectionTimeoutMs = 10_000;

/** At most one "address table full" warning per this many milliseconds (per worker). */
export const tableFullLogMs = 10_000;

/** Session ids permuted at once: one AES call per Feistel round for the whole batch. */
export const sessionIdBatchCount = 64;

/** The request FIFO compacts its array once this many consumed entries lead it (and they are at
 *  least half of it). */
export const fifoCompactEntriesMin = 256;

/** Output memory is reserved in chunks of this size by default (conn.ts OutSlab). */
export const outSlabChunkBytesDefault = 64 * 1024;

assert(workerIndexMax <= 0xff && serverIdMax <= 0xff, 'a worker index and a server id fit a byte of the session id');
assert(workerCountMax === workerIndexMax + 1, 'every worker index is usable');
assert(sessionlessConnectionTimeoutMs > 0 && tableFullLogMs > 0, 'periods are positive');
assert(sessionIdBatchCount > 0 && fifoCompactEntriesMin > 0 && outSlabChunkBytesDefault > 0, 'sizes are positive');
