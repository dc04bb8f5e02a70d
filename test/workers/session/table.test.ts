// The worker's session table (src/workers/session/table.ts): the id index and slot reuse.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdIndex, SessionTable } from '../../../src/workers/session/table.js';

describe('session table', () => {
  it('maps 64-bit ids to slots and survives deletions (backward shift)', () => {
    const idx = new IdIndex(4);
    const ids: [number, number][] = [];
    for (let i = 0; i < 500; i++) ids.push([0x07000000 | (i & 7), i * 7919]);
    ids.forEach(([hi, lo], i) => idx.set(hi, lo, i));
    for (let i = 0; i < 500; i += 3) assert.ok(idx.delete(ids[i]![0], ids[i]![1]));
    ids.forEach(([hi, lo], i) => assert.equal(idx.get(hi, lo), i % 3 === 0 ? -1 : i));
    assert.equal(idx.size, 500 - 167);
  });

  it('reuses slots and keeps local / global counts', () => {
    const t = new SessionTable(2);
    const a = t.add(1, 1, 1000, true, false)!;
    const b = t.add(1, 2, 1000, false, false)!;
    assert.equal(t.add(1, 3, 1000, false, false), undefined, 'full');
    assert.deepEqual([t.localCount, t.globalCount], [1, 1]);
    t.setLocal(a, false);
    assert.deepEqual([t.localCount, t.globalCount], [0, 2]);
    t.remove(b);
    const c = t.add(1, 3, 1000, false, false)!;
    assert.equal(c.slot, b.slot);
    assert.equal(t.get(1, 2), undefined);
    assert.equal(t.get(1, 3), c);
    assert.equal(a.hex, '0x100000001');
  });
});
