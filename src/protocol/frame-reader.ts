// Length-prefixed framing, the one reader of both the quorum stream (src/main/net/transport.ts)
// and the zkts client's replies (src/client/connection.ts): a 4-byte big-endian length, then that
// many bytes. Socket chunks are split into frames without a copy when a frame lies inside one
// chunk; a frame split across chunks is copied once, when its last byte has arrived. A length over
// frameBytesMax is refused from its header alone, so a hostile length never makes us buffer it.
//
// A frame is handed on as a view into the socket's chunk or into a fresh merge buffer, never a
// reused one: a consumer may keep views into it (the quorum codec's PROPOSAL / INFORM / SNAP
// payloads do, codec/decode.ts payloadOf). The reader's state is whole at every callback, so the
// callback may reset() it and return false (the client tears its connection down from inside a
// reply).
//
// The length word is a ZooKeeper int (the client's side) or a u32 (the quorum's): read as a u32
// and bounded by frameBytesMax clamped to 0x7fffffff, both agree, a negative int being over any
// bound. An empty frame is the caller's policy: the quorum refuses it (a Frame is never empty),
// the client hands it on (its reply parser then fails, as before this reader was shared).
//
// Not the worker's client-port parser (src/workers/conn.ts), for reasons of shape: there the first
// length word may be a four-letter word, and parsing stops mid-chunk whenever any of several pause
// reasons is set, stashing the rest in the connection's backlog.

import { assert } from '../common/assert.js';

/** Bytes of the length word in front of each frame. */
export const framePrefixBytes = 4;
/** The largest length a ZooKeeper int length word can hold; also every reader's ceiling. */
const lengthMax = 0x7fffffff;
/** pushSpans's answer when the stream is fine. */
export const frameLengthOk = -1;

/** 'refuse': an empty frame is a bad stream (the quorum); 'deliver': handed on (the client). */
export type EmptyFramePolicy = 'refuse' | 'deliver';

const noBytes = Buffer.alloc(0);

export class FrameReader {
  private frameBytesMax: number;
  private readonly emptyRefused: boolean;
  /** Unconsumed bytes start at head[headOff]; later chunks wait in tail until a frame is whole. */
  private head: Buffer = noBytes;
  private headOff = 0;
  private tail: Buffer[] = [];
  /** Unconsumed bytes in head and tail together. */
  private bytes = 0;
  /** Bytes needed before parsing can go on: a length word, or a length word and its frame. */
  private need = framePrefixBytes;

  /** frameBytesMax: the largest frame body accepted (clamped to 0x7fffffff). Not asserted here:
   *  the client takes it from its user unchecked, as it always has; the quorum's are constants. */
  constructor(frameBytesMax: number, emptyFrames: EmptyFramePolicy = 'refuse') {
    this.frameBytesMax = frameBytesMax;
    this.emptyRefused = emptyFrames === 'refuse';
  }

  /** Changes the bound from the next frame header on (the transport raises it after the handshake). */
  setFrameBytesMax(n: number): void {
    assert(Number.isInteger(n) && n > 0, 'frameBytesMax > 0');
    this.frameBytesMax = n;
  }

  /** Drops whatever is buffered (a new stream starts). */
  reset(): void {
    this.head = noBytes;
    this.headOff = 0;
    this.tail = [];
    this.bytes = 0;
    this.need = framePrefixBytes;
  }

  /** Bytes buffered toward the next frame. */
  bufferedBytes(): number {
    return this.bytes;
  }

  /**
   * Adds a chunk and hands each complete frame body to onFrame as bytes [start, end) of buf;
   * onFrame returns false to stop (the connection closed). Returns frameLengthOk, or the length
   * word that makes the stream bad (over the bound, or 0 when empty frames are refused); the
   * caller closes it.
   */
  pushSpans(chunk: Buffer, onFrame: (buf: Buffer, start: number, end: number) => boolean): number {
    if (chunk.length === 0) return frameLengthOk;
    if (this.bytes === 0) {
      this.head = chunk;
      this.headOff = 0;
      this.bytes = chunk.length;
    } else {
      this.tail.push(chunk);
      this.bytes += chunk.length;
      if (this.bytes < this.need) return frameLengthOk;
      this.tail.unshift(this.head.subarray(this.headOff));
      this.head = Buffer.concat(this.tail, this.bytes);
      this.headOff = 0;
      this.tail = [];
    }
    const buf = this.head;
    const n = buf.length;
    let off = this.headOff;
    this.need = framePrefixBytes;
    while (n - off >= framePrefixBytes) {
      const length = buf.readUInt32BE(off);
      // The bound is read at each header: a callback may have raised it (the handshake's end).
      if (length > this.frameBytesMax || length > lengthMax || (length === 0 && this.emptyRefused)) return length;
      const start = off + framePrefixBytes;
      const end = start + length;
      if (end > n) {
        this.need = framePrefixBytes + length;
        return frameLengthOk;
      }
      off = end;
      this.headOff = end;
      this.bytes = n - end;
      if (!onFrame(buf, start, end)) return frameLengthOk;
    }
    if (this.bytes === 0) this.head = noBytes;
    return frameLengthOk;
  }

  /**
   * Adds a chunk and hands each complete frame body to onFrame, which returns false to stop
   * (the connection closed). Returns null, or why the stream is bad (the caller closes it).
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => boolean): string | null {
    const bad = this.pushSpans(chunk, (buf, start, end) => onFrame(buf.subarray(start, end)));
    if (bad === frameLengthOk) return null;
    return bad === 0 ? 'empty frame' : `frame of ${bad} bytes over frameBytesMax ${this.frameBytesMax}`;
  }
}
