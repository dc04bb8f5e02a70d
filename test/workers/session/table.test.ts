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

  it('keeps no auth set for a session until its first auth id, and none after the connection goes', () => {
    const t = new SessionTable(4);
    const a = t.add(1, 1, 5000, true, false)!;
    const b = t.add(1, 2, 5000, true, false)!;
    assert.equal(a.authIds.size, 0);
    assert.equal(a.authIds, b.authIds, 'one shared empty set while there are none');
    a.addAuthId('digest:x');
    a.addAuthId('digest:y');
    a.addAuthId('digest:x');
    assert.deepEqual([...a.authIds], ['digest:x', 'digest:y']);
    assert.equal(b.authIds.size, 0, 'the other session is untouched');
    a.superUser = true;
    a.clearAuth();
    assert.equal(a.authIds.size, 0);
    assert.equal(a.superUser, false);
  });
});
