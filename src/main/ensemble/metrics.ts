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
