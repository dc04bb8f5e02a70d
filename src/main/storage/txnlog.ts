// The durable txn log (ZooKeeper's FileTxnLog behind SyncRequestProcessor): the pipeline appends
// prepared txns in zxid order and asks for a flush once per batch; a flush completes when every
// txn appended before it is on disk. Files and records are ZooKeeper's (log-format.ts).
//
// Group commit: append() only encodes the record into a pending buffer, in memory. flush() hands
// everything pending to the disk with ONE write and ONE fdatasync (async, on libuv's pool; the
// main thread never blocks on the disk). Flushes that arrive while an fsync is running wait and
// are served together by the next batch, so a slow disk makes batches bigger, not queues longer.
// Callbacks run in the order the flushes were asked for.
//
// Files are preallocated (FilePadding): grown with ftruncate in preAllocBytes blocks (64 MiB by
// default), so an fdatasync rarely has a file size to persist; the zeros read as the end of the
// log. A roll (rollLog(), at a snapshot) makes the next append start log.<its zxid>; a new file is
// fsynced along with its directory, so its name survives a power cut too.
//
// Failure is FAIL-STOP: a failed write or fsync (EIO, ENOSPC, EDQUOT...) calls onFatal once and
// completes no pending or later flush, so no reply leaves for a txn that may not be durable. Why
// not retry, or go read-only on ENOSPC: after a failed fsync Linux may already have dropped the
// dirty pages and marked them clean ("fsyncgate"), so a retried fsync can succeed with the data
// gone; the process cannot know what reached the disk. Read-only mode would keep serving a tree
// that no longer matches what the disk will recover to. ZooKeeper does the same
// (SyncRequestProcessor: "Severe unrecoverable error, exiting"): the server exits, clients fail
// over, and on restart recovery truncates whatever tail is torn.

import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../common/assert.js';
import { JuteWriter } from '../../protocol/jute/index.js';
import type { LogStage } from '../pipeline/log-stage.js';
import type { PreparedTxn } from '../pipeline/prep.js';
import {
  errnoCode,
  silentLogger,
  StorageError,
  StorageErrorCode,
  type StorageLogger,
} from './errors.js';
import {
  dataFiles,
  fileHeaderBytes,
  logDbId,
  logFileName,
  logFilePrefix,
  logMagic,
  writeFileHeader,
} from './layout.js';
import {
  fsyncWarnMsDefault,
  logBatchInitialBytes,
  logRecordBytesMax,
  logBatchPooledBytesMax,
  logBatchWritersPooledMax,
  preAllocBytesDefault,
  preAllocSlackBytes,
} from './limits.js';
import { encodeLogRecord, isDamaged, scanLog } from './log-format.js';
import { fsyncDir, fsyncDirSync, nodeLogFs, type IoCallback, type LogFs } from './log-fs.js';

export interface TxnLogOptions {
  /** dataLogDir/version-2 (layout.versionDir). */
  dir: string;
  /** Called once, on the first failed write / fsync / open: the server must stop (see top). */
  onFatal: (err: StorageError) => void;
  /** preAllocSize in bytes; 0 turns preallocation off. Default 64 MiB, as ZooKeeper. */
  preAllocBytes?: number;
  /** The file operations; default node:fs. Tests inject fakes here. */
  fs?: LogFs;
  logger?: StorageLogger;
  /** fsync.warningthresholdms */
  fsyncWarnMs?: number;
  /** The zxid recovery ended at: appends must come after it. */
  lastZxid?: number;
  /** Monotonic ms, for fsync latency. */
  nowMs?: () => number;
  /** Each fsync's time in ms (the exporter's fsynctime). */
  onFsync?: (ms: number) => void;
}

/** Counters for mntr / metrics (ZooKeeper: fsynctime, zk_fsync_threshold_exceed_count). */
export class TxnLogStats {
  txns = 0;
  bytes = 0;
  batches = 0;
  writes = 0;
  fsyncs = 0;
  fsyncMsTotal = 0;
  fsyncMsMax = 0;
  fsyncMsLast = 0;
  fsyncSlow = 0;
  filesCreated = 0;
}

/** Pending bytes for one file: a continuation of the open file, or a new one (header first). */
class Segment {
  lastZxid = -1;
  constructor(
    readonly writer: JuteWriter,
    /** The first zxid of a new file, or -1: this continues the file already open. */
    readonly newFileZxid: number,
  ) {}
}

/**
 * A change to the files themselves (a truncation, a SNAP rebase), queued between segments so it
 * runs in append order inside the I/O chain: everything appended before it is written first,
 * nothing appended after it is written until it is done, and no write is in flight while it
 * runs. `run` is synchronous (node:fs *Sync: these are rare, and a learner doing them is
 * syncing, not serving writes) and throws an errno error on failure (fail-stop).
 */
class FileOp {
  constructor(
    readonly what: string,
    readonly run: () => void,
    /** durableZxid once it is done (the log now ends there). */
    readonly endZxid: number,
  ) {}
}

/** What a flush covers: the segments pending when it started and the callbacks waiting on it. */
class Batch {
  constructor(
    readonly segments: (Segment | FileOp)[],
    readonly callbacks: (() => void)[],
  ) {}
}

class OpenLog {
  readonly fd: number;
  readonly path: string;
  /** Where the next write goes (the end of the last good record). */
  position: number;
  /** The file's size, as preallocation left it. */
  allocated: number;
  /** Not synced yet: its first sync is a full fsync plus the directory's. */
  fresh: boolean;

  constructor(o: { fd: number; path: string; position: number; allocated: number; fresh: boolean }) {
    this.fd = o.fd;
    this.path = o.path;
    this.position = o.position;
    this.allocated = o.allocated;
    this.fresh = o.fresh;
  }
}


export class TxnLog implements LogStage<PreparedTxn> {
  readonly stats = new TxnLogStats();
  /** The last zxid appended, and the last one known durable. */
  lastAppendedZxid: number;
  durableZxid: number;
  private readonly dir: string;
  private readonly io: LogFs;
  private readonly preAllocBytes: number;
  private readonly fsyncWarnMs: number;
  private readonly onFsync: ((ms: number) => void) | undefined;
  private readonly logger: StorageLogger;
  private readonly nowMs: () => number;
  private readonly onFatal: (err: StorageError) => void;
  private segments: (Segment | FileOp)[] = [];
  private waiting: (() => void)[] = [];
  private inFlight = false;
  /** The append side: does the next append continue a file, or must it start one? */
  private appendFileOpen = false;
  private rollPending = false;
  /** The I/O side: the file the next continuation segment goes to. */
  private file: OpenLog | null = null;
  private failure: StorageError | null = null;
  private readonly writerPool: JuteWriter[] = [];

  constructor(opts: TxnLogOptions) {
    this.dir = opts.dir;
    this.io = opts.fs ?? nodeLogFs;
    this.preAllocBytes = opts.preAllocBytes ?? preAllocBytesDefault;
    this.fsyncWarnMs = opts.fsyncWarnMs ?? fsyncWarnMsDefault;
    this.onFsync = opts.onFsync;
    this.logger = opts.logger ?? silentLogger;
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.onFatal = opts.onFatal;
    this.lastAppendedZxid = opts.lastZxid ?? 0;
    this.durableZxid = this.lastAppendedZxid;
    if (!Number.isSafeInteger(this.preAllocBytes) || this.preAllocBytes < 0) {
      throw new StorageError(StorageErrorCode.config, `preAllocSize ${this.preAllocBytes} bytes`);
    }
  }

  /** The error that stopped the log, if one did. */
  get failed(): StorageError | null {
    return this.failure;
  }

  /** Encodes the record into the pending batch; nothing touches the disk until flush(). */
  append(p: PreparedTxn): void {
    if (this.failure !== null) return; // fail-stop: nothing more becomes durable
    const zxid = p.hdr.zxid;
    assert(zxid > this.lastAppendedZxid, `log append ${zxid} after ${this.lastAppendedZxid}`);
    let seg: Segment | FileOp | undefined = this.segments[this.segments.length - 1];
    if (seg instanceof FileOp) seg = undefined; // (appendFileOpen is false after an op)
    if (this.rollPending || !this.appendFileOpen) {
      seg = new Segment(this.takeWriter(), zxid);
      writeFileHeader(seg.writer, logMagic, logDbId);
      this.segments.push(seg);
      this.rollPending = false;
      this.appendFileOpen = true;
    } else if (seg === undefined) {
      seg = new Segment(this.takeWriter(), -1);
      this.segments.push(seg);
    }
    const before = seg.writer.length;
    encodeLogRecord(seg.writer, p.hdr, p.txn);
    // Recovery reads a longer record as corruption: it must never be written (jute.maxbuffer
    // bounds every request far below this).
    const recordBytes = seg.writer.length - before;
    assert(recordBytes <= logRecordBytesMax, `txn ${zxid} of ${recordBytes} bytes is too large`);
    seg.lastZxid = zxid;
    this.lastAppendedZxid = zxid;
    this.stats.txns++;
  }

  /** Calls `done` once everything appended before this call is durable (never, after a fatal
   *  error). Flushes asked for while one is running are served together by the next. */
  flush(done: () => void): void {
    if (this.failure !== null) return;
    this.waiting.push(done);
    if (!this.inFlight) this.startBatch();
  }

  /**
   * Ensemble TRUNC (driver.ts; ZooKeeper's FileTxnLog.truncate): every record above `zxid` goes,
   * durably, before the next flush completes. In the I/O chain, after what is already appended
   * has been written: the file holding the first record above `zxid` is cut at that record's
   * offset (preallocated zeros go with it) and fsynced, every later file is removed, and the
   * directory is fsynced. Appends after this call continue after `zxid`, in a new file.
   */
  truncateAfter(zxid: number): void {
    this.lastAppendedZxid = Math.min(this.lastAppendedZxid, zxid);
    this.durableZxid = Math.min(this.durableZxid, zxid);
    this.queueOp(new FileOp('truncate txn log', () => truncateLogFiles(this.dir, zxid, this.logger), zxid));
  }

  /**
   * SNAP sync (driver.ts): the log restarts after `zxid`, a snapshot the caller writes in
   * `writeSnapshot`. In the I/O chain, in this order, so that a crash at any point recovers to
   * a state the ensemble can sync from: records above `zxid` are truncated (a crash here leaves
   * the old state minus an uncommitted tail); the snapshot is written and made durable (a crash
   * here recovers from it, the old files holding nothing after it); then every log file goes
   * (all at or below `zxid`, covered by the snapshot). Appends after this call start a new file.
   */
  rebase(zxid: number, writeSnapshot: () => void): void {
    this.lastAppendedZxid = zxid;
    this.durableZxid = Math.min(this.durableZxid, zxid);
    const dir = this.dir;
    const logger = this.logger;
    this.queueOp(
      new FileOp(
        'rebase txn log on a snapshot',
        () => {
          truncateLogFiles(dir, zxid, logger);
          writeSnapshot();
          removeLogFiles(dir, logger);
        },
        zxid,
      ),
    );
  }

  private queueOp(op: FileOp): void {
    if (this.failure !== null) return;
    this.segments.push(op);
    // The op closes the open file; whatever comes next starts a new one.
    this.appendFileOpen = false;
    this.rollPending = false;
  }

  /** FileTxnLog.rollLog: the next append starts a new file (named by its zxid). */
  rollLog(): void {
    if (this.appendFileOpen) this.rollPending = true;
  }

  /** Flushes what is pending and closes the file. */
  async close(): Promise<void> {
    if (this.failure === null) await new Promise<void>((resolve) => this.flush(resolve));
    const file = this.file;
    this.file = null;
    this.appendFileOpen = false;
    if (file === null) return;
    await new Promise<void>((resolve) => this.io.close(file.fd, () => resolve()));
  }

  // ---- the I/O chain of one batch ---------------------------------------------------------

  private startBatch(): void {
    const batch = new Batch(this.segments, this.waiting);
    this.segments = [];
    this.waiting = [];
    this.inFlight = true;
    if (batch.segments.length === 0) {
      // Nothing new: everything appended is already durable (no batch is in flight).
      queueMicrotask(() => this.batchDone(batch));
      return;
    }
    this.runSegment(batch, 0);
  }

  private runSegment(batch: Batch, i: number): void {
    const seg = batch.segments[i];
    if (seg === undefined) return this.batchDone(batch);
    if (seg instanceof FileOp) return this.runOp(batch, i, seg);
    if (seg.newFileZxid < 0) return this.growThenWrite(batch, i);
    this.openNext(seg.newFileZxid, (err) => {
      if (err !== null) return this.fail(StorageErrorCode.logOpen, 'create log file', err);
      this.growThenWrite(batch, i);
    });
  }

  /** Closes the open file (what was written to it is synced), then runs the op. */
  private runOp(batch: Batch, i: number, op: FileOp): void {
    const file = this.file;
    this.file = null;
    const run = (): void => {
      try {
        op.run();
      } catch (e) {
        return this.fail(StorageErrorCode.logWrite, op.what, asErrno(e));
      }
      this.durableZxid = op.endZxid;
      this.runSegment(batch, i + 1);
    };
    if (file === null) return run();
    this.io.close(file.fd, (err) => (err !== null ? this.fail(StorageErrorCode.logWrite, op.what, err) : run()));
  }

  /** Closes the current file (its data is synced already) and creates + preallocates the next. */
  private openNext(zxid: number, cb: IoCallback): void {
    const previous = this.file;
    this.file = null;
    const open = (): void => {
      const path = join(this.dir, logFileName(zxid));
      // 'wx': never overwrite a log; recovery removes a tail file that holds no good record.
      this.io.open(path, 'wx', (err, fd) => {
        if (err !== null) return cb(err);
        this.file = new OpenLog({ fd, path, position: 0, allocated: 0, fresh: true });
        this.stats.filesCreated++;
        this.logger.info({ file: path }, 'new txn log file');
        cb(null);
      });
    };
    if (previous === null) return open();
    this.io.close(previous.fd, (err) => (err !== null ? cb(err) : open()));
  }

  /** Grows the preallocated file if this write comes near its end, then writes. */
  private growThenWrite(batch: Batch, i: number): void {
    const file = this.file;
    const seg = batch.segments[i];
    assert(file !== null && seg instanceof Segment, 'log write without an open file');
    const end = file.position + seg.writer.length;
    if (this.preAllocBytes === 0 || end + preAllocSlackBytes <= file.allocated) {
      return this.writeSegment(batch, i, file);
    }
    let allocated = file.allocated;
    while (end + preAllocSlackBytes > allocated) allocated += this.preAllocBytes;
    this.io.ftruncate(file.fd, allocated, (err) => {
      if (err !== null) return this.fail(StorageErrorCode.logWrite, 'preallocate log file', err);
      file.allocated = allocated;
      this.writeSegment(batch, i, file);
    });
  }

  private writeSegment(batch: Batch, i: number, file: OpenLog): void {
    const seg = batch.segments[i];
    assert(seg instanceof Segment, 'log segment missing');
    const bytes = seg.writer.bytes();
    this.writeAll(file.fd, bytes, 0, file.position, (err) => {
      if (err !== null) return this.fail(StorageErrorCode.logWrite, 'write txn log', err);
      this.stats.writes++;
      this.stats.bytes += bytes.length;
      this.syncSegment(batch, i, file, bytes.length);
    });
  }

  /** fs.write may write less than asked; go on from where it stopped. */
  private writeAll(
    fd: number,
    bytes: Uint8Array,
    from: number,
    position: number,
    cb: IoCallback,
  ): void {
    this.io.write(fd, bytes, from, bytes.length - from, position, (err, written) => {
      if (err !== null) return cb(err);
      if (written <= 0) return cb(shortWriteError(bytes.length - from));
      if (from + written === bytes.length) return cb(null);
      this.writeAll(fd, bytes, from + written, position + written, cb);
    });
  }

  private syncSegment(batch: Batch, i: number, file: OpenLog, length: number): void {
    const started = this.nowMs();
    const synced: IoCallback = (err) => {
      if (err !== null) return this.fail(StorageErrorCode.logFsync, 'fsync txn log', err);
      this.recordFsync(this.nowMs() - started, file.path);
      const seg = batch.segments[i];
      assert(seg instanceof Segment, 'log segment missing');
      file.position += length;
      file.fresh = false;
      this.durableZxid = seg.lastZxid;
      this.recycleWriter(seg.writer);
      this.runSegment(batch, i + 1);
    };
    if (!file.fresh) return this.io.fdatasync(file.fd, synced);
    // A new file: fsync (its size and allocation) and then its directory (its name).
    this.io.fsync(file.fd, (err) => {
      if (err !== null) return synced(err);
      fsyncDir(this.io, this.dir, synced);
    });
  }

  private recordFsync(ms: number, path: string): void {
    const s = this.stats;
    s.fsyncs++;
    s.fsyncMsTotal += ms;
    s.fsyncMsLast = ms;
    if (ms > s.fsyncMsMax) s.fsyncMsMax = ms;
    this.onFsync?.(ms);
    if (ms > this.fsyncWarnMs) {
      s.fsyncSlow++;
      this.logger.warn(
        { file: path, fsyncMs: Math.round(ms) },
        'fsync of the txn log was slow; replies wait for it (see ZooKeeper troubleshooting)',
      );
    }
  }

  private batchDone(batch: Batch): void {
    this.inFlight = false;
    this.stats.batches++;
    // Start the next batch before running these callbacks: the disk works while they apply.
    if (this.waiting.length > 0) this.startBatch();
    for (const done of batch.callbacks) done();
  }

  private fail(code: StorageErrorCode, what: string, cause: NodeJS.ErrnoException): void {
    if (this.failure !== null) return;
    const path = this.file?.path ?? this.dir;
    this.failure = new StorageError(
      code,
      `${what} failed (${errnoCode(cause)}) on ${path}: ${cause.message}`,
      { cause },
    );
    // Drop every waiting callback: their txns may not be durable, so they never complete.
    this.waiting = [];
    this.segments = [];
    this.logger.error({ err: this.failure, file: path }, 'txn log failed: fail-stop');
    this.onFatal(this.failure);
  }

  private takeWriter(): JuteWriter {
    return this.writerPool.pop() ?? new JuteWriter(logBatchInitialBytes);
  }

  private recycleWriter(w: JuteWriter): void {
    if (w.length <= logBatchPooledBytesMax && this.writerPool.length < logBatchWritersPooledMax) {
      this.writerPool.push(w.reset());
    }
  }
}

/**
 * Drops every record above `zxid` from the log files in `dir`: files named above it are removed;
 * the last file named at or below it is cut at its first record above `zxid` (removed when that
 * is its first record). Files before that one end before its name, so they hold nothing above.
 * A damaged tail in that file goes too (recovery would cut it anyway). Durable on return.
 */
export function truncateLogFiles(dir: string, zxid: number, logger: StorageLogger): void {
  const logs = dataFiles(dir, readdirSync(dir), logFilePrefix);
  let changed = false;
  for (const f of logs) {
    if (f.zxid <= zxid) continue;
    unlinkSync(f.path);
    changed = true;
    logger.info({ file: f.path, after: zxid }, 'txn log file removed (truncation)');
  }
  const last = logs.filter((f) => f.zxid <= zxid).pop();
  if (last !== undefined) {
    const bytes = readFileSync(last.path);
    let cut = -1;
    const scan = scanLog(bytes, last.path, (hdr, _txn, offset) => {
      if (cut < 0 && hdr.zxid > zxid) cut = offset;
    });
    if (cut < 0 && isDamaged(scan)) cut = scan.goodEnd;
    if (cut >= 0 && cut <= fileHeaderBytes) {
      unlinkSync(last.path);
      changed = true;
      logger.info({ file: last.path, after: zxid }, 'txn log file removed (truncation)');
    } else if (cut >= 0) {
      const fd = openSync(last.path, 'r+');
      try {
        ftruncateSync(fd, cut);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      logger.info({ file: last.path, offset: cut, after: zxid }, 'txn log truncated');
    }
  }
  if (changed) fsyncDirSync(dir);
}

/** Removes every log file in `dir` (SNAP sync: a snapshot now covers all of them). */
function removeLogFiles(dir: string, logger: StorageLogger): void {
  const logs = dataFiles(dir, readdirSync(dir), logFilePrefix);
  for (const f of logs) unlinkSync(f.path);
  if (logs.length > 0) {
    fsyncDirSync(dir);
    logger.info({ files: logs.length }, 'txn log files removed (replaced by a snapshot)');
  }
}

function asErrno(e: unknown): NodeJS.ErrnoException {
  if (e instanceof Error) return e as NodeJS.ErrnoException;
  return Object.assign(new Error(String(e)), { code: 'EIO' });
}

function shortWriteError(remaining: number): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`write made no progress with ${remaining} bytes left`);
  e.code = 'EIO';
  return e;
}
