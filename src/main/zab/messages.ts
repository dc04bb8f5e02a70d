// Zab quorum messages and the core's inputs and outputs, as plain data (discriminated unions).
// The wire form (FlatBuffers, schemas/quorum.fbs) is the network driver's business; the core
// never sees bytes except txn payloads, which it carries unchanged.
//
// Names follow ZooKeeper's QuorumPacket types (Leader.java constants) where one exists.

import type { Entry, Segment } from './log-view.js';

export type ServerState = 'LOOKING' | 'FOLLOWING' | 'LEADING' | 'OBSERVING';

/** FastLeaderElection.Notification: a vote (leader, zxid, peerEpoch) plus the sender's round. */
export interface NotificationMsg {
  readonly type: 'NOTIFICATION';
  readonly leader: number;
  readonly zxid: number;
  readonly peerEpoch: number;
  readonly electionEpoch: number;
  readonly state: ServerState;
}
/** Learner → leader (Learner.registerWithLeader). Observers send it with observer = true. */
export interface LearnerInfoMsg {
  readonly type: 'FOLLOWERINFO' | 'OBSERVERINFO';
  readonly acceptedEpoch: number;
  /** The learner's connection attempt; echoed in LEADERINFO and ACKEPOCH so stale ones drop. */
  readonly session: number;
}
/** Leader → learner: the epoch the leader proposes (Leader.getEpochToPropose). */
export interface LeaderInfoMsg {
  readonly type: 'LEADERINFO';
  readonly epoch: number;
  readonly session: number;
}
/**
 * Learner → leader. Carries the learner's log as per-epoch segments: the leader uses them to
 * find the common prefix exactly (lastZxid alone is not enough after several failed epochs).
 */
export interface AckEpochMsg {
  readonly type: 'ACKEPOCH';
  readonly session: number;
  readonly currentEpoch: number;
  readonly lastZxid: number;
  /** The learner's snapshot base: its retained log (segments) starts after it. */
  readonly snapshotZxid: number;
  readonly segments: readonly Segment[];
}
/** Sync header: the learner's log matches the leader's up to `zxid`; proposals follow. */
export interface DiffMsg {
  readonly type: 'DIFF';
  readonly zxid: number;
}
/** Sync header: the learner drops every entry above `zxid`; proposals follow. */
export interface TruncMsg {
  readonly type: 'TRUNC';
  readonly zxid: number;
}
/**
 * Sync header: the learner replaces its state and log by the leader's snapshot at `zxid`;
 * proposals after it follow. The core leaves `data` empty: the leader's driver fills it with its
 * serialised applied state (Ready.snapshotToSend), the learner's core hands it back untouched
 * (Ready.installSnapshot).
 */
export interface SnapMsg {
  readonly type: 'SNAP';
  readonly zxid: number;
  readonly data: Uint8Array;
}
export interface ProposalMsg {
  readonly type: 'PROPOSAL';
  readonly zxid: number;
  readonly payload: Uint8Array;
}
/** End of the sync stream: the learner's log now equals the leader's history up to `zxid`. */
export interface NewLeaderMsg {
  readonly type: 'NEWLEADER';
  readonly epoch: number;
  readonly zxid: number;
}
/** Learner → leader, only once the history and currentEpoch are durable (ZOOKEEPER-3911). */
export interface AckNewLeaderMsg {
  readonly type: 'ACKNEWLEADER';
  readonly epoch: number;
}
/** Cumulative: every proposal up to `zxid` is durable on the sender. */
export interface AckMsg {
  readonly type: 'ACK';
  readonly zxid: number;
}
export interface CommitMsg {
  readonly type: 'COMMIT';
  readonly zxid: number;
}
/** Leader → observer: a committed txn with its payload (ZOOKEEPER-368, Leader.INFORM). */
export interface InformMsg {
  readonly type: 'INFORM';
  readonly zxid: number;
  readonly payload: Uint8Array;
}
export interface UpToDateMsg {
  readonly type: 'UPTODATE';
  readonly commitZxid: number;
}
export interface PingMsg {
  readonly type: 'PING';
}
/**
 * Observer → the member it learnt from (an observer master, or the leader), when it moves to
 * another one or leaves for an election: drop my record of `session` now. zkts keeps one
 * connection per pair of members, so a move closes no socket (ZooKeeper's observer closes its
 * learner connection); without this the member would go on feeding (and counting) the observer
 * until its record went silent for syncLimit. On the wire a PING with the session set, which an
 * older peer reads as a PING (schemas/quorum.fbs).
 */
export interface ObserverLeaveMsg {
  readonly type: 'OBSERVERLEAVE';
  readonly session: number;
}

export type Msg =
  | NotificationMsg
  | LearnerInfoMsg
  | LeaderInfoMsg
  | AckEpochMsg
  | DiffMsg
  | TruncMsg
  | SnapMsg
  | ProposalMsg
  | NewLeaderMsg
  | AckNewLeaderMsg
  | AckMsg
  | CommitMsg
  | InformMsg
  | UpToDateMsg
  | PingMsg
  | ObserverLeaveMsg;

export type MsgType = Msg['type'];

export interface Outbound {
  readonly to: number;
  readonly msg: Msg;
}

export type Input =
  | { readonly kind: 'message'; readonly from: number; readonly msg: Msg }
  | { readonly kind: 'tick' }
  /** The driver's log is durable up to `zxid` (everything handed over up to there). */
  | { readonly kind: 'persisted'; readonly zxid: number }
  /** The epoch files handed over so far are durable with these values. */
  | { readonly kind: 'epochPersisted'; readonly acceptedEpoch: number; readonly currentEpoch: number }
  | { readonly kind: 'propose'; readonly payload: Uint8Array }
  | { readonly kind: 'peerUp'; readonly peer: number }
  | { readonly kind: 'peerDown'; readonly peer: number }
  /** Ready.installSnapshot at `zxid` is loaded and durable (step it before that batch's
   * `persisted`). */
  | { readonly kind: 'snapshotInstalled'; readonly zxid: number };

export type Role = 'looking' | 'following' | 'leading' | 'observing';

export type PeerEvent =
  | { readonly kind: 'role'; readonly role: Role; readonly leader: number; readonly epoch: number }
  /** The leader has a quorum of NEWLEADER acks: it may broadcast in `epoch`. */
  | { readonly kind: 'established'; readonly epoch: number; readonly zxid: number }
  /** A learner finished sync (UPTODATE received). */
  | { readonly kind: 'uptodate'; readonly epoch: number; readonly leader: number };

export interface PersistBatch {
  /** Applied first: drop every entry with zxid > truncateTo. */
  readonly truncateTo?: number;
  readonly entries: readonly Entry[];
  readonly acceptedEpoch?: number;
  readonly currentEpoch?: number;
}

/** A snapshot received in SNAP sync, for the driver to install (see Ready.installSnapshot). */
export interface InstallSnapshot {
  readonly zxid: number;
  readonly data: Uint8Array;
}

/**
 * A message the core refused as impossible from that peer (a zxid that does not follow the
 * log, an ACK or COMMIT beyond it, an epoch no zxid can carry): the driver closes the peer's
 * connection (its peerDown follows) and logs why. A correct peer never causes one.
 */
export interface Rejection {
  readonly peer: number;
  readonly type: MsgType;
  readonly why: string;
}

export interface Ready {
  readonly sendNow: readonly Outbound[];
  /** Send only after this batch's persist (and every earlier one) is durable. */
  readonly sendAfterPersist: readonly Outbound[];
  readonly persist: PersistBatch;
  /** Committed entries, in zxid order, that the state machine applies now. */
  readonly apply: readonly Entry[];
  readonly events: readonly PeerEvent[];
  /** The batch holds something to fsync (a snapshot, entries, a truncation or an epoch). */
  readonly mustSync: boolean;
  /**
   * Applied before `persist`: load the tree from `data` (state up to `zxid`), make it the durable
   * snapshot and drop the whole log (its base becomes `zxid`); durable with this batch. Step
   * `snapshotInstalled` when it is, before the batch's `persisted`.
   */
  readonly installSnapshot: InstallSnapshot | null;
  /**
   * Serialise the applied state as of before this Ready's `apply` (it is at exactly `zxid`) and
   * put it as `data` into every SNAP message of `sendNow`.
   */
  readonly snapshotToSend: { readonly zxid: number } | null;
  /** Messages refused as impossible in this batch: close those peers' connections. */
  readonly rejected: readonly Rejection[];
}
