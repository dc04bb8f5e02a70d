// The snapshot file format, byte for byte ZooKeeper's (FileSnap, SerializeUtils.serializeSnapshot,
// DataTree.serialize, ReferenceCountedACLCache.serialize, SnapStream.sealStream, ZxidDigest):
//
//   FileHeader(ZKSN, 2, dbid -1)
//   int count, then count x (long sessionId, int timeoutMs)          global sessions
//   int count, then count x (long aclId, vector<ACL>)                the numbered ACL lists
//   (ustring path, buffer data, long aclId, StatPersisted)*          nodes, parents first; the
//   ustring "/"                                                      root's path is "" and "/" ends
//   long adler32 of everything above, ustring "/"                    seal
//   long zxid, int digestVersion, long digest                        ZxidDigest (digest enabled)
//   long adler32 of everything above, ustring "/"                    second seal
//
// The digest is the tree digest at `zxid`, taken when the (fuzzy) walk ended: once recovery has
// replayed the log up to that zxid, the tree must have exactly that digest.

import type { ACL } from '../../protocol/types.js';
import {
  decodeACLs,
  encodeACLs,
  JuteError,
  JuteReader,
  type JuteWriter,
} from '../../protocol/jute/index.js';
import type { PersistedNode } from '../tree/data-tree.js';
import type { DataNode } from '../tree/node.js';
import { adler32, adler32Update } from './adler32.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { readHeaderOf, snapshotMagic } from './layout.js';
import { logRecordBytesMax } from './limits.js';

/** sealStream: long checksum + ustring "/" (int 1, '/'). */
export const sealBytes = 13;
/** ZxidDigest: long zxid, int digestVersion, long digest. */
export const zxidDigestBytes = 20;
/** Seal + ZxidDigest + seal. */
export const trailerBytes = sealBytes + zxidDigestBytes + sealBytes;
/** The ustring that ends the node list and each seal. */
export const endPath = '/';

export function writeSession(w: JuteWriter, id: bigint, timeoutMs: number): void {
  w.writeLongBig(id);
  w.writeInt(timeoutMs);
}

export function writeAclEntry(w: JuteWriter, id: number, acl: readonly ACL[]): void {
  w.writeLong(id);
  encodeACLs(w, acl);
}

/** One node record: path ("" for the root, as DataTree.serializeNode starts), DataNode. */
export function writeNode(w: JuteWriter, path: string, node: DataNode, aclId: number): void {
  w.writeString(path === '/' ? '' : path);
  w.writeBuffer(node.data);
  w.writeLong(aclId);
  w.writeLong(node.czxid);
  w.writeLong(node.mzxid);
  w.writeLong(node.ctime);
  w.writeLong(node.mtime);
  w.writeInt(node.version);
  w.writeInt(node.cversion);
  w.writeInt(node.aversion);
  w.writeLongBig(node.ephemeralOwner);
  w.writeLong(node.pzxid);
}

export interface ZxidDigest {
  zxid: number;
  version: number;
  digest: bigint;
}

/**
 * The bytes after the body: seal, ZxidDigest, seal. `adler` is the checksum of everything before
 * (header to the closing "/" of the node list).
 */
export function buildTrailer(adler: number, digest: ZxidDigest): Uint8Array {
  const out = new Uint8Array(trailerBytes);
  const dv = new DataView(out.buffer);
  writeSeal(dv, 0, adler);
  const afterSeal = adler32Update(adler, out, 0, sealBytes);
  dv.setInt32(sealBytes, Math.floor(digest.zxid / 0x100000000));
  dv.setUint32(sealBytes + 4, digest.zxid >>> 0);
  dv.setInt32(sealBytes + 8, digest.version);
  dv.setBigInt64(sealBytes + 12, digest.digest);
  const second = sealBytes + zxidDigestBytes;
  writeSeal(dv, second, adler32Update(afterSeal, out, sealBytes, second));
  return out;
}

function writeSeal(dv: DataView, at: number, adler: number): void {
  dv.setUint32(at, 0);
  dv.setUint32(at + 4, adler);
  dv.setInt32(at + 8, 1);
  dv.setUint8(at + 12, 0x2f);
}

function isSealAt(bytes: Uint8Array, at: number, adler: number): boolean {
  if (at < 0 || at + sealBytes > bytes.length) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, sealBytes);
  return (
    dv.getUint32(0) === 0 &&
    dv.getUint32(4) === adler &&
    dv.getInt32(8) === 1 &&
    dv.getUint8(12) === 0x2f
  );
}

/** Where a verified snapshot's body ends, and its digest if it carries one. */
export interface SnapshotSeal {
  bodyEnd: number;
  digest: ZxidDigest | null;
}

/**
 * Checks the seals (SnapStream.checkSealIntegrity) without parsing: a snapshot either ends with
 * seal + ZxidDigest + seal (ZooKeeper 3.6+, zkts) or with a single seal (older or digest
 * disabled). Returns the candidates that verify, most specific first; [] = damaged.
 */
export function verifySeals(bytes: Uint8Array): SnapshotSeal[] {
  const len = bytes.length;
  const out: SnapshotSeal[] = [];
  if (len < 16 + sealBytes) return out;
  const withDigest = len - trailerBytes;
  const lastSeal = len - sealBytes;
  let adler = 1;
  if (withDigest >= 16) adler = adler32(bytes, 0, withDigest);
  const full = adler32Update(adler, bytes, Math.max(0, withDigest), lastSeal);
  if (withDigest >= 16 && isSealAt(bytes, withDigest, adler) && isSealAt(bytes, lastSeal, full)) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + withDigest + sealBytes, 20);
    const zxid = dv.getInt32(0) * 0x100000000 + dv.getUint32(4);
    out.push({
      bodyEnd: withDigest,
      digest: { zxid, version: dv.getInt32(8), digest: dv.getBigInt64(12) },
    });
  }
  if (isSealAt(bytes, lastSeal, full)) out.push({ bodyEnd: lastSeal, digest: null });
  return out;
}

/** SnapStream.isValidCheckedStream: the cheap test ZooKeeper's purge uses (ends with "/"). */
export function hasSealTail(tail: Uint8Array): boolean {
  const n = tail.length;
  return (
    n >= 5 &&
    tail[n - 5] === 0 &&
    tail[n - 4] === 0 &&
    tail[n - 3] === 0 &&
    tail[n - 2] === 1 &&
    tail[n - 1] === 0x2f
  );
}

export interface SnapshotVisitor {
  session(id: bigint, timeoutMs: number): void;
  acl(id: number, acl: ACL[]): void;
  /** `path` as ZooKeeper writes it: "" for the root. */
  node(path: string, node: PersistedNode): void;
}

/** Parses a snapshot's body into `visit`; returns where the body ended. JuteErrors become
 *  snapshotCorrupt StorageErrors. */
export function parseSnapshot(bytes: Uint8Array, file: string, visit: SnapshotVisitor): number {
  const r = new JuteReader(bytes, { bufferBytesMax: logRecordBytesMax });
  try {
    readHeaderOf(r, snapshotMagic, file, StorageErrorCode.snapshotCorrupt);
    parseSessions(r, file, visit);
    parseAcls(r, file, visit);
    for (let path = r.readString(); path !== endPath; path = r.readString()) {
      visit.node(path, readPersistedNode(r));
    }
    return r.offset;
  } catch (e) {
    if (!(e instanceof JuteError)) throw e;
    throw corrupt(file, `${e.message} (at byte ${r.offset})`, e);
  }
}

function parseSessions(r: JuteReader, file: string, visit: SnapshotVisitor): void {
  const count = r.readInt();
  if (count < 0 || count * 12 > r.remaining) throw corrupt(file, `session count ${count}`);
  for (let i = 0; i < count; i++) {
    const id = r.readLongBig();
    visit.session(id, r.readInt());
  }
}

function parseAcls(r: JuteReader, file: string, visit: SnapshotVisitor): void {
  const count = r.readInt();
  if (count < 0 || count * 12 > r.remaining) throw corrupt(file, `acl count ${count}`);
  for (let i = 0; i < count; i++) {
    const id = r.readLong();
    visit.acl(id, decodeACLs(r));
  }
}

function readPersistedNode(r: JuteReader): PersistedNode {
  const data = r.readData();
  const aclId = r.readLong();
  return {
    data,
    aclId,
    czxid: r.readLong(),
    mzxid: r.readLong(),
    ctime: r.readLong(),
    mtime: r.readLong(),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readLongBig(),
    pzxid: r.readLong(),
  };
}

export function corrupt(file: string, why: string, cause?: unknown): StorageError {
  return new StorageError(
    StorageErrorCode.snapshotCorrupt,
    `${file}: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}
