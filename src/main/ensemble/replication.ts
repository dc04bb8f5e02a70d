// The Replication the Core uses in an ensemble (writable / propose / forward / notify): request
// forwarding over the quorum transport (REQUEST, TOUCH and REQUESTERROR between learners and
// their leader), the leader's queue of prepared writes, and its resume once it may order writes
// in its epoch.

import { sessionIdHex } from '../../common/ids.js';
import { Err } from '../../common/zk.js';
import type { Core, Replication } from '../core.js';
import type { Logger } from '../logger.js';
import type { ForwardMsg } from '../net/codec.js';
import { touchSessionsMax } from '../net/limits.js';
import type { QuorumTransport } from '../net/transport.js';
import type { ZkDatabase } from '../pipeline/database.js';
import type { PreparedTxn } from '../pipeline/prep.js';
import type { Role } from '../zab/messages.js';
import type { ZabPeer } from '../zab/peer.js';

/** What the driver knows of this member's place in the ensemble; the driver alone changes it. */
export interface MemberState {
  role: Role;
  stopped: boolean;
  /** Set when the driver starts. */
  core: Core | null;
  /** The epoch this member leads, once established, and the history its tree must hold first. */
  established: { epoch: number; zxid: number } | null;
}

export interface EnsembleReplicationOptions {
  member: MemberState;
  peer: ZabPeer;
  transport: QuorumTransport;
  db: ZkDatabase;
  logger: Logger;
  /** A proposal was queued: the driver's loop steps it in soon. */
  wake: () => void;
}

export class EnsembleReplication implements Replication {
  /** The leader's prepared writes, in prepare order, not yet stepped into the Zab core. */
  readonly proposals: PreparedTxn[] = [];
  /** The epoch in which this leader last re-armed sessions and resumed waiting requests. */
  private resumedEpoch = -1;

  constructor(private readonly o: EnsembleReplicationOptions) {}

  writable(): boolean {
    const m = this.o.member;
    const e = m.established;
    return !m.stopped && e !== null && m.role === 'leading' && this.o.peer.isEstablishedLeader() && this.o.db.lastZxid >= e.zxid;
  }

  propose(p: PreparedTxn): void {
    this.proposals.push(p);
    this.o.wake();
  }

  forward(m: ForwardMsg): number {
    if (!this.learnerSynced()) return -1;
    return this.o.transport.send(this.o.peer.leaderId, m) ? this.o.peer.currentEpoch : -1;
  }

  notify(to: number, m: ForwardMsg): void {
    if (this.o.member.role === 'leading') this.o.transport.send(to, m);
  }

  /** A follower or observer in the broadcast phase with its leader. */
  private learnerSynced(): boolean {
    const { member, peer } = this.o;
    if (member.stopped || (member.role !== 'following' && member.role !== 'observing')) return false;
    return peer.leaderId >= 0 && peer.learner !== null && peer.learner.phase === 'active';
  }

  /**
   * REQUEST and TOUCH at the leader, from synced learners only; REQUESTERROR at a learner (from
   * its leader). A REQUEST from any other member (not synced with us, or we do not lead) is
   * answered ConnectionLoss, as a member that does not lead answers it: the learner's request
   * waits for a leader it has synced with.
   */
  onForward(from: number, m: ForwardMsg): void {
    const { member, transport } = this.o;
    const core = member.core;
    if (member.stopped || core === null) return;
    if (m.type === 'REQUEST') {
      const synced = member.role === 'leading' && this.syncedLearner(from);
      if (!synced && member.role === 'leading') {
        this.o.logger.warn({ from, session: sessionIdHex(m.session), op: m.op }, 'REQUEST from a member that is not a synced learner: refused');
      }
      const answer = synced
        ? core.onForwardedRequest(m, from)
        : ({ type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err: Err.connectionLoss, zxid: 0 } as const);
      if (answer !== null) transport.send(from, answer);
      return;
    }
    if (m.type === 'TOUCH') {
      if (member.role === 'leading' && this.syncedLearner(from)) core.onLearnerTouch(m.sessions);
      return;
    }
    if (from !== this.o.peer.leaderId) return;
    core.onForwardError(m);
    core.flushOut();
  }

  /**
   * The leader: `from` completed sync with us (its learner record is active), or it is an
   * observer with an observer master while a follower is synced with us. Which follower feeds
   * it is the observer's choice (zab/observer-master.ts observerMasterOf, over its view of the
   * voters), which we cannot see; only a synced follower serves observers, and the observer
   * forwards only once synced with one. (The configured master was checked here before: once
   * it died, or led, its observers' requests were refused for as long as they learnt elsewhere.)
   */
  private syncedLearner(from: number): boolean {
    const learners = this.o.peer.leader?.learners;
    if (learners === undefined) return false;
    const r = learners.get(from);
    if (r !== undefined) return r.phase === 'active';
    if (!this.o.peer.config.observerMasters.has(from)) return false;
    for (const l of learners.values()) if (!l.observer && l.phase === 'active') return true;
    return false;
  }

  /**
   * A synced learner, each tick: the global sessions its clients touched go to the leader
   * (TOUCH; kept while there is none, so a new leader hears of them), and requests a refusing
   * leader sent back are sent again. `touch`: once a tickTime.
   */
  learnerTick(touch: boolean): void {
    const core = this.o.member.core;
    if (core === null || !this.learnerSynced()) return;
    if (core.hasPendingForLeader()) core.resumeLearnerRequests(this.o.peer.currentEpoch);
    if (!touch) return;
    const sessions = core.takeTouched();
    for (let i = 0; i < sessions.length; i += touchSessionsMax) {
      this.forward({ type: 'TOUCH', sessions: sessions.slice(i, i + touchSessionsMax) });
    }
  }

  /**
   * The leader, once it may order writes in its epoch (its history applied): global sessions'
   * timers start again from now, and its clients' requests that waited for a leader go.
   */
  leaderReady(): void {
    const e = this.o.member.established;
    if (e === null || this.resumedEpoch === e.epoch || !this.writable()) return;
    this.resumedEpoch = e.epoch;
    const core = this.o.member.core!;
    core.rearmGlobalSessions();
    core.resumeLearnerRequests(e.epoch);
    // A new ensemble's first leader makes the session secret (sessions/secret.ts).
    core.ensureSessionSecret();
  }
}
