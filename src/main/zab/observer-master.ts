// Observer masters (ZooKeeper's ObserverMaster, ZOOKEEPER-3140): an active follower serves
// observers as the leader would: OBSERVERINFO, LEADERINFO with the epoch it follows, a sync
// stream (DIFF / TRUNC / SNAP) from its own log up to its commit point, then INFORM for every
// txn it sees committed. The leader's fan-out then does not grow with the observer tier. Only
// committed txns leave a master, so an observer may lag but never sees what was not committed.

import { assert } from '../../common/assert.js';
import { notificationOf } from './election.js';
import type { AckEpochMsg, Input, LearnerInfoMsg, Msg } from './messages.js';
import { sendSyncStream, streaming, type LearnerRecord } from './leader.js';
import { entriesPerReadMax, masterUnseenTicksMax, quietMasterHoldSyncLimits } from './limits.js';
import type { ZabPeer } from './peer.js';

export interface MasterState {
  readonly observers: Map<number, LearnerRecord>;
  /** Commits up to here were relayed as INFORM. */
  relayedZxid: number;
}

export function newMasterState(): MasterState {
  return { observers: new Map(), relayedZxid: -1 };
}

/**
 * What an observer knows of the voters that could feed it, from the events the driver feeds
 * every peer: connections lost and regained (peerDown / peerUp), and the state each voter last
 * told it in a NOTIFICATION. Kept across roles, by observers only (voters choose no master).
 */
export interface VoterView {
  /** Voters with an open connection (peerUp, or a message, and no peerDown since). */
  readonly up: Set<number>;
  /** Voters whose connection went down and has not come back (peerDown, no peerUp since), or
   *  that an observer waited on for masterUnseenTicksMax without ever having a connection. */
  readonly down: Set<number>;
  /** The leader each voter last said it follows (its own id: LEADING; -1: LOOKING). */
  readonly follows: Map<number, number>;
  /**
   * Masters this observer left for silence (leaveQuietMaster), skipped while here. One leaves when
   * it has been through an election since we left it (it said LOOKING, or its vote carries a
   * later round than its first answer: it found out it had lost its leader and joined again);
   * after quietMasterHoldSyncLimits syncLimits of hearing it without that (it was only slow); or
   * at a peerUp or peerDown.
   */
  readonly quiet: Map<number, QuietMaster>;
  /** Masters left for silence so far (mntr zk_observer_master_quiet_leaves). */
  quietLeaves: number;
  /** INFORM, PING and other learner traffic from members we do not learn from (a member that
   *  still feeds us after we left it; mntr zk_observer_stray_feed_messages). */
  strayFeeds: number;
}

export interface QuietMaster {
  /** Ticks since it was heard again; -1: not yet. */
  heardTicks: number;
  /** The round (electionEpoch) of its first vote since; -1: none yet. */
  electionEpoch: number;
  /** It said LOOKING since. */
  electing: boolean;
}

export function newVoterView(): VoterView {
  return { up: new Set(), down: new Set(), follows: new Map(), quiet: new Map(), quietLeaves: 0, strayFeeds: 0 };
}

/** Keeps an observer's `view` up to date with one input (ZabPeer.step calls it for every input). */
export function noteInput(p: ZabPeer, view: VoterView, input: Input): void {
  if (!p.isObserver) return; // voters choose no master
  switch (input.kind) {
    case 'tick':
      if (view.quiet.size > 0) quietTick(p, view);
      return;
    case 'peerDown':
      if (!p.isVoter(input.peer)) return;
      view.quiet.delete(input.peer);
      view.down.add(input.peer);
      view.up.delete(input.peer);
      view.follows.delete(input.peer); // whom it follows is news again once it is back
      return;
    case 'peerUp':
      if (!p.isVoter(input.peer)) return;
      view.quiet.delete(input.peer);
      view.up.add(input.peer);
      view.down.delete(input.peer);
      if (input.peer === p.avoidMaster) p.avoidMaster = -1; // a new connection: worth a try
      return;
    case 'message': {
      const { from, msg } = input;
      if (view.quiet.size > 0 && view.quiet.has(from)) quietHeard(view, from, msg);
      // The common case (INFORM, PING from a member known up) has nothing new: no set touched.
      if (msg.type !== 'NOTIFICATION' && view.up.has(from)) return;
      if (!p.isVoter(from)) return;
      view.up.add(from); // a message comes only over an open connection
      view.down.delete(from);
      if (msg.type !== 'NOTIFICATION') return;
      view.follows.set(from, msg.state === 'LOOKING' ? -1 : msg.leader);
      // The master that failed us is past its election (it follows, or leads): worth a try.
      if (from === p.avoidMaster && msg.state !== 'LOOKING') p.avoidMaster = -1;
      return;
    }
    default:
      return;
  }
}

/**
 * The voter that feeds `observer` while `leader` leads, or undefined (it learns from the leader).
 * The followers take the observers in turn, by the observer's index, so that the leader feeds
 * none and the followers share the tier evenly (a spread over all voters left a third of the
 * tier on the leader, and the followers uneven). Observers without a configured master learn
 * from the leader.
 *
 * `skip` names the followers that cannot feed it now (the observer's view: down, or following
 * another leader). An observer whose own master (its turn) is skipped takes the next live one in
 * a second turn over the live followers, so only that master's observers move, spread evenly, and
 * they go back when it is back; the others keep theirs. The observer decides; a follower serves
 * any observer with a configured master that asks (views differ for a moment around a failure).
 */
export function observerMasterOf(
  config: ZabPeer['config'],
  observer: number,
  leader: number,
  skip: (voter: number) => boolean = () => false,
): number | undefined {
  if (!config.observerMasters.has(observer)) return undefined;
  const followers = config.voters.filter((v) => v !== leader);
  if (followers.length === 0) return undefined;
  const turn = Math.max(0, config.observers.indexOf(observer));
  const own = followers[turn % followers.length]!;
  if (!skip(own)) return own;
  const live = followers.filter((v) => !skip(v));
  if (live.length === 0) return undefined;
  return live[Math.floor(turn / followers.length) % live.length];
}

/**
 * A connecting observer, each tick: a master we have never had a connection with (down since
 * before we started: the driver reports no peerDown for a dial that is refused) counts as down
 * after masterUnseenTicksMax ticks, so that the observer picks another now rather than after
 * initLimit. peerUp or a message from it takes it back.
 */
export function masterUnseen(p: ZabPeer, master: number, ticksWaited: number): void {
  if (ticksWaited >= masterUnseenTicksMax && !p.voterView.up.has(master)) p.voterView.down.add(master);
}

/** A message from a master we left for silence. */
function quietHeard(view: VoterView, from: number, msg: Msg): void {
  const q = view.quiet.get(from)!;
  if (q.heardTicks < 0) q.heardTicks = 0; // heard again: the hold starts
  if (msg.type !== 'NOTIFICATION') return;
  if (msg.state === 'LOOKING') q.electing = true;
  else if (q.electing || (q.electionEpoch >= 0 && msg.electionEpoch > q.electionEpoch)) view.quiet.delete(from); // joined again
  else if (q.electionEpoch < 0) q.electionEpoch = msg.electionEpoch;
}

function quietTick(p: ZabPeer, view: VoterView): void {
  const holdTicks = quietMasterHoldSyncLimits * p.config.syncLimitTicks;
  for (const [voter, q] of view.quiet) {
    if (q.electing) continue; // it says whether it follows again
    if (q.heardTicks < 0) {
      // Not heard since we left it: ask (a voter answers an observer's vote with its own), or a
      // master that was only slow, and now follows quietly, would stay skipped for good.
      p.send(voter, notificationOf(p));
      continue;
    }
    q.heardTicks += 1;
    if (q.heardTicks >= holdTicks) view.quiet.delete(voter);
  }
}

/**
 * An active observer has heard nothing from its master (no PING, no INFORM) for syncLimit ticks
 * while its connection stays open: a hung process (SIGSTOP, a stalled disk, a long pause).
 * ZooKeeper's learner gives up after syncLimit * tickTime of read timeout. The leader it follows
 * is not in question, so the observer does not elect: it marks the master quiet (skipped until
 * heard again for a while) and connects to the next live follower at once, as for a dead master.
 * True when it left.
 */
export function leaveQuietMaster(p: ZabPeer, master: number, ticksSilent: number): boolean {
  if (master === p.leaderId || ticksSilent < p.config.syncLimitTicks) return false;
  p.voterView.quiet.set(master, { heardTicks: -1, electionEpoch: -1, electing: false });
  p.voterView.quietLeaves += 1;
  p.become('observing', p.leaderId);
  return true;
}

/**
 * An observer's learner session with `left.master` ended (become): unless the new one is with
 * the same member, tell that member to drop us now (OBSERVERLEAVE), whether it is alive, hung
 * (it reads it when it resumes) or dead (the send goes nowhere).
 */
export function leftMaster(p: ZabPeer, left: { readonly master: number; readonly session: number }): void {
  if (p.learner !== null && p.learner.master === left.master) return;
  if (left.master < 0 || left.master === p.id) return;
  p.send(left.master, { type: 'OBSERVERLEAVE', session: left.session });
}

/** The observer's view says `voter` cannot feed it while `leader` leads. */
export function masterSkipped(p: ZabPeer, voter: number, leader: number): boolean {
  if (voter === p.avoidMaster || p.voterView.down.has(voter) || p.voterView.quiet.has(voter)) return true;
  const follows = p.voterView.follows.get(voter);
  // LOOKING (-1) is not skipped: a master may only be finishing the election we just left, and
  // keeps our OBSERVERINFO until it is synced.
  return follows !== undefined && follows !== -1 && follows !== leader;
}

function onObserverInfo(p: ZabPeer, m: MasterState, from: number, msg: LearnerInfoMsg): void {
  // Any observer configured to learn from a master: the observer chooses (observerMasterOf with
  // its view of the voters). Our vote goes first, so one that takes us (or someone else) for
  // the leader by a stale vote sees whom we follow and looks again (learner.ts).
  if (msg.type !== 'OBSERVERINFO' || !p.config.observerMasters.has(from)) return;
  // A repeated OBSERVERINFO (the observer asks again each tick while connecting) for a session
  // already past LEADERINFO must not restart its sync.
  const known = m.observers.get(from);
  if (known !== undefined && known.session === msg.session && known.phase !== 'leaderInfo') return;
  const r: LearnerRecord = {
    id: from,
    observer: true,
    session: msg.session,
    phase: 'leaderInfo',
    segments: [],
    snapshotZxid: 0,
    lastZxid: 0,
    syncZxid: -1,
    ackedZxid: -1,
    ticksSilent: 0,
  };
  m.observers.set(from, r);
  p.send(from, notificationOf(p));
  p.send(from, { type: 'LEADERINFO', epoch: p.currentEpoch, session: r.session });
}

function onAckEpoch(p: ZabPeer, r: LearnerRecord, msg: AckEpochMsg): void {
  if (r.phase !== 'leaderInfo' || msg.session !== r.session) return;
  r.phase = 'epochAcked';
  r.segments = msg.segments;
  r.snapshotZxid = msg.snapshotZxid;
  r.lastZxid = msg.lastZxid;
  trySync(p, r);
}

/** Sync once our commit point covers what the observer has (it holds committed txns only,
 * possibly more of them than we have seen committed yet). */
function trySync(p: ZabPeer, r: LearnerRecord): void {
  if (r.phase !== 'epochAcked' || r.lastZxid > p.commitZxid) return;
  sendSyncStream(p, r, p.commitZxid, p.currentEpoch);
}

/** A message from an observer to us as its master; false when it is not one. */
export function masterMessage(p: ZabPeer, m: MasterState, from: number, msg: Msg): boolean {
  if (p.isVoter(from)) return false;
  if (msg.type === 'OBSERVERINFO') {
    onObserverInfo(p, m, from, msg);
    return true;
  }
  const r = m.observers.get(from);
  if (r === undefined) return true; // not (or no longer) ours: stale
  if (msg.type === 'OBSERVERLEAVE') {
    if (r.session === msg.session) m.observers.delete(from); // it learns elsewhere now
    return true;
  }
  r.ticksSilent = 0;
  switch (msg.type) {
    case 'ACKEPOCH':
      onAckEpoch(p, r, msg);
      break;
    case 'ACKNEWLEADER':
      if (r.phase === 'syncing' && msg.epoch === p.currentEpoch) {
        r.phase = 'active';
        p.send(r.id, { type: 'UPTODATE', commitZxid: p.commitZxid });
      }
      break;
    default:
      break; // PING, or types an observer never sends
  }
  return true;
}

export function masterTick(p: ZabPeer, m: MasterState): void {
  for (const r of [...m.observers.values()]) {
    r.ticksSilent += 1;
    const limit = r.phase === 'active' ? p.config.syncLimitTicks : p.config.initLimitTicks;
    if (r.ticksSilent > limit) m.observers.delete(r.id);
    else p.send(r.id, { type: 'PING' });
  }
}

/** After every step: relay newly committed txns, and start syncs that waited for our commits. */
export function masterProgress(p: ZabPeer, m: MasterState): void {
  if (m.relayedZxid < 0) m.relayedZxid = p.commitZxid;
  let from = m.relayedZxid;
  // With no observers there is nothing to relay (a synced newcomer starts from its sync point).
  if (m.observers.size === 0) from = p.commitZxid;
  while (from < p.commitZxid) {
    const entries = p.reader.entriesThrough(from, p.commitZxid, entriesPerReadMax);
    assert(entries.length > 0, 'committed entries are in the log');
    for (const e of entries) {
      const inform: Msg = { type: 'INFORM', zxid: e.zxid, payload: e.payload }; // encoded once
      for (const r of m.observers.values()) {
        if (streaming(r) && e.zxid > r.syncZxid) p.send(r.id, inform);
      }
      from = e.zxid;
    }
  }
  m.relayedZxid = p.commitZxid;
  for (const r of m.observers.values()) trySync(p, r);
}

export function masterPeerDown(m: MasterState, peer: number): void {
  m.observers.delete(peer);
}
