// Snapshot streams: a SNAP too large for one frame goes out as SnapChunk frames and a final SNAP
// (SnapStream), and comes back together on the receiving connection (addSnapChunk, assembleSnap).
//
// SNAP sync: a snapshot can be larger than a frame, and larger than the send queue's bound. A
// SNAP whose data exceeds snapChunkBytes goes out as SnapChunk frames (leading pieces of the
// data) and a final SNAP frame with the rest, one frame per 'drain' of the socket, so the queue
// holds about one chunk at a time; messages sent to that peer meanwhile wait behind the
// snapshot (in order, counted against sendQueueBytesMax). The receiver concatenates the pieces
// (up to snapBytesMax) and emits one SNAP message; anything but SnapChunk or SNAP after a
// SnapChunk is a protocol error that closes the connection.

import type { Msg } from '../zab/messages.js';
import { encodeMessageFrame, encodeSnapChunkFrame } from './codec.js';
import type { Connection } from './connection.js';

type Snap = Extract<Msg, { type: 'SNAP' }>;

/** A chunked SNAP going out: the data, how far it has gone, and what waits behind it. */
export class SnapStream {
  at = 0;
  readonly backlog: Buffer[] = [];
  backlogBytes = 0;
  constructor(readonly msg: Snap) {}

  /** The next frame: a SnapChunk of chunkBytes while more than that remains, else the final SNAP. */
  nextFrame(chunkBytes: number): { frame: Buffer; last: boolean } {
    const data = this.msg.data;
    const rest = data.length - this.at;
    if (rest > chunkBytes) {
      const frame = encodeSnapChunkFrame(data.subarray(this.at, this.at + chunkBytes));
      this.at += chunkBytes;
      return { frame, last: false };
    }
    return { frame: encodeMessageFrame({ ...this.msg, data: data.subarray(this.at) }), last: true };
  }
}

/** A SnapChunk piece: kept on conn until the SNAP that ends it. Returns the problem, if any. */
export function addSnapChunk(conn: Connection, data: Uint8Array, snapBytesMax: number): string | null {
  if (conn.snapInBytes + data.length > snapBytesMax) {
    return `chunked SNAP over snapBytesMax ${snapBytesMax}`;
  }
  conn.snapIn ??= [];
  conn.snapIn.push(data.slice()); // the frame's buffer is the socket's
  conn.snapInBytes += data.length;
  return null;
}

/** The SNAP that ends a chunked one: its data is the pieces, then its own; or the problem. */
export function assembleSnap(conn: Connection, msg: Snap, snapBytesMax: number): Msg | string {
  const parts = conn.snapIn;
  if (parts === null) return msg;
  conn.snapIn = null;
  const total = conn.snapInBytes + msg.data.length;
  conn.snapInBytes = 0;
  if (total > snapBytesMax) {
    return `chunked SNAP over snapBytesMax ${snapBytesMax}`;
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  data.set(msg.data, at);
  return { ...msg, data };
}
