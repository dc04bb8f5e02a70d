// The txn log's record format, byte for byte ZooKeeper's (FileTxnLog, Util.writeTxnBytes):
//
//   LogFile:  FileHeader(ZKLG, 2, dbid 0)  Record*  ZeroPad
//   Record:   long checksum   Adler-32 of the payload (TxnHeader + Txn), high 32 bits zero
//             int  length     payload length
//             byte[length]    TxnHeader + Txn (jute)
//             byte 0x42       'B', end of record
//   ZeroPad:  the preallocated rest of the file; a record with length 0 is the end of the log
//
// scanLog walks a file's bytes and says where its last good record ends and why it stopped, so
// recovery can truncate a torn tail and tools can report corruption.

import {
  decodeTxn,
  decodeTxnHeader,
  encodeTxn,
  encodeTxnHeader,
  JuteError,
  JuteReader,
  type JuteWriter,
} from '../../protocol/jute/index.js';
import type { Txn, TxnHeader } from '../../protocol/types.js';
import { zxidCounter, zxidEpoch } from '../../common/ids.js';
import { OpCode } from '../../common/zk.js';
import { adler32 } from './adler32.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { fileHeaderBytes, logMagic, readHeaderOf, type FileHeader } from './layout.js';
import { logRecordBytesMax, zeroCompareBytes } from './limits.js';

/** Util.writeTxnBytes' end-of-record byte. */
const endOfRecordByte = 0x42;

/** Appends one complete record (checksum, length, TxnHeader + Txn, 'B') to `w`. */
export function encodeLogRecord(w: JuteWriter, hdr: TxnHeader, txn: Txn): void {
  const start = w.length;
  w.writeLong(0); // the checksum, patched once the payload is written
  w.beginFrame();
  encodeTxnHeader(w, hdr);
  encodeTxn(w, txn);
  w.endFrame();
  w.writeBool(false); // the end-of-record byte, patched to 'B' below
  const view = w.bytes();
  const end = view.length;
  view.writeUInt32BE(adler32(view, start + 12, end - 1), start + 4);
  view[end - 1] = endOfRecordByte;
}

/** Why a scan stopped. Only `end` is a clean end; the others mean the tail is cut there. */
export const LogStop = {
  /** A zero-length record (the preallocated zeros) or the file's last byte: a clean end. */
  end: 'end',
  /** The file is empty or its header is all zeros: created, never written (a crash at roll). */
  noHeader: 'no-header',
  /** A record runs past the end of the file (a write cut short). */
  torn: 'torn',
  /** A length that cannot be a record's. */
  badLength: 'bad-length',
  /** The end-of-record byte is not 'B' (ZooKeeper: "Last transaction was partial"). */
  badEndOfRecord: 'bad-end-of-record',
  /** The payload does not match its checksum. */
  checksum: 'checksum',
  /** A clean end, but non-zero bytes follow it (an unacknowledged write that half landed). */
  garbageAfterEnd: 'garbage-after-end',
} as const;
export type LogStop = (typeof LogStop)[keyof typeof LogStop];

export interface LogScan {
  file: string;
  header: FileHeader | null;
  records: number;
  /** First and highest zxid of the good records; -1 when there are none. */
  firstZxid: number;
  lastZxid: number;
  /** Records whose zxid is not above every earlier one's (ZooKeeper warns and writes them). */
  outOfOrder: number;
  /** Offset just past the last good record (or the header): truncate here if `stop` is bad. */
  goodEnd: number;
  stop: LogStop;
  /** Where the problem is (== goodEnd except for garbage after the end), and what it is. */
  stopOffset: number;
  detail: string;
}

export type LogRecordVisit = (hdr: TxnHeader, txn: Txn, offset: number) => void;

/** True when the stop means the bytes from goodEnd on are damaged (to truncate or report). */
export function isDamaged(scan: LogScan): boolean {
  return scan.stop !== LogStop.end && scan.stop !== LogStop.noHeader;
}

/**
 * Walks the records of one log file. `visit` sees each good record in order. Throws a
 * StorageError for a bad (non-zero) header or for a record whose checksum holds but that cannot
 * be decoded: neither is damage that truncating would repair. `size` is the file's size when
 * `bytes` holds only a prefix of it and everything after the prefix is zero
 * (recovery.readLogPrefix): the scan then says exactly what it says over the whole file, without
 * the preallocated tail in memory.
 */
export function scanLog(bytes: Uint8Array, file: string, visit: LogRecordVisit | null, size = bytes.length): LogScan {
  const scan: LogScan = {
    file,
    header: null,
    records: 0,
    firstZxid: -1,
    lastZxid: -1,
    outOfOrder: 0,
    goodEnd: 0,
    stop: LogStop.end,
    stopOffset: 0,
    detail: '',
  };
  if (bytes.length === 0 || isZero(bytes, 0, Math.min(bytes.length, fileHeaderBytes))) {
    stopAt(scan, LogStop.noHeader, 0, 'no file header (created, never written)');
    return scan;
  }
  const r = new JuteReader(bytes, { bufferBytesMax: logRecordBytesMax });
  scan.header = readHeaderOf(r, logMagic, file, StorageErrorCode.logBadHeader);
  scan.goodEnd = fileHeaderBytes;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = fileHeaderBytes;
  for (;;) {
    const next = scanRecord(scan, bytes, size, dv, at, r, visit);
    if (next < 0) return scan;
    at = next;
    scan.goodEnd = at;
  }
}

/** Checks and decodes the record at `at`; returns the offset after it, or -1 (scan stopped). */
function scanRecord(
  scan: LogScan,
  bytes: Uint8Array,
  size: number,
  dv: DataView,
  at: number,
  r: JuteReader,
  visit: LogRecordVisit | null,
): number {
  if (at === size) return stopAt(scan, LogStop.end, at, 'end of file');
  if (at + 12 > size) {
    if (isZero(bytes, at, Math.min(size, bytes.length))) return stopAt(scan, LogStop.end, at, 'end of file');
    return stopAt(scan, LogStop.torn, at, `${size - at} bytes of a record header`);
  }
  const crcHi = dv.getUint32(at);
  const crc = dv.getUint32(at + 4);
  const length = dv.getInt32(at + 8);
  if (length === 0) return endAt(scan, bytes, at, crcHi === 0 && crc === 0);
  if (crcHi !== 0 || length < 0 || length > logRecordBytesMax) {
    return stopAt(scan, LogStop.badLength, at, `checksum word ${crcHi}, length ${length}`);
  }
  const payload = at + 12;
  const end = payload + length;
  if (end + 1 > size) {
    return stopAt(scan, LogStop.torn, at, `record of ${length} bytes, ${size - payload} present`);
  }
  if (bytes[end] !== endOfRecordByte) {
    // (past a prefix's end the file is zero)
    return stopAt(scan, LogStop.badEndOfRecord, at, `end-of-record byte ${bytes[end] ?? 0}`);
  }
  const actual = adler32(bytes, payload, end);
  if (actual !== crc) {
    return stopAt(scan, LogStop.checksum, at, `checksum ${hex(crc)}, computed ${hex(actual)}`);
  }
  const { hdr, txn } = decodeRecord(r, bytes, payload, end, scan.file, at);
  // A zxid that does not go up is not damage: ZooKeeper's FileTxnLog.append only warns and
  // writes it. Replay skips what it has applied already.
  if (hdr.zxid <= scan.lastZxid) scan.outOfOrder++;
  else scan.lastZxid = hdr.zxid;
  if (scan.firstZxid < 0) scan.firstZxid = hdr.zxid;
  scan.records++;
  if (visit !== null) visit(hdr, txn, at);
  return end + 1;
}

/** A zero-length record: the end of the log, clean if it and everything after it is zero. */
function endAt(scan: LogScan, bytes: Uint8Array, at: number, zeroChecksum: boolean): number {
  if (!zeroChecksum) return stopAt(scan, LogStop.torn, at, 'checksum without a record');
  const dirty = firstNonZero(bytes, at + 12);
  if (dirty >= 0) {
    stopAt(scan, LogStop.garbageAfterEnd, at, `non-zero byte at ${dirty} after the end`);
    scan.stopOffset = dirty;
    return -1;
  }
  return stopAt(scan, LogStop.end, at, 'zero padding');
}

/**
 * The offset of the first record at or after `from` that is whole and whose checksum holds, or
 * -1: what tells corruption from a torn tail. A tail torn by a crash is followed by nothing valid
 * (zeros, or pieces of the unacknowledged write it was part of); a damaged record with a valid
 * record after it is corruption, and truncating there would drop acknowledged txns. `bytes` may
 * be a prefix of a file of `size` bytes whose rest is zero, as scanLog's (a record ends in 'B',
 * so a whole one lies inside the prefix). A candidate must have a zero high checksum word, a
 * length in range, 'B' after it and a matching Adler-32; it is not decoded.
 */
export function validRecordAfter(bytes: Uint8Array, from: number, size = bytes.length): number {
  const limit = Math.min(bytes.length, size);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = Math.max(from, 0); at + 13 <= limit; at++) {
    if (bytes[at] !== 0 || dv.getUint32(at) !== 0) continue;
    const length = dv.getInt32(at + 8);
    if (length <= 0 || length > logRecordBytesMax) continue;
    const end = at + 12 + length;
    if (end >= limit || bytes[end] !== endOfRecordByte) continue;
    if (adler32(bytes, at + 12, end) === dv.getUint32(at + 4)) return at;
  }
  return -1;
}

/**
 * Whether `zxid` may directly follow `applied` in a log with no txn missing: the next counter in
 * the same epoch, or counter 1 of a later epoch (a new leader's first proposal). `fromEmpty`: no
 * snapshot, so the first txn ever must be a counter-1 one.
 */
export function zxidFollows(applied: number, zxid: number, fromEmpty: boolean): boolean {
  if (fromEmpty) return zxidCounter(zxid) === 1;
  if (zxidEpoch(zxid) === zxidEpoch(applied)) return zxid === applied + 1;
  return zxidEpoch(zxid) > zxidEpoch(applied) && zxidCounter(zxid) === 1;
}

/** Decodes TxnHeader + Txn from bytes[start, end) (data copied out: the tree keeps it). */
export function decodeRecord(
  r: JuteReader,
  bytes: Uint8Array,
  start: number,
  end: number,
  file: string,
  offset: number,
): { hdr: TxnHeader; txn: Txn } {
  let hdr: TxnHeader | null = null;
  try {
    r.reset(bytes, start, end);
    hdr = decodeTxnHeader(r);
    // A reconfig is logged with a SetDataTxn body and applied as a setData of /zookeeper/config
    // (DataTree.processTxn); trailing bytes (ZooKeeper's TxnDigest) are left unread.
    // OpCode.reconfig is logged with a SetDataTxn body (on /zookeeper/config).
    const txn = decodeTxn(hdr.type === OpCode.reconfig ? OpCode.setData : hdr.type, r);
    return { hdr, txn };
  } catch (e) {
    // A ZooKeeper with zookeeper.closeSessionTxn.enabled=false logs closeSession with no body,
    // so a TxnDigest can follow the header where the path list would be. killSession deletes
    // every ephemeral of the session anyway, so an empty list loses nothing.
    if (e instanceof JuteError && hdr !== null && hdr.type === OpCode.closeSession) {
      return { hdr, txn: { type: OpCode.closeSession, paths2Delete: [] } };
    }
    if (!(e instanceof JuteError)) throw e;
    throw new StorageError(
      StorageErrorCode.logUndecodable,
      `${file}: record at offset ${offset} has a good checksum but cannot be decoded: ${e.message}`,
      { cause: e },
    );
  }
}

function stopAt(scan: LogScan, stop: LogStop, offset: number, detail: string): -1 {
  scan.stop = stop;
  scan.stopOffset = offset;
  scan.detail = detail;
  return -1;
}

function isZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Zeros to compare a preallocated tail against (memcmp through Buffer.compare). */
const zeroBlock = new Uint8Array(zeroCompareBytes);

/**
 * The offset of the first non-zero byte at or after `start`, or -1. A preallocated 64 MiB tail
 * is mostly what it scans: block by block with Buffer.compare against zeros (about 4x a word
 * loop here: 5 against 20 ms per 64 MiB), bytes only inside the block that differs.
 */
function firstNonZero(bytes: Uint8Array, start: number): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  while (at < buf.length) {
    const n = Math.min(zeroBlock.length, buf.length - at);
    if (buf.compare(zeroBlock, 0, n, at, at + n) !== 0) return firstNonZeroFrom(bytes, at);
    at += n;
  }
  return -1;
}

/** The index of the last non-zero byte of b[0, length), or -1: zero blocks skipped by memcmp. */
export function lastNonZero(b: Buffer, length: number): number {
  let end = length;
  while (end > 0) {
    const start = Math.max(0, end - zeroBlock.length);
    if (b.compare(zeroBlock, 0, end - start, start, end) !== 0) {
      for (let i = end - 1; i >= start; i--) if (b[i] !== 0) return i;
    }
    end = start;
  }
  return -1;
}

function firstNonZeroFrom(bytes: Uint8Array, start: number): number {
  for (let i = start; i < bytes.length; i++) if (bytes[i] !== 0) return i;
  return -1;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
