// The ensemble driver: THE ONLY place where the pure Zab core (zab/peer.ts) meets I/O. It owns
// the ZabPeer, the quorum transport, the tick interval and the durable txn log, and executes
// each Ready in the order the simulator's driver does (test/sim/sim.ts, drain/fsync):
//   1. persist: truncation, then entries appended to the txn log (no fsync yet);
//   2. send sendNow;
//   3. one flush (fsync) per batch; when it completes: write the epoch files, send
//      sendAfterPersist, step { persisted } (mustSync batches only), in batch order;
//   4. apply committed entries to the database (Core.applyCommitted answers the clients whose
//      writes this member proposed);
//   5. advance(); then queued proposals are stepped in, in prepare order.
//
// The leader's Core prepares writes with zxids (epoch << 32) + n (db.resetPipeline at
// `established`), and the leader's `propose` assigns exactly those zxids in the same order: a
// mismatch stops the process rather than answering a client for another txn.
//
// First slice, known gaps (docs/design-notes.md, Replication):
//   - the quorum transport listens on the quorumPort; the electionPort is unused (zkts elects
//     over the same connection);
//   - request forwarding: a follower (or observer) sends a client write to the leader as a
//     REQUEST (codec.ts); the leader prepares and proposes it with the session's context from
//     the message, and the learner answers its client when it applies the committed txn whose
//     header carries (session, cxid). A REQUESTERROR answers one the leader refused before
//     proposing; a learner that loses its leader answers pending ones ConnectionLoss;
//   - global sessions (LearnerSessionTracker / LeaderSessionTracker): a learner forwards
//     createSession (op -10 with the negotiated timeout) and closeSession as REQUESTs and answers
//     when it applies their txns; every member applies createSession / closeSession txns into its
//     SessionTable, so a session can reconnect to any member. Learners send the global sessions
//     their clients touched to the leader each tick (TOUCH); only the leader expires them. A
//     learner with no synced leader makes new sessions local, as before. Not yet: forwarding a
//     local session's upgrade, and a new leader's timers start from what it last knew (sessions
//     a learner held are re-armed a timeout from each tick, not from their last touch);
//   - SNAP sync is not supported (neither sent nor installed): a learner that needs one is
//     refused and retries; on start the recovered state is taken as the snapshot base, so a
//     restarted member syncs by DIFF/TRUNC from its last zxid;
//   - a TRUNC drops entries from the in-memory log view only: the log file keeps them (the next
//     append starts a new file), so a restart after a truncation is not yet safe.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { zxidEpoch, zxidHex } from '../common/ids.js';
import {
  JuteReader,
  JuteWriter,
  decodeTxn,
  decodeTxnHeader,
  encodeTxn,
  encodeTxnHeader,
} from '../protocol/jute/index.js';
import type { ServerConfig } from './config.js';
import type { Core, Replication } from './core.js';
import type { Logger } from './logger.js';
import { QuorumTransport, type PeerAddress } from './net/transport.js';
import type { ForwardMsg } from './net/codec.js';
import { Err } from '../common/zk.js';
import type { PreparedTxn } from './pipeline/prep.js';
import type { ZkDatabase } from './pipeline/database.js';
import { versionDir } from './storage/layout.js';
import type { SyncStage } from './storage/sync-stage.js';
import type { Entry, LogView, Segment } from './zab/log-view.js';
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

/** The txn log as the Zab core sees it: the recovered state is the base, entries after it. */
export class MemoryLogView implements LogView {
  private entries: Entry[] = [];
  constructor(private base: number) {}

  lastZxid(): number {
    return this.entries.length === 0 ? this.base : this.entries[this.entries.length - 1]!.zxid;
  }
  baseZxid(): number {
    return this.base;
  }
  entriesAfter(zxid: number, countMax: number): readonly Entry[] {
    const i = this.indexAfter(zxid);
    return this.entries.slice(i, i + countMax);
  }
  segments(): readonly Segment[] {
    const out: Segment[] = [];
    for (const e of this.entries) {
      const epoch = zxidEpoch(e.zxid);
      const last = out[out.length - 1];
      if (last !== undefined && last.epoch === epoch) out[out.length - 1] = { epoch, lastZxid: e.zxid };
      else out.push({ epoch, lastZxid: e.zxid });
    }
    return out;
  }
  truncate(zxid: number): void {
    this.entries.length = this.indexAfter(zxid);
  }
  append(e: Entry): void {
    this.entries.push(e);
  }
  private indexAfter(zxid: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
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
}

export type EnsembleMode = 'leader' | 'follower' | 'observer' | 'looking';

export class EnsembleDriver implements Replication {
  readonly peer: ZabPeer;
  readonly transport: QuorumTransport;
  private readonly log: MemoryLogView;
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
  private readonly reader = new JuteReader();

  constructor(private readonly o: DriverOptions) {
    const { cfg, myId } = o;
    const voters = cfg.servers.filter((s) => s.role === 'participant').map((s) => s.id);
    const observers = cfg.servers.filter((s) => s.role === 'observer').map((s) => s.id);
    const me = cfg.servers.find((s) => s.id === myId);
    if (me === undefined) throw new Error(`myid ${myId} has no server.${myId} line`);
    this.epochDir = versionDir(cfg.dataDir);
    this.log = new MemoryLogView(o.recoveredZxid);
    const lastEpoch = zxidEpoch(o.recoveredZxid);
    const accepted = Math.max(this.readEpoch(acceptedEpochFile) ?? lastEpoch, lastEpoch);
    const current = Math.min(Math.max(this.readEpoch(currentEpochFile) ?? lastEpoch, lastEpoch), accepted);
    const config: ZabConfig = {
      id: myId,
      voters,
      observers,
      initLimitTicks: Math.max(2, cfg.initLimitTicks),
      syncLimitTicks: Math.max(2, cfg.syncLimitTicks),
      // FastLeaderElection's first notification timeout is 200 ms; at least one tick.
      electionTimeoutTicks: Math.max(1, Math.ceil(400 / cfg.tickTimeMs)),
    };
    this.peer = new ZabPeer(
      config,
      { acceptedEpoch: accepted, currentEpoch: current, lastLoggedZxid: this.log.lastZxid() },
      this.log,
      { nextInt: (bound) => Math.floor(Math.random() * bound) },
    );
    const peers = new Map<number, PeerAddress>();
    for (const s of cfg.servers) peers.set(s.id, { host: s.host, port: s.quorumPort });
    this.transport = new QuorumTransport({
      myId,
      peers,
      listenHost: me.host,
      listenPort: me.quorumPort,
      logger: o.logger,
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

  forward(m: ForwardMsg): boolean {
    if (this.stopped || (this.role !== 'following' && this.role !== 'observing')) return false;
    const leader = this.peer.leaderId;
    if (leader < 0 || this.peer.learner === null || this.peer.learner.phase !== 'active') return false;
    return this.transport.send(leader, m);
  }

  /** REQUEST at the leader, REQUESTERROR at a learner (from its leader). */
  private onForward(from: number, m: ForwardMsg): void {
    if (this.stopped || this.core === null) return;
    if (m.type === 'REQUEST') {
      const err = this.role === 'leading' ? this.core.onForwardedRequest(m) : Err.connectionLoss;
      if (err !== Err.ok) this.transport.send(from, { type: 'REQUESTERROR', session: m.session, cxid: m.cxid, err });
      return;
    }
    if (m.type === 'TOUCH') {
      if (this.role === 'leading') this.core.onLearnerTouch(m.sessions);
      return;
    }
    if (from !== this.peer.leaderId) return;
    this.core.onForwardError(m);
    this.core.flushOut();
  }

  /** A learner, each tick: the global sessions its clients touched go to the leader (TOUCH). */
  private sendTouches(): void {
    if (this.stopped || this.core === null || (this.role !== 'following' && this.role !== 'observing')) return;
    const sessions = this.core.takeTouched();
    if (sessions.length > 0) this.forward({ type: 'TOUCH', sessions });
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
   * The leader's mntr keys (ZooKeeper's Leader metrics): learners connected, and those synced
   * (in the broadcast phase) by kind. Empty on any other member.
   */
  leaderMetrics(): Record<string, number> {
    const l = this.peer.leader;
    if (this.role !== 'leading' || l === null) return {};
    let followers = 0;
    let observers = 0;
    for (const r of l.learners.values()) {
      if (r.phase !== 'active') continue;
      if (r.observer) observers++;
      else followers++;
    }
    return { learners: l.learners.size, synced_followers: followers, synced_observers: observers };
  }

  // ---- lifecycle ----

  async start(core: Core): Promise<void> {
    this.core = core;
    this.transport.on('peerUp', (peer) => this.step({ kind: 'peerUp', peer }));
    this.transport.on('forward', (from, msg) => this.onForward(from, msg));
    this.transport.on('peerDown', (peer) => {
      this.backlog.delete(peer);
      // A REQUEST sent to a leader whose connection dropped may be lost: answer it now.
      if (peer === this.peer.leaderId && this.role !== 'leading') core.abortForwarded();
      this.step({ kind: 'peerDown', peer });
    });
    this.transport.on('message', (from, msg) => {
      const input: Input = { kind: 'message', from, msg };
      if ((msg.type === 'FOLLOWERINFO' || msg.type === 'OBSERVERINFO') && this.peer.role === 'looking') {
        this.backlog.set(from, input);
      }
      this.step(input);
    });
    await this.transport.start();
    this.tick = setInterval(() => {
      this.step({ kind: 'tick' });
      this.sendTouches();
    }, this.o.cfg.tickTimeMs);
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
        this.peer.step({ kind: 'propose', payload: this.encode(p) });
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
    if (ready.installSnapshot !== null) {
      this.o.fatal('SNAP sync (installing a snapshot from the leader) is not supported yet');
    }
    const persist = ready.persist;
    if (persist.truncateTo !== undefined) {
      this.o.logger.warn({ to: zxidHex(persist.truncateTo) }, 'truncating the log (in memory; see driver.ts)');
      this.log.truncate(persist.truncateTo);
      this.o.stage.log.forgetAfter(persist.truncateTo);
    }
    for (const e of persist.entries) {
      this.log.append(e);
      this.o.stage.append(this.decode(e.payload));
    }
    for (const out of ready.sendNow) {
      if (out.msg.type === 'SNAP') {
        this.o.logger.error({ to: out.to }, 'learner needs a SNAP sync, which is not supported yet');
        continue;
      }
      this.transport.send(out.to, out.msg);
    }
    if (ready.mustSync || ready.sendAfterPersist.length > 0) {
      const zxid = this.log.lastZxid();
      const must = ready.mustSync;
      const after = ready.sendAfterPersist;
      const accepted = persist.acceptedEpoch;
      const current = persist.currentEpoch;
      this.o.stage.flush(() => {
        if (this.stopped) return;
        if (accepted !== undefined) this.writeEpoch(acceptedEpochFile, accepted);
        if (current !== undefined) this.writeEpoch(currentEpochFile, current);
        for (const out of after) this.transport.send(out.to, out.msg);
        if (must) this.step({ kind: 'persisted', zxid });
        else this.drain();
      });
    }
    for (const e of ready.apply) core.applyCommitted(this.decode(e.payload));
    if (ready.apply.length > 0) core.flushOut();
    for (const ev of ready.events) {
      this.o.logger.info({ event: ev, status: this.peer.status() }, 'zab');
      if (ev.kind === 'role') {
        const wasLeading = this.role === 'leading';
        const wasLearner = this.role === 'following' || this.role === 'observing';
        this.role = ev.role;
        if (wasLearner) core.abortForwarded();
        if (ev.role === 'leading') for (const input of this.backlog.values()) this.deferred.push(input);
        if (ev.role !== 'looking') this.backlog.clear();
        if (ev.role !== 'leading') this.established = null;
        if (wasLeading) this.abortPending = true;
      } else if (ev.kind === 'established') {
        this.established = { epoch: ev.epoch, zxid: ev.zxid };
        this.o.db.resetPipeline(ev.epoch * 0x100000000);
      }
    }
  }

  // ---- payloads: a PreparedTxn as jute TxnHeader + Txn ----

  private encode(p: PreparedTxn): Uint8Array {
    const w = this.writer.reset();
    encodeTxnHeader(w, p.hdr);
    encodeTxn(w, p.txn);
    return Uint8Array.from(w.bytes());
  }

  private decode(payload: Uint8Array): PreparedTxn {
    const r = this.reader.reset(payload, 0, payload.length);
    const hdr = decodeTxnHeader(r);
    const txn = decodeTxn(hdr.type, r);
    return { hdr, txn };
  }

  // ---- epoch files (dataDir/version-2, as ZooKeeper keeps them) ----

  private readEpoch(name: string): number | null {
    const path = join(this.epochDir, name);
    if (!existsSync(path)) return null;
    const n = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${path}: not an epoch`);
    return n;
  }

  private writeEpoch(name: string, epoch: number): void {
    const path = join(this.epochDir, name);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${epoch}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }
}
