// Every bound the ensemble driver uses, named with its unit last. Relations between them are
// asserted when the module loads (the model: storage/limits.ts).

import { assert } from '../../common/assert.js';

const MiB = 1024 * 1024;

/**
 * The Zab core counts ticks of at most this long: tickTime is split into equal parts and every
 * limit scaled to match (ensemble/zab-config.ts), so an election decides within about one of
 * them of a quorum agreeing, whatever the tickTime.
 */
export const zabTickMsMax = 100;
/** An election round repeats about this often (in Zab ticks, rounded up). */
export const electionTimeoutMs = 400;
/**
 * ZooKeeper's finalizeWait (200 ms): a vote a quorum agrees on waits that long for a better one,
 * so a member that starts (or notices the old leader's death) a moment later than the others is
 * not left out of an election it would have won.
 */
export const finalizeWaitMs = 200;
/** initLimit and syncLimit, once scaled to Zab ticks, are never below this many. */
export const syncLimitTicksMin = 2;
/** The election timeout and finalizeWait, in Zab ticks, are never below this many. */
export const electionTicksMin = 1;

/**
 * Bound on the txns decoded and kept until applied (ensemble/payload-cache.ts): well above any
 * pipeline of uncommitted proposals.
 */
export const decodedTxnsMax = 100_000;
/** Initial capacity of the buffer a leader encodes each proposal's payload into (it grows). */
export const payloadWriterInitialBytes = 1024;

/** The quorum transport's per-peer send queue is never bounded below this (nor below two frames). */
export const quorumSendQueueBytesMin = 128 * MiB;

assert(zabTickMsMax <= finalizeWaitMs, 'finalizeWait must last at least one Zab tick');
assert(finalizeWaitMs < electionTimeoutMs, 'finalizeWait must end inside an election round');
assert(electionTicksMin >= 1 && syncLimitTicksMin >= electionTicksMin, 'limits in Zab ticks must be positive');
assert(decodedTxnsMax > 0, 'the decoded-txn cache must hold something');
assert(payloadWriterInitialBytes > 0, 'the payload writer needs a buffer');

/** Leader changes an ensemble member remembers for the status page (ensemble/member-view.ts
 *  LeaderHistory): the newest ones, the oldest dropped first. */
export const leaderChangesMax = 64;
assert(leaderChangesMax >= 2, 'the leader history holds at least the change before the current one');
