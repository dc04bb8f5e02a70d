// The following and observing roles (Learner.java, Follower.java, Observer.java): connect with
// FOLLOWERINFO / OBSERVERINFO, accept the leader's epoch, take the sync stream, acknowledge
// NEWLEADER only once the history and the epoch are durable (ZOOKEEPER-3911: the ack goes into
// the send-after-persist queue), then log proposals, ack them after fsync and apply commits.
// Observers take INFORM (a committed txn with its payload) instead of PROPOSAL + COMMIT.
// An observer learns from its configured observer master (a follower) when it has one, else
// from the leader; when that member fails it falls back to the other (ZooKeeper's Observer with
// observerMasterPort). An active follower serves its observers (observer-master.ts).

import { assert } from '../../common/assert.js';
import { zxidEpoch } from '../../common/ids.js';
import { answerNotification, notificationOf } from './election.js';
import type { Msg } from './messages.js';
import type { RoleHandler, ZabPeer } from './peer.js';
import { masterMessage, masterPeerDown, masterProgress, masterSkipped, leaveQuietMaster, masterTick, masterUnseen, newMasterState, observerMasterOf, type MasterState } from './observer-master.js';

export interface LearnerState {
  phase: 'connecting' | 'epochAcked' | 'syncing' | 'newLeader' | 'active';
  readonly session: number;
  /** Whom we learn from: the leader, or (observers) an observer master. */
  readonly master: number;
  ticksSilent: number;
  /** An active follower's observers. */
  serving: MasterState | null;
  /**
   * OBSERVERINFO from our observers that came before we were active, answered once we are.
   * ZooKeeper opens the observer master port only after the follower synced; dropping the
   * message instead would leave the observer waiting out initLimit (20 s at the defaults).
   */
  readonly waitingObservers: Map<number, Msg>;
}

function learner(p: ZabPeer): LearnerState {
  assert(p.learner !== null, 'learner state');
  return p.learner;
}

function onLeaderInfo(p: ZabPeer, s: LearnerState, epoch: number, session: number): void {
  if (s.phase !== 'connecting' || session !== s.session) return;
  if (epoch < p.acceptedEpoch) {
    giveUp(p, s); // Learner.registerWithLeader: leader is behind our accepted epoch
    return;
  }
  p.setAcceptedEpoch(epoch);
  s.phase = 'epochAcked';
  p.sendAfterDurable(s.master, {
    type: 'ACKEPOCH',
    session: s.session,
    currentEpoch: p.currentEpoch,
    lastZxid: p.lastLoggedZxid,
    snapshotZxid: p.reader.baseZxid(),
    segments: p.reader.segments(),
  });
}

function onSyncMessage(p: ZabPeer, s: LearnerState, msg: Msg): void {
  switch (msg.type) {
    // The leader planned the sync from our ACKEPOCH: a header that does not fit our log, or a
    // NEWLEADER that does not end where the stream left it, is impossible (Ready.rejected).
    case 'DIFF':
      if (s.phase !== 'epochAcked') return;
      if (msg.zxid !== p.lastLoggedZxid) return p.reject(s.master, msg, 'DIFF does not start at our last zxid');
      s.phase = 'syncing';
      return;
    case 'TRUNC':
      if (s.phase !== 'epochAcked') return;
      // The common prefix the leader found: a zxid of our log, above what we applied.
      if (msg.zxid >= p.lastLoggedZxid || msg.zxid < p.appliedZxid || !p.holds(msg.zxid)) {
        return p.reject(s.master, msg, 'TRUNC to a zxid that is not in our uncommitted tail');
      }
      p.truncate(msg.zxid);
      s.phase = 'syncing';
      return;
    case 'SNAP':
      if (s.phase !== 'epochAcked') return;
      if (msg.zxid < p.appliedZxid || zxidEpoch(msg.zxid) > p.acceptedEpoch) {
        return p.reject(s.master, msg, 'SNAP below our applied state or from an epoch not accepted');
      }
      p.installSnapshot(msg.zxid, msg.data);
      s.phase = 'syncing';
      return;
    case 'NEWLEADER':
      if (s.phase !== 'syncing') return;
      if (msg.zxid !== p.lastLoggedZxid || msg.epoch !== p.acceptedEpoch) {
        return p.reject(s.master, msg, 'NEWLEADER does not match our log and accepted epoch');
      }
      p.setCurrentEpoch(msg.epoch);
      s.phase = 'newLeader';
      p.sendAfterDurable(s.master, { type: 'ACKNEWLEADER', epoch: msg.epoch });
      return;
    case 'UPTODATE':
      if (s.phase !== 'newLeader') return;
      if (p.commitProblem(msg.commitZxid) !== null) return p.reject(s.master, msg, p.commitProblem(msg.commitZxid)!);
      s.phase = 'active';
      p.commitTo(msg.commitZxid);
      p.emit({ kind: 'uptodate', epoch: p.currentEpoch, leader: p.leaderId });
      if (!p.isObserver && p.observers.length > 0) {
        const serving = newMasterState();
        s.serving = serving;
        for (const [from, info] of s.waitingObservers) masterMessage(p, serving, from, info);
      }
      s.waitingObservers.clear();
      p.vote = { leader: p.leaderId, zxid: msg.commitZxid, peerEpoch: p.currentEpoch };
      return;
    default:
      onBroadcastMessage(p, s, msg);
  }
}

function onBroadcastMessage(p: ZabPeer, s: LearnerState, msg: Msg): void {
  const synced = s.phase === 'newLeader' || s.phase === 'active';
  switch (msg.type) {
    case 'PROPOSAL': {
      const streamed = s.phase === 'syncing' || (synced && !p.isObserver);
      if (!streamed) return;
      const problem = p.appendProblem(msg.zxid);
      if (problem !== null) return p.reject(s.master, msg, problem);
      p.append({ zxid: msg.zxid, payload: msg.payload });
      if (s.phase !== 'syncing') p.sendAfterDurable(s.master, { type: 'ACK', zxid: msg.zxid });
      return;
    }
    case 'COMMIT': {
      if (!synced || p.isObserver) return;
      const problem = p.commitProblem(msg.zxid);
      if (problem !== null) return p.reject(s.master, msg, `COMMIT of an unknown zxid: ${problem}`);
      p.commitTo(msg.zxid);
      return;
    }
    case 'INFORM': {
      if (!synced || !p.isObserver) return;
      const problem = p.appendProblem(msg.zxid);
      if (problem !== null) return p.reject(s.master, msg, problem);
      p.append({ zxid: msg.zxid, payload: msg.payload });
      p.commitTo(msg.zxid);
      return;
    }
    case 'PING':
      if (s.phase !== 'connecting') p.send(s.master, { type: 'PING' });
      return;
    default:
      return; // types a leader never sends, or not in this phase
  }
}

function onMessage(p: ZabPeer, from: number, msg: Msg): void {
  const s = learner(p);
  if (msg.type === 'NOTIFICATION') {
    if (p.isObserver && from === s.master) {
      // Our observer master stopped following (see giveUp). While we are still connecting, a
      // LOOKING master may only be finishing the election we just left: wait for it (tick
      // repeats OBSERVERINFO) rather than fall back to the leader.
      if (msg.state === 'LOOKING' && s.phase !== 'connecting') return giveUp(p, s, true);
      // A master sends its vote before LEADERINFO: one that follows (or is) another leader than
      // ours means our vote is stale; look again (the view skips it meanwhile).
      if (msg.state !== 'LOOKING' && msg.leader !== p.leaderId) return giveUp(p, s, false);
    }
    answerNotification(p, from, msg);
    return;
  }
  if (s.serving !== null && masterMessage(p, s.serving, from, msg)) return;
  if (msg.type === 'OBSERVERINFO' && !p.isObserver && !p.isVoter(from)) {
    if (p.config.observerMasters.has(from)) s.waitingObservers.set(from, msg);
    return;
  }
  if (msg.type === 'OBSERVERLEAVE') {
    const waiting = s.waitingObservers.get(from);
    if (waiting?.type === 'OBSERVERINFO' && waiting.session === msg.session) s.waitingObservers.delete(from);
    return;
  }
  if (msg.type === 'LEADERINFO' && from !== s.master && answersProbe(p, s, from, msg.session)) {
    // The master we asked for while learning from another one is synced and takes us: move to
    // it now (our current master fed us until this moment, so no commit waited on the move).
    p.nextMaster = from;
    p.become('observing', p.leaderId);
    const moved = learner(p);
    assert(moved.master === from && moved.session === msg.session, 'moved to the probed master');
    onLeaderInfo(p, moved, msg.epoch, msg.session);
    return;
  }
  if (from !== s.master) {
    // Only the member we learn from speaks to us here; count what another still feeds us.
    if (p.isObserver && msg.type !== 'LEADERINFO') p.voterView.strayFeeds += 1;
    return;
  }
  s.ticksSilent = 0;
  if (msg.type === 'LEADERINFO') onLeaderInfo(p, s, msg.epoch, msg.session);
  else onSyncMessage(p, s, msg);
}

/**
 * Leave for a new election; an observer avoids this member at its next attempt. A follower that
 * fed observers tells them at once (a LOOKING notification; ZooKeeper's ObserverMaster closes
 * their connections), so they look for the new leader now instead of after syncLimit.
 */
function giveUp(p: ZabPeer, s: LearnerState, avoid = true): void {
  if (p.isObserver && avoid) p.avoidMaster = s.master;
  const served = s.serving === null ? [] : [...s.serving.observers.keys()];
  p.become('looking', -1);
  for (const o of served) p.send(o, notificationOf(p));
}

/**
 * Whom an observer learns from now: its observer master (observerMasterOf), skipping the
 * followers its view says cannot feed it (down, following another leader, or failed it last
 * time); the leader when it has no master or no follower is left. A follower learns from the
 * leader.
 */
function chooseMaster(p: ZabPeer): number {
  if (!p.isObserver) return p.leaderId;
  const master = observerMasterOf(p.config, p.id, p.leaderId, (v) => masterSkipped(p, v, p.leaderId));
  return master ?? p.leaderId;
}

/**
 * An active observer whose choice is another follower than the member it learns from (its
 * master is back, or came to follow our leader) asks that follower with the session it would
 * use next, and keeps learning where it is until the follower answers (it answers once synced).
 * Only a follower that told us it follows our leader is asked: a member still electing may end
 * up leading, and would answer as a leader. -1: none.
 */
function probeTarget(p: ZabPeer, s: LearnerState): number {
  if (!p.isObserver || s.phase !== 'active') return -1;
  const choice = chooseMaster(p);
  return choice === s.master || choice === p.leaderId ? -1 : choice;
}

function answersProbe(p: ZabPeer, s: LearnerState, from: number, session: number): boolean {
  return session === s.session + 1 && probeTarget(p, s) === from && p.voterView.follows.get(from) === p.leaderId;
}

/**
 * Each tick, an active observer whose choice is not where it learns: the OBSERVERINFO probe once
 * that follower told us it follows our leader; until then our vote, which it answers with its
 * own (its vote at its election's end may have been lost: sent before our link was open).
 */
function probe(p: ZabPeer, s: LearnerState): void {
  const target = probeTarget(p, s);
  if (target < 0) return;
  if (p.voterView.follows.get(target) === p.leaderId) {
    p.send(target, { type: 'OBSERVERINFO', acceptedEpoch: p.acceptedEpoch, session: s.session + 1 });
  } else {
    p.send(target, notificationOf(p));
  }
}

function makeRole(observer: boolean): RoleHandler {
  return {
    enter(p) {
      p.learnerSession += 1;
      // A probe answered (onMessage): that master has our OBSERVERINFO of this session already.
      const probed = p.nextMaster;
      p.nextMaster = -1;
      const master = probed >= 0 ? probed : chooseMaster(p);
      p.learner = { phase: 'connecting', session: p.learnerSession, master, ticksSilent: 0, serving: null, waitingObservers: new Map() };
      if (probed >= 0) return;
      p.send(master, {
        type: observer ? 'OBSERVERINFO' : 'FOLLOWERINFO',
        acceptedEpoch: p.acceptedEpoch,
        session: p.learnerSession,
      });
    },
    message: onMessage,
    tick(p) {
      const s = learner(p);
      s.ticksSilent += 1;
      if (s.phase === 'active' && p.isObserver && leaveQuietMaster(p, s.master, s.ticksSilent)) return;
      const limit = s.phase === 'active' ? p.config.syncLimitTicks : p.config.initLimitTicks;
      if (s.ticksSilent > limit) {
        giveUp(p, s);
        return;
      }
      if (s.serving !== null) masterTick(p, s.serving);
      if (s.phase === 'connecting' && p.isObserver && s.master !== p.leaderId) masterUnseen(p, s.master, s.ticksSilent);
      if (s.phase === 'connecting' && p.isObserver && chooseMaster(p) !== s.master) {
        // Nothing learnt yet, and our view no longer picks this member (it went down, was never
        // up, or follows another leader): connect to the one it picks now, not after initLimit.
        p.become('observing', p.leaderId);
        return;
      }
      if (s.phase === 'connecting' && p.isObserver && s.master !== p.leaderId) {
        // A master still in its election dropped our OBSERVERINFO: ask again (a duplicate is
        // ignored once that master has answered it).
        p.send(s.master, { type: 'OBSERVERINFO', acceptedEpoch: p.acceptedEpoch, session: s.session });
      }
      probe(p, s);
    },
    peerUp() {},
    peerDown(p, peer) {
      const s = learner(p);
      if (peer === s.master) giveUp(p, s);
      else if (s.serving !== null) masterPeerDown(s.serving, peer);
    },
    progress(p) {
      const s = p.learner;
      if (s !== null && s.serving !== null) masterProgress(p, s.serving);
    },
  };
}

export const followingRole = makeRole(false);
export const observingRole = makeRole(true);
