// autopurge, as ZooKeeper's DatadirCleanupManager + PurgeTxnLog do it: keep the newest
// snapRetainCount snapshots (at least 3) and every log file needed to recover from the OLDEST one
// kept; delete the older snapshots and logs. Runs every purgeInterval hours (0: off), first at
// start. Why the oldest kept: if the newest snapshot turns out damaged, recovery falls back to an
// older one and replays from there, so its logs must still exist.
//
// Only snapshots that look complete (SnapStream.isValidCheckedStream: they end with the "/" seal)
// count towards the ones kept, so a pile of half-written files can never push the last good
// snapshot, or its logs, out. Async (fs/promises): it runs while the server serves.

import { open, readdir, unlink } from 'node:fs/promises';
import { zxidHex } from '../../common/ids.js';
import { silentLogger, type StorageLogger } from './errors.js';
import {
  dataFiles,
  logFilePrefix,
  logsFrom,
  snapshotFilePrefix,
  versionDir,
  type DataFile,
} from './layout.js';
import { purgeIntervalHoursMax, snapRetainCountMin } from './limits.js';
import { hasSealTail } from './snapshot-format.js';

export interface PurgeOptions {
  dataDir: string;
  dataLogDir: string;
  /** autopurge.snapRetainCount (values below 3 are raised to 3, as ZooKeeper does). */
  snapRetainCount: number;
  logger?: StorageLogger;
}

export interface PurgeResult {
  /** The snapshots kept, newest first. */
  retainedSnapshots: string[];
  /** The oldest zxid kept recoverable, or -1 when nothing was purged (too few snapshots). */
  leastZxid: number;
  removed: string[];
}

/** PurgeTxnLog.purge. */
export async function purge(opts: PurgeOptions): Promise<PurgeResult> {
  const logger = opts.logger ?? silentLogger;
  const retain = Math.max(snapRetainCountMin, opts.snapRetainCount);
  const snapDir = versionDir(opts.dataDir);
  const logDir = versionDir(opts.dataLogDir);
  const snaps = dataFiles(snapDir, await readdir(snapDir), snapshotFilePrefix).reverse();
  const kept: DataFile[] = [];
  for (const s of snaps) {
    if (kept.length === retain) break;
    if (await looksComplete(s.path)) kept.push(s);
  }
  const oldest = kept[kept.length - 1];
  const result: PurgeResult = {
    retainedSnapshots: kept.map((s) => s.path),
    leastZxid: -1,
    removed: [],
  };
  if (kept.length < retain || oldest === undefined) return result;
  result.leastZxid = oldest.zxid;
  const logs = dataFiles(logDir, await readdir(logDir), logFilePrefix);
  const neededLogs = new Set(logsFrom(logs, oldest.zxid).map((f) => f.path));
  const doomed = [
    ...logs.filter((f) => f.zxid < oldest.zxid && !neededLogs.has(f.path)),
    ...snaps.filter((f) => f.zxid < oldest.zxid),
  ];
  for (const f of doomed) {
    try {
      await unlink(f.path);
      result.removed.push(f.path);
      logger.info({ file: f.path }, 'purged');
    } catch (e) {
      logger.warn({ file: f.path, err: e }, 'could not purge');
    }
  }
  logger.info(
    { retained: kept.length, leastZxid: zxidHex(oldest.zxid), removed: result.removed.length },
    'purge done',
  );
  return result;
}

/** The last 5 bytes are int 1 + '/', the end of a seal. */
async function looksComplete(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
    const { size } = await fh.stat();
    if (size < 16 + 13) return false;
    const tail = new Uint8Array(5);
    await fh.read(tail, 0, 5, size - 5);
    return hasSealTail(tail);
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}

export interface PurgeSchedulerOptions extends PurgeOptions {
  /** autopurge.purgeInterval in hours; 0 (ZooKeeper's default) turns purging off. */
  purgeIntervalHours: number;
}

/** DatadirCleanupManager: purges at start, then every purgeInterval hours. */
export class PurgeScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private readonly opts: PurgeOptions;
  private readonly intervalHours: number;
  private readonly logger: StorageLogger;

  constructor(opts: PurgeSchedulerOptions) {
    this.logger = opts.logger ?? silentLogger;
    let retain = opts.snapRetainCount;
    if (!Number.isSafeInteger(retain) || retain < snapRetainCountMin) {
      this.logger.warn(
        { snapRetainCount: retain },
        `Invalid autopurge.snapRetainCount: defaulting to ${snapRetainCountMin}`,
      );
      retain = snapRetainCountMin;
    }
    this.opts = { ...opts, snapRetainCount: retain, logger: this.logger };
    const hours = opts.purgeIntervalHours;
    this.intervalHours =
      Number.isFinite(hours) && hours > 0 ? Math.min(hours, purgeIntervalHoursMax) : 0;
  }

  get enabled(): boolean {
    return this.intervalHours > 0;
  }

  start(): void {
    if (!this.enabled) {
      this.logger.info({}, 'Purge task is not scheduled (autopurge.purgeInterval is 0)');
      return;
    }
    if (this.timer !== null) return;
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), this.intervalHours * 3_600_000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a purge in progress. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private runOnce(): void {
    if (this.running !== null) return;
    this.running = purge(this.opts)
      .catch((e: unknown) => this.logger.error({ err: e }, 'purge failed'))
      .finally(() => {
        this.running = null;
      });
  }
}
