// Length-prefixed framing for the quorum stream: u32 big-endian byte count, then that many bytes
// (one FlatBuffers Frame). The reader splits socket chunks into frames without copying when a
// frame lies inside one chunk, and refuses a frame over frameBytesMax from its header alone, so
// an oversized or hostile length never makes us buffer it.
//
// Not shared with the client-connection parser (workers/conn.ts), for reasons of shape: here a
// frame body is handed on as a Buffer the decoded message keeps (PROPOSAL / INFORM / SNAP payloads
// are views into it, codec.ts payloadOf), an empty frame is an error and the bound rises after the
// handshake; there the first length word may be a four-letter word, lengths are signed ints
// ("Len error" below zero, as NIOServerCnxn), a frame is (chunk, start, end) valid during the call
// only, and parsing stops mid-chunk whenever any of several pause reasons is set, stashing the rest
// in the connection's backlog. Both copy a split frame once and a whole one not at all.

import { assert } from '../../common/assert.js';
import { framePrefixBytes } from './codec.js';

export class FrameReader {
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** Body length of the frame being read, or -1 while its header is incomplete. */
  private bodyBytes = -1;

  constructor(private frameBytesMax: number) {
    assert(Number.isInteger(frameBytesMax) && frameBytesMax > 0, 'frameBytesMax > 0');
  }

  /** Changes the bound from the next frame header on (the transport raises it after the handshake). */
  setFrameBytesMax(n: number): void {
    assert(Number.isInteger(n) && n > 0, 'frameBytesMax > 0');
    this.frameBytesMax = n;
  }

  /**
   * Adds a chunk and hands each complete frame body to onFrame, which returns false to stop
   * (the connection closed). Returns null, or why the stream is bad (the caller closes it).
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => boolean): string | null {
    if (chunk.length === 0) return null;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    for (;;) {
      if (this.bodyBytes < 0) {
        if (this.bytes < framePrefixBytes) return null;
        const length = this.peekLength();
        if (length === 0) return 'empty frame';
        if (length > this.frameBytesMax) {
          return `frame of ${length} bytes over frameBytesMax ${this.frameBytesMax}`;
        }
        this.bodyBytes = length;
      }
      if (this.bytes < framePrefixBytes + this.bodyBytes) return null;
      const frame = this.take(framePrefixBytes + this.bodyBytes);
      this.bodyBytes = -1;
      if (!onFrame(frame.subarray(framePrefixBytes))) return null;
    }
  }

  /** Bytes buffered toward the next frame. */
  bufferedBytes(): number {
    return this.bytes;
  }

  private peekLength(): number {
    if (this.chunks[0]!.length < framePrefixBytes) this.merge();
    return this.chunks[0]!.readUInt32BE(0);
  }

  private merge(): void {
    this.chunks = [Buffer.concat(this.chunks, this.bytes)];
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.merge();
    const first = this.chunks[0]!;
    this.bytes -= n;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    this.chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
}
