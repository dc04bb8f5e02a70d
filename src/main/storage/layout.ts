// Where storage keeps its files, laid out as ZooKeeper's FileTxnSnapLog does, so that operators'
// tools (zkTxnLogToolkit, zkSnapShotToolkit, LogFormatter, SnapshotFormatter, PurgeTxnLog) work
// on a zkts data directory:
//   dataDir/version-2/snapshot.<zxid hex>   fuzzy snapshots, named by the last zxid applied when
//                                           the snapshot started (FileSnap, Util.makeSnapshotName)
//   dataLogDir/version-2/log.<zxid hex>     txn logs, named by their first zxid (Util.makeLogName)
// Both files begin with ZooKeeper's FileHeader: magic int, version int (2), dbid long.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JuteError, type JuteReader, type JuteWriter } from '../../protocol/jute/index.js';
import { StorageError, type StorageErrorCode } from './errors.js';

/** FileTxnSnapLog.version: the sub-directory of dataDir / dataLogDir. */
export const versionDirName = 'version-2';
export const logFilePrefix = 'log';
export const snapshotFilePrefix = 'snapshot';
/** Suffix of a snapshot being written (AtomicFileOutputStream's temporary file). */
export const tempSuffix = '.tmp';

/** "ZKLG" as a big-endian int (FileTxnLog.TXNLOG_MAGIC). */
export const logMagic = 0x5a4b4c47;
/** "ZKSN" as a big-endian int (FileSnap.SNAP_MAGIC). */
export const snapshotMagic = 0x5a4b534e;
/** FileTxnLog.VERSION and FileSnap.VERSION. */
export const formatVersion = 2;
/** FileTxnLog writes dbid 0, FileSnap -1. */
export const logDbId = 0;
export const snapshotDbId = -1;
/** FileHeader: int magic, int version, long dbid. */
export const fileHeaderBytes = 16;

export interface FileHeader {
  magic: number;
  version: number;
  dbid: number;
}

export function writeFileHeader(w: JuteWriter, magic: number, dbid: number): void {
  w.writeInt(magic);
  w.writeInt(formatVersion);
  w.writeLong(dbid);
}

export function readFileHeader(r: JuteReader): FileHeader {
  return { magic: r.readInt(), version: r.readInt(), dbid: r.readLong() };
}

/** The version-2 directory under a configured dataDir or dataLogDir. */
export function versionDir(dir: string): string {
  return join(dir, versionDirName);
}

/** Creates dataDir/version-2 and dataLogDir/version-2 (start-up only: synchronous). */
export function ensureVersionDirs(dataDir: string, dataLogDir: string): void {
  mkdirSync(versionDir(dataDir), { recursive: true });
  mkdirSync(versionDir(dataLogDir), { recursive: true });
}

/** Util.makeLogName */
export function logFileName(zxid: number): string {
  return `${logFilePrefix}.${zxid.toString(16)}`;
}

/** Util.makeSnapshotName (uncompressed, ZooKeeper's default stream mode). */
export function snapshotFileName(zxid: number): string {
  return `${snapshotFilePrefix}.${zxid.toString(16)}`;
}

/**
 * The zxid a file name carries, or -1. Only exact `prefix.<hex>` names count: ZooKeeper would also
 * take `log.5.fixed` (zkTxnLogToolkit's output) or `snapshot.5.gz` (compressed, which zkts cannot
 * read), and zkts must not replay or purge such files by mistake.
 */
export function zxidFromName(name: string, prefix: string): number {
  const parts = name.split('.');
  if (parts.length !== 2 || parts[0] !== prefix) return -1;
  const hex = parts[1] ?? '';
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) return -1;
  const zxid = Number.parseInt(hex, 16);
  return Number.isSafeInteger(zxid) ? zxid : -1;
}

export interface DataFile {
  name: string;
  path: string;
  zxid: number;
}

/** The `prefix.<hex>` files among `names` in `dir`, by zxid ascending. */
export function dataFiles(dir: string, names: readonly string[], prefix: string): DataFile[] {
  const out: DataFile[] = [];
  for (const name of names) {
    const zxid = zxidFromName(name, prefix);
    if (zxid >= 0) out.push({ name, path: join(dir, name), zxid });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/**
 * FileTxnLog.getLogFiles: the log that starts at or just before `snapshotZxid` (it may hold the
 * txns right after it) and every later one, ascending. `logs` must be ascending.
 */
export function logsFrom(logs: readonly DataFile[], snapshotZxid: number): DataFile[] {
  let start = 0;
  for (const f of logs) {
    if (f.zxid > snapshotZxid) break;
    start = f.zxid;
  }
  return logs.filter((f) => f.zxid >= start);
}

/** A StorageError for a file whose header is not ZooKeeper's. */
export function checkHeader(
  header: FileHeader,
  magic: number,
  file: string,
  code: StorageErrorCode,
): void {
  if (header.magic !== magic || header.version !== formatVersion) {
    throw new StorageError(
      code,
      `${file}: bad file header (magic 0x${(header.magic >>> 0).toString(16)}, ` +
        `version ${header.version}; expected 0x${magic.toString(16)}, ${formatVersion})`,
    );
  }
}

/** Reads a FileHeader, turning a short file into a StorageError. */
export function readHeaderOf(
  r: JuteReader,
  magic: number,
  file: string,
  code: StorageErrorCode,
): FileHeader {
  let header: FileHeader;
  try {
    header = readFileHeader(r);
  } catch (e) {
    if (e instanceof JuteError) {
      throw new StorageError(code, `${file}: shorter than its file header`, { cause: e });
    }
    throw e;
  }
  checkHeader(header, magic, file, code);
  return header;
}

