// Every bound storage uses, named with its unit last, with ZooKeeper's defaults where it has one.
// Relations between them are asserted when the module loads.

import { assert } from '../../common/assert.js';
import { juteMaxBufferBytesDefault } from '../../protocol/limits.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** zookeeper.preAllocSize (FilePadding): log files grow in blocks of this (default 64 MiB). */
export const preAllocBytesDefault = 64 * MiB;
/** FilePadding grows the file when a write comes within this of its end. */
export const preAllocSlackBytes = 4 * KiB;

/** zookeeper.snapCount (SyncRequestProcessor): txns between snapshots (randomised in
 *  [snapCount/2, snapCount)). */
export const snapCountTxnsDefault = 100_000;
/** SyncRequestProcessor refuses snapCount < 2 (it would snapshot every txn). */
export const snapCountTxnsMin = 2;

/** autopurge.snapRetainCount: ZooKeeper's minimum (and default) is 3. */
export const snapRetainCountMin = 3;
/** autopurge.purgeInterval is in hours; 0 turns purging off. */
export const purgeIntervalHoursMax = 24 * 365;

/** fsync.warningthresholdms (FileTxnLog): an fsync slower than this logs a warning. */
export const fsyncWarnMsDefault = 1000;

/** A txn record larger than this is corruption, not data: jute.maxbuffer (1 MiB) bounds a
 *  request, a multi's txn is about its request's size; 64x leaves room for any real one. */
export const logRecordBytesMax = 64 * MiB;
/** One txn record's frame: checksum (8) + length (4) + 'B' end-of-record (1). */
export const logRecordOverheadBytes = 13;
/** A pending batch buffer that grew beyond this is dropped after use instead of pooled. */
export const logBatchPooledBytesMax = 4 * MiB;
/** Initial capacity of a pending batch buffer. */
export const logBatchInitialBytes = 64 * KiB;

/** Snapshot walk: at most this many nodes per main-thread slice... */
export const snapshotSliceNodesDefault = 20_000;
/** ...and at most this long (checked every snapshotSliceCheckNodes nodes). */
export const snapshotSliceMsDefault = 4;
export const snapshotSliceCheckNodes = 128;
/** Node records are copied into chunks of about this size, each moved (not copied) to the
 *  snapshot worker. */
export const snapshotChunkBytes = 4 * MiB;
/** FileSnap.deserialize looks at no more than 100 snapshots before giving up. */
export const snapshotsTriedMax = 100;

/** Pending batch buffers kept for reuse at most. */
export const logBatchWritersPooledMax = 4;
/** Zeros compared at once against a preallocated log tail (log-format.ts). */
export const zeroCompareBytes = 256 * KiB;
/** Recovery reads a log file back from its end this much at a time, into one buffer... */
export const logTailBlockBytes = MiB;
/** ...and keeps this much past the last non-zero byte: room for a record header (12 bytes)
 *  starting right after it, so scanLog never reads a header across the prefix's end. */
export const logPrefixSlackBytes = 64;

/** A snapshot image (all its chunks) at most this large is checksummed on the main thread and
 *  written with libuv's asynchronous fs calls, without the pool thread: its Adler-32 costs less
 *  than one walk slice, and a pool thread is a JS isolate (~10 MB RSS until it idles out), which
 *  a server with a small tree (an observer, any server at start-up) need never start. */
export const snapshotWriteInlineBytesMax = MiB;
/** A snapshot pool thread with nothing to do exits after this long. */
export const snapshotWorkerIdleMs = 60_000;

/** Consumed session changes are dropped from the sync stage's queue front once this many have
 *  piled up (and they are over half of it). */
export const sessionChangesCompactEntriesMin = 1024;
/** Flushes the sync stage tries before it gives up waiting for the log to be durable (a flush
 *  that fails stops the server anyway). */
export const durableFlushRoundsMax = 100;

assert(preAllocSlackBytes < preAllocBytesDefault, 'preallocation slack must fit in a block');
assert(logRecordBytesMax > juteMaxBufferBytesDefault, 'a record must hold at least jute.maxbuffer');
assert(snapshotSliceCheckNodes <= snapshotSliceNodesDefault, 'slice check inside the slice');
assert(snapshotWriteInlineBytesMax <= snapshotChunkBytes, 'an inline snapshot write is at most one chunk');
assert(logBatchInitialBytes <= logBatchPooledBytesMax, 'initial batch buffer must be poolable');
assert(logPrefixSlackBytes >= 12, 'the prefix slack holds a record header');
assert(logPrefixSlackBytes < logTailBlockBytes, 'the prefix slack is inside a tail block');
