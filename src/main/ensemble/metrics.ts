// The ensemble member's figures for the four-letter words: its mode (srvr, stat) and mntr's
// replication keys, with the proposal sizes the driver counts.

import { zxidHex } from '../../common/ids.js';
import type { Role } from '../zab/messages.js';
import type { ZabPeer } from '../zab/peer.js';

export type EnsembleMode = 'leader' | 'follower' | 'observer' | 'looking';

export function ensembleMode(role: Role): EnsembleMode {
  switch (role) {
    case 'leading':
      return 'leader';
    case 'following':
      return 'follower';
    case 'observing':
      return 'observer';
    default:
      return 'looking';
  }
}

/** Proposal payload sizes in bytes (mntr; -1 before the first). */
export class ProposalSizes {
  last = -1;
  max = -1;
  min = -1;

  note(n: number): void {
    this.last = n;
    this.max = Math.max(this.max, n);
    this.min = this.min < 0 ? n : Math.min(this.min, n);
  }
}

/**
 * mntr keys of an ensemble member: its epoch, logged and committed zxids, proposals not yet
 * committed (on the leader: also the `queued` ones behind an unfinished sync), proposal sizes;
 * the leader adds ZooKeeper's Leader metrics (learners connected, synced ones by kind, learners
 * still syncing).
 */
export function replicationMetrics(p: ZabPeer, role: Role, queued: number, sizes: ProposalSizes): Record<string, number | string> {
  const out: Record<string, number | string> = {
    current_epoch: p.currentEpoch,
    last_logged_zxid: zxidHex(p.lastLoggedZxid),
    last_committed_zxid: zxidHex(p.commitZxid),
    pending_proposals: Math.max(0, p.lastLoggedZxid - p.commitZxid) + queued,
    last_proposal_size: sizes.last,
    max_proposal_size: sizes.max,
    min_proposal_size: sizes.min,
  };
  // A learner: the member it learns from (the leader, or an observer's master; ZooKeeper's
  // ObserverBean shows it as LearnerMaster).
  if (p.learner !== null) out['learner_master'] = p.learner.master;
  // An observer: the masters it left for silence (connected, nothing heard for syncLimit ticks).
  // And the learner traffic (INFORM, PING...) still reaching it from members it left.
  if (p.isObserver) {
    out['observer_master_quiet_leaves'] = p.voterView.quietLeaves;
    out['observer_stray_feed_messages'] = p.voterView.strayFeeds;
  }
  const serving = p.learner?.serving;
  if (serving !== undefined && serving !== null) {
    // An observer master: the observers this follower feeds.
    let active = 0;
    for (const r of serving.observers.values()) if (r.phase === 'active') active++;
    out['synced_observers'] = active;
  }
  const l = p.leader;
  if (role !== 'leading' || l === null) return out;
  let followers = 0;
  let observers = 0;
  let syncing = 0;
  for (const r of l.learners.values()) {
    if (r.phase !== 'active') {
      syncing++;
      continue;
    }
    if (r.observer) observers++;
    else followers++;
  }
  return { ...out, learners: l.learners.size, synced_followers: followers, synced_observers: observers, pending_syncs: syncing };
}

/** QuorumPeer.ZabState as the AdminServer's zabstate command names it. */
export type ZabStateName = 'election' | 'discovery' | 'synchronization' | 'broadcast';

/** The Zab phase this member is in (QuorumPeer.getZabState): a learner is in discovery until
 *  its epoch is acknowledged, then in synchronization until UPTODATE. */
export function zabState(p: ZabPeer): ZabStateName {
  if (p.role === 'leading' && p.leader !== null) {
    const phase = p.leader.phase;
    if (phase === 'established') return 'broadcast';
    return phase === 'newLeaderAcks' ? 'synchronization' : 'discovery';
  }
  if ((p.role === 'following' || p.role === 'observing') && p.learner !== null) {
    const phase = p.learner.phase;
    if (phase === 'active') return 'broadcast';
    return phase === 'connecting' ? 'discovery' : 'synchronization';
  }
  return 'election';
}

/** A learner this member feeds (the leader's learners; an observer master's observers). */
export interface FedLearner {
  readonly id: number;
  readonly observer: boolean;
  /** Synced and receiving the broadcast. */
  readonly active: boolean;
  /** The newest zxid it has acknowledged, or that its sync started from. */
  readonly lastZxid: number;
}

/** The learners this member feeds now: the leader's, or (a follower that is an observer
 *  master) the observers it serves; none otherwise. */
export function fedLearners(p: ZabPeer): FedLearner[] {
  const records = p.role === 'leading' ? p.leader?.learners : p.learner?.serving?.observers;
  if (records === undefined) return [];
  return [...records.values()].map((r) => ({
    id: r.id,
    observer: r.observer,
    active: r.phase === 'active',
    lastZxid: Math.max(r.ackedZxid, r.lastZxid),
  }));
}
