import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlabAllocator } from '../../src/common/slab.js';

describe('SlabAllocator', () => {
  test('copies are equal to their source, independent of it, and do not overlap', () => {
    const slab = new SlabAllocator(256);
    const copies: Uint8Array[] = [];
    const sources: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const src = new Uint8Array((i * 7) % 60).fill(i + 1);
      sources.push(src.slice());
      copies.push(slab.copy(src));
      src.fill(0); // the copy must not see this
    }
    copies.forEach((c, i) => assert.deepStrictEqual(c, sources[i]));
  });

  test('views are 8-byte aligned and share a slab until it is full', () => {
    const slab = new SlabAllocator(256);
    const a = slab.copy(new Uint8Array(10));
    const b = slab.copy(new Uint8Array(10));
    assert.equal(a.buffer, b.buffer);
    assert.equal(b.byteOffset % 8, 0);
    assert.equal(b.byteOffset - a.byteOffset, 16);
    const big = slab.copy(new Uint8Array(65)); // over a quarter of the slab: its own array
    assert.notEqual(big.buffer, a.buffer);
    assert.equal(big.byteOffset, 0);
    for (let i = 0; i < 20; i++) slab.copy(new Uint8Array(60));
    assert.notEqual(slab.copy(new Uint8Array(1)).buffer, a.buffer, 'a full slab is replaced');
  });
});
