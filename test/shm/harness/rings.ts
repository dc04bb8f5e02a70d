// ByteRing pairs and byte patterns shared by the single-thread shm tests: a producer and a consumer
// ByteRing over one SharedArrayBuffer, as they would be in two threads.

import assert from 'node:assert/strict';
import { ByteRing } from '../../../src/shm/ring.js';

export function pair(capacityBytes: number): { p: ByteRing; c: ByteRing } {
  const p = ByteRing.create(capacityBytes);
  return { p, c: ByteRing.attach(p.sab) };
}

export function fillPattern(r: ByteRing, off: number, n: number, seed: number): void {
  for (let i = 0; i < n; i++) r.bytes[off + i] = (seed + i * 7) & 255;
}

export function checkPattern(bytes: Uint8Array, off: number, n: number, seed: number): void {
  for (let i = 0; i < n; i++) {
    if (bytes[off + i] !== ((seed + i * 7) & 255)) assert.fail(`seed ${seed}: byte ${i} differs`);
  }
}
