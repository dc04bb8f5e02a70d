// The log stage the pipeline talks to (ZooKeeper's SyncRequestProcessor): appends go to the txn
// log, flushes are its group commits, and every snapCount txns (randomised, so that the servers of
// an ensemble do not all snapshot at once) the log rolls to a new file and a fuzzy snapshot
// starts, one at a time ("Too busy to snap, skipping" otherwise, as ZooKeeper).
//
// It also keeps the global sessions map a snapshot writes (ZKDatabase.sessionsWithTimeouts),
// updated from session txns once they are DURABLE: a snapshot then never records a session whose
// createSession could still be lost, and a session closed after the snapshot's zxid is closed
// again by the replay, so the map recovers exactly.

import { zxidHex } from '../../common/ids.js';
import { OpCode } from '../../common/zk.js';
import type { LogStage } from '../pipeline/log-stage.js';
import type { PreparedTxn } from '../pipeline/prep.js';
import { silentLogger, StorageError, StorageErrorCode, type StorageLogger } from './errors.js';
import { versionDir } from './layout.js';
import { durableFlushRoundsMax, sessionChangesCompactEntriesMin, snapCountTxnsDefault, snapCountTxnsMin } from './limits.js';
import type { LogFs } from './log-fs.js';
import {
  Snapshotter,
  type SnapshotInfo,
  type SnapshotSource,
  type SnapshotWriteRunner,
} from './snapshot.js';
import { TxnLog } from './txnlog.js';
import { writeSnapshotImageSync } from './snapshot-worker.js';

export interface SyncStageOptions {
  dataDir: string;
  dataLogDir: string;
  /** The database snapshots read (ZkDatabase: its tree and lastZxid). */
  db: SnapshotSource;
  /** recover()'s sessions map; the stage keeps it current from then on. */
  sessions: Map<bigint, number>;
  /** recover()'s lastZxid. */
  lastZxid: number;
  /** The txn log failed: log it and exit without replying to anything (see txnlog.ts). */
  onFatal: (err: StorageError) => void;
  /** zookeeper.snapCount, default 100,000. */
  snapCount?: number;
  /** zookeeper.preAllocSize in bytes (ZooKeeper's key is in KiB), default 64 MiB. */
  preAllocBytes?: number;
  logger?: StorageLogger;
  fs?: LogFs;
  /** Each fsync of the txn log, in ms (TxnLogOptions.onFsync). */
  onFsync?: (ms: number) => void;
  /** [0, 1): for the randomised snapshot interval. */
  random?: () => number;
  snapshotSliceNodes?: number;
  snapshotSliceMs?: number;
  snapshotRunner?: SnapshotWriteRunner;
  /** Snapshotter's inlineWriteBytesMax. */
  snapshotInlineWriteBytesMax?: number;
  snapshotYield?: () => Promise<void>;
}


/** One pending change to the sessions map: `timeoutMs` -1 closes. */
class SessionChange {
  constructor(
    readonly zxid: number,
    readonly id: bigint,
    readonly timeoutMs: number,
  ) {}
}

export class SyncStage implements LogStage<PreparedTxn> {
  readonly log: TxnLog;
  readonly snapshots: Snapshotter;
  readonly sessions: Map<bigint, number>;
  private readonly db: SnapshotSource;
  private readonly logger: StorageLogger;
  private readonly snapCount: number;
  private readonly random: () => number;
  private logCount = 0;
  private randRoll: number;
  private changes: SessionChange[] = [];
  private changesHead = 0;
  private closed = false;
  private readonly snapDir: string;
  private readonly snapshotListeners: ((info: SnapshotInfo) => void)[] = [];

  constructor(opts: SyncStageOptions) {
    this.snapCount = opts.snapCount ?? snapCountTxnsDefault;
    if (!Number.isSafeInteger(this.snapCount) || this.snapCount < snapCountTxnsMin) {
      throw new StorageError(
        StorageErrorCode.config,
        `snapCount=${this.snapCount}: must be at least ${snapCountTxnsMin}`,
      );
    }
    this.db = opts.db;
    this.sessions = opts.sessions;
    this.logger = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.randRoll = this.roll();
    this.log = new TxnLog({
      dir: versionDir(opts.dataLogDir),
      onFatal: opts.onFatal,
      lastZxid: opts.lastZxid,
      logger: this.logger,
      ...(opts.preAllocBytes !== undefined ? { preAllocBytes: opts.preAllocBytes } : {}),
      ...(opts.fs !== undefined ? { fs: opts.fs } : {}),
      ...(opts.onFsync !== undefined ? { onFsync: opts.onFsync } : {}),
    });
    this.snapDir = versionDir(opts.dataDir);
    this.snapshots = new Snapshotter({
      dir: this.snapDir,
      logger: this.logger,
      ...(opts.snapshotSliceNodes !== undefined ? { sliceNodes: opts.snapshotSliceNodes } : {}),
      ...(opts.snapshotSliceMs !== undefined ? { sliceMs: opts.snapshotSliceMs } : {}),
      ...(opts.snapshotRunner !== undefined ? { runner: opts.snapshotRunner } : {}),
      ...(opts.snapshotInlineWriteBytesMax !== undefined
        ? { inlineWriteBytesMax: opts.snapshotInlineWriteBytesMax }
        : {}),
      ...(opts.snapshotYield !== undefined ? { yieldTurn: opts.snapshotYield } : {}),
      logDurableTo: (zxid) => this.logDurableTo(zxid),
    });
  }

  append(p: PreparedTxn): void {
    this.log.append(p);
    const type = p.hdr.type;
    if (type === OpCode.createSession && p.txn.type === OpCode.createSession) {
      this.changes.push(new SessionChange(p.hdr.zxid, p.hdr.clientId, p.txn.timeOut));
    } else if (type === OpCode.closeSession) {
      this.changes.push(new SessionChange(p.hdr.zxid, p.hdr.clientId, -1));
    }
    // SyncRequestProcessor.shouldSnapshot: logCount > snapCount / 2 + randRoll.
    if (++this.logCount > (this.snapCount >> 1) + this.randRoll) {
      this.logCount = 0;
      this.randRoll = this.roll();
      this.log.rollLog();
      if (this.snapshots.running) {
        this.logger.warn({}, 'Too busy to snap, skipping');
        this.snapshots.stats.skippedBusy++;
      } else {
        setImmediate(() => this.autoSnapshot());
      }
    }
  }

  /** Resolves once the log is durable up to `zxid` (flushing what is appended, as needed). */
  private async logDurableTo(zxid: number): Promise<void> {
    // Every applied txn was appended first, so a flush of what is appended now covers `zxid`;
    // a few rounds only if a flush fails over to a failure (the log then stops the server).
    for (let round = 0; round < durableFlushRoundsMax && this.log.durableZxid < zxid && !this.closed; round++) {
      await new Promise<void>((resolve) => this.flush(resolve));
    }
  }

  flush(done: () => void): void {
    this.log.flush(() => {
      this.applyDurableSessionChanges();
      done();
    });
  }

  /**
   * Starts a fuzzy snapshot now (the server takes one after recovery, as ZooKeeperServer.loadData
   * does). Failures are logged and returned, never fatal: the log still holds every txn.
   */
  async snapshot(): Promise<SnapshotInfo> {
    try {
      const info = await this.snapshots.take(this.db, this.sessions);
      for (const listener of this.snapshotListeners) listener(info);
      return info;
    } catch (e) {
      const quiet = e instanceof StorageError && e.code !== StorageErrorCode.snapshotWrite;
      if (quiet) throw e; // busy or closed: nothing went wrong
      this.logger.error({ err: e, zxid: zxidHex(this.db.lastZxid) }, 'snapshot failed');
      throw e;
    }
  }

  /** Called with each snapshot once its file is durable (the ensemble driver trims its
   *  in-memory log then). */
  onSnapshot(listener: (info: SnapshotInfo) => void): void {
    this.snapshotListeners.push(listener);
  }

  /**
   * Ensemble TRUNC (driver.ts): every txn above `zxid` is dropped from the log, durably with the
   * next flush (TxnLog.truncateAfter). Session changes above it that are not durable yet are
   * forgotten. (One that already became durable stays in the sessions map: see "The ensemble
   * driver" in docs/design-notes.md.)
   */
  truncate(zxid: number): void {
    const changes = this.changes;
    while (changes.length > this.changesHead && (changes[changes.length - 1] as SessionChange).zxid > zxid) {
      changes.pop();
    }
    this.log.truncateAfter(zxid);
  }

  /**
   * SNAP sync (driver.ts): the state is now the leader's snapshot `image` at `zxid`, whose global
   * sessions are `sessions`. A fuzzy snapshot walking the old tree is abandoned; in the log's
   * I/O chain the image becomes dataDir/version-2/snapshot.<zxid> and every log file goes
   * (TxnLog.rebase), durably with the next flush. Appends continue after `zxid`.
   */
  installSnapshot(zxid: number, image: Uint8Array, sessions: ReadonlyMap<bigint, number>): void {
    this.snapshots.abandon();
    this.changes = [];
    this.changesHead = 0;
    this.sessions.clear();
    for (const [id, timeoutMs] of sessions) this.sessions.set(BigInt.asUintN(64, id), timeoutMs);
    this.logCount = 0;
    const dir = this.snapDir;
    const logger = this.logger;
    this.log.rebase(zxid, () => {
      const file = writeSnapshotImageSync(dir, zxid, image);
      logger.info({ file, zxid: zxidHex(zxid), bytes: image.length }, 'snapshot from the leader written');
    });
  }

  private autoSnapshot(): void {
    if (this.closed || this.snapshots.running) return;
    this.snapshot().catch(() => undefined); // logged in snapshot(); the log holds everything
  }

  /** Counters for mntr. */
  metrics(): Record<string, number> {
    const l = this.log.stats;
    const s = this.snapshots.stats;
    return {
      txn_log_txns: l.txns,
      txn_log_bytes: l.bytes,
      txn_log_batches: l.batches,
      fsync_count: l.fsyncs,
      fsync_ms_avg: l.fsyncs === 0 ? 0 : l.fsyncMsTotal / l.fsyncs,
      fsync_ms_max: l.fsyncMsMax,
      fsync_ms_last: l.fsyncMsLast,
      fsync_threshold_exceed_count: l.fsyncSlow,
      snapshots_taken: s.taken,
      snapshots_failed: s.failed,
      snapshots_skipped_busy: s.skippedBusy,
      snapshot_in_progress: s.inProgress ? 1 : 0,
      last_snapshot_zxid: s.lastZxid,
      last_snapshot_nodes: s.lastNodes,
      last_snapshot_bytes: s.lastBytes,
      last_snapshot_walk_ms: s.lastWalkMs,
      last_snapshot_slice_ms_max: s.lastSliceMsMax,
      last_snapshot_write_ms: s.lastWriteMs,
    };
  }

  /** Waits for a running snapshot, flushes and closes the log. */
  async close(): Promise<void> {
    this.closed = true;
    await this.snapshots.close();
    await this.log.close();
  }

  private applyDurableSessionChanges(): void {
    const durable = this.log.durableZxid;
    const changes = this.changes;
    let i = this.changesHead;
    for (; i < changes.length; i++) {
      const c = changes[i] as SessionChange;
      if (c.zxid > durable) break;
      const id = BigInt.asUintN(64, c.id);
      if (c.timeoutMs < 0) this.sessions.delete(id);
      else this.sessions.set(id, c.timeoutMs);
    }
    if (i === changes.length) {
      this.changes = [];
      this.changesHead = 0;
    } else if (i > sessionChangesCompactEntriesMin && i * 2 > changes.length) {
      this.changes = changes.slice(i);
      this.changesHead = 0;
    } else {
      this.changesHead = i;
    }
  }

  private roll(): number {
    return Math.floor(this.random() * (this.snapCount >> 1));
  }
}
