// Bounds of the AdminServer (admin.*), named with their unit last; relations asserted at load.

import { assert } from '../../common/assert.js';

/** DataTree.DIGEST_LOG_INTERVAL: the tree digest is kept for every zxid that is a multiple of
 *  this (0x80, so the entries line up across members). */
export const digestLogIntervalTxns = 128;
/** DataTree.DIGEST_LOG_LIMIT: the hash command's history keeps at most this many entries. */
export const digestLogEntriesMax = 1024;
/** A stmk / set_trace_mask value is a Java long: its decimal text is never longer than this. */
export const traceMaskTextCharsMax = 20;

assert(digestLogIntervalTxns > 0 && Number.isInteger(Math.log2(digestLogIntervalTxns)), 'digest interval is a power of two');
assert(digestLogEntriesMax >= 1, 'the digest history keeps at least one entry');
