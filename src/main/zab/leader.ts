// The leading role: discovery (Leader.getEpochToPropose / waitForEpochAck), synchronisation
// (LearnerHandler.syncFollower, Leader.waitForNewLeaderAck) and broadcast (Leader.propose,
// processAck, commit/inform). What ZooKeeper keeps in one LearnerHandler thread per learner is a
// LearnerRecord here: plain data the leader steps.

import { assert } from '../../common/assert.js';
import { zxidCounter, zxidEpoch, zxidOf } from '../../common/ids.js';
import { answerNotification, notificationOf } from './election.js';
import { entriesPerReadMax } from './limits.js';
import type { AckEpochMsg, LearnerInfoMsg, Msg } from './messages.js';
import type { RoleHandler, ZabPeer } from './peer.js';
import { clipSegments, planSync } from './sync.js';
import type { Segment } from './log-view.js';

export type LeaderPhase = 'discovery' | 'epochAcks' | 'newLeaderAcks' | 'established';

/** The leader's view of one learner connection. */
export interface LearnerRecord {
  readonly id: number;
  readonly observer: boolean;
  readonly session: number;
  phase: 'info' | 'leaderInfo' | 'epochAcked' | 'syncing' | 'newLeaderAcked' | 'active';
  segments: readonly Segment[];
  snapshotZxid: number;
  lastZxid: number;
  /** NEWLEADER zxid sent in this learner's sync stream. */
  syncZxid: number;
  /** Highest zxid the learner has durably (NEWLEADER ack, then cumulative ACKs). */
  ackedZxid: number;
  ticksSilent: number;
}


export class LeaderState {
  phase: LeaderPhase = 'discovery';
  newEpoch = -1;
  /** Last logged zxid when the epoch was established: the history every learner gets. */
  historyZxid = -1;
  counter = 0;
  ticksInPhase = 0;
  readonly acceptedEpochs = new Map<number, number>();
  readonly epochAcks = new Set<number>();
  readonly newLeaderAcks = new Set<number>();
  readonly learners = new Map<number, LearnerRecord>();
  /** advanceCommit's scratch lists (voter ids and their durable zxids), reused per ACK. */
  readonly ackIds: number[] = [];
  readonly ackZxids: number[] = [];
  readonly quorumScratch: number[] = [];

  /** Proposals of this epoch not yet committed. */
  inFlight(p: ZabPeer): number {
    const committed = zxidEpoch(p.commitZxid) === this.newEpoch ? zxidCounter(p.commitZxid) : 0;
    return this.counter - committed;
  }

  propose(p: ZabPeer, payload: Uint8Array): void {
    assert(this.phase === 'established', 'propose when established');
    this.counter += 1;
    const zxid = zxidOf(this.newEpoch, this.counter);
    p.append({ zxid, payload });
    for (const r of this.learners.values()) {
      if (!r.observer && streaming(r)) p.send(r.id, { type: 'PROPOSAL', zxid, payload });
    }
  }
}

/** The learner's sync stream has been sent: it gets every later proposal / commit. */
export function streaming(r: LearnerRecord): boolean {
  return r.phase === 'syncing' || r.phase === 'newLeaderAcked' || r.phase === 'active';
}

function leader(p: ZabPeer): LeaderState {
  assert(p.leader !== null, 'leader state');
  return p.leader;
}

function stepDown(p: ZabPeer): void {
  p.become('looking', -1);
}

function onLearnerInfo(p: ZabPeer, from: number, msg: LearnerInfoMsg): void {
  const l = leader(p);
  const observer = msg.type === 'OBSERVERINFO';
  if (observer === p.isVoter(from)) return; // a voter must follow, an observer observe
  const record: LearnerRecord = {
    id: from,
    observer,
    session: msg.session,
    phase: 'info',
    segments: [],
    snapshotZxid: 0,
    lastZxid: 0,
    syncZxid: -1,
    ackedZxid: -1,
    ticksSilent: 0,
  };
  l.learners.set(from, record); // a new connection replaces the old record
  // An observer with an observer master may ask us taking us for a follower of its leader (a
  // stale view: observer-master.ts): our vote goes before LEADERINFO, as a master's does, so it
  // sees that we lead and does not learn from us under another leader's name.
  if (observer && p.config.observerMasters.has(from)) p.send(from, notificationOf(p));
  if (l.phase === 'discovery') {
    if (!observer) l.acceptedEpochs.set(from, msg.acceptedEpoch);
    decideEpoch(p, l);
  } else if (!observer && msg.acceptedEpoch > l.newEpoch) {
    // The voter accepted a later epoch from a failed leader: it would refuse our LEADERINFO
    // forever (ZooKeeper's getEpochToPropose has the same trap). Step down once; the next
    // round proposes an epoch above it.
    stepDown(p);
  } else {
    record.phase = 'leaderInfo';
    p.send(from, { type: 'LEADERINFO', epoch: l.newEpoch, session: record.session });
  }
}

/** Leader.getEpochToPropose: a quorum of acceptedEpochs fixes max + 1. */
function decideEpoch(p: ZabPeer, l: LeaderState): void {
  if (!p.isQuorum(l.acceptedEpochs.keys())) return;
  let max = 0;
  for (const e of l.acceptedEpochs.values()) max = Math.max(max, e);
  l.newEpoch = max + 1;
  l.phase = 'epochAcks';
  l.ticksInPhase = 0;
  p.setAcceptedEpoch(l.newEpoch);
  // LEADERINFO leaves only once our acceptedEpoch is durable.
  for (const r of l.learners.values()) {
    if (r.phase !== 'info') continue;
    r.phase = 'leaderInfo';
    p.sendAfterDurable(r.id, { type: 'LEADERINFO', epoch: l.newEpoch, session: r.session });
  }
}

function onAckEpoch(p: ZabPeer, r: LearnerRecord, msg: AckEpochMsg): void {
  const l = leader(p);
  if (r.phase !== 'leaderInfo' || msg.session !== r.session) return;
  r.phase = 'epochAcked';
  r.segments = msg.segments;
  r.snapshotZxid = msg.snapshotZxid;
  r.lastZxid = msg.lastZxid;
  if (l.phase === 'epochAcks') {
    // Leader.waitForEpochAck: a more up-to-date learner means we should not lead.
    const ahead =
      msg.currentEpoch > p.currentEpoch ||
      (msg.currentEpoch === p.currentEpoch && msg.lastZxid > p.lastLoggedZxid);
    if (ahead) {
      stepDown(p);
      return;
    }
    if (!r.observer) l.epochAcks.add(r.id);
    return;
  }
  if (l.phase === 'newLeaderAcks' ? !r.observer : l.phase === 'established') startSync(p, l, r);
}

/** Send TRUNC, DIFF or SNAP, the missing proposals, then NEWLEADER (LearnerHandler.syncFollower). */
function startSync(p: ZabPeer, l: LeaderState, r: LearnerRecord): void {
  // Observers get committed txns only; followers the whole log.
  sendSyncStream(p, r, r.observer ? p.commitZxid : p.lastLoggedZxid, l.newEpoch);
}

/** The sync stream up to `limit` from our own log (a leader's, or an observer master's). */
export function sendSyncStream(p: ZabPeer, r: LearnerRecord, limit: number, epoch: number): void {
  const plan = planSync(
    { baseZxid: r.snapshotZxid, segments: r.segments },
    r.lastZxid,
    { baseZxid: p.reader.baseZxid(), segments: clipSegments(p.reader.segments(), limit) },
  );
  let from: number;
  if (plan.kind === 'SNAP') {
    from = p.snapshotForSend();
    assert(from >= p.reader.baseZxid() && from <= limit, 'the snapshot sent lies in the retained log');
    p.send(r.id, { type: 'SNAP', zxid: from, data: new Uint8Array(0) });
  } else {
    from = plan.zxid;
    p.send(r.id, { type: plan.kind, zxid: plan.zxid });
  }
  while (from < limit) {
    const entries = p.reader.entriesThrough(from, limit, entriesPerReadMax);
    assert(entries.length > 0, 'sync entries are in the log');
    for (const e of entries) {
      p.send(r.id, { type: 'PROPOSAL', zxid: e.zxid, payload: e.payload });
      from = e.zxid;
    }
  }
  p.send(r.id, { type: 'NEWLEADER', epoch, zxid: limit });
  r.phase = 'syncing';
  r.syncZxid = limit;
}

function onAckNewLeader(p: ZabPeer, r: LearnerRecord, epoch: number): void {
  const l = leader(p);
  if (r.phase !== 'syncing' || epoch !== l.newEpoch) return;
  r.phase = 'newLeaderAcked';
  r.ackedZxid = r.syncZxid;
  if (l.phase === 'newLeaderAcks') {
    if (!r.observer) l.newLeaderAcks.add(r.id);
  } else if (l.phase === 'established') {
    r.phase = 'active';
    p.send(r.id, { type: 'UPTODATE', commitZxid: p.commitZxid });
  }
}

function onAck(p: ZabPeer, r: LearnerRecord, zxid: number): void {
  if (r.observer || (r.phase !== 'newLeaderAcked' && r.phase !== 'active')) return;
  // A learner acks proposals we streamed: above our commit point that is an entry of our log.
  if (zxid > p.lastLoggedZxid) return p.reject(r.id, { type: 'ACK', zxid }, 'ACK beyond our log');
  if (zxid > p.commitZxid && !p.holds(zxid)) return p.reject(r.id, { type: 'ACK', zxid }, 'ACK of a zxid that is not in our log');
  r.ackedZxid = Math.max(r.ackedZxid, zxid);
}

function establish(p: ZabPeer, l: LeaderState): void {
  l.phase = 'established';
  l.ticksInPhase = 0;
  p.commitTo(l.historyZxid);
  p.emit({ kind: 'established', epoch: l.newEpoch, zxid: l.historyZxid });
  // Report the regime we now lead in answers to looking peers.
  p.vote = { leader: p.id, zxid: l.historyZxid, peerEpoch: l.newEpoch };
  for (const r of l.learners.values()) {
    if (r.phase === 'newLeaderAcked') {
      r.phase = 'active';
      p.send(r.id, { type: 'UPTODATE', commitZxid: p.commitZxid });
    } else if (r.phase === 'epochAcked' && r.observer) {
      startSync(p, l, r);
    }
  }
}

/** Commit the highest zxid durable on a quorum of voters (cumulative acks). */
function advanceCommit(p: ZabPeer, l: LeaderState): void {
  // Runs on every ACK, so it allocates nothing per call beyond the quorum check's id list.
  const ids = l.ackIds;
  const zxids = l.ackZxids;
  ids.length = 0;
  zxids.length = 0;
  ids.push(p.id);
  zxids.push(p.persistedZxid);
  let highest = p.persistedZxid;
  for (const r of l.learners.values()) {
    if (!r.observer && (r.phase === 'newLeaderAcked' || r.phase === 'active')) {
      ids.push(r.id);
      zxids.push(r.ackedZxid);
      if (r.ackedZxid > highest) highest = r.ackedZxid;
    }
  }
  if (highest <= p.commitZxid) return;
  // The highest zxid that a quorum has durably: acks are cumulative, so try each voter's acked
  // zxid from the highest down; the first that a quorum has reached is it.
  let quorumZxid = -1;
  let below = Infinity;
  for (;;) {
    let candidate = -1;
    for (const z of zxids) if (z < below && z > candidate) candidate = z;
    if (candidate <= p.commitZxid) break;
    const reached = l.quorumScratch;
    reached.length = 0;
    for (let i = 0; i < ids.length; i++) if (zxids[i]! >= candidate) reached.push(ids[i]!);
    if (p.isQuorum(reached)) {
      quorumZxid = candidate;
      break;
    }
    below = candidate;
  }
  if (quorumZxid <= p.commitZxid) return;
  const target = Math.min(quorumZxid, p.lastLoggedZxid);
  // A follower commits cumulatively (commitTo), so one COMMIT for the highest zxid covers the
  // run; one message object for all of them is encoded once by the transport.
  const commit: Msg = { type: 'COMMIT', zxid: target };
  let observers = false;
  for (const r of l.learners.values()) {
    if (!streaming(r)) continue;
    if (r.observer) observers = true;
    else p.send(r.id, commit);
  }
  // Observers need every txn's payload (INFORM).
  let from = p.commitZxid;
  while (observers && from < target) {
    for (const e of p.reader.entriesThrough(from, target, entriesPerReadMax)) {
      const inform: Msg = { type: 'INFORM', zxid: e.zxid, payload: e.payload };
      for (const r of l.learners.values()) {
        if (r.observer && streaming(r) && e.zxid > r.syncZxid) p.send(r.id, inform);
      }
      from = e.zxid;
    }
  }
  p.commitTo(target);
}

function onMessage(p: ZabPeer, from: number, msg: Msg): void {
  const l = leader(p);
  if (msg.type === 'NOTIFICATION') {
    answerNotification(p, from, msg);
    return;
  }
  if (msg.type === 'FOLLOWERINFO' || msg.type === 'OBSERVERINFO') {
    onLearnerInfo(p, from, msg);
    return;
  }
  const r = l.learners.get(from);
  if (r === undefined) return; // no connection record: stale
  if (msg.type === 'OBSERVERLEAVE') {
    if (r.observer && r.session === msg.session) l.learners.delete(from); // it learns elsewhere now
    return;
  }
  r.ticksSilent = 0;
  switch (msg.type) {
    case 'ACKEPOCH':
      onAckEpoch(p, r, msg);
      break;
    case 'ACKNEWLEADER':
      onAckNewLeader(p, r, msg.epoch);
      break;
    case 'ACK':
      onAck(p, r, msg.zxid);
      break;
    case 'PING':
      break;
    default:
      break; // leader-to-learner types never come back; ignore
  }
}

function onTick(p: ZabPeer): void {
  const l = leader(p);
  l.ticksInPhase += 1;
  if (l.phase !== 'established' && l.ticksInPhase > p.config.initLimitTicks) {
    stepDown(p); // Leader.lead: no quorum within initLimit
    return;
  }
  const synced: number[] = [p.id];
  for (const r of [...l.learners.values()]) {
    r.ticksSilent += 1;
    const limit = r.phase === 'active' ? p.config.syncLimitTicks : p.config.initLimitTicks;
    if (r.ticksSilent > limit) {
      l.learners.delete(r.id); // LearnerHandler gives up on a silent learner
      continue;
    }
    if (r.phase !== 'info') p.send(r.id, { type: 'PING' });
    if (!r.observer && (r.phase === 'active' || r.phase === 'newLeaderAcked')) synced.push(r.id);
  }
  // Leader.lead's loop: step down once a quorum is no longer in sync (within syncLimit).
  if (l.phase === 'established' && !p.isQuorum(synced)) stepDown(p);
}

function onProgress(p: ZabPeer): void {
  const l = p.leader;
  if (l === null) return;
  if (l.phase === 'epochAcks') {
    if (p.durableAcceptedEpoch >= l.newEpoch) l.epochAcks.add(p.id);
    if (!p.isQuorum(l.epochAcks)) return;
    p.setCurrentEpoch(l.newEpoch);
    l.historyZxid = p.lastLoggedZxid;
    l.phase = 'newLeaderAcks';
    l.ticksInPhase = 0;
    for (const r of l.learners.values()) {
      if (r.phase === 'epochAcked' && !r.observer) startSync(p, l, r);
    }
  }
  if (l.phase === 'newLeaderAcks') {
    if (p.durableCurrentEpoch === l.newEpoch && p.persistedZxid >= l.historyZxid) {
      l.newLeaderAcks.add(p.id);
    }
    if (!p.isQuorum(l.newLeaderAcks)) return;
    establish(p, l);
  }
  if (l.phase === 'established') advanceCommit(p, l);
}

export const leadingRole: RoleHandler = {
  enter(p) {
    const l = new LeaderState();
    p.leader = l;
    l.acceptedEpochs.set(p.id, p.acceptedEpoch);
    decideEpoch(p, l);
  },
  message: onMessage,
  tick: onTick,
  peerUp() {},
  peerDown(p, peer) {
    p.leader?.learners.delete(peer);
  },
  progress: onProgress,
};
