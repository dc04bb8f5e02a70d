// ZooKeeper's tree digest (DigestCalculator, digest version 2): each node's digest is the CRC-32
// of its path (UTF-8), its data and 60 bytes of its persisted stat; the tree digest is the sum of
// the node digests as a Java long. Nodes under "/zookeeper/" count 0 (their quota stats are
// updated locally), and the root is hashed under the path "". Keeping ZooKeeper's exact algorithm
// lets zkts replicas compare state after every zxid the way ZooKeeper's own servers do.

import type { StatPersisted } from '../../protocol/types.js';

/** DigestCalculator.DIGEST_VERSION */
export const digestVersion = 2;

const crcTable = makeCrcTable();

function makeCrcTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

/** Feeds one byte into a running CRC (kept pre-inverted, as zlib keeps it). */
function crcByte(crc: number, byte: number): number {
  return (crcTable[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
}

function crcBytes(crc: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) crc = crcByte(crc, bytes[i] ?? 0);
  return crc;
}

/** Feeds `s` as UTF-8 without building the encoded bytes (an unpaired surrogate becomes '?',
 *  as Java's String.getBytes does; valid znode paths have none). */
function crcUtf8(crc: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      crc = crcByte(crc, c);
    } else if (c < 0x800) {
      crc = crcByte(crc, 0xc0 | (c >> 6));
      crc = crcByte(crc, 0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        crc = crcByte(crc, 0xf0 | (c >> 18));
        crc = crcByte(crc, 0x80 | ((c >> 12) & 0x3f));
        crc = crcByte(crc, 0x80 | ((c >> 6) & 0x3f));
        crc = crcByte(crc, 0x80 | (c & 0x3f));
      } else {
        crc = crcByte(crc, 0x3f);
      }
    } else {
      crc = crcByte(crc, 0xe0 | (c >> 12));
      crc = crcByte(crc, 0x80 | ((c >> 6) & 0x3f));
      crc = crcByte(crc, 0x80 | (c & 0x3f));
    }
  }
  return crc;
}

function crcInt(crc: number, v: number): number {
  crc = crcByte(crc, (v >>> 24) & 0xff);
  crc = crcByte(crc, (v >>> 16) & 0xff);
  crc = crcByte(crc, (v >>> 8) & 0xff);
  return crcByte(crc, v & 0xff);
}

/** A Java long held in a float64 (zxids, times): big-endian two's complement. */
function crcLong(crc: number, v: number): number {
  return crcInt(crcInt(crc, Math.floor(v / 0x100000000) | 0), v >>> 0);
}

function crcBigLong(crc: number, v: bigint): number {
  return crcInt(crcInt(crc, Number(BigInt.asIntN(32, v >> 32n))), Number(BigInt.asUintN(32, v)));
}

/** The persisted stat fields DigestCalculator hashes (all of StatPersisted; nodeDigest feeds them
 *  in its order). */
export type DigestedStat = Readonly<StatPersisted>;

/** DigestCalculator.calculateDigest(path, data, stat): an unsigned 32-bit CRC, or 0. */
export function nodeDigest(path: string, data: Uint8Array | null, stat: DigestedStat): number {
  if (path.startsWith('/zookeeper/')) return 0;
  let crc = -1;
  if (path !== '/') crc = crcUtf8(crc, path);
  if (data !== null) crc = crcBytes(crc, data);
  crc = crcLong(crc, stat.czxid);
  crc = crcLong(crc, stat.mzxid);
  crc = crcLong(crc, stat.pzxid);
  crc = crcLong(crc, stat.ctime);
  crc = crcLong(crc, stat.mtime);
  crc = crcInt(crc, stat.version);
  crc = crcInt(crc, stat.cversion);
  crc = crcInt(crc, stat.aversion);
  crc = crcBigLong(crc, stat.ephemeralOwner);
  return (crc ^ -1) >>> 0;
}

/** CRC-32 (IEEE, as java.util.zip.CRC32) of some bytes: exported for tests. */
export function crc32(bytes: Uint8Array): number {
  return (crcBytes(-1, bytes) ^ -1) >>> 0;
}

/**
 * A running sum of node digests modulo 2^64, in two float64 halves so that it stays exact for
 * any number of nodes (a plain float64 sum of 32-bit values would lose bits past ~2M nodes).
 */
export class DigestSum {
  private lo = 0;
  private hi = 0;

  add(d: number): void {
    this.lo += d;
    if (this.lo >= 0x100000000) {
      this.lo -= 0x100000000;
      this.hi = (this.hi + 1) >>> 0;
    }
  }

  remove(d: number): void {
    this.lo -= d;
    if (this.lo < 0) {
      this.lo += 0x100000000;
      this.hi = (this.hi - 1) >>> 0;
    }
  }

  reset(): void {
    this.lo = 0;
    this.hi = 0;
  }

  /** The sum as ZooKeeper's DataTree.getTreeDigest() returns it (a signed long). */
  value(): bigint {
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }
}
