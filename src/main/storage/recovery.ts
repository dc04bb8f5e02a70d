// Start-up recovery (ZooKeeper's FileTxnSnapLog.restore + ZKDatabase.loadDataBase):
//   1. the newest snapshot whose seals and checksum verify; a damaged one is logged and skipped
//      for the next older (FileSnap.deserialize tries up to 100);
//   2. every log record after the snapshot's zxid, in order, applied through the database, with
//      createSession / closeSession also kept in the sessions map (FileTxnSnapLog's
//      processTransaction does the same);
//   3. a torn TAIL (a short record, a bad checksum or end byte, junk after the zero padding,
//      with no whole record whose checksum holds anywhere after it) is truncated at the last
//      good record, logged with file and offset; damage with a valid record after it, in the
//      same file or a later one, is corruption: start-up stops naming the file and the offset
//      (ZooKeeper's "CRC check failed"), and nothing is truncated;
//   4. a GAP (zxids missing between the snapshot and the log, or between two records, or a log
//      ending before the zxid the snapshot's digest says was applied) stops start-up naming the
//      missing range: replaying past a hole would build a tree that never existed.
// Synchronous on purpose: it runs before the server serves anything.

import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { parentPath } from '../../common/path.js';
import { zxidEpoch, zxidHex } from '../../common/ids.js';
import { OpCode } from '../../common/zk.js';
import type { ACL, Txn, TxnHeader } from '../../protocol/types.js';
import type { PreparedTxn } from '../pipeline/prep.js';
import { openAclId } from '../tree/acl-cache.js';
import type { DataTree, PersistedNode } from '../tree/data-tree.js';
import { digestVersion } from '../tree/digest.js';
import { silentLogger, StorageError, StorageErrorCode, type StorageLogger } from './errors.js';
import {
  dataFiles,
  ensureVersionDirs,
  logFilePrefix,
  logsFrom,
  snapshotFilePrefix,
  tempSuffix,
  versionDir,
  type DataFile,
} from './layout.js';
import { logPrefixSlackBytes, logTailBlockBytes, snapshotsTriedMax } from './limits.js';
import { fsyncDirSync } from './log-fs.js';
import {
  isDamaged,
  lastNonZero,
  LogStop,
  scanLog,
  validRecordAfter,
  zxidFollows,
  type LogScan,
} from './log-format.js';
import {
  corrupt,
  parseSnapshot,
  verifySeals,
  type SnapshotSeal,
  type ZxidDigest,
} from './snapshot-format.js';

/** What recovery fills: ZkDatabase satisfies it. */
export interface RecoveryTarget {
  readonly tree: DataTree;
  lastZxid: number;
  apply(p: PreparedTxn): unknown;
  resetPipeline(lastZxid: number): void;
}

export interface RecoverOptions {
  dataDir: string;
  dataLogDir: string;
  logger?: StorageLogger;
}

export interface Truncation {
  file: string;
  offset: number;
  reason: string;
  detail: string;
  droppedBytes: number;
}

export interface RecoveryResult {
  /** Global sessions: id (unsigned 64-bit, as SessionTable spells them) -> timeout ms. */
  sessions: Map<bigint, number>;
  /** The last zxid applied: the pipeline continues after it. */
  lastZxid: number;
  /** The snapshot the tree came from, or null (no snapshot: an empty tree plus the log). */
  snapshot: { file: string; zxid: number } | null;
  skippedSnapshots: { file: string; reason: string }[];
  replayed: number;
  truncated: Truncation[];
  removedFiles: string[];
  /** Whether the tree digest matched the snapshot's ZxidDigest once replay reached its zxid. */
  digest: 'match' | 'mismatch' | 'unchecked';
}

/**
 * Restores `db` from dataDir / dataLogDir. Throws a StorageError (snapshotNoneValid, logGap,
 * logCorrupt, logUndecodable, logBadHeader) when the data cannot be recovered safely.
 */
export function recover(db: RecoveryTarget, opts: RecoverOptions): RecoveryResult {
  const logger = opts.logger ?? silentLogger;
  ensureVersionDirs(opts.dataDir, opts.dataLogDir);
  const snapDir = versionDir(opts.dataDir);
  const logDir = versionDir(opts.dataLogDir);
  const result: RecoveryResult = {
    sessions: new Map(),
    lastZxid: 0,
    snapshot: null,
    skippedSnapshots: [],
    replayed: 0,
    truncated: [],
    removedFiles: [],
    digest: 'unchecked',
  };
  removeTempSnapshots(snapDir, result, logger);
  const loaded = loadNewestSnapshot(db.tree, snapDir, result, logger);
  db.lastZxid = loaded.zxid;
  const replay = new Replay({ db, result, loaded, logger });
  replay.checkDigest(); // a snapshot whose digest zxid is its own zxid
  const logs = dataFiles(logDir, readdirSync(logDir), logFilePrefix);
  replayLogs(replay, logsFrom(logs, loaded.zxid), logDir, result, logger);
  replay.finish();
  result.lastZxid = db.lastZxid;
  db.resetPipeline(db.lastZxid);
  logger.info(
    {
      snapshot: result.snapshot?.file ?? null,
      lastZxid: zxidHex(result.lastZxid),
      replayed: result.replayed,
      sessions: result.sessions.size,
      digest: result.digest,
    },
    'recovered',
  );
  return result;
}

// ---- snapshots -------------------------------------------------------------------------------

interface LoadedSnapshot {
  zxid: number;
  digest: ZxidDigest | null;
  /** No snapshot at all: the tree is the empty one and the log must start at counter 1. */
  fromEmpty: boolean;
}

function removeTempSnapshots(dir: string, result: RecoveryResult, logger: StorageLogger): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`${snapshotFilePrefix}.`) && name.endsWith(tempSuffix)) {
      unlinkSync(join(dir, name));
      result.removedFiles.push(join(dir, name));
      logger.info({ file: join(dir, name) }, 'removed an unfinished snapshot');
    } else if (/^snapshot\.[0-9a-f]+\.(gz|snappy)$/i.test(name)) {
      logger.warn({ file: join(dir, name) }, 'compressed snapshot ignored (zkts reads none)');
    }
  }
}

function loadNewestSnapshot(
  tree: DataTree,
  dir: string,
  result: RecoveryResult,
  logger: StorageLogger,
): LoadedSnapshot {
  const snaps = dataFiles(dir, readdirSync(dir), snapshotFilePrefix).reverse();
  for (const snap of snaps.slice(0, snapshotsTriedMax)) {
    try {
      const loaded = loadSnapshot(tree, snap, result.sessions);
      result.snapshot = { file: snap.path, zxid: snap.zxid };
      logger.info({ file: snap.path, zxid: zxidHex(snap.zxid) }, 'snapshot loaded');
      return loaded;
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
      result.skippedSnapshots.push({ file: snap.path, reason: e.message });
      result.sessions.clear();
      logger.warn({ file: snap.path, reason: e.message }, 'snapshot damaged: trying an older one');
    }
  }
  if (snaps.length > 0) {
    const reasons = result.skippedSnapshots.map((s) => `${s.file}: ${s.reason}`).join('; ');
    throw new StorageError(
      StorageErrorCode.snapshotNoneValid,
      `no valid snapshot in ${dir} (${reasons}); refusing to start from the log alone`,
    );
  }
  return { zxid: 0, digest: null, fromEmpty: true };
}

/** Verifies one snapshot file and restores it into `tree` and `sessions`. */
export function loadSnapshot(
  tree: DataTree,
  snap: DataFile,
  sessions: Map<bigint, number>,
): LoadedSnapshot {
  return loadSnapshotBytes(tree, readFileSync(snap.path), snap.path, snap.zxid, sessions);
}

function loadSnapshotBytes(
  tree: DataTree,
  bytes: Uint8Array,
  file: string,
  zxid: number,
  sessions: Map<bigint, number>,
): LoadedSnapshot {
  const seals = verifySeals(bytes);
  if (seals.length === 0) throw corrupt(file, 'checksum or seal does not verify');
  const restore = new TreeRestore(tree, file, sessions);
  const bodyEnd = parseSnapshot(bytes, file, restore);
  restore.end();
  const seal: SnapshotSeal | undefined = seals.find((s) => s.bodyEnd === bodyEnd);
  if (seal === undefined) throw corrupt(file, `body ends at ${bodyEnd}, not at a seal`);
  return { zxid, digest: seal.digest, fromEmpty: false };
}

/**
 * SNAP sync, learner side: replaces `tree` by a complete (not fuzzy) snapshot image at `zxid`
 * (storage/snapshot.ts serializeSnapshot on the leader) and returns its global sessions. The
 * seals (checksums) are checked before the tree is touched, so a damaged image throws a
 * StorageError and leaves the tree as it was; an image that verifies but does not parse (a bug,
 * not transport damage) throws with the tree half loaded, and the caller must stop. The digest is then compared with the tree's ('mismatch' means the
 * leader and this member disagree on the tree the image describes).
 */
export function loadSnapshotImage(
  tree: DataTree,
  image: Uint8Array,
  zxid: number,
): { sessions: Map<bigint, number>; digest: 'match' | 'mismatch' | 'unchecked' } {
  const what = `SNAP image 0x${zxid.toString(16)}`;
  if (verifySeals(image).length === 0) throw corrupt(what, 'checksum or seal does not verify');
  const sessions = new Map<bigint, number>();
  const loaded = loadSnapshotBytes(tree, image, what, zxid, sessions);
  const d = loaded.digest;
  if (d === null || d.version !== digestVersion || d.zxid !== zxid) return { sessions, digest: 'unchecked' };
  return { sessions, digest: tree.treeDigest() === d.digest ? 'match' : 'mismatch' };
}

/** Feeds a parsed snapshot into DataTree.beginRestore / restoreNode / endRestore, checking what
 *  restoreNode would assert on (so a damaged file is skipped, not a crash). */
class TreeRestore {
  private readonly acls: { id: number; acl: readonly ACL[] }[] = [];
  private readonly aclIds = new Set<number>([openAclId]);
  private begun = false;
  private hasRoot = false;

  constructor(
    private readonly tree: DataTree,
    private readonly file: string,
    private readonly sessions: Map<bigint, number>,
  ) {}

  session(id: bigint, timeoutMs: number): void {
    this.sessions.set(BigInt.asUintN(64, id), timeoutMs);
  }

  acl(id: number, acl: ACL[]): void {
    if (this.aclIds.has(id)) throw corrupt(this.file, `acl ${id} listed twice`);
    this.aclIds.add(id);
    this.acls.push({ id, acl });
  }

  node(path: string, node: PersistedNode): void {
    if (!this.begun) {
      this.tree.beginRestore(this.acls);
      this.begun = true;
    }
    if (!this.aclIds.has(node.aclId)) {
      throw corrupt(this.file, `node ${path} refers to unknown acl ${node.aclId}`);
    }
    if (path === '') {
      if (this.hasRoot) throw corrupt(this.file, 'two roots');
      this.hasRoot = true;
      this.tree.restoreNode('/', node);
      return;
    }
    if (!this.hasRoot || path[0] !== '/' || path.endsWith('/')) {
      throw corrupt(this.file, `node ${JSON.stringify(path)} out of place`);
    }
    if (this.tree.getNode(parentPath(path)) === undefined) {
      throw corrupt(this.file, `node ${path} comes before its parent`);
    }
    this.tree.restoreNode(path, node);
  }

  end(): void {
    if (!this.hasRoot) throw corrupt(this.file, 'no root node');
    this.tree.endRestore();
  }
}

// ---- the log ---------------------------------------------------------------------------------

/** Applies log records after the snapshot, checking that zxids leave no hole. */
class Replay {
  private digestPending: ZxidDigest | null;
  /** Where the last applied record came from, for error messages. */
  private lastFile = 'the snapshot';

  private readonly db: RecoveryTarget;
  private readonly result: RecoveryResult;
  private readonly loaded: LoadedSnapshot;
  private readonly logger: StorageLogger;

  constructor(o: { db: RecoveryTarget; result: RecoveryResult; loaded: LoadedSnapshot; logger: StorageLogger }) {
    this.db = o.db;
    this.result = o.result;
    this.loaded = o.loaded;
    this.logger = o.logger;
    // DataTree.deserializeZxidDigest / compareSnapshotDigests: a digest of another version, or
    // from before the snapshot's own zxid, cannot be compared.
    const d = o.loaded.digest;
    const usable = d !== null && d.zxid > 0 && d.zxid >= o.loaded.zxid && d.version === digestVersion;
    this.digestPending = usable ? d : null;
  }

  /** The record visitor for scanLog. */
  readonly visit = (hdr: TxnHeader, txn: Txn, file: string): void => {
    const applied = this.db.lastZxid;
    if (hdr.zxid <= applied) return; // covered by the (fuzzy) snapshot
    this.checkContiguous(applied, hdr.zxid, file);
    this.db.apply({ hdr, txn });
    this.trackSession(hdr, txn);
    this.result.replayed++;
    this.lastFile = file;
    this.checkDigest();
  };

  private checkContiguous(applied: number, zxid: number, file: string): void {
    const fromEmpty = this.loaded.fromEmpty && this.result.replayed === 0;
    if (zxidFollows(applied, zxid, fromEmpty)) return;
    const from = fromEmpty ? 'the first transaction' : `${zxidHex(applied)} (${this.lastFile})`;
    throw new StorageError(
      StorageErrorCode.logGap,
      `transactions are missing: the log goes from ${from} to ${zxidHex(zxid)} (${file}); ` +
        `missing ${missingRange(applied, zxid, fromEmpty)}. A log file was lost or purged; ` +
        'restore it, or start this server from a peer (it must not serve a tree with a hole)',
    );
  }

  private trackSession(hdr: TxnHeader, txn: Txn): void {
    // FileTxnSnapLog.processTransaction: the sessions map follows the session txns.
    if (hdr.type === OpCode.createSession && txn.type === OpCode.createSession) {
      this.result.sessions.set(BigInt.asUintN(64, hdr.clientId), txn.timeOut);
    } else if (hdr.type === OpCode.closeSession) {
      this.result.sessions.delete(BigInt.asUintN(64, hdr.clientId));
    }
  }

  /** DataTree.compareSnapshotDigests, once the replay reaches the digest's zxid. */
  checkDigest(): void {
    const d = this.digestPending;
    if (d === null || this.db.lastZxid < d.zxid) return;
    this.digestPending = null;
    const actual = this.db.tree.treeDigest();
    if (this.db.lastZxid === d.zxid && actual === d.digest) {
      this.result.digest = 'match';
      return;
    }
    this.result.digest = 'mismatch';
    this.logger.error(
      { zxid: zxidHex(d.zxid), expected: d.digest.toString(), actual: actual.toString() },
      'tree digest after replay differs from the snapshot: the recovered state is suspect',
    );
  }

  /** A log that ends before the zxid the snapshot saw applied has lost acknowledged txns. */
  finish(): void {
    const d = this.digestPending;
    if (d === null || this.db.lastZxid >= d.zxid) return;
    throw new StorageError(
      StorageErrorCode.logGap,
      `the log ends at ${zxidHex(this.db.lastZxid)} but the snapshot ` +
        `${this.result.snapshot?.file ?? ''} was taken while ${zxidHex(d.zxid)} was applied: ` +
        `missing ${zxidHex(this.db.lastZxid + 1)}..${zxidHex(d.zxid)} (a log file was lost)`,
    );
  }
}

function missingRange(applied: number, zxid: number, fromEmpty: boolean): string {
  if (fromEmpty) return `everything before ${zxidHex(zxid)}`;
  if (zxidEpoch(zxid) === zxidEpoch(applied) && zxid > applied) {
    return `${zxidHex(applied + 1)}..${zxidHex(zxid - 1)}`;
  }
  return `the transactions between ${zxidHex(applied)} and ${zxidHex(zxid)}`;
}

function replayLogs(
  replay: Replay,
  logs: DataFile[],
  dir: string,
  result: RecoveryResult,
  logger: StorageLogger,
): void {
  for (let i = 0; i < logs.length; i++) {
    const log = logs[i] as DataFile;
    const { bytes, size } = readLogPrefix(log.path);
    const scan = scanLog(bytes, log.path, (hdr, txn) => replay.visit(hdr, txn, log.path), size);
    const later = logs.slice(i + 1);
    if (scan.stop === LogStop.noHeader) {
      if (later.length > 0) logger.warn({ file: log.path }, 'log file without a header skipped');
      else removeFile(log.path, dir, result, logger, 'log file created but never written');
      continue;
    }
    if (!isDamaged(scan)) continue;
    refuseMidLogDamage(scan, bytes, size);
    cutTail(scan, size, later, dir, result, logger);
    return;
  }
}


/**
 * A log file's bytes up to its last non-zero byte (plus logPrefixSlackBytes), and its size: a log
 * file is preallocated with zeros (64 MiB by default), and reading all of it at start took
 * 40-60 ms per file here and as much memory. The zero tail is read back from the end one block
 * at a time into a single buffer, compared against zeros, and never kept.
 */
export function readLogPrefix(path: string): { bytes: Buffer; size: number } {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const block = Buffer.allocUnsafe(Math.min(size, logTailBlockBytes));
    let last = -1;
    for (let end = size; end > 0 && last < 0; ) {
      const start = Math.max(0, end - block.length);
      readFully(fd, block, end - start, start, path);
      const at = lastNonZero(block, end - start);
      if (at >= 0) last = start + at;
      end = start;
    }
    const keep = Math.min(size, last + 1 + logPrefixSlackBytes);
    const bytes = Buffer.allocUnsafe(Math.max(0, keep));
    readFully(fd, bytes, bytes.length, 0, path);
    return { bytes, size };
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, into: Buffer, length: number, position: number, path: string): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw new StorageError(StorageErrorCode.logCorrupt, `${path}: shorter than its size while reading`);
    done += n;
  }
}

/** Damage with a valid record after it in the same file is not a torn tail: the records after
 *  it may have been acknowledged. */
function refuseMidLogDamage(scan: LogScan, bytes: Uint8Array, size: number): void {
  const next = validRecordAfter(bytes, scan.goodEnd + 1, size);
  if (next < 0) return;
  throw new StorageError(
    StorageErrorCode.logCorrupt,
    `${scan.file} is corrupt at offset ${scan.goodEnd} (${scan.stop}: ${scan.detail}) ` +
      `but a valid record follows at offset ${next}: this is not a torn tail, and truncating ` +
      'would drop transactions that may have been acknowledged. Nothing was changed; inspect ' +
      'with `zkts check`, then restore the file or start this server from a peer',
  );
}

/** Truncates a damaged file at its last good record and drops the (record-less) files after it;
 *  refuses when a later file holds records, since then the damage is not a tail. */
function cutTail(
  scan: LogScan,
  size: number,
  later: DataFile[],
  dir: string,
  result: RecoveryResult,
  logger: StorageLogger,
): void {
  for (const f of later) {
    const s = scanLog(readFileSync(f.path), f.path, null);
    if (s.records > 0) {
      throw new StorageError(
        StorageErrorCode.logCorrupt,
        `${scan.file} is damaged at offset ${scan.stopOffset} (${scan.stop}: ${scan.detail}) ` +
          `but ${f.path} holds ${s.records} later transactions (from ${zxidHex(s.firstZxid)}): ` +
          'this is not a torn tail; inspect with `zkts check` before doing anything',
      );
    }
  }
  const t: Truncation = {
    file: scan.file,
    offset: scan.goodEnd,
    reason: scan.stop,
    detail: scan.detail,
    droppedBytes: size - scan.goodEnd,
  };
  result.truncated.push(t);
  logger.warn(
    { file: t.file, offset: t.offset, reason: t.reason, detail: t.detail, records: scan.records },
    'txn log tail damaged: truncated at the last good record',
  );
  if (scan.records === 0) removeFile(scan.file, dir, result, logger, 'no good record left');
  else truncateDurably(scan.file, scan.goodEnd);
  for (const f of later) removeFile(f.path, dir, result, logger, 'after a truncated tail');
}

/** Truncation must reach the disk before new log files do, or a crash could bring the damaged
 *  tail back in front of good records. */
function truncateDurably(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A log file holding no good record goes, so the next TxnLog can take its name again. */
function removeFile(
  path: string,
  dir: string,
  result: RecoveryResult,
  logger: StorageLogger,
  why: string,
): void {
  unlinkSync(path);
  fsyncDirSync(dir);
  result.removedFiles.push(path);
  logger.warn({ file: path, why }, 'removed log file');
}
