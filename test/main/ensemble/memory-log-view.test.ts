// MemoryLogView (src/main/ensemble/memory-log-view.ts): the ensemble driver's in-memory log as
// the Zab core sees it. Trimming after a local snapshot keeps the LogView contract: the base
// moves to the last dropped entry, segments and entriesAfter start after it, the last `retain`
// entries at or below the snapshot stay, and the leader's sync plan turns from DIFF to SNAP for a
// learner behind the new base.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogView } from '../../../src/main/ensemble/memory-log-view.js';
import { planSync } from '../../../src/main/zab/sync.js';

const e = (epoch: number, n: number): number => epoch * 0x100000000 + n;
const entry = (zxid: number) => ({ zxid, payload: new Uint8Array([zxid & 0xff]) });

function viewWith(base: number, zxids: number[]): MemoryLogView {
  const v = new MemoryLogView(base);
  for (const z of zxids) v.append(entry(z));
  return v;
}

describe('MemoryLogView', () => {
  it('keeps entries after its base, by epoch segment', () => {
    const v = viewWith(e(1, 2), [e(1, 3), e(1, 4), e(2, 1), e(2, 2)]);
    assert.equal(v.baseZxid(), e(1, 2));
    assert.equal(v.lastZxid(), e(2, 2));
    assert.deepEqual(v.segments(), [{ epoch: 1, lastZxid: e(1, 4) }, { epoch: 2, lastZxid: e(2, 2) }]);
    assert.deepEqual(v.entriesAfter(e(1, 4), 10).map((x) => x.zxid), [e(2, 1), e(2, 2)]);
    v.truncate(e(1, 3));
    assert.equal(v.lastZxid(), e(1, 3));
    assert.throws(() => v.truncate(e(1, 1)), /below the log base/);
  });

  it('trim drops what a snapshot covers except the retained tail; the base follows', () => {
    const zxids = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => e(1, n)).concat([e(2, 1), e(2, 2)]);
    const v = viewWith(0, zxids);
    assert.equal(v.trim(e(1, 6), 2), 4); // 1..4 go, 5 and 6 stay, 7.. are above the snapshot
    assert.equal(v.baseZxid(), e(1, 4));
    assert.equal(v.size, 6);
    assert.deepEqual(v.segments(), [{ epoch: 1, lastZxid: e(1, 8) }, { epoch: 2, lastZxid: e(2, 2) }]);
    assert.deepEqual(v.entriesAfter(e(1, 4), 3).map((x) => x.zxid), [e(1, 5), e(1, 6), e(1, 7)]);
    assert.throws(() => v.entriesAfter(e(1, 3), 1), /below the log base/);
    assert.equal(v.trim(e(1, 6), 2), 0, 'nothing more to drop for the same snapshot');
    // A snapshot above everything, no retention: the log is empty, its base is the last entry.
    assert.equal(v.trim(e(2, 2), 0), 6);
    assert.equal(v.baseZxid(), e(2, 2));
    assert.equal(v.lastZxid(), e(2, 2));
    assert.deepEqual(v.segments(), []);
    v.append(entry(e(2, 3)));
    assert.deepEqual(v.entriesAfter(e(2, 2), 5).map((x) => x.zxid), [e(2, 3)]);
  });

  it('a trimmed leader plans SNAP for a learner behind its base and DIFF for one within it', () => {
    const leader = viewWith(0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => e(1, n)));
    const shape = () => ({ baseZxid: leader.baseZxid(), segments: leader.segments() });
    const behind = { baseZxid: e(1, 3), segments: [] };
    const near = { baseZxid: e(1, 8), segments: [] };
    assert.deepEqual(planSync(behind, e(1, 3), shape()), { kind: 'DIFF', zxid: e(1, 3) });
    leader.trim(e(1, 10), 3); // keeps 8, 9, 10
    assert.equal(leader.baseZxid(), e(1, 7));
    assert.deepEqual(planSync(behind, e(1, 3), shape()), { kind: 'SNAP' });
    assert.deepEqual(planSync(near, e(1, 8), shape()), { kind: 'DIFF', zxid: e(1, 8) });
  });

  it('install replaces the whole log by a snapshot base', () => {
    const v = viewWith(0, [e(1, 1), e(1, 2)]);
    v.install(e(3, 7));
    assert.equal(v.baseZxid(), e(3, 7));
    assert.equal(v.lastZxid(), e(3, 7));
    assert.deepEqual(v.segments(), []);
    v.append(entry(e(3, 8)));
    assert.deepEqual(v.segments(), [{ epoch: 3, lastZxid: e(3, 8) }]);
  });

  it('compacts its array as it trims (many rounds stay correct)', () => {
    const v = new MemoryLogView(0);
    let next = 1;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 20; i++) v.append(entry(e(1, next++)));
      v.trim(e(1, next - 5), 7);
      // 7 kept at or below the snapshot (next-11 .. next-5), 4 above it.
      assert.equal(v.baseZxid(), e(1, next - 12));
      assert.equal(v.size, 11);
      assert.equal(v.entriesAfter(v.baseZxid(), 100)[0]!.zxid, e(1, next - 11));
    }
  });
});
