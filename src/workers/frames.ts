// Reply frames the worker writes into its output slab: the 4-byte length, ReplyHeader
// (xid, zxid, err) and an optional body copied from elsewhere (ring memory, a JuteWriter).

import type { OutSlab } from './conn.js';

/** Length prefix + ReplyHeader. */
export const replyHeaderFrameBytes = 4 + 16;

/** A float64 zxid as a jute long (two big-endian halves; -1 stays -1). */
export function setJuteLong(view: DataView, off: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  view.setInt32(off, hi);
  view.setUint32(off + 4, v - hi * 4294967296);
}

/**
 * Reserve and write one reply frame: header, then body bytes [bodyStart, bodyEnd) of `src`.
 * Returns its offset in `slab.buf`; the frame is `replyHeaderFrameBytes + body` bytes long.
 */
export function writeReplyFrame(
  slab: OutSlab,
  header: { xid: number; zxid: number; err: number },
  src: Buffer | null,
  bodyStart: number,
  bodyEnd: number,
): number {
  const bytes = replyHeaderFrameBytes + bodyEnd - bodyStart;
  const off = slab.reserve(bytes);
  const view = slab.view;
  view.setInt32(off, bytes - 4);
  view.setInt32(off + 4, header.xid);
  setJuteLong(view, off + 8, header.zxid);
  view.setInt32(off + 16, header.err);
  if (src !== null && bodyEnd > bodyStart) {
    src.copy(slab.buf, off + replyHeaderFrameBytes, bodyStart, bodyEnd);
  }
  return off;
}
