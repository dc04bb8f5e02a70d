// Leader side of synchronisation: the per-learner plan, as data (LearnerHandler.syncFollower).
//
// ZooKeeper picks DIFF / TRUNC / SNAP from the learner's last zxid alone, which can leave a
// learner with a stale suffix when several epochs failed in a row. Here the learner sends its
// snapshot base and its retained log's epoch segments (ACKEPOCH) and the common prefix is found
// exactly. An entry (e, k) is only ever created by the leader of e, and a log gets it only on top
// of that leader's history plus (e, 1)..(e, k - 1); a snapshot base is committed, so it too sits
// on the one committed history. Hence two logs that both hold a zxid agree up to it (log
// matching), and the common prefix is the highest zxid both hold, bases included.
//
// The leader can only stream entries it still has: when that common point lies below its own
// snapshot base (the learner is behind the compacted prefix, or diverged below it), the plan is
// SNAP: the leader's applied state, then the entries after it.

import type { Segment } from './log-view.js';
import { segmentFirstZxid } from './log-view.js';

export type SyncPlan =
  | { readonly kind: 'DIFF'; readonly zxid: number }
  | { readonly kind: 'TRUNC'; readonly zxid: number }
  | { readonly kind: 'SNAP' };

/** A log as the plan sees it: the snapshot base and the retained entries as segments. */
export interface LogShape {
  readonly baseZxid: number;
  readonly segments: readonly Segment[];
}

/** The zxid intervals a log holds: its base point and one run per segment. */
function intervals(log: LogShape): [number, number][] {
  const out: [number, number][] = [[log.baseZxid, log.baseZxid]];
  log.segments.forEach((s, i) => out.push([segmentFirstZxid(s, i, log.baseZxid), s.lastZxid]));
  return out;
}

/** The highest zxid both logs hold (the common prefix by log matching), or -1 when none. */
export function commonPrefixZxid(learner: LogShape, leader: LogShape): number {
  let common = -1;
  for (const [aLo, aHi] of intervals(learner)) {
    for (const [bLo, bHi] of intervals(leader)) {
      const hi = Math.min(aHi, bHi);
      if (Math.max(aLo, bLo) <= hi) common = Math.max(common, hi);
    }
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

export function planSync(learner: LogShape, learnerLastZxid: number, leader: LogShape): SyncPlan {
  const common = commonPrefixZxid(learner, leader);
  if (common < leader.baseZxid) return { kind: 'SNAP' };
  return common === learnerLastZxid ? { kind: 'DIFF', zxid: common } : { kind: 'TRUNC', zxid: common };
}
