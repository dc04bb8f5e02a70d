// Leader side of synchronisation: the per-learner plan, as data (LearnerHandler.syncFollower).
//
// ZooKeeper picks DIFF / TRUNC / SNAP from the learner's last zxid alone, which can leave a
// learner with a stale suffix when several epochs failed in a row. Here the learner sends its
// log's epoch segments (ACKEPOCH) and the common prefix is found exactly: an entry of epoch e is
// only ever created by the leader of e, and every log holds e's entries as a prefix (e,1)..(e,k)
// of that leader's proposals, so two logs agree up to the first segment where they differ.

import type { Segment } from './log-view.js';

export type SyncPlan =
  | { readonly kind: 'DIFF'; readonly zxid: number }
  | { readonly kind: 'TRUNC'; readonly zxid: number };

/** Length of the common prefix of two logs given as segments (as a zxid; 0 when none). */
export function commonPrefixZxid(learner: readonly Segment[], leader: readonly Segment[]): number {
  let common = 0;
  for (let i = 0; i < learner.length; i++) {
    const mine = learner[i]!;
    const theirs = leader[i];
    if (theirs === undefined || theirs.epoch !== mine.epoch) break;
    common = Math.min(mine.lastZxid, theirs.lastZxid);
    if (mine.lastZxid !== theirs.lastZxid) break;
  }
  return common;
}

/** The leader's segments cut at `zxid` (the sync limit: last logged, or committed for observers). */
export function clipSegments(segments: readonly Segment[], zxid: number): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    if (s.epoch * 0x100000000 + 1 > zxid) break;
    out.push({ epoch: s.epoch, lastZxid: Math.min(s.lastZxid, zxid) });
  }
  return out;
}

export function planSync(
  learner: readonly Segment[],
  learnerLastZxid: number,
  leader: readonly Segment[],
): SyncPlan {
  const common = commonPrefixZxid(learner, leader);
  return common === learnerLastZxid ? { kind: 'DIFF', zxid: common } : { kind: 'TRUNC', zxid: common };
}
