// ZabPeer: the Zab protocol as a pure, deterministic state machine (etcd-raft's RawNode shape).
// step(input) is the only door for change; ready() hands out one batch of effects; advance()
// accepts it. No clock, sockets, disk or randomness inside: ticks, messages, "persisted" reports
// and a PRNG come in from the driver (src/main/driver.ts in production, test/sim in tests).
//
// Driver contract, per Ready:
//   1. install installSnapshot if any (tree from its data, log emptied with that base), then
//      write persist (truncateTo first, then entries, then epoch files) to the log, no fsync yet;
//   2. send sendNow (when snapshotToSend is set, its SNAP messages carry the applied state);
//   3. when that write (and every earlier one) is durable: send sendAfterPersist, then step
//      { kind: 'snapshotInstalled', zxid } if the batch installed one, then
//      { kind: 'persisted', zxid } once per mustSync batch, in order;
//   4. apply `apply` to the data tree;
//   5. advance(). Never step between ready() and advance().

import { assert, assertNever } from '../../common/assert.js';
import { zxidCounter, zxidEpoch, zxidEpochMax } from '../../common/ids.js';
import { lookingRole, type Vote } from './election.js';
import { leadingRole, type LeaderState } from './leader.js';
import { followingRole, observingRole, type LearnerState } from './learner.js';
import { entriesPerReadMax, proposalsInFlightMaxDefault } from './limits.js';
import { LogReader, type Entry, type LogView } from './log-view.js';
import type {
  InstallSnapshot,
  Input,
  Msg,
  Outbound,
  PeerEvent,
  Ready,
  Rejection,
  Role,
  ServerState,
} from './messages.js';
import { leftMaster, newVoterView, noteInput, type VoterView } from './observer-master.js';
import { majorityVerifier, type QuorumVerifier } from './quorum.js';
import type { Prng } from './timeouts.js';

export interface ZabConfig {
  readonly id: number;
  readonly voters: readonly number[];
  readonly observers: readonly number[];
  /** Ticks a learner may take to connect and sync (ZooKeeper initLimit). */
  readonly initLimitTicks: number;
  /** Ticks a synced learner may stay silent (ZooKeeper syncLimit). */
  readonly syncLimitTicks: number;
  /** Ticks between election notification rounds (jittered by up to half). */
  readonly electionTimeoutTicks: number;
  /** Ticks an election waits, once a quorum agrees, for a better vote (ZooKeeper's
   * finalizeWait, 200 ms); 1 by default. */
  readonly finalizeWaitTicks?: number;
  /** Proposals the leader keeps uncommitted before canPropose() says no. */
  readonly proposalsInFlightMax?: number;
  /** Which voter sets are quorums; a majority of `voters` by default. */
  readonly quorum?: QuorumVerifier;
  /**
   * Observer masters (ZooKeeper's observerMasterPort): the observers listed learn from an active
   * follower (observerMasterOf spreads them over the followers of the current leader; the
   * value is the configured voter), skipping those the observer's view says cannot feed it.
   * Observers not listed learn from the leader.
   */
  readonly observerMasters?: ReadonlyMap<number, number>;
}

export interface PersistedState {
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
  readonly lastLoggedZxid: number;
}

/** One role's handlers (a dispatch table stands in for ZooKeeper's class hierarchy). */
export interface RoleHandler {
  enter(p: ZabPeer): void;
  message(p: ZabPeer, from: number, msg: Msg): void;
  tick(p: ZabPeer): void;
  peerUp(p: ZabPeer, peer: number): void;
  peerDown(p: ZabPeer, peer: number): void;
  /** Runs after every step (durability reports may unblock the role). */
  progress(p: ZabPeer): void;
}

const roles: Record<Role, RoleHandler> = {
  looking: lookingRole,
  following: followingRole,
  leading: leadingRole,
  observing: observingRole,
};

interface Batch {
  readonly zxid: number;
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
}

/** What a peer starts from: its config, the epochs and last zxid it persisted, its log, and the
 *  only randomness it may use (election jitter). */
export interface ZabPeerOptions {
  readonly config: ZabConfig;
  readonly persisted: PersistedState;
  readonly log: LogView;
  readonly prng: Prng;
}

export class ZabPeer {
  readonly id: number;
  readonly voters: readonly number[];
  readonly observers: readonly number[];
  readonly isObserver: boolean;
  readonly config: Required<ZabConfig>;
  readonly prng: Prng;
  readonly reader: LogReader;

  // Epochs as handed to the driver, and as reported durable.
  acceptedEpoch: number;
  currentEpoch: number;
  durableAcceptedEpoch: number;
  durableCurrentEpoch: number;
  lastLoggedZxid: number;
  persistedZxid: number;
  commitZxid: number;
  appliedZxid: number;
  /** Applied zxid as of the last advance(): what the driver's state holds when it reads a Ready. */
  stateZxid: number;

  role: Role = 'looking';
  leaderId = -1;
  ticks = 0;
  /** FLE state kept across roles: our round and our current vote (replies use it). */
  electionEpoch = 0;
  vote: Vote;
  leader: LeaderState | null = null;
  learner: LearnerState | null = null;
  learnerSession = 0;
  /** The member an observer failed to learn from last: its next attempt picks another. */
  avoidMaster = -1;
  /** The master an observer's next learner session starts with (a probe it answered); -1: choose. */
  nextMaster = -1;
  /** Which voters can feed an observer now (observer-master.ts observerMasterOf). */
  readonly voterView: VoterView = newVoterView();

  private sendNow: Outbound[] = [];
  private sendAfterPersist: Outbound[] = [];
  private persistEntries: Entry[] = [];
  private persistTruncateTo: number | undefined = undefined;
  private persistAcceptedEpoch: number | undefined = undefined;
  private persistCurrentEpoch: number | undefined = undefined;
  private apply: Entry[] = [];
  private events: PeerEvent[] = [];
  private installOut: InstallSnapshot | null = null;
  private snapshotToSendZxid: number | undefined = undefined;
  private rejected: Rejection[] = [];
  private inReady = false;
  private readonly batches: Batch[] = [];
  /** Snapshots handed to the driver and not yet reported installed. */
  private readonly installsPending: number[] = [];

  constructor({ config, persisted, log, prng }: ZabPeerOptions) {
    assert(config.voters.includes(config.id) || config.observers.includes(config.id), 'id known');
    assert(config.voters.length >= 1, 'at least one voter');
    assert(!config.voters.some((v) => config.observers.includes(v)), 'voter or observer');
    assert(config.initLimitTicks >= 2 && config.syncLimitTicks >= 2, 'limits >= 2 ticks');
    assert(config.electionTimeoutTicks >= 1, 'election timeout >= 1 tick');
    assert(persisted.currentEpoch <= persisted.acceptedEpoch, 'currentEpoch <= acceptedEpoch');
    assert(log.lastZxid() === persisted.lastLoggedZxid, 'log matches persisted lastLoggedZxid');
    this.config = {
      proposalsInFlightMax: proposalsInFlightMaxDefault,
      quorum: majorityVerifier(config.voters),
      observerMasters: new Map(),
      finalizeWaitTicks: 1,
      ...config,
    };
    for (const [observer, master] of this.config.observerMasters) {
      assert(config.observers.includes(observer) && config.voters.includes(master), 'observer -> voter');
    }
    this.id = config.id;
    this.voters = config.voters;
    this.observers = config.observers;
    this.isObserver = config.observers.includes(config.id);
    this.prng = prng;
    this.reader = new LogReader(log);
    this.acceptedEpoch = persisted.acceptedEpoch;
    this.currentEpoch = persisted.currentEpoch;
    this.durableAcceptedEpoch = persisted.acceptedEpoch;
    this.durableCurrentEpoch = persisted.currentEpoch;
    this.lastLoggedZxid = persisted.lastLoggedZxid;
    this.persistedZxid = persisted.lastLoggedZxid;
    // The tree is the snapshot (committed up to the log's base); the log after it is applied
    // only once a leader says it is committed.
    const base = log.baseZxid();
    assert(base <= persisted.lastLoggedZxid, 'snapshot base within the log');
    this.commitZxid = base;
    this.appliedZxid = base;
    this.stateZxid = base;
    this.vote = this.selfVote();
    roles.looking.enter(this);
  }

  // ---- driver API ----

  step(input: Input): void {
    assert(!this.inReady, 'step between ready() and advance()');
    switch (input.kind) {
      case 'tick':
        this.ticks += 1;
        noteInput(this, this.voterView, input);
        roles[this.role].tick(this);
        break;
      case 'message': {
        if (input.from === this.id || !this.isPeer(input.from)) return; // unknown: drop
        const problem = messageProblem(input.msg);
        if (problem !== null) this.reject(input.from, input.msg, problem);
        else {
          noteInput(this, this.voterView, input);
          roles[this.role].message(this, input.from, input.msg);
        }
        break;
      }
      case 'persisted': {
        const batch = this.batches.shift();
        assert(batch !== undefined, 'persisted without an outstanding batch');
        assert(batch.zxid === input.zxid, `persisted ${input.zxid} but batch had ${batch.zxid}`);
        this.persistedZxid = batch.zxid;
        this.durableAcceptedEpoch = batch.acceptedEpoch;
        this.durableCurrentEpoch = batch.currentEpoch;
        break;
      }
      case 'epochPersisted':
        assert(input.acceptedEpoch <= this.acceptedEpoch, 'epoch persisted was handed over');
        this.durableAcceptedEpoch = Math.max(this.durableAcceptedEpoch, input.acceptedEpoch);
        this.durableCurrentEpoch = Math.max(this.durableCurrentEpoch, input.currentEpoch);
        break;
      case 'propose':
        assert(this.canPropose(), 'propose only at an established leader with room');
        this.leader!.propose(this, input.payload);
        break;
      case 'peerUp':
      case 'peerDown':
        if (!this.isPeer(input.peer)) break;
        noteInput(this, this.voterView, input);
        roles[this.role][input.kind](this, input.peer);
        break;
      case 'snapshotInstalled': {
        const zxid = this.installsPending.shift();
        assert(zxid === input.zxid, `snapshotInstalled ${input.zxid} but handed out ${String(zxid)}`);
        break;
      }
      default:
        assertNever(input, 'input');
    }
    roles[this.role].progress(this);
  }

  hasReady(): boolean {
    return (
      this.sendNow.length > 0 ||
      this.sendAfterPersist.length > 0 ||
      this.mustSync() ||
      this.apply.length > 0 ||
      this.events.length > 0 ||
      this.snapshotToSendZxid !== undefined ||
      this.rejected.length > 0
    );
  }

  ready(): Ready {
    assert(!this.inReady, 'ready() twice without advance()');
    this.inReady = true;
    const persist = {
      entries: this.persistEntries,
      ...(this.persistTruncateTo !== undefined ? { truncateTo: this.persistTruncateTo } : {}),
      ...(this.persistAcceptedEpoch !== undefined ? { acceptedEpoch: this.persistAcceptedEpoch } : {}),
      ...(this.persistCurrentEpoch !== undefined ? { currentEpoch: this.persistCurrentEpoch } : {}),
    };
    return {
      sendNow: this.sendNow,
      sendAfterPersist: this.sendAfterPersist,
      persist,
      apply: this.apply,
      events: this.events,
      mustSync: this.mustSync(),
      installSnapshot: this.installOut,
      snapshotToSend: this.snapshotToSendZxid !== undefined ? { zxid: this.snapshotToSendZxid } : null,
      rejected: this.rejected,
    };
  }

  advance(): void {
    assert(this.inReady, 'advance() without ready()');
    this.inReady = false;
    if (this.installOut !== null) this.installsPending.push(this.installOut.zxid);
    if (this.mustSync()) {
      this.batches.push({
        zxid: this.lastLoggedZxid,
        acceptedEpoch: this.acceptedEpoch,
        currentEpoch: this.currentEpoch,
      });
    }
    this.sendNow = [];
    this.sendAfterPersist = [];
    this.persistEntries = [];
    this.persistTruncateTo = undefined;
    this.persistAcceptedEpoch = undefined;
    this.persistCurrentEpoch = undefined;
    this.apply = [];
    this.events = [];
    this.installOut = null;
    this.snapshotToSendZxid = undefined;
    this.rejected = [];
    this.stateZxid = this.appliedZxid;
    this.reader.clear();
  }

  canPropose(): boolean {
    const leader = this.leader;
    if (this.role !== 'leading' || leader === null || leader.phase !== 'established') return false;
    return leader.inFlight(this) < this.config.proposalsInFlightMax;
  }

  isEstablishedLeader(): boolean {
    return this.role === 'leading' && this.leader !== null && this.leader.phase === 'established';
  }

  /** A one-line status for the simulator's event output. */
  status(): string {
    const hex = (z: number): string => `${zxidEpoch(z)}.${zxidCounter(z)}`;
    const phase = this.leader?.phase ?? this.learner?.phase ?? '-';
    return (
      `${this.role}/${phase} L=${this.leaderId} ae=${this.acceptedEpoch} ce=${this.currentEpoch}` +
      ` log=${hex(this.lastLoggedZxid)} base=${hex(this.reader.baseZxid())} commit=${hex(this.commitZxid)} applied=${hex(this.appliedZxid)}`
    );
  }

  // ---- helpers for the role modules ----

  isPeer(id: number): boolean {
    return this.voters.includes(id) || this.observers.includes(id);
  }

  isQuorum(ids: Iterable<number>): boolean {
    return this.config.quorum.containsQuorum(ids);
  }

  isVoter(id: number): boolean {
    return this.voters.includes(id);
  }

  selfVote(): Vote {
    return { leader: this.id, zxid: this.lastLoggedZxid, peerEpoch: this.currentEpoch };
  }

  send(to: number, msg: Msg): void {
    assert(to !== this.id, 'no message to self');
    this.sendNow.push({ to, msg });
  }

  sendAfterDurable(to: number, msg: Msg): void {
    assert(to !== this.id, 'no message to self');
    // ACKs are cumulative (the leader keeps the highest per voter): a batch that acks a run of
    // proposals sends only the last ACK of the run, not one per proposal.
    const q = this.sendAfterPersist;
    const last = q[q.length - 1];
    if (msg.type === 'ACK' && last !== undefined && last.to === to && last.msg.type === 'ACK') {
      assert(msg.zxid > last.msg.zxid, 'ACKs of one batch increase');
      q[q.length - 1] = { to, msg };
      return;
    }
    q.push({ to, msg });
  }

  emit(event: PeerEvent): void {
    this.events.push(event);
  }

  stateName(): ServerState {
    switch (this.role) {
      case 'looking':
        return 'LOOKING';
      case 'following':
        return 'FOLLOWING';
      case 'leading':
        return 'LEADING';
      case 'observing':
        return 'OBSERVING';
      default:
        return assertNever(this.role, 'role');
    }
  }

  become(role: Role, leaderId: number): void {
    const left = this.learner;
    this.role = role;
    this.leaderId = leaderId;
    this.leader = null;
    this.learner = null;
    roles[role].enter(this);
    if (left !== null && this.isObserver) leftMaster(this, left);
    this.emit({ kind: 'role', role, leader: leaderId, epoch: this.currentEpoch });
  }

  setAcceptedEpoch(epoch: number): void {
    assert(epoch >= this.acceptedEpoch, 'acceptedEpoch never decreases');
    if (epoch === this.acceptedEpoch) return;
    this.acceptedEpoch = epoch;
    this.persistAcceptedEpoch = epoch;
  }

  setCurrentEpoch(epoch: number): void {
    assert(epoch >= this.currentEpoch, 'currentEpoch never decreases');
    assert(epoch <= this.acceptedEpoch, 'currentEpoch <= acceptedEpoch');
    if (epoch === this.currentEpoch) return;
    this.currentEpoch = epoch;
    this.persistCurrentEpoch = epoch;
  }

  /**
   * A message that no correct peer sends in this state: dropped, and the driver closes that
   * peer's connection (Ready.rejected). The caller returns without changing anything else.
   */
  reject(from: number, msg: Msg, why: string): void {
    this.rejected.push({ peer: from, type: msg.type, why });
  }

  /** Why `zxid` cannot be the next entry of our log (append's invariants), or null. */
  appendProblem(zxid: number): string | null {
    const last = this.lastLoggedZxid;
    const epoch = zxidEpoch(zxid);
    if (zxid <= last) return `zxid ${zxidText(zxid)} not after our last ${zxidText(last)}`;
    if (epoch === zxidEpoch(last) ? zxidCounter(zxid) !== zxidCounter(last) + 1 : zxidCounter(zxid) !== 1) {
      return `zxid ${zxidText(zxid)} does not follow our last ${zxidText(last)}`;
    }
    if (epoch > this.acceptedEpoch) return `zxid ${zxidText(zxid)} from an epoch not accepted (${this.acceptedEpoch})`;
    return null;
  }

  /**
   * Why the commit point cannot move to `zxid`, or null. A leader only commits entries it
   * streamed to us, so anything above our commit point must be an entry of our log.
   */
  commitProblem(zxid: number): string | null {
    if (zxid <= this.commitZxid) return null;
    if (zxid > this.lastLoggedZxid) return `commit of ${zxidText(zxid)} beyond our last ${zxidText(this.lastLoggedZxid)}`;
    return this.holds(zxid) ? null : `commit of ${zxidText(zxid)}, which is not in our log`;
  }

  /** Whether our log holds `zxid`: an entry, or the snapshot base it starts after. */
  holds(zxid: number): boolean {
    const base = this.reader.baseZxid();
    if (zxid === base || zxid === this.lastLoggedZxid) return true;
    if (zxid < base || zxid > this.lastLoggedZxid || zxidCounter(zxid) === 0) return false;
    const next = this.reader.entriesAfter(zxid - 1, 1);
    return next.length > 0 && next[0]!.zxid === zxid;
  }

  /** Log one entry (leader proposal or learner accept); asserts contiguity. */
  append(entry: Entry): void {
    const last = this.lastLoggedZxid;
    const epoch = zxidEpoch(entry.zxid);
    assert(entry.zxid > last, `zxids increase: ${entry.zxid} after ${last}`);
    if (epoch === zxidEpoch(last)) {
      assert(zxidCounter(entry.zxid) === zxidCounter(last) + 1, 'proposals contiguous in epoch');
    } else {
      assert(zxidCounter(entry.zxid) === 1, 'an epoch starts at counter 1');
    }
    assert(epoch <= this.acceptedEpoch, 'no entry from an epoch not accepted');
    this.lastLoggedZxid = entry.zxid;
    this.reader.append(entry);
    this.persistEntries.push(entry);
  }

  truncate(zxid: number): void {
    assert(zxid < this.lastLoggedZxid, 'truncation removes something');
    assert(zxid >= this.appliedZxid, 'never truncate an applied (committed) txn');
    this.reader.truncate(zxid);
    while (this.persistEntries.length > 0 && this.persistEntries[this.persistEntries.length - 1]!.zxid > zxid) {
      this.persistEntries.pop();
    }
    if (this.persistEntries.length === 0) {
      this.persistTruncateTo = Math.min(this.persistTruncateTo ?? Infinity, zxid);
    }
    this.lastLoggedZxid = zxid;
    this.persistedZxid = Math.min(this.persistedZxid, zxid);
  }

  /** SNAP sync, leader side: the driver's applied state goes out in this Ready's SNAP messages. */
  snapshotForSend(): number {
    this.snapshotToSendZxid = this.stateZxid;
    return this.stateZxid;
  }

  /** SNAP sync, learner side: state and log are replaced by the leader's snapshot at `zxid`. */
  installSnapshot(zxid: number, data: Uint8Array): void {
    assert(this.apply.length === 0, 'no apply pending in the batch that installs a snapshot');
    assert(zxid >= this.appliedZxid, 'a snapshot never takes the state backwards');
    this.reader.install(zxid);
    this.persistEntries = [];
    this.persistTruncateTo = undefined;
    this.installOut = { zxid, data };
    this.lastLoggedZxid = zxid;
    this.persistedZxid = Math.min(this.persistedZxid, zxid);
    this.commitZxid = zxid;
    this.appliedZxid = zxid;
  }

  /** Raise the commit point and hand out newly committed entries, in order. */
  commitTo(zxid: number): void {
    assert(zxid <= this.lastLoggedZxid, 'commit point never passes the last logged zxid');
    if (zxid <= this.commitZxid) return;
    this.commitZxid = zxid;
    while (this.appliedZxid < this.commitZxid) {
      const entries = this.reader.entriesThrough(this.appliedZxid, this.commitZxid, entriesPerReadMax);
      assert(entries.length > 0, 'committed entries are in the log');
      for (const entry of entries) {
        assert(entry.zxid > this.appliedZxid, 'applied zxids strictly increase');
        this.apply.push(entry);
        this.appliedZxid = entry.zxid;
      }
    }
  }

  private mustSync(): boolean {
    return (
      this.installOut !== null ||
      this.persistEntries.length > 0 ||
      this.persistTruncateTo !== undefined ||
      this.persistAcceptedEpoch !== undefined ||
      this.persistCurrentEpoch !== undefined
    );
  }
}

function zxidText(zxid: number): string {
  return `${zxidEpoch(zxid)}.${zxidCounter(zxid)}`;
}

function zxidProblem(zxid: number, what: string): string | null {
  if (!Number.isSafeInteger(zxid) || zxid < 0 || zxidEpoch(zxid) > zxidEpochMax) return `${what} ${zxid} is not a zxid`;
  return null;
}

function epochProblem(epoch: number, what: string, max = zxidEpochMax): string | null {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > max) return `${what} ${epoch} is not an epoch`;
  return null;
}

function countProblem(n: number, what: string): string | null {
  return Number.isSafeInteger(n) && n >= 0 ? null : `${what} ${n} is negative`;
}

/**
 * What no peer may send whatever the state: a zxid or epoch outside what a zxid can carry (an
 * accepted epoch must leave room for the next one), a negative session or round. The codec has
 * already refused anything that is not a safe integer.
 */
export function messageProblem(msg: Msg): string | null {
  switch (msg.type) {
    case 'NOTIFICATION':
      return zxidProblem(msg.zxid, 'zxid') ?? epochProblem(msg.peerEpoch, 'peerEpoch') ?? countProblem(msg.electionEpoch, 'electionEpoch');
    case 'FOLLOWERINFO':
    case 'OBSERVERINFO':
      return epochProblem(msg.acceptedEpoch, 'acceptedEpoch', zxidEpochMax - 1) ?? countProblem(msg.session, 'session');
    case 'LEADERINFO':
      return epochProblem(msg.epoch, 'epoch') ?? countProblem(msg.session, 'session');
    case 'ACKEPOCH': {
      let problem =
        countProblem(msg.session, 'session') ??
        epochProblem(msg.currentEpoch, 'currentEpoch') ??
        zxidProblem(msg.lastZxid, 'lastZxid') ??
        zxidProblem(msg.snapshotZxid, 'snapshotZxid');
      for (const seg of msg.segments) {
        problem ??= epochProblem(seg.epoch, 'segment epoch') ?? zxidProblem(seg.lastZxid, 'segment zxid');
      }
      return problem;
    }
    case 'NEWLEADER':
      return epochProblem(msg.epoch, 'epoch') ?? zxidProblem(msg.zxid, 'zxid');
    case 'ACKNEWLEADER':
      return epochProblem(msg.epoch, 'epoch');
    case 'UPTODATE':
      return zxidProblem(msg.commitZxid, 'commitZxid');
    case 'DIFF':
    case 'TRUNC':
    case 'SNAP':
    case 'PROPOSAL':
    case 'ACK':
    case 'COMMIT':
    case 'INFORM':
      return zxidProblem(msg.zxid, 'zxid');
    case 'PING':
      return null;
    case 'OBSERVERLEAVE':
      return countProblem(msg.session, 'session');
    default:
      return assertNever(msg, 'message');
  }
}
