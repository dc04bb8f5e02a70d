// The simulator's state machine: what a node's data tree would be, reduced to a digest over the
// applied sequence (ZooKeeper's DigestCalculator idea), the count of txns applied and the last
// zxid. Snapshots are this state, serialised. The checker compares digests at equal zxids.

import type { Entry } from '../../src/main/zab/log-view.js';

export interface SimState {
  readonly zxid: number;
  readonly count: number;
  readonly digest: number;
}

export const initialState: SimState = { zxid: 0, count: 0, digest: 0x811c9dc5 };

function mix(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193) >>> 0;
}

export function applyEntry(s: SimState, e: Entry): SimState {
  let h = s.digest;
  const epoch = Math.floor(e.zxid / 0x100000000);
  const counter = e.zxid % 0x100000000;
  for (const word of [epoch, counter, e.payload.length]) {
    for (let shift = 0; shift < 32; shift += 8) h = mix(h, (word >>> shift) & 0xff);
  }
  for (const b of e.payload) h = mix(h, b);
  return { zxid: e.zxid, count: s.count + 1, digest: h };
}

export function encodeState(s: SimState): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setFloat64(0, s.zxid);
  v.setUint32(8, s.count);
  v.setUint32(12, s.digest);
  return out;
}

export function decodeState(data: Uint8Array): SimState {
  if (data.length !== 16) throw new Error(`snapshot of ${data.length} bytes, expected 16`);
  const v = new DataView(data.buffer, data.byteOffset, data.length);
  return { zxid: v.getFloat64(0), count: v.getUint32(8), digest: v.getUint32(12) };
}
