// Records larger than a ring record: cut into fragments on send (FragmentSender), put back
// together on arrival (FragmentReassembler), each side keeping its large buffer for the next one.
//
// A record larger than the ring's maxPayloadBytes (half the ring) is built in a buffer of its own
// and crosses as fragments (limits.ts `fragmentKind`): pieces of it, in order, each in a record
// of its own, written in one go (the outbox takes what the ring has no room for). The receiver
// copies the pieces into one reassembly buffer and hands the whole record to its handler, so no
// record kind, in either direction, is too large to cross (up to recordBytesMax).

import { AssertionError } from '../common/assert.js';
import type { ChannelSide, RecordHandler } from './channel.js';
import { fragmentHeaderBytes, fragmentKind, recordBytesMax } from './limits.js';
import type { Outbox } from './outbox.js';
import type { ByteRing } from './ring.js';

/** A fragment stream that breaks the contract of limits.ts `fragmentKind`: a bug on the sending
 *  side (both sides are this codebase), reported as such, never as a crash of the decoder. */
export class FragmentError extends AssertionError {}

/** The sending side: the large record's buffer, and its cutting into fragments. */
export class FragmentSender {
  readonly #tx: ByteRing;
  readonly #outbox: Outbox;
  readonly #pieceBytes: number;
  // A large record's buffer, kept for the next one (a fresh 32 MiB buffer costs more in page
  // faults than the copy into it) until releaseIdle() finds it unused since its last call. It is
  // reused only while the outbox is empty (the outbox holds views of it).
  #large: Buffer | undefined;
  #largeUsed = false;

  constructor(tx: ByteRing, outbox: Outbox, pieceBytes: number) {
    if (!(Number.isInteger(pieceBytes) && pieceBytes >= 1 && pieceBytes + fragmentHeaderBytes <= tx.maxPayloadBytes)) {
      throw new RangeError(`Channel: fragmentPieceBytes ${pieceBytes} does not fit the ring`);
    }
    this.#tx = tx;
    this.#outbox = outbox;
    this.#pieceBytes = pieceBytes;
  }

  /** A buffer of `payloadBytes` for the caller to build a large record in, whole, at offset 0. */
  buffer(payloadBytes: number): Buffer {
    // Not zeroed: the caller writes every byte it commits. The outbox keeps views of it
    // (send), so the kept one is reused only when the outbox is empty.
    let buf = this.#large;
    if (buf === undefined || buf.length < payloadBytes || !this.#outbox.isEmpty()) {
      buf = Buffer.allocUnsafeSlow(payloadBytes);
      this.#large = buf;
    }
    this.#largeUsed = true;
    return buf.subarray(0, payloadBytes);
  }

  /**
   * Send the first `n` bytes of the large record `whole` as fragments, in order: into the
   * ring while it has room and the outbox is empty, then into the outbox as views of the
   * record's buffer (no copy) behind their 16-byte headers.
   */
  send(kind: number, whole: Uint8Array, n: number): void {
    const tx = this.#tx;
    const outbox = this.#outbox;
    const piece = this.#pieceBytes;
    let inRing = outbox.isEmpty() || outbox.flush();
    if (n <= tx.maxPayloadBytes) {
      // commit() shrank it to what one record holds after all.
      const off = inRing ? tx.reserve(kind, n) : -1;
      if (off < 0) outbox.queue(kind, null, whole.subarray(0, n));
      else {
        tx.bytes.set(whole.subarray(0, n), off);
        tx.commit();
      }
      return;
    }
    for (let at = 0; at < n; at += piece) {
      const len = Math.min(piece, n - at);
      if (inRing) {
        const off = tx.reserve(fragmentKind, fragmentHeaderBytes + len);
        if (off >= 0) {
          writeFragmentHeader(tx.view, off, kind, n, at);
          tx.bytes.set(whole.subarray(at, at + len), off + fragmentHeaderBytes);
          tx.commit();
          continue;
        }
        inRing = false;
      }
      const prefix = new Uint8Array(fragmentHeaderBytes);
      writeFragmentHeader(new DataView(prefix.buffer), 0, kind, n, at);
      outbox.queue(fragmentKind, prefix, whole.subarray(at, at + len));
    }
  }

  /** Drop the kept buffer if unused since the last call (and the outbox holds none of it). */
  releaseIdle(): void {
    if (!this.#largeUsed && this.#outbox.isEmpty()) this.#large = undefined;
    this.#largeUsed = false;
  }

  clear(): void {
    this.#large = undefined;
  }
}

/** The receiving side: one record at a time (its pieces are contiguous in the ring). */
export class FragmentReassembler {
  /** The record being reassembled, undefined between records: a plain field, as the channel's
   *  drain checks it once per record. */
  record: Buffer | undefined;
  #view: DataView | undefined;
  #kind = 0;
  #bytes = 0;
  readonly #side: ChannelSide;
  /** The rx ring's memory, as a Buffer. */
  readonly #rxBuf: Buffer;
  // Kept for the next large record until releaseIdle() finds it unused since its last call.
  #large: Buffer | undefined;
  #largeUsed = false;

  constructor(rxBuf: Buffer, side: ChannelSide) {
    this.#rxBuf = rxBuf;
    this.#side = side;
  }

  /** Copy one piece into the reassembly buffer; true when the record is complete. */
  take(view: DataView, off: number, payloadBytes: number): boolean {
    if (payloadBytes < fragmentHeaderBytes) this.error(`a fragment of ${payloadBytes} bytes`);
    const kind = view.getUint32(off, true);
    const total = view.getUint32(off + 4, true);
    const at = view.getUint32(off + 8, true);
    const len = payloadBytes - fragmentHeaderBytes;
    if (kind === fragmentKind) this.error('a fragment of a fragment');
    if (total > recordBytesMax) this.error(`a record of ${total} bytes (over recordBytesMax)`);
    if (len === 0) this.error('an empty piece');
    if (at === 0) {
      if (this.record !== undefined) this.error('a fragmented record restarted before its end');
      // A record is valid only during its handler's call: the kept buffer can take the next one.
      let buf = this.#large;
      if (buf === undefined || buf.length < total) {
        buf = Buffer.allocUnsafeSlow(total);
        this.#large = buf;
      }
      this.#largeUsed = true;
      this.record = buf.subarray(0, total);
      this.#view = new DataView(this.record.buffer, this.record.byteOffset, total);
      this.#kind = kind;
      this.#bytes = 0;
    } else if (this.record === undefined || kind !== this.#kind || total !== this.record.length || at !== this.#bytes) {
      this.error(`a piece at ${at} of a ${total}-byte record of kind ${kind} out of sequence`);
    }
    const asm = this.record!;
    if (at + len > total) this.error(`a piece of ${len} bytes at ${at} past the record's ${total} bytes`);
    this.#rxBuf.copy(asm, at, off + fragmentHeaderBytes, off + payloadBytes);
    this.#bytes = at + len;
    return this.#bytes === total;
  }

  /** Hand the complete record to `handler` (after take() returned true). */
  deliver(handler: RecordHandler): void {
    const asm = this.record!;
    const view = this.#view!;
    this.record = undefined;
    this.#view = undefined;
    handler(this.#kind, view, 0, asm.length, asm);
  }

  /** Abandon the record being reassembled and throw. */
  error(what: string): never {
    this.record = undefined;
    this.#view = undefined;
    throw new FragmentError(`Channel (${this.#side}): ${what}`);
  }

  /** Drop the kept buffer if unused since the last call (and no record is being reassembled). */
  releaseIdle(): void {
    if (!this.#largeUsed && this.record === undefined) this.#large = undefined;
    this.#largeUsed = false;
  }

  clear(): void {
    this.record = undefined;
    this.#view = undefined;
    this.#large = undefined;
  }
}

function writeFragmentHeader(view: DataView, off: number, kind: number, totalBytes: number, at: number): void {
  view.setUint32(off, kind, true);
  view.setUint32(off + 4, totalBytes, true);
  view.setUint32(off + 8, at, true);
  view.setUint32(off + 12, 0, true);
}
