// What the live status page (src/main/status-page) reads of an ensemble member, read-only: its
// Zab state, the leader's view of each learner (the zxid each one has acked), and the leader
// changes this member has seen. The driver keeps the history and hands out a copy per push.

import type { PeerEvent, Role } from '../zab/messages.js';
import type { ZabPeer } from '../zab/peer.js';
import { leaderChangesMax } from './limits.js';
import { ensembleMode, type EnsembleMode } from './metrics.js';

/** One leader this member saw established: when it led (`leader`) or synced with it. */
export interface LeaderChange {
  readonly epoch: number;
  readonly leaderId: number;
  /** Wall clock (ms since 1970) when this member saw it. */
  readonly atMs: number;
  /** This member's part in that epoch. */
  readonly as: 'leader' | 'follower' | 'observer';
}

/** The last leaderChangesMax leader changes, oldest first. */
export class LeaderHistory {
  private readonly ring: LeaderChange[] = [];

  /**
   * A Zab event: `established` (this member leads a new epoch) and `uptodate` (it finished sync
   * with a leader) are leader changes as this member sees them; a learner that re-syncs with the
   * same leader in the same epoch (a dropped connection) is not a new one.
   */
  note(ev: PeerEvent, self: { id: number; isObserver: boolean }, atMs: number): void {
    let change: LeaderChange;
    if (ev.kind === 'established') change = { epoch: ev.epoch, leaderId: self.id, atMs, as: 'leader' };
    else if (ev.kind === 'uptodate') change = { epoch: ev.epoch, leaderId: ev.leader, atMs, as: self.isObserver ? 'observer' : 'follower' };
    else return;
    const last = this.ring.at(-1);
    if (last !== undefined && last.epoch === change.epoch && last.leaderId === change.leaderId) return;
    if (this.ring.length >= leaderChangesMax) this.ring.shift();
    this.ring.push(change);
  }

  list(): LeaderChange[] {
    return this.ring.slice();
  }
}

/** A learner as the leader's Zab state holds it. */
export interface LearnerView {
  readonly id: number;
  readonly observer: boolean;
  /** Its sync phase (active once synced). */
  readonly phase: string;
  /** The highest zxid it has durably logged (NEWLEADER ack, then cumulative ACKs). Observers
   *  do not ack proposals: theirs stays at the sync point. */
  readonly ackedZxid: number;
}

export interface MemberView {
  readonly myId: number;
  readonly mode: EnsembleMode;
  /** The leader it follows or is; -1 while looking. */
  readonly leaderId: number;
  readonly currentEpoch: number;
  readonly lastLoggedZxid: number;
  readonly commitZxid: number;
  /** Whom a learner learns from (the leader, or an observer's master); null otherwise. */
  readonly learnerMaster: number | null;
  /** The leader only: each learner connected to it. */
  readonly learners: readonly LearnerView[];
  readonly leaderChanges: readonly LeaderChange[];
}

export function memberView(p: ZabPeer, role: Role, history: LeaderHistory): MemberView {
  const learners: LearnerView[] = [];
  if (role === 'leading' && p.leader !== null) {
    for (const r of p.leader.learners.values()) {
      learners.push({ id: r.id, observer: r.observer, phase: r.phase, ackedZxid: r.ackedZxid });
    }
  }
  return {
    myId: p.id,
    mode: ensembleMode(role),
    leaderId: p.leaderId,
    currentEpoch: p.currentEpoch,
    lastLoggedZxid: p.lastLoggedZxid,
    commitZxid: p.commitZxid,
    learnerMaster: p.learner?.master ?? null,
    learners,
    leaderChanges: history.list(),
  };
}
