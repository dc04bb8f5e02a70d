// Bounds of the write pipeline, named with their unit last; relations asserted at load.

import { assert } from '../../common/assert.js';
import { juteMaxBufferBytesDefault } from '../../protocol/limits.js';
import { logRecordBytesMax, logRecordOverheadBytes } from '../storage/limits.js';

const MiB = 1024 * 1024;

/** TxnHeader: clientId (8), cxid (4), zxid (8), time (8), type (4). */
export const txnHeaderBytes = 32;

/**
 * A closeSession txn (TxnHeader + CloseSessionTxn, which lists every ephemeral of the session)
 * is never larger than jute.maxbuffer (as ZOOKEEPER-4306 proposes: ZooKeeper itself cannot read
 * a larger one back from its log or from a leader), nor than this whatever jute.maxbuffer says:
 * it must fit one log record and one quorum frame (64 MiB each) with room to spare. An ephemeral
 * create that would make the session's closeSession larger is refused with QuotaExceeded.
 */
export const closeSessionTxnBytesCeiling = 32 * MiB;

/** The bound with jute.maxbuffer's default. */
export const closeSessionTxnBytesDefault = juteMaxBufferBytesDefault;

assert(
  txnHeaderBytes + closeSessionTxnBytesCeiling + logRecordOverheadBytes <= logRecordBytesMax,
  'a closeSession txn fits one log record',
);
assert(closeSessionTxnBytesDefault <= closeSessionTxnBytesCeiling, 'the default bound is under the ceiling');

/**
 * The largest txn (TxnHeader + body) a write may make: twice jute.maxbuffer, what ZooKeeper's own
 * readers accept (jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize, ZOOKEEPER-3496), and
 * never more than txnBytesCeiling. A txn can be far larger than its request: an `auth` ACL
 * entry expands to every id of the session on each create of a multi (ZOOKEEPER-2101). A write
 * past the bound is refused with BadArguments instead of reaching the log, where it would not
 * fit a record, or a follower, which could not read it.
 */
export function txnBytesMax(juteMaxBufferBytes: number): number {
  return Math.min(2 * juteMaxBufferBytes, txnBytesCeiling);
}

/** txnBytesMax whatever jute.maxbuffer says: one log record holds it with room to spare, and it
 *  is above the largest request a ring record carries (32 MiB), so a write whose txn is no
 *  larger than its request is never refused by it. */
export const txnBytesCeiling = 48 * MiB;

assert(txnBytesCeiling + logRecordOverheadBytes <= logRecordBytesMax, 'a txn fits one log record');
assert(closeSessionTxnBytesCeiling <= txnBytesCeiling, 'a closeSession txn is a txn');

/** The outstanding-change queue compacts once more than this many retired entries lead it (and
 *  they are over half of it). */
export const outstandingCompactEntriesMin = 1024;
