// Tests of prep/quota.ts: prep's check (ZooKeeperServer.checkQuota) with enforceQuota, including
// writes in flight together, through ZkDatabase.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../../../src/common/zk.js';
import { ZkDatabase } from '../../../../src/main/pipeline/database.js';
import type { QuotaExceededNote } from '../../../../src/main/tree/quota.js';
import {
  bytes,
  create,
  ctx,
  del,
  mCreate,
  multi,
  ok,
  prep,
  prepErr,
  quotaStats,
  setData,
  setQuota,
} from '../../harness/zk-db.js';

const anon = ctx();

describe('checkQuota (prep)', () => {
  function enforcing(notes: QuotaExceededNote[] = []): ZkDatabase {
    return new ZkDatabase({ extendedTypesEnabled: false, enforceQuota: true, onQuotaExceeded: (n) => notes.push(n) });
  }

  it('past a hard count limit a create is QuotaExceeded (the hard limit is the one compared)', () => {
    const notes: QuotaExceededNote[] = [];
    const db = enforcing(notes);
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=1,bytes=-1=;countHardLimit=3');
    ok(db, anon, create('/q/a'), create('/q/b')); // count 3: past the soft limit, not compared
    assert.equal(notes.length, 0);
    assert.equal(prepErr(db, anon, create('/q/c')), Err.quotaExceeded);
    assert.deepEqual(notes, [{ quota: '/q', what: 'count', current: 4, limit: 3, hard: true, refused: true }]);
    assert.equal(quotaStats(db, '/q'), 'count=3,bytes=0');
  });

  it('a soft limit alone is reported, never refused', () => {
    const notes: QuotaExceededNote[] = [];
    const db = enforcing(notes);
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=2,bytes=-1');
    ok(db, anon, create('/q/a'), create('/q/b'), create('/q/c'));
    assert.deepEqual(notes.map((n) => [n.current, n.hard, n.refused]), [[3, false, false], [4, false, false]]);
  });

  it('bytes: a create or setData past byteHardLimit is refused, one within it passes', () => {
    const db = enforcing();
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=-1,bytes=-1=;byteHardLimit=5');
    assert.equal(prepErr(db, anon, create('/q/a', { data: bytes('123456') })), Err.quotaExceeded);
    ok(db, anon, create('/q/a', { data: bytes('123') }));
    assert.equal(prepErr(db, anon, setData('/q/a', bytes('123456'))), Err.quotaExceeded);
    ok(db, anon, setData('/q/a', bytes('12345')));
    assert.equal(quotaStats(db, '/q'), 'count=2,bytes=5');
  });

  it('without enforceQuota the write goes through and is reported', () => {
    const notes: QuotaExceededNote[] = [];
    const db = new ZkDatabase({ extendedTypesEnabled: false, onQuotaExceeded: (n) => notes.push(n) });
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=-1,bytes=-1=;countHardLimit=1');
    ok(db, anon, create('/q/a'));
    assert.deepEqual(notes, [{ quota: '/q', what: 'count', current: 2, limit: 1, hard: true, refused: false }]);
    assert.equal(quotaStats(db, '/q'), 'count=2,bytes=0');
  });

  it('writes in flight together are checked against the stats they will make', () => {
    const db = enforcing();
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=-1,bytes=-1=;countHardLimit=3');
    const a = prep(db, anon, create('/q/a'));
    const b = prep(db, anon, create('/q/b'));
    const c = prep(db, anon, create('/q/c'));
    assert.equal(a.txn.type, 1);
    assert.equal(b.txn.type, 1);
    assert.deepEqual(c.txn, { type: -1, err: Err.quotaExceeded });
    // A delete in flight makes room for a create behind it.
    const d = prep(db, anon, del('/q/a'));
    const e = prep(db, anon, create('/q/e'));
    assert.equal(e.txn.type, 1);
    for (const p of [a, b, c, d, e]) db.apply(p);
    assert.equal(quotaStats(db, '/q'), 'count=3,bytes=0');
    assert.equal(db.outstanding.size, 0);
  });

  it('a multi that fails on the quota rolls its stats back with its other changes', () => {
    const db = enforcing();
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=-1,bytes=-1=;countHardLimit=3');
    const r = ok(db, anon, multi([mCreate('/q/a'), mCreate('/q/b'), mCreate('/q/c')]))[0];
    assert.deepEqual(
      (r?.response?.res as { op: number; err?: number }[]).map((x) => x.err ?? 0),
      [0, 0, Err.quotaExceeded],
    );
    assert.equal(db.tree.getNode('/q/a'), undefined);
    ok(db, anon, create('/q/a'), create('/q/b'));
    assert.equal(quotaStats(db, '/q'), 'count=3,bytes=0');
  });
});
