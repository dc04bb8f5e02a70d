// The following and observing roles (Learner.java, Follower.java, Observer.java): connect with
// FOLLOWERINFO / OBSERVERINFO, accept the leader's epoch, take the sync stream, acknowledge
// NEWLEADER only once the history and the epoch are durable (ZOOKEEPER-3911: the ack goes into
// the send-after-persist queue), then log proposals, ack them after fsync and apply commits.
// Observers take INFORM (a committed txn with its payload) instead of PROPOSAL + COMMIT.

import { assert } from '../../common/assert.js';
import { answerNotification } from './election.js';
import type { Msg } from './messages.js';
import type { RoleHandler, ZabPeer } from './peer.js';

export interface LearnerState {
  phase: 'connecting' | 'epochAcked' | 'syncing' | 'newLeader' | 'active';
  readonly session: number;
  ticksSilent: number;
}

function learner(p: ZabPeer): LearnerState {
  assert(p.learner !== null, 'learner state');
  return p.learner;
}

function onLeaderInfo(p: ZabPeer, s: LearnerState, epoch: number, session: number): void {
  if (s.phase !== 'connecting' || session !== s.session) return;
  if (epoch < p.acceptedEpoch) {
    p.become('looking', -1); // Learner.registerWithLeader: leader is behind our accepted epoch
    return;
  }
  p.setAcceptedEpoch(epoch);
  s.phase = 'epochAcked';
  p.sendAfterDurable(p.leaderId, {
    type: 'ACKEPOCH',
    session: s.session,
    currentEpoch: p.currentEpoch,
    lastZxid: p.lastLoggedZxid,
    segments: p.reader.segments(),
  });
}

function onSyncMessage(p: ZabPeer, s: LearnerState, msg: Msg): void {
  switch (msg.type) {
    case 'DIFF':
      if (s.phase !== 'epochAcked') return;
      assert(msg.zxid === p.lastLoggedZxid, 'DIFF starts at our last zxid');
      s.phase = 'syncing';
      return;
    case 'TRUNC':
      if (s.phase !== 'epochAcked') return;
      p.truncate(msg.zxid);
      s.phase = 'syncing';
      return;
    case 'NEWLEADER':
      if (s.phase !== 'syncing') return;
      assert(msg.zxid === p.lastLoggedZxid, 'NEWLEADER: our log equals the leader history');
      assert(msg.epoch === p.acceptedEpoch, 'NEWLEADER for the epoch we accepted');
      p.setCurrentEpoch(msg.epoch);
      s.phase = 'newLeader';
      p.sendAfterDurable(p.leaderId, { type: 'ACKNEWLEADER', epoch: msg.epoch });
      return;
    case 'UPTODATE':
      if (s.phase !== 'newLeader') return;
      s.phase = 'active';
      p.commitTo(msg.commitZxid);
      p.emit({ kind: 'uptodate', epoch: p.currentEpoch, leader: p.leaderId });
      p.vote = { leader: p.leaderId, zxid: msg.commitZxid, peerEpoch: p.currentEpoch };
      return;
    default:
      onBroadcastMessage(p, s, msg);
  }
}

function onBroadcastMessage(p: ZabPeer, s: LearnerState, msg: Msg): void {
  const synced = s.phase === 'newLeader' || s.phase === 'active';
  switch (msg.type) {
    case 'PROPOSAL':
      if (s.phase === 'syncing') {
        p.append({ zxid: msg.zxid, payload: msg.payload });
      } else if (synced && !p.isObserver) {
        p.append({ zxid: msg.zxid, payload: msg.payload });
        p.sendAfterDurable(p.leaderId, { type: 'ACK', zxid: msg.zxid });
      }
      return;
    case 'COMMIT':
      if (synced && !p.isObserver) p.commitTo(msg.zxid);
      return;
    case 'INFORM':
      if (synced && p.isObserver) {
        p.append({ zxid: msg.zxid, payload: msg.payload });
        p.commitTo(msg.zxid);
      }
      return;
    case 'PING':
      if (s.phase !== 'connecting') p.send(p.leaderId, { type: 'PING' });
      return;
    default:
      return; // types a leader never sends, or not in this phase
  }
}

function onMessage(p: ZabPeer, from: number, msg: Msg): void {
  if (msg.type === 'NOTIFICATION') {
    answerNotification(p, from, msg);
    return;
  }
  if (from !== p.leaderId) return; // only the leader we follow speaks to us here
  const s = learner(p);
  s.ticksSilent = 0;
  if (msg.type === 'LEADERINFO') onLeaderInfo(p, s, msg.epoch, msg.session);
  else onSyncMessage(p, s, msg);
}

function makeRole(observer: boolean): RoleHandler {
  return {
    enter(p) {
      p.learnerSession += 1;
      p.learner = { phase: 'connecting', session: p.learnerSession, ticksSilent: 0 };
      p.send(p.leaderId, {
        type: observer ? 'OBSERVERINFO' : 'FOLLOWERINFO',
        acceptedEpoch: p.acceptedEpoch,
        session: p.learnerSession,
      });
    },
    message: onMessage,
    tick(p) {
      const s = learner(p);
      s.ticksSilent += 1;
      const limit = s.phase === 'active' ? p.config.syncLimitTicks : p.config.initLimitTicks;
      if (s.ticksSilent > limit) p.become('looking', -1);
    },
    peerUp() {},
    peerDown(p, peer) {
      if (peer === p.leaderId) p.become('looking', -1);
    },
    progress() {},
  };
}

export const followingRole = makeRole(false);
export const observingRole = makeRole(true);
