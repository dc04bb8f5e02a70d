// Fast leader election (FastLeaderElection.java): votes (peerEpoch, zxid, sid) ordered
// lexicographically, rounds (electionEpoch = ZooKeeper's logicalclock), a received-vote set
// for this round and an out-of-election set of peers already FOLLOWING/LEADING.
// Observers vote for nobody: they learn the leader from the out-of-election set.

import type { NotificationMsg, Msg } from './messages.js';
import type { RoleHandler, ZabPeer } from './peer.js';
import { Timeout } from './timeouts.js';

export interface Vote {
  readonly leader: number;
  readonly zxid: number;
  readonly peerEpoch: number;
}

/** FastLeaderElection.totalOrderPredicate: is `a` better than `b`? */
export function voteGreater(a: Vote, b: Vote): boolean {
  if (a.peerEpoch !== b.peerEpoch) return a.peerEpoch > b.peerEpoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  return a.leader > b.leader;
}

export function voteEquals(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.zxid === b.zxid && a.peerEpoch === b.peerEpoch;
}

interface OutOfElection {
  readonly vote: Vote;
  readonly electionEpoch: number;
  readonly leading: boolean;
}

export interface LookingState {
  readonly received: Map<number, Vote>;
  readonly outOfElection: Map<number, OutOfElection>;
  readonly rebroadcast: Timeout;
  /** A quorum agreed on our vote: decide after this many more ticks unless a better vote
   * arrives (ZooKeeper's finalizeWait); 0 = nothing pending. */
  decideInTicks: number;
}

const looking = new WeakMap<ZabPeer, LookingState>();

function state(p: ZabPeer): LookingState {
  const s = looking.get(p);
  if (s === undefined) throw new Error('looking state missing');
  return s;
}

export function notificationOf(p: ZabPeer): NotificationMsg {
  return {
    type: 'NOTIFICATION',
    leader: p.vote.leader,
    zxid: p.vote.zxid,
    peerEpoch: p.vote.peerEpoch,
    electionEpoch: p.electionEpoch,
    state: p.stateName(),
  };
}

function broadcast(p: ZabPeer): void {
  for (const v of p.voters) if (v !== p.id) p.send(v, notificationOf(p));
}

/** A non-looking voter answers a looking peer (or any observer) with its current vote. */
export function answerNotification(p: ZabPeer, from: number, msg: NotificationMsg): void {
  if (p.isObserver) return; // observers never answer: voters do not need their votes
  if (msg.state === 'LOOKING' || !p.isVoter(from)) p.send(from, notificationOf(p));
}

function agreeing(votes: Map<number, Vote>, vote: Vote): number[] {
  const out: number[] = [];
  for (const [id, v] of votes) if (voteEquals(v, vote)) out.push(id);
  return out;
}

/** FastLeaderElection.checkLeader: follow someone else only if it says it is LEADING. */
function leaderConfirmed(p: ZabPeer, s: LookingState, leader: number, electionEpoch: number): boolean {
  if (leader === p.id) return p.electionEpoch === electionEpoch;
  return s.outOfElection.get(leader)?.leading === true;
}

function decide(p: ZabPeer, leader: number): void {
  if (leader === p.id) p.become('leading', leader);
  else p.become(p.isObserver ? 'observing' : 'following', leader);
  // A voter tells the observers at once: they do not vote, and an observer that lost its leader
  // would otherwise hear the outcome only at its next notification round (up to the election
  // timeout later), while its clients' writes wait.
  if (!p.isObserver) for (const o of p.observers) p.send(o, notificationOf(p));
}

function onNotification(p: ZabPeer, from: number, n: NotificationMsg): void {
  const s = state(p);
  if (!p.isVoter(from)) {
    answerNotification(p, from, n);
    return;
  }
  // A voter only ever votes for a voter (its own id, or a vote it adopted).
  if (!p.isVoter(n.leader)) return p.reject(from, n, `a vote for ${n.leader}, which is not a voter`);
  const vote: Vote = { leader: n.leader, zxid: n.zxid, peerEpoch: n.peerEpoch };
  if (n.state === 'LOOKING') {
    if (p.isObserver) return;
    const before = p.vote;
    if (n.electionEpoch > p.electionEpoch) {
      p.electionEpoch = n.electionEpoch;
      s.received.clear();
      const self = p.selfVote();
      p.vote = voteGreater(vote, self) ? vote : self;
      broadcast(p);
    } else if (n.electionEpoch < p.electionEpoch) {
      p.send(from, notificationOf(p));
      return;
    } else if (voteGreater(vote, p.vote)) {
      p.vote = vote;
      broadcast(p);
    } else if (voteGreater(p.vote, vote)) {
      // The sender votes worse than we do: tell it now. It may have missed our broadcast (sent
      // while it was still FOLLOWING, which answers for the old leader), and would otherwise
      // learn our vote only at its rebroadcast timeout (bench: 700 ms instead of 200 ms to a
      // new leader). ZooKeeper re-sends after finalizeWait; a reply is sooner, and only a worse
      // vote gets one, so it cannot ping-pong.
      p.send(from, notificationOf(p));
    }
    s.received.set(from, vote);
    s.received.set(p.id, p.vote);
    const agreed = p.isQuorum(agreeing(s.received, p.vote));
    if (agreed && s.received.size === p.voters.length) {
      decide(p, p.vote.leader); // every vote is in: nothing better can come
      return;
    }
    // The wait starts when a quorum first agrees, and again whenever our vote changes.
    if (!agreed) s.decideInTicks = 0;
    else if (s.decideInTicks === 0 || before !== p.vote) s.decideInTicks = p.config.finalizeWaitTicks;
    return;
  }
  // The sender is FOLLOWING or LEADING (an election already ended).
  s.outOfElection.set(from, { vote, electionEpoch: n.electionEpoch, leading: n.state === 'LEADING' });
  if (!p.isObserver && n.electionEpoch === p.electionEpoch) {
    s.received.set(from, vote);
    if (p.isQuorum(agreeing(s.received, vote)) && leaderConfirmed(p, s, vote.leader, n.electionEpoch)) {
      p.vote = vote;
      decide(p, vote.leader);
      return;
    }
  }
  // Vote.equals for non-LOOKING votes of different versions compares the leader only: members
  // that joined in different rounds report different (zxid, peerEpoch) for the same leader, and
  // leaderConfirmed() still requires that leader to say LEADING. Discovery keeps it safe.
  const sameLeader: number[] = [];
  for (const [id, o] of s.outOfElection) if (o.vote.leader === vote.leader) sameLeader.push(id);
  if (p.isQuorum(sameLeader) && leaderConfirmed(p, s, vote.leader, n.electionEpoch)) {
    p.electionEpoch = Math.max(p.electionEpoch, n.electionEpoch);
    p.vote = vote;
    decide(p, vote.leader);
  }
}

export const lookingRole: RoleHandler = {
  enter(p) {
    const timeout = p.config.electionTimeoutTicks;
    looking.set(p, {
      received: new Map(),
      outOfElection: new Map(),
      rebroadcast: new Timeout({ name: 'election', baseTicks: timeout, jitterTicks: Math.ceil(timeout / 2), prng: p.prng }),
      decideInTicks: 0,
    });
    const s = state(p);
    if (!p.isObserver) {
      p.electionEpoch += 1;
      p.vote = p.selfVote();
      s.received.set(p.id, p.vote);
      if (p.voters.length === 1) {
        s.decideInTicks = 1;
        return;
      }
    }
    broadcast(p);
  },
  message(p, from, msg: Msg) {
    if (msg.type === 'NOTIFICATION') onNotification(p, from, msg);
    // Anything else belongs to a role we left; the sender will time out or retry.
  },
  tick(p) {
    const s = state(p);
    if (s.decideInTicks > 0 && --s.decideInTicks === 0 && p.isQuorum(agreeing(s.received, p.vote))) {
      decide(p, p.vote.leader);
      return;
    }
    if (s.rebroadcast.tick()) {
      s.rebroadcast.reset();
      broadcast(p);
    }
  },
  peerUp(p, peer) {
    if (p.isVoter(peer)) p.send(peer, notificationOf(p));
  },
  peerDown() {},
  progress() {},
};
