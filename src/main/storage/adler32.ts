// Adler-32 (RFC 1950), the checksum ZooKeeper uses for every txn record (FileTxnLog's
// makeChecksumAlgorithm) and for snapshots (SnapStream's CheckedOutputStream). Using the same one
// keeps zkts's files readable by ZooKeeper's LogFormatter / SnapshotFormatter / zkTxnLogToolkit.
// It is weaker than CRC-32C against some burst patterns, but every record also carries its length
// and an end-of-record byte, and compatibility with operators' tools is worth more here.

const ADLER_MOD = 65521;
/** Bytes summed before reducing: small enough that `b` stays below 2^31 (a V8 small integer)
 *  starting from any reduced state (65520 * 3801 + 255 * 3800 * 3801 / 2 < 2^31). */
const BLOCK_BYTES = 3800;

/** The Adler-32 of nothing (java.util.zip.Adler32's initial value). */
export const adler32Initial = 1;

/** Continues `adler` over bytes[start, end). Returns the unsigned 32-bit value. */
export function adler32Update(
  adler: number,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): number {
  let a = adler & 0xffff;
  let b = (adler >>> 16) & 0xffff;
  let i = start;
  while (i < end) {
    const stop = Math.min(end, i + BLOCK_BYTES);
    for (; i < stop; i++) {
      a += bytes[i] as number;
      b += a;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return ((b << 16) | a) >>> 0;
}

/** Adler-32 of bytes[start, end). */
export function adler32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return adler32Update(adler32Initial, bytes, start, end);
}
