// The ensemble driver: THE ONLY place where the pure Zab core (zab/peer.ts) meets I/O. It owns
// the ZabPeer, the quorum transport, the tick interval and the durable txn log, and executes each
// Ready in the order the simulator's driver does (test/sim/sim.ts). The order, and how the pieces
// work (forwarding, sessions, the no-disconnect leader change, sync), are in docs/design-notes.md
// ("The ensemble driver", under Replication); the pieces live in src/main/ensemble/.

import { zxidHex, zxidOf } from '../common/ids.js';
import type { ServerConfig } from './config.js';
import type { Core, Replication } from './core.js';
import type { Logger } from './logger.js';
import { QuorumTransport } from './net/transport.js';
import type { ForwardMsg } from './net/codec.js';
import type { PreparedTxn } from './pipeline/prep.js';
import type { ZkDatabase } from './pipeline/database.js';
import { acceptedEpochFile, currentEpochFile, startingEpochs, writeEpochFile } from './storage/epoch-file.js';
import { versionDir } from './storage/layout.js';
import type { SyncStage } from './storage/sync-stage.js';
import { EnsembleReplication, type MemberState } from './ensemble/replication.js';
import { MemoryLogView } from './ensemble/memory-log-view.js';
import { LeaderHistory, memberView, type MemberView } from './ensemble/member-view.js';
import {
  ensembleMode,
  fedLearners,
  ProposalSizes,
  replicationMetrics,
  zabState,
  type EnsembleMode,
  type FedLearner,
  type ZabStateName,
} from './ensemble/metrics.js';
import { PayloadCache } from './ensemble/payload-cache.js';
import { quorumTransportOptions } from './ensemble/quorum-options.js';
import { snapImageVerifies, SnapTransfer } from './ensemble/snap-transfer.js';
import { zabConfigOf, zabTicksPerTickTime } from './ensemble/zab-config.js';
import type { Input, Ready, Role } from './zab/messages.js';
import { ZabPeer } from './zab/peer.js';

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
  /** Zab timings for the exporter (ZooKeeper's ServerMetrics), in ms. */
  timings?: ZabTimings;
}

/** What the driver times, each as ZooKeeper 3.8 does (txn ages by the leader's wall clock in the
 *  txn header; a negative age, clock drift, is left out). */
export interface ZabTimings {
  /** election_time: from LOOKING until this voter leads or follows (Leader.lead, Follower.followLeader). */
  election(ms: number): void;
  /** proposal_latency: a follower, a PROPOSAL's age when it arrives (Follower.processPacket). */
  proposal(ms: number): void;
  /** quorum_ack_latency: the leader, its proposal's age when a quorum has it (Leader.tryToCommit). */
  quorumAck(ms: number): void;
  /** commit_propagation_latency: a learner, a txn's age when it commits here (FollowerZooKeeperServer.commit, Observer). */
  commitPropagation(ms: number): void;
}

export class EnsembleDriver implements Replication {
  readonly peer: ZabPeer;
  readonly transport: QuorumTransport;
  private readonly log: MemoryLogView;
  /** Entries the in-memory log keeps at or below the latest local snapshot (DIFF range). */
  private readonly logRetainTxns: number;
  /** dataDir/version-2, where the epoch files live (as ZooKeeper keeps them). */
  private readonly epochDir: string;
  private readonly member: MemberState = { role: 'looking', stopped: false, core: null, established: null };
  private readonly replication: EnsembleReplication;
  private readonly payloads = new PayloadCache();
  private readonly snap: SnapTransfer;
  private readonly proposalSizes = new ProposalSizes();
  private readonly leaderChanges = new LeaderHistory();
  private tick: NodeJS.Timeout | null = null;
  private inReady = false;
  private draining = false;
  private abortPending = false;
  /** Zab ticks per tickTime (ensemble/zab-config.ts). */
  private readonly perTick: number;
  private readonly deferred: Input[] = [];
  /**
   * ZooKeeper's learner-port accept backlog: a FOLLOWERINFO / OBSERVERINFO that arrives while
   * this member is still LOOKING (its peer decided the election a tick earlier) is kept, one per
   * peer, and stepped again if this member becomes the leader. Without it two members whose
   * ticks are in phase can miss each other forever (the learner gives up after initLimit, both
   * elect again, and the learner is again first).
   */
  private readonly backlog = new Map<number, Input>();
  /** When each peer's quorum connection came up (wall ms), for the AdminServer's observers. */
  private readonly peerUpAtMs = new Map<number, number>();
  /** Monotonic ms: since when this member is LOOKING (election_time), and since when it leads an
   *  established epoch (leader_uptime); null when it is not. */
  private lookingSinceMs: number | null = performance.now();
  private leadingSinceMs: number | null = null;
  /** The leader's proposals and its commits of them (ServerMetrics' proposal_count, commit_count). */
  private proposalCount = 0;
  private commitCount = 0;
  /** Voting members (quorum_size). */
  private readonly voterCount: number;

  constructor(private readonly o: DriverOptions) {
    const { cfg, myId } = o;
    const config = zabConfigOf(cfg, myId);
    this.epochDir = versionDir(cfg.dataDir);
    this.log = new MemoryLogView(o.recoveredZxid);
    this.logRetainTxns = o.logRetainTxns ?? Math.max(1, Math.floor(cfg.snapCount / 2));
    o.stage.onSnapshot((info) => this.trimLog(info.zxid));
    const { acceptedEpoch, currentEpoch } = startingEpochs(this.epochDir, o.recoveredZxid);
    this.perTick = zabTicksPerTickTime(cfg.tickTimeMs);
    this.peer = new ZabPeer({
      config,
      persisted: { acceptedEpoch, currentEpoch, lastLoggedZxid: this.log.lastZxid() },
      log: this.log,
      prng: { nextInt: (bound) => Math.floor(Math.random() * bound) },
    });
    this.transport = new QuorumTransport(quorumTransportOptions(cfg, myId, o.logger));
    this.replication = new EnsembleReplication({
      member: this.member,
      peer: this.peer,
      transport: this.transport,
      db: o.db,
      logger: o.logger,
      wake: () => {
        if (!this.draining) queueMicrotask(() => this.drain());
      },
    });
    this.snap = new SnapTransfer({ db: o.db, stage: o.stage, logger: o.logger, log: this.log, payloads: this.payloads, fatal: o.fatal });
    const { voters, observers } = config;
    this.voterCount = voters.length;
    o.logger.info({ myId, voters, observers, acceptedEpoch, currentEpoch, lastZxid: zxidHex(o.recoveredZxid) }, 'ensemble member');
  }

  // ---- Replication (what the Core sees: ensemble/replication.ts) ----

  writable(): boolean {
    return this.replication.writable();
  }

  propose(p: PreparedTxn): void {
    this.replication.propose(p);
  }

  forward(m: ForwardMsg): number {
    return this.replication.forward(m);
  }

  notify(to: number, m: ForwardMsg): void {
    this.replication.notify(to, m);
  }

  // ---- figures for the four-letter words (ensemble/metrics.ts) ----

  mode(): EnsembleMode {
    return ensembleMode(this.member.role);
  }

  replicationMetrics(): Record<string, number | string> {
    const out = replicationMetrics(this.peer, this.member.role, this.replication.proposals.length, this.proposalSizes);
    // QuorumZooKeeperServer's quorum_size; LeaderZooKeeperServer's leader_uptime (0 until the
    // epoch is established), only while leading.
    out['quorum_size'] = this.voterCount;
    out['proposal_count'] = this.proposalCount;
    out['commit_count'] = this.commitCount;
    // FollowerZooKeeperServer registers synced_observers too: 0 while it feeds no observer.
    if (this.member.role === 'following' && !('synced_observers' in out)) out['synced_observers'] = 0;
    if (this.member.role === 'leading') {
      out['leader_uptime'] = this.leadingSinceMs === null ? 0 : Math.round(performance.now() - this.leadingSinceMs);
    }
    return out;
  }

  // ---- read-only figures for the AdminServer (admin/commands.ts) ----

  leaderId(): number {
    return this.peer.leaderId;
  }

  zabState(): ZabStateName {
    return zabState(this.peer);
  }

  /** The learners this member feeds, with when their connection came up (wall ms; 0: unknown). */
  fedLearners(): (FedLearner & { sinceMs: number })[] {
    return fedLearners(this.peer).map((l) => ({ ...l, sinceMs: this.peerUpAtMs.get(l.id) ?? 0 }));
  }

  /** Proposal payload sizes in bytes (-1 before the first): the leader's proposal_stats. */
  proposalSizeStats(): { last: number; min: number; max: number } {
    const z = this.proposalSizes;
    return { last: z.last, min: z.min, max: z.max };
  }

  /** For the live status page (status-page/): read-only figures and the leader changes seen. */
  memberView(): MemberView {
    return memberView(this.peer, this.member.role, this.leaderChanges);
  }

  // ---- lifecycle ----

  async start(core: Core): Promise<void> {
    this.member.core = core;
    this.transport.on('peerUp', (peer) => {
      this.peerUpAtMs.set(peer, Date.now());
      this.step({ kind: 'peerUp', peer });
    });
    this.transport.on('forward', (from, msg) => this.replication.onForward(from, msg));
    this.transport.on('peerDown', (peer) => {
      this.backlog.delete(peer);
      this.peerUpAtMs.delete(peer);
      // Requests sent to a leader whose connection dropped wait for the next one.
      if (peer === this.peer.leaderId && this.member.role !== 'leading') core.leaderLost();
      this.step({ kind: 'peerDown', peer });
    });
    this.transport.on('message', (from, msg) => {
      // FastLeaderElection logs every notification it takes; debug here (elections are short).
      if (msg.type === 'NOTIFICATION') this.o.logger.debug({ from, n: msg, role: this.peer.role, electionEpoch: this.peer.electionEpoch }, 'notification in');
      if (msg.type === 'PROPOSAL' || msg.type === 'INFORM') {
        // A learner: a payload that cannot be persisted and applied closes the connection it
        // came on (ensemble/payload-cache.ts keeps the decoded txn for the persist step).
        const why = this.payloads.arrived(msg.zxid, msg.payload);
        if (why !== null) {
          this.transport.disconnect(from, `${msg.type} ${zxidHex(msg.zxid)}: ${why}`);
          return;
        }
        if (msg.type === 'PROPOSAL' && this.member.role === 'following') this.age(this.o.timings?.proposal, msg.payload);
      }
      if (msg.type === 'SNAP' && !snapImageVerifies(msg.data)) {
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
      this.replication.learnerTick(++n % this.perTick === 0);
    }, this.o.cfg.tickTimeMs / this.perTick);
    this.drain();
  }

  async stop(): Promise<void> {
    this.member.stopped = true;
    if (this.tick !== null) clearInterval(this.tick);
    this.tick = null;
    await this.transport.close();
  }

  // ---- the loop ----

  private step(input: Input): void {
    if (this.member.stopped) return;
    if (this.inReady) {
      // Never step between ready() and advance(): run it once the batch is advanced.
      this.deferred.push(input);
      return;
    }
    this.peer.step(input);
    this.drain();
  }

  private drain(): void {
    const core = this.member.core;
    if (this.draining || this.member.stopped || core === null) return;
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
        const proposals = this.replication.proposals;
        if (this.abortPending || (proposals.length > 0 && !this.peer.isEstablishedLeader())) {
          // Leadership lost: queued and proposed writes will not be answered by this member.
          this.abortPending = false;
          proposals.length = 0;
          core.abortProposed();
          continue;
        }
        const p = proposals[0];
        if (p === undefined || !this.peer.canPropose()) break;
        proposals.shift();
        this.proposalCount++;
        const payload = this.payloads.propose(p);
        this.proposalSizes.note(payload.length);
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
    const core = this.member.core!;
    // 1. A snapshot from the leader replaces state and log before this batch's entries.
    if (ready.installSnapshot !== null) this.snap.install(core, ready.installSnapshot);
    const persist = ready.persist;
    if (persist.truncateTo !== undefined) {
      // Durable with this batch's flush: the log files are cut in the txn log's I/O chain
      // (TxnLog.truncateAfter), so a restart never replays a truncated txn.
      this.o.logger.warn({ to: zxidHex(persist.truncateTo), lastZxid: zxidHex(this.log.lastZxid()) }, 'truncating the log (TRUNC)');
      this.log.truncate(persist.truncateTo);
      this.payloads.truncateAfter(persist.truncateTo);
      this.o.stage.truncate(persist.truncateTo);
    }
    for (const e of persist.entries) {
      this.log.append(e);
      this.o.stage.append(this.payloads.logged(e.zxid, e.payload));
    }
    // 2. SNAP messages carry the applied state as it is now, before this batch's apply.
    const image = ready.snapshotToSend !== null ? this.snap.image(core, ready.snapshotToSend.zxid) : null;
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
    // 3. One flush (fsync) per batch; then the epoch files, sendAfterPersist, snapshotInstalled
    //    and persisted, in batch order.
    if (ready.mustSync || ready.sendAfterPersist.length > 0) {
      const zxid = this.log.lastZxid();
      const must = ready.mustSync;
      const after = ready.sendAfterPersist;
      const accepted = persist.acceptedEpoch;
      const current = persist.currentEpoch;
      const installed = ready.installSnapshot?.zxid;
      this.o.stage.flush(() => {
        if (this.member.stopped) return;
        if (accepted !== undefined) writeEpochFile(this.epochDir, acceptedEpochFile, accepted);
        if (current !== undefined) writeEpochFile(this.epochDir, currentEpochFile, current);
        for (const out of after) this.transport.send(out.to, out.msg);
        // The snapshot file is durable and the old log gone (TxnLog.rebase ran in this flush).
        if (installed !== undefined) this.step({ kind: 'snapshotInstalled', zxid: installed });
        if (must) this.step({ kind: 'persisted', zxid });
        else this.drain();
      });
    }
    // 4. Committed entries to the database (the Core answers the clients whose writes they are).
    for (const e of ready.apply) {
      const p = this.payloads.applied(e.zxid, e.payload);
      core.applyCommitted(p);
      this.noteCommitted(p.hdr.zxid, p.hdr.time);
    }
    if (ready.apply.length > 0) core.flushOut();
    for (const ev of ready.events) {
      this.o.logger.info({ event: ev, status: this.peer.status() }, 'zab');
      this.leaderChanges.note(ev, this.peer, Date.now());
      if (ev.kind === 'role') {
        const m = this.member;
        const wasLeading = m.role === 'leading';
        const wasLearner = m.role === 'following' || m.role === 'observing';
        m.role = ev.role;
        this.noteRole(ev.role);
        if (wasLearner) core.leaderLost();
        if (ev.role === 'leading') for (const input of this.backlog.values()) this.deferred.push(input);
        if (ev.role !== 'looking') this.backlog.clear();
        if (ev.role !== 'leading') m.established = null;
        if (wasLeading) this.abortPending = true;
      } else if (ev.kind === 'established') {
        this.member.established = { epoch: ev.epoch, zxid: ev.zxid };
        if (this.member.role === 'leading') this.leadingSinceMs = performance.now();
        this.o.db.resetPipeline(zxidOf(ev.epoch, 0));
      } else if (ev.kind === 'uptodate') {
        // Synced: the leader's history up to its commit point is applied (this Ready's apply).
        core.resumeLearnerRequests(ev.epoch);
      }
    }
    // Impossible messages (zab/peer.ts reject): that peer's connection closes; peerDown follows.
    for (const r of ready.rejected) this.transport.disconnect(r.peer, `${r.type}: ${r.why}`);
    if (this.member.role === 'leading') this.replication.leaderReady();
  }

  /** A committed txn: the leader counts its own proposals' commits (commit_count) and times them
   *  (quorum_ack_latency); a learner times every commit (commit_propagation_latency). */
  private noteCommitted(zxid: number, timeMs: number): void {
    const m = this.member;
    const t = this.o.timings;
    if (m.role === 'leading') {
      if (m.established === null || zxid <= m.established.zxid) return; // its predecessors' history
      this.commitCount++;
      if (t !== undefined && Date.now() >= timeMs) t.quorumAck(Date.now() - timeMs);
    } else if (t !== undefined && (m.role === 'following' || m.role === 'observing') && Date.now() >= timeMs) {
      t.commitPropagation(Date.now() - timeMs);
    }
  }

  /** A payload's age by its txn header's time (jute TxnHeader: clientId 8, cxid 4, zxid 8, then
   *  time, a long, at byte 20). */
  private age(f: ((ms: number) => void) | undefined, payload: Uint8Array): void {
    const at = 8 + 4 + 8;
    if (f === undefined || payload.length < at + 8) return;
    const time = Number(new DataView(payload.buffer, payload.byteOffset + at, 8).getBigInt64(0));
    const ms = Date.now() - time;
    if (ms >= 0) f(ms);
  }

  /** election_time: LOOKING to leading or following (ZooKeeper's Leader.lead and
   *  Follower.followLeader add it; an observer does not). */
  private noteRole(role: Role): void {
    const now = performance.now();
    if (role !== 'leading') this.leadingSinceMs = null;
    if (role === 'looking') {
      this.lookingSinceMs ??= now;
      return;
    }
    if (this.lookingSinceMs !== null && role !== 'observing') this.o.timings?.election(now - this.lookingSinceMs);
    this.lookingSinceMs = null;
  }

  // ---- the in-memory log ----

  /**
   * After a durable local snapshot at `zxid`: the in-memory log keeps only `logRetainTxns`
   * entries at or below it (MemoryLogView.trim), so memory stays bounded; learners further
   * behind get SNAP. Never between ready() and advance() (snapshot completions are I/O
   * callbacks, outside drain), and never above what the txn log has made durable.
   */
  private trimLog(zxid: number): void {
    if (this.member.stopped || this.inReady) return;
    const upTo = Math.min(zxid, this.o.stage.log.durableZxid, this.o.db.lastZxid);
    const dropped = this.log.trim(upTo, this.logRetainTxns);
    if (dropped > 0) {
      this.o.logger.info({ dropped, base: zxidHex(this.log.baseZxid()), retained: this.log.size }, 'in-memory log trimmed after a snapshot');
    }
  }
}
