// JuteWriter: jute's binary encoding (BinaryOutputArchive) into one growable buffer that is reused
// across messages: reset() rewinds it, growth doubles it, and nothing else allocates per field.

import { JuteError } from './reader.js';

/** Buffer's native UTF-8 writer: encodes and reports the byte count in one call, so no separate
 *  Buffer.byteLength pass (measured faster than both, and than TextEncoder.encodeInto). */
interface NativeWriteBuffer extends Buffer {
  utf8Write(s: string, offset: number, max: number): number;
}

/** Up to this many UTF-16 units, a JS loop over ASCII beats the native call (measured). */
const SHORT_STRING_CHARS = 24;

function allocate(bytes: number): NativeWriteBuffer {
  // allocUnsafeSlow: an own ArrayBuffer, so the DataView needs no offset and nothing pins the pool.
  return Buffer.allocUnsafeSlow(bytes) as NativeWriteBuffer;
}

export class JuteWriter {
  // Three views of one ArrayBuffer: Buffer for utf8Write, a plain Uint8Array for byte stores and
  // set() (faster than indexing the Buffer subclass), DataView for ints. `cap` caches the size:
  // reading byteLength off a Buffer costs ~10 ns a call on Node 20 (measured).
  private buf: NativeWriteBuffer;
  private u8: Uint8Array;
  private dv: DataView;
  private cap: number;
  private pos = 0;
  /** Open frames' prefix positions; a stack so frames nest. Reused, so pushes stop allocating. */
  private readonly frames: number[] = [];

  constructor(initialBytes = 1024) {
    this.cap = Math.max(16, initialBytes);
    this.buf = allocate(this.cap);
    this.u8 = new Uint8Array(this.buf.buffer, 0, this.cap);
    this.dv = new DataView(this.buf.buffer, 0, this.cap);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Rewinds for reuse; the capacity is kept. Earlier bytes() views become stale. */
  reset(): this {
    this.pos = 0;
    this.frames.length = 0;
    return this;
  }

  /** The written bytes as a view into the writer: no copy, so only good until the writer is
   *  reset or written to again. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** The written bytes as an independent copy (for consumers that keep them, e.g. socket.write
   *  while the writer is reused). */
  bytesCopy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.pos + n;
    if (need > this.cap) this.grow(need);
  }

  private grow(need: number): void {
    let cap = this.cap * 2;
    while (cap < need) cap *= 2;
    const next = allocate(cap);
    next.set(this.u8.subarray(0, this.pos));
    this.cap = cap;
    this.buf = next;
    this.u8 = new Uint8Array(next.buffer, 0, cap);
    this.dv = new DataView(next.buffer, 0, cap);
  }

  writeInt(v: number): void {
    this.reserve(4);
    this.dv.setInt32(this.pos, v);
    this.pos += 4;
  }

  /** Overwrites the int at `at` (a length written before its contents were known). */
  patchInt(at: number, v: number): void {
    if (at < 0 || at + 4 > this.pos) {
      throw new JuteError('ZKTS_ERR_JUTE_BAD_VALUE', `patchInt at ${at} outside [0, ${this.pos})`);
    }
    this.dv.setInt32(at, v);
  }

  /** A jute long from a number; throws unless it is a safe integer (it would not round-trip). */
  writeLong(v: number): void {
    if (!Number.isSafeInteger(v)) {
      throw new JuteError('ZKTS_ERR_JUTE_BAD_VALUE', `long ${v} is not a safe integer`);
    }
    this.reserve(8);
    this.dv.setInt32(this.pos, Math.floor(v / 4294967296));
    this.dv.setUint32(this.pos + 4, v >>> 0);
    this.pos += 8;
  }

  /** A jute long from a bigint, taken modulo 2^64 (so unsigned spellings of ids work too). */
  writeLongBig(v: bigint): void {
    this.reserve(8);
    if (v === 0n) {
      // The common case (ephemeralOwner of a persistent node); int stores beat the BigInt path.
      this.dv.setInt32(this.pos, 0);
      this.dv.setInt32(this.pos + 4, 0);
    } else {
      this.dv.setBigInt64(this.pos, v); // ToBigInt64: wraps modulo 2^64
    }
    this.pos += 8;
  }

  writeBool(v: boolean): void {
    this.reserve(1);
    this.u8[this.pos++] = v ? 1 : 0;
  }

  /** A jute buffer; null is written as length -1. */
  writeBuffer(b: Uint8Array | null): void {
    if (b === null) return this.writeInt(-1);
    this.reserve(4 + b.byteLength);
    this.dv.setInt32(this.pos, b.byteLength);
    this.u8.set(b, this.pos + 4);
    this.pos += 4 + b.byteLength;
  }

  /** A jute ustring (UTF-8); null is written as length -1. */
  writeString(s: string | null): void {
    if (s === null) return this.writeInt(-1);
    const n = s.length;
    if (n <= SHORT_STRING_CHARS && this.writeAscii(s, n)) return;
    // A UTF-16 unit never takes more than 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units).
    this.reserve(4 + n * 3);
    const written = this.buf.utf8Write(s, this.pos + 4, n * 3);
    this.dv.setInt32(this.pos, written);
    this.pos += 4 + written;
  }

  /** Writes an all-ASCII string; returns false (having written nothing) otherwise. */
  private writeAscii(s: string, n: number): boolean {
    this.reserve(4 + n);
    const u8 = this.u8;
    const at = this.pos + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      u8[at + i] = c;
    }
    this.dv.setInt32(this.pos, n);
    this.pos = at + n;
    return true;
  }

  /** A jute vector; null is written as count -1. */
  writeVector<T>(items: readonly T[] | null, writeItem: (w: JuteWriter, item: T) => void): void {
    if (items === null) return this.writeInt(-1);
    this.writeInt(items.length);
    for (const item of items) writeItem(this, item);
  }

  writeStringVector(items: readonly string[] | null): void {
    this.writeVector(items, writeStringItem);
  }

  /** Reserves a 4-byte big-endian length prefix that endFrame() fills in. Frames nest (a sub-txn
   *  inside MultiTxn within a framed message); returns where the prefix sits. */
  beginFrame(): number {
    this.reserve(4);
    const mark = this.pos;
    this.pos += 4;
    this.frames.push(mark);
    return mark;
  }

  /** Writes the length of what followed the innermost open beginFrame() into its prefix. */
  endFrame(): void {
    const mark = this.frames.pop();
    if (mark === undefined) {
      throw new JuteError('ZKTS_ERR_JUTE_BAD_VALUE', 'endFrame without beginFrame');
    }
    this.dv.setInt32(mark, this.pos - mark - 4);
  }
}

function writeStringItem(w: JuteWriter, s: string): void {
  w.writeString(s);
}
