// The ensemble driver: THE ONLY place where the pure Zab core (zab/peer.ts) meets I/O. It owns
// the ZabPeer, the quorum transport, the tick interval and the durable txn log, and executes
// each Ready in the order the simulator's driver does (test/sim/sim.ts, drain/fsync):
//   1. install a snapshot from the leader, if any; persist: truncation, then entries appended
//      to the txn log (no fsync yet);
//   2. send sendNow (SNAP messages get the serialised applied state);
//   3. one flush (fsync) per batch; when it completes: write the epoch files, send
//      sendAfterPersist, step { snapshotInstalled } if the batch installed one, then
//      { persisted } (mustSync batches only), in batch order;
//   4. apply committed entries to the database (Core.applyCommitted answers the clients whose
//      writes this member proposed);
//   5. advance(); then queued proposals are stepped in, in prepare order.
//
// The leader's Core prepares writes with zxids (epoch << 32) + n (db.resetPipeline at
// `established`), and the leader's `propose` assigns exactly those zxids in the same order: a
// mismatch stops the process rather than answering a client for another txn.
//
// How the pieces work, and what is still missing (docs/design-notes.md, Replication):
//   - the quorum transport listens on the quorumPort; the electionPort is unused (zkts elects
//     over the same connection). Zab ticks are tickTime / perTick (at most 100 ms) with every
//     limit scaled to match, so an election decides within ~100 ms of a quorum agreeing;
//   - request forwarding: a follower (or observer) sends a client write to the leader as a
//     REQUEST (codec.ts); the leader prepares and proposes it with the session's context from
//     the message, and the learner answers its client when it applies the committed txn whose
//     header carries (session, cxid). A REQUESTERROR answers one the leader refused before
//     proposing, and a sync (err 0 with the leader's last prepared zxid: the learner answers
//     once it has applied that far);
//   - the no-disconnect leader change: a learner that loses its leader keeps every client
//     connection; its forwarded writes and createSessions wait (learner-requests.ts) and go to
//     the next leader once synced (resent only across epochs, so never twice to one leader), or
//     are ordered here if this member becomes the leader; a wait is bounded by the session
//     timeout. The new leader re-arms every global session a full timeout from when it can order
//     writes, and learners keep their touches until a leader hears them;
//   - global sessions (LearnerSessionTracker / LeaderSessionTracker): a learner forwards
//     createSession (op -10 with the negotiated timeout) and closeSession as REQUESTs and answers
//     when it applies their txns; every member applies createSession / closeSession txns into its
//     SessionTable, so a session can reconnect to any member. Learners send the global sessions
//     their clients touched to the leader each tickTime (TOUCH); only the leader expires them. A
//     local session's first ephemeral sends its createSession to the leader ahead of the write
//     (localSessionsUpgradingEnabled). The leader keeps each global session's owner (the member
//     holding its connection): a learner revalidates a reconnect with it first (a REQUEST, op
//     ping, cxid -11), the old owner is told (an unasked REQUESTERROR SessionMoved), and a write
//     forwarded by a member that is not the owner becomes an error txn SessionMoved (core.ts);
//   - the session secret: the first leader writes a random one into /zookeeper's data once it
//     may order writes (session-secret.ts);
//   - sync (DIFF / TRUNC / SNAP, planned by the core): the leader answers snapshotToSend with
//     its applied tree + global sessions as one ZooKeeper snapshot image (serializeSnapshot,
//     synchronous on the main thread: a very large tree stalls this thread while it is walked);
//     the transport chunks a SNAP larger than snapChunkBytes. A learner installs it
//     (Core.replaceState: tree, sessions, watches fired for what differs; SyncStage
//     .installSnapshot: the image becomes snapshot.<zxid>, the old log files go, in the txn log's
//     I/O chain) and steps snapshotInstalled once that is durable. A TRUNC cuts the log files
//     durably (TxnLog.truncateAfter) before the batch is reported persisted;
//   - on start the recovered state (snapshot + the whole log) is the base, so a member that
//     restarts with an uncommitted tail reports it as its base: if the leader lacks it, the plan
//     is SNAP (never TRUNC below a base), which replaces it. A session created by a txn that a
//     TRUNC removed after it was durable stays in the stage's sessions map (snapshots keep it
//     until it expires);
//   - the in-memory log (ensemble/memory-log-view.ts) is trimmed after each durable local
//     snapshot to logRetainTxns (snapCount / 2) entries at or below it; learners further behind
//     get SNAP. A SNAP in flight holds the whole image in memory on both sides.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zxidEpoch, zxidHex } from '../common/ids.js';
import { SlabAllocator } from '../common/slab.js';
import {
  JuteReader,
  JuteWriter,
  decodeTxn,
  decodeTxnHeader,
  encodeTxn,
  encodeTxnHeader,
} from '../protocol/jute/index.js';
import { ensembleObserverMasters, type ServerConfig } from './config.js';
import type { Core, Replication } from './core.js';
import type { Logger } from './logger.js';
import { QuorumTransport, quorumFrameBytesMax, type PeerAddress, type QuorumTlsOptions } from './net/transport.js';
import { touchSessionsMax, type ForwardMsg } from './net/codec.js';
import { decodeProposalPayload } from './ensemble/txn-payload.js';
import { Err } from '../common/zk.js';
import type { PreparedTxn } from './pipeline/prep.js';
import type { ZkDatabase } from './pipeline/database.js';
import { readEpochFile, writeEpochFile } from './storage/epoch-file.js';
import { versionDir } from './storage/layout.js';
import type { SyncStage } from './storage/sync-stage.js';
import { MemoryLogView } from './ensemble/memory-log-view.js';
import { loadSnapshotImage } from './storage/recovery.js';
import { serializeSnapshot } from './storage/snapshot.js';
import { verifySeals } from './storage/snapshot-format.js';
import type { InstallSnapshot, Msg } from './zab/messages.js';
import type { Input, Ready, Role } from './zab/messages.js';
import { ZabPeer, type ZabConfig } from './zab/peer.js';

/** ZooKeeper's file names (QuorumPeer.ACCEPTED_EPOCH_FILENAME / CURRENT_EPOCH_FILENAME). */
export const acceptedEpochFile = 'acceptedEpoch';
export const currentEpochFile = 'currentEpoch';

/** Reads dataDir/myid (as QuorumPeerConfig does). */
export function readMyId(dataDir: string): number {
  const path = join(dataDir, 'myid');
  if (!existsSync(path)) throw new Error(`${path} is missing: an ensemble member needs its id there`);
  const text = readFileSync(path, 'utf8').trim();
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id)) throw new Error(`${path}: "${text}" is not a server id`);
  return id;
}

export interface DriverOptions {
  cfg: ServerConfig;
  myId: number;
  db: ZkDatabase;
  stage: SyncStage;
  logger: Logger;
  /** recover()'s lastZxid: the tree is exactly the history up to it. */
  recoveredZxid: number;
  /** Fail-stop (the driver found something it cannot continue from). */
  fatal: (why: string) => never;
  /**
   * Entries the in-memory log keeps at or below the latest local snapshot, so that a learner
   * that far behind still syncs by DIFF; default snapCount / 2.
   */
  logRetainTxns?: number;
}

/** zoo.cfg's sslQuorum key material as the transport's TLS options (null: plain TCP). */
function quorumTlsOptions(cfg: ServerConfig): QuorumTlsOptions | null {
  const t = cfg.quorumTls;
  if (t === null) return null;
  const password = t.keyStore.password ?? undefined;
  const own = t.keyStore.type === 'PKCS12' ? { pfx: t.keyStore.data, passphrase: password } : { key: t.keyStore.data, cert: t.keyStore.data, passphrase: password };
  return { context: { ...own, ca: t.trustStore }, hostnameVerification: t.hostnameVerification };
}

export type EnsembleMode = 'leader' | 'follower' | 'observer' | 'looking';

/** Bound on Driver.decoded: well above any pipeline of uncommitted proposals. */
const decodedTxnsMax = 100_000;

export class EnsembleDriver implements Replication {
  readonly peer: ZabPeer;
  readonly transport: QuorumTransport;
  private readonly log: MemoryLogView;
  /** Entries the in-memory log keeps at or below the latest local snapshot (DIFF range). */
  private readonly logRetainTxns: number;
  private readonly epochDir: string;
  private core: Core | null = null;
  private tick: NodeJS.Timeout | null = null;
  private inReady = false;
  private draining = false;
  private stopped = false;
  private readonly proposals: PreparedTxn[] = [];
  private abortPending = false;
  /** The epoch this member leads, once established, and the history its tree must hold first. */
  private established: { epoch: number; zxid: number } | null = null;
  /** The epoch in which this leader last re-armed sessions and resumed waiting requests. */
  private resumedEpoch = -1;
  /** Proposal payload sizes in bytes (mntr; -1 before the first). */
  private readonly proposalSizes = { last: -1, max: -1, min: -1 };
  /** Zab ticks per tickTime (see the constructor). */
  private readonly perTick: number;
  private role: Role = 'looking';
  private readonly deferred: Input[] = [];
  /**
   * ZooKeeper's learner-port accept backlog: a FOLLOWERINFO / OBSERVERINFO that arrives while
   * this member is still LOOKING (its peer decided the election a tick earlier) is kept, one per
   * peer, and stepped again if this member becomes the leader. Without it two members whose
   * ticks are in phase can miss each other forever (the learner gives up after initLimit, both
   * elect again, and the learner is again first).
   */
  private readonly backlog = new Map<number, Input>();
  private readonly writer = new JuteWriter(1024);
  /**
   * Txns decoded (or, on the leader, prepared) for the log and not yet applied, by zxid: each
   * payload is decoded once, not once to persist and again to apply. Entries leave when applied,
   * truncated or replaced by a snapshot; past decodedTxnsMax (a learner whose leader went away
   * with proposals uncommitted) the rest are decoded again at apply.
   */
  private readonly decoded = new Map<number, PreparedTxn>();
  /** Proposal payloads live in the log until it is trimmed, oldest first: slab-allocated. */
  private readonly payloads = new SlabAllocator();
  private readonly reader = new JuteReader();
  /** Proposal payloads a learner received, decoded when they arrived (checkPayload), by identity. */
  private readonly arrived = new WeakMap<Uint8Array, PreparedTxn>();

  constructor(private readonly o: DriverOptions) {
    const { cfg, myId } = o;
    const voters = cfg.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    const observers = cfg.servers.filter((s) => s.role === 'observer').map((s) => s.id);
    const me = cfg.servers.find((s) => s.id === myId);
    if (me === undefined) throw new Error(`myid ${myId} has no server.${myId} line`);
    this.epochDir = versionDir(cfg.dataDir);
    this.log = new MemoryLogView(o.recoveredZxid);
    this.logRetainTxns = o.logRetainTxns ?? Math.max(1, Math.floor(cfg.snapCount / 2));
    o.stage.onSnapshot((info) => this.trimLog(info.zxid));
    const lastEpoch = zxidEpoch(o.recoveredZxid);
    const accepted = Math.max(this.readEpoch(acceptedEpochFile) ?? lastEpoch, lastEpoch);
    const current = Math.min(Math.max(this.readEpoch(currentEpochFile) ?? lastEpoch, lastEpoch), accepted);
    // The core counts Zab ticks of at most 100 ms (tickTime split in `perTick` parts), and every
    // limit is scaled to match: an election decides a Zab tick after a quorum agrees (ZooKeeper's
    // finalizeWait is a fixed 200 ms) and rounds repeat every ~400 ms, whatever the tickTime;
    // with tickTime-sized steps a failover would take seconds.
    this.perTick = Math.max(1, Math.round(cfg.tickTimeMs / 100));
    const config: ZabConfig = {
      id: myId,
      voters,
      observers,
      initLimitTicks: Math.max(2, cfg.initLimitTicks * this.perTick),
      syncLimitTicks: Math.max(2, cfg.syncLimitTicks * this.perTick),
      electionTimeoutTicks: Math.max(1, Math.ceil(400 / (cfg.tickTimeMs / this.perTick))),
      // ZooKeeper's finalizeWait (200 ms): a vote a quorum agrees on waits that long for a
      // better one, so a member that starts (or notices the old leader's death) a moment later
      // than the others is not left out of an election it would have won.
      finalizeWaitTicks: Math.max(1, Math.ceil(200 / (cfg.tickTimeMs / this.perTick))),
      observerMasters: ensembleObserverMasters(cfg),
    };
    this.peer = new ZabPeer(
      config,
      { acceptedEpoch: accepted, currentEpoch: current, lastLoggedZxid: this.log.lastZxid() },
      this.log,
      { nextInt: (bound) => Math.floor(Math.random() * bound) },
    );
    const peers = new Map<number, PeerAddress>();
    for (const s of cfg.servers) peers.set(s.id, { host: s.host, port: s.quorumPort });
    const frameBytesMax = quorumFrameBytesMax(cfg.juteMaxBufferBytes);
    this.transport = new QuorumTransport({
      myId,
      peers,
      listenHost: me.host,
      listenPort: me.quorumPort,
      logger: o.logger,
      secret: cfg.quorumSecret === null ? null : Buffer.from(cfg.quorumSecret, 'utf8'),
      tls: quorumTlsOptions(cfg),
      frameBytesMax,
      sendQueueBytesMax: Math.max(2 * frameBytesMax, 128 * 1024 * 1024),
    });
    o.logger.info({ myId, voters, observers, acceptedEpoch: accepted, currentEpoch: current, lastZxid: zxidHex(o.recoveredZxid) }, 'ensemble member');
  }

  // ---- Replication (what the Core sees) ----

  writable(): boolean {
    const e = this.established;
    return (
      !this.stopped &&
      e !== null &&
      this.role === 'leading' &&
      this.peer.isEstablishedLeader() &&
      this.o.db.lastZxid >= e.zxid
    );
  }

  propose(p: PreparedTxn): void {
    this.proposals.push(p);
    if (!this.draining) queueMicrotask(() => this.drain());
  }

  forward(m: ForwardMsg): number {
    if (!this.learnerSynced()) return -1;
    return this.transport.send(this.peer.leaderId, m) ? this.peer.currentEpoch : -1;
  }

  notify(to: number, m: ForwardMsg): void {
    if (this.role === 'leading') this.transport.send(to, m);
  }

  /** A follower or observer in the broadcast phase with its leader. */
  private learnerSynced(): boolean {
    if (this.stopped || (this.role !== 'following' && this.role !== 'observing')) return false;
    return this.peer.leaderId >= 0 && this.peer.learner !== null && this.peer.learner.phase === 'active';
  }

  /**
   * REQUEST and TOUCH at the leader, from synced learners only; REQUESTERROR at a learner (from
   * its leader). A REQUEST from any other member (not synced with us, or we do not lead) is
   * answered ConnectionLoss, as a member that does not lead answers it: the learner's request
   * waits for a leader it has synced with.
   */
  private onForward(from: number, m: ForwardMsg): void {
    if (this.stopped || this.core === null) return;
    if (m.type === 'REQUEST') {
      const synced = this.role === 'leading' && this.syncedLearner(from);
      if (!synced && this.role === 'leading') {
        this.o.logger.warn({ from, session: `0x${m.session.toString(16)}`, op: m.op }, 'REQUEST from a member that is not a synced learner: refused');
      }
      const answer = synced
        ? this.core.onForwardedRequest(m, from)
        : ({ type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err: Err.connectionLoss, zxid: 0 } as const);
      if (answer !== null) this.transport.send(from, answer);
      return;
    }
    if (m.type === 'TOUCH') {
      if (this.role === 'leading' && this.syncedLearner(from)) this.core.onLearnerTouch(m.sessions);
      return;
    }
    if (from !== this.peer.leaderId) return;
    this.core.onForwardError(m);
    this.core.flushOut();
  }

  /**
   * The leader: `from` completed sync with us (its learner record is active), or it is an
   * observer whose observer master is such a follower (it syncs with that master, which we
   * cannot see, and forwards its requests here).
   */
  private syncedLearner(from: number): boolean {
    const learners = this.peer.leader?.learners;
    if (learners === undefined) return false;
    const r = learners.get(from);
    if (r !== undefined) return r.phase === 'active';
    const master = this.peer.config.observerMasters.get(from);
    return master !== undefined && learners.get(master)?.phase === 'active';
  }

  /**
   * A learner: a PROPOSAL or INFORM payload is decoded when it arrives, before the Zab core logs
   * it; one that cannot be persisted and applied closes the connection it came on. The decoded
   * txn is kept (by payload identity) for the persist step.
   */
  private checkPayload(from: number, msg: Extract<Msg, { type: 'PROPOSAL' | 'INFORM' }>): boolean {
    const txn = decodeProposalPayload(msg.zxid, msg.payload, this.reader);
    if (typeof txn === 'string') {
      this.transport.disconnect(from, `${msg.type} ${zxidHex(msg.zxid)}: ${txn}`);
      return false;
    }
    this.arrived.set(msg.payload, txn);
    return true;
  }

  /**
   * A synced learner, each tick: the global sessions its clients touched go to the leader
   * (TOUCH; kept while there is none, so a new leader hears of them), and requests a refusing
   * leader sent back are sent again.
   */
  private learnerTick(touch: boolean): void {
    if (this.core === null || !this.learnerSynced()) return;
    if (this.core.hasPendingForLeader()) this.core.resumeLearnerRequests(this.peer.currentEpoch);
    if (!touch) return;
    const sessions = this.core.takeTouched();
    for (let i = 0; i < sessions.length; i += touchSessionsMax) {
      this.forward({ type: 'TOUCH', sessions: sessions.slice(i, i + touchSessionsMax) });
    }
  }

  /**
   * The leader, once it may order writes in its epoch (its history applied): global sessions'
   * timers start again from now, and its clients' requests that waited for a leader go.
   */
  private leaderReady(): void {
    const e = this.established;
    if (e === null || this.resumedEpoch === e.epoch || !this.writable()) return;
    this.resumedEpoch = e.epoch;
    this.core!.rearmGlobalSessions();
    this.core!.resumeLearnerRequests(e.epoch);
    // A new ensemble's first leader makes the session secret (session-secret.ts).
    this.core!.ensureSessionSecret();
  }

  mode(): EnsembleMode {
    switch (this.role) {
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

  /**
   * mntr keys of an ensemble member: its epoch, logged and committed zxids, proposals not yet
   * committed (on the leader: also those queued behind an unfinished sync), proposal sizes; the
   * leader adds ZooKeeper's Leader metrics (learners connected, synced ones by kind, learners
   * still syncing).
   */
  replicationMetrics(): Record<string, number | string> {
    const p = this.peer;
    const out: Record<string, number | string> = {
      current_epoch: p.currentEpoch,
      last_logged_zxid: zxidHex(p.lastLoggedZxid),
      last_committed_zxid: zxidHex(p.commitZxid),
      pending_proposals: Math.max(0, p.lastLoggedZxid - p.commitZxid) + this.proposals.length,
      last_proposal_size: this.proposalSizes.last,
      max_proposal_size: this.proposalSizes.max,
      min_proposal_size: this.proposalSizes.min,
    };
    const serving = p.learner?.serving;
    if (serving !== undefined && serving !== null) {
      // An observer master: the observers this follower feeds.
      let active = 0;
      for (const r of serving.observers.values()) if (r.phase === 'active') active++;
      out['synced_observers'] = active;
    }
    const l = p.leader;
    if (this.role !== 'leading' || l === null) return out;
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

  // ---- lifecycle ----

  async start(core: Core): Promise<void> {
    this.core = core;
    this.transport.on('peerUp', (peer) => this.step({ kind: 'peerUp', peer }));
    this.transport.on('forward', (from, msg) => this.onForward(from, msg));
    this.transport.on('peerDown', (peer) => {
      this.backlog.delete(peer);
      // Requests sent to a leader whose connection dropped wait for the next one.
      if (peer === this.peer.leaderId && this.role !== 'leading') core.leaderLost();
      this.step({ kind: 'peerDown', peer });
    });
    this.transport.on('message', (from, msg) => {
      // FastLeaderElection logs every notification it takes; debug here (elections are short).
      if (msg.type === 'NOTIFICATION') this.o.logger.debug({ from, n: msg, role: this.peer.role, electionEpoch: this.peer.electionEpoch }, 'notification in');
      if ((msg.type === 'PROPOSAL' || msg.type === 'INFORM') && !this.checkPayload(from, msg)) return;
      if (msg.type === 'SNAP' && verifySeals(msg.data).length === 0) {
        // Damaged in transit or not a snapshot: refused before the core installs it (installing
        // an image that does not load stops this member).
        this.transport.disconnect(from, `SNAP ${zxidHex(msg.zxid)}: the image's checksum or seal does not verify`);
        return;
      }
      const input: Input = { kind: 'message', from, msg };
      if ((msg.type === 'FOLLOWERINFO' || msg.type === 'OBSERVERINFO') && this.peer.role === 'looking') {
        this.backlog.set(from, input);
      }
      this.step(input);
    });
    await this.transport.start();
    let n = 0;
    this.tick = setInterval(() => {
      this.step({ kind: 'tick' });
      // TOUCH once a tickTime (as ZooKeeper's learners report touched sessions with each PING).
      this.learnerTick(++n % this.perTick === 0);
    }, this.o.cfg.tickTimeMs / this.perTick);
    this.drain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tick !== null) clearInterval(this.tick);
    this.tick = null;
    await this.transport.close();
  }

  // ---- the loop ----

  private step(input: Input): void {
    if (this.stopped) return;
    if (this.inReady) {
      // Never step between ready() and advance(): run it once the batch is advanced.
      this.deferred.push(input);
      return;
    }
    this.peer.step(input);
    this.drain();
  }

  private drain(): void {
    if (this.draining || this.stopped || this.core === null) return;
    this.draining = true;
    try {
      for (;;) {
        while (this.peer.hasReady()) {
          this.inReady = true;
          try {
            this.handle(this.peer.ready());
          } finally {
            this.peer.advance();
            this.inReady = false;
          }
        }
        const d = this.deferred.shift();
        if (d !== undefined) {
          this.peer.step(d);
          continue;
        }
        if (this.abortPending || (this.proposals.length > 0 && !this.peer.isEstablishedLeader())) {
          // Leadership lost: queued and proposed writes will not be answered by this member.
          this.abortPending = false;
          this.proposals.length = 0;
          this.core.abortProposed();
          continue;
        }
        const p = this.proposals[0];
        if (p === undefined || !this.peer.canPropose()) break;
        this.proposals.shift();
        const payload = this.encode(p);
        this.decoded.set(p.hdr.zxid, p);
        this.noteProposalSize(payload.length);
        this.peer.step({ kind: 'propose', payload });
        if (this.peer.lastLoggedZxid !== p.hdr.zxid) {
          this.o.fatal(`proposal got zxid ${zxidHex(this.peer.lastLoggedZxid)}, prepared as ${zxidHex(p.hdr.zxid)}`);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private handle(ready: Ready): void {
    const core = this.core!;
    // 1. A snapshot from the leader replaces state and log before this batch's entries.
    if (ready.installSnapshot !== null) this.installSnapshot(ready.installSnapshot);
    const persist = ready.persist;
    if (persist.truncateTo !== undefined) {
      // Durable with this batch's flush: the log files are cut in the txn log's I/O chain
      // (TxnLog.truncateAfter), so a restart never replays a truncated txn.
      this.o.logger.warn({ to: zxidHex(persist.truncateTo), lastZxid: zxidHex(this.log.lastZxid()) }, 'truncating the log (TRUNC)');
      this.log.truncate(persist.truncateTo);
      for (const zxid of this.decoded.keys()) if (zxid > persist.truncateTo) this.decoded.delete(zxid);
      this.o.stage.truncate(persist.truncateTo);
    }
    for (const e of persist.entries) {
      this.log.append(e);
      let txn = this.decoded.get(e.zxid) ?? this.arrived.get(e.payload);
      if (txn === undefined) {
        txn = this.decode(e.payload);
        if (this.decoded.size < decodedTxnsMax) this.decoded.set(e.zxid, txn);
      }
      this.o.stage.append(txn);
    }
    // 2. SNAP messages carry the applied state as it is now, before this batch's apply.
    const image = ready.snapshotToSend !== null ? this.snapshotImage(ready.snapshotToSend.zxid) : null;
    for (const out of ready.sendNow) {
      if (out.msg.type === 'SNAP') {
        if (image === null) this.o.fatal('a SNAP message without snapshotToSend');
        this.o.logger.info({ to: out.to, zxid: zxidHex(out.msg.zxid), bytes: image.length }, 'sending a snapshot (SNAP sync)');
        this.transport.send(out.to, { ...out.msg, data: image });
        continue;
      }
      if (out.msg.type === 'DIFF' || out.msg.type === 'TRUNC') {
        this.o.logger.info({ to: out.to, kind: out.msg.type, zxid: zxidHex(out.msg.zxid) }, 'syncing a learner');
      }
      if (out.msg.type === 'NOTIFICATION') this.o.logger.debug({ to: out.to, n: out.msg }, 'notification out');
      this.transport.send(out.to, out.msg);
    }
    if (ready.mustSync || ready.sendAfterPersist.length > 0) {
      const zxid = this.log.lastZxid();
      const must = ready.mustSync;
      const after = ready.sendAfterPersist;
      const accepted = persist.acceptedEpoch;
      const current = persist.currentEpoch;
      const installed = ready.installSnapshot?.zxid;
      this.o.stage.flush(() => {
        if (this.stopped) return;
        if (accepted !== undefined) this.writeEpoch(acceptedEpochFile, accepted);
        if (current !== undefined) this.writeEpoch(currentEpochFile, current);
        for (const out of after) this.transport.send(out.to, out.msg);
        // The snapshot file is durable and the old log gone (TxnLog.rebase ran in this flush).
        if (installed !== undefined) this.step({ kind: 'snapshotInstalled', zxid: installed });
        if (must) this.step({ kind: 'persisted', zxid });
        else this.drain();
      });
    }
    for (const e of ready.apply) {
      const txn = this.decoded.get(e.zxid);
      if (txn !== undefined) this.decoded.delete(e.zxid);
      core.applyCommitted(txn ?? this.decode(e.payload));
    }
    if (ready.apply.length > 0) core.flushOut();
    for (const ev of ready.events) {
      this.o.logger.info({ event: ev, status: this.peer.status() }, 'zab');
      if (ev.kind === 'role') {
        const wasLeading = this.role === 'leading';
        const wasLearner = this.role === 'following' || this.role === 'observing';
        this.role = ev.role;
        if (wasLearner) core.leaderLost();
        if (ev.role === 'leading') for (const input of this.backlog.values()) this.deferred.push(input);
        if (ev.role !== 'looking') this.backlog.clear();
        if (ev.role !== 'leading') this.established = null;
        if (wasLeading) this.abortPending = true;
      } else if (ev.kind === 'established') {
        this.established = { epoch: ev.epoch, zxid: ev.zxid };
        this.o.db.resetPipeline(ev.epoch * 0x100000000);
      } else if (ev.kind === 'uptodate') {
        // Synced: the leader's history up to its commit point is applied (this Ready's apply).
        core.resumeLearnerRequests(ev.epoch);
      }
    }
    // Impossible messages (zab/peer.ts reject): that peer's connection closes; peerDown follows.
    for (const r of ready.rejected) this.transport.disconnect(r.peer, `${r.type}: ${r.why}`);
    if (this.role === 'leading') this.leaderReady();
  }

  // ---- SNAP sync and the in-memory log ----

  /**
   * Leader side: the applied state (tree + global sessions) as a ZooKeeper snapshot image
   * (storage/snapshot.ts serializeSnapshot), exactly at `zxid`. Synchronous on the main thread:
   * the tree cannot change under the walk (session workers keep pinging meanwhile).
   */
  private snapshotImage(zxid: number): Uint8Array {
    if (this.o.db.lastZxid !== zxid) {
      this.o.fatal(`SNAP at ${zxidHex(zxid)} asked while the tree is at ${zxidHex(this.o.db.lastZxid)}`);
    }
    const started = performance.now();
    const image = serializeSnapshot(this.o.db.tree, this.core!.globalSessions(), zxid);
    this.o.logger.info({ zxid: zxidHex(zxid), bytes: image.length, ms: Math.round(performance.now() - started) }, 'snapshot image for SNAP sync');
    return image;
  }

  /**
   * Learner side (Ready.installSnapshot): the tree and sessions become the leader's image now;
   * the image becomes the durable snapshot file and the old log goes in the txn log's I/O chain
   * (SyncStage.installSnapshot), durable with this batch's flush, which then steps
   * snapshotInstalled. An image that fails its checksum cannot be installed: stop (the leader
   * sent garbage, or memory is corrupt) rather than serve a tree that differs from the leader's.
   */
  private installSnapshot(snap: InstallSnapshot): void {
    const started = performance.now();
    let digest = 'unchecked';
    let sessions: ReadonlyMap<bigint, number> = new Map();
    try {
      this.core!.replaceState(snap.zxid, () => {
        const loaded = loadSnapshotImage(this.o.db.tree, snap.data, snap.zxid);
        digest = loaded.digest;
        sessions = loaded.sessions;
        return loaded.sessions;
      });
    } catch (e) {
      this.o.fatal(`cannot install the leader's snapshot at ${zxidHex(snap.zxid)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (digest === 'mismatch') this.o.logger.error({ zxid: zxidHex(snap.zxid) }, 'snapshot from the leader: tree digest differs after loading');
    this.log.install(snap.zxid);
    this.decoded.clear();
    this.o.stage.installSnapshot(snap.zxid, snap.data, sessions);
    this.o.logger.warn(
      { zxid: zxidHex(snap.zxid), bytes: snap.data.length, sessions: sessions.size, digest, ms: Math.round(performance.now() - started) },
      'installed a snapshot from the leader (SNAP sync)',
    );
  }

  /**
   * After a durable local snapshot at `zxid`: the in-memory log keeps only `logRetainTxns`
   * entries at or below it (MemoryLogView.trim), so memory stays bounded; learners further
   * behind get SNAP. Never between ready() and advance() (snapshot completions are I/O
   * callbacks, outside drain), and never above what the txn log has made durable.
   */
  private trimLog(zxid: number): void {
    if (this.stopped || this.inReady) return;
    const upTo = Math.min(zxid, this.o.stage.log.durableZxid, this.o.db.lastZxid);
    const dropped = this.log.trim(upTo, this.logRetainTxns);
    if (dropped > 0) {
      this.o.logger.info({ dropped, base: zxidHex(this.log.baseZxid()), retained: this.log.size }, 'in-memory log trimmed after a snapshot');
    }
  }

  private noteProposalSize(n: number): void {
    const z = this.proposalSizes;
    z.last = n;
    z.max = Math.max(z.max, n);
    z.min = z.min < 0 ? n : Math.min(z.min, n);
  }

  // ---- payloads: a PreparedTxn as jute TxnHeader + Txn ----

  private encode(p: PreparedTxn): Uint8Array {
    const w = this.writer.reset();
    encodeTxnHeader(w, p.hdr);
    encodeTxn(w, p.txn);
    return this.payloads.copy(w.bytes());
  }

  private decode(payload: Uint8Array): PreparedTxn {
    const r = this.reader.reset(payload, 0, payload.length);
    const hdr = decodeTxnHeader(r);
    const txn = decodeTxn(hdr.type, r);
    return { hdr, txn };
  }

  // ---- epoch files (dataDir/version-2, as ZooKeeper keeps them) ----

  private readEpoch(name: string): number | null {
    return readEpochFile(this.epochDir, name);
  }

  private writeEpoch(name: string, epoch: number): void {
    writeEpochFile(this.epochDir, name, epoch);
  }
}
