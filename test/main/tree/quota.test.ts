// Unit tests of quotas (issue 9, item 7): StatsTrack's text as ZooKeeper 3.8 reads and writes
// it; the stats node the apply step keeps (DataTree.updateQuotaStat / updateQuotaForPath /
// setupQuota); and prep's check (ZooKeeperServer.checkQuota) with enforceQuota, including
// writes in flight together.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Err } from '../../../src/common/zk.js';
import { ZkDatabase } from '../../../src/main/pipeline/database.js';
import type { QuotaExceededNote } from '../../../src/main/pipeline/prep.js';
import { DataTree } from '../../../src/main/tree/data-tree.js';
import { QuotaIndex, quotaPathOf, StatsTrack } from '../../../src/main/tree/quota.js';
import { bytes, create, ctx, del, multi, mCreate, node, ok, prep, prepErr, setData } from '../harness/zk-db.js';

const anon = ctx();
const text = (d: Uint8Array | null): string => (d === null ? '' : Buffer.from(d).toString('utf8'));

/** What zkCli's setquota creates for /q (SetQuotaCommand.createQuota). */
function setQuota(db: ZkDatabase, path: string, limits: string): void {
  ok(db, anon, create(`/zookeeper/quota${path}`));
  ok(db, anon, create(`/zookeeper/quota${path}/zookeeper_limits`, { data: bytes(limits) }));
  ok(db, anon, create(`/zookeeper/quota${path}/zookeeper_stats`, { data: bytes('count=0,bytes=0') }));
}
const stats = (db: ZkDatabase, path: string): string => text(node(db, `/zookeeper/quota${path}/zookeeper_stats`).data);

describe('StatsTrack', () => {
  it('writes count and bytes first, the other keys after a "=" in order, as 3.8 does', () => {
    const t = StatsTrack.parse(bytes('countHardLimit=3,count=-1;bytes=-1,byteHardLimit=-1'));
    assert.equal(t.toString(), 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3');
    assert.equal(t.countHardLimit, 3);
    assert.equal(StatsTrack.parse(bytes('count=4,bytes=5')).toString(), 'count=4,bytes=5');
  });
  it('reads its own output back, the stray "=" after bytes included; missing keys are -1', () => {
    const t = StatsTrack.parse(bytes('count=2,bytes=7=;countHardLimit=10'));
    assert.equal(t.count, 2);
    assert.equal(t.bytes, 7);
    assert.equal(t.countHardLimit, 10);
    assert.equal(t.byteHardLimit, -1);
    assert.equal(StatsTrack.parse(null).count, -1);
  });
  it('skips what ZooKeeper could not parse instead of failing', () => {
    const t = StatsTrack.parse(bytes('count=x,bytes,=3;countHardLimit=5'));
    assert.equal(t.count, -1);
    assert.equal(t.bytes, -1);
    assert.equal(t.countHardLimit, 5);
  });
});

describe('QuotaIndex and quota paths', () => {
  it('a path counts in its deepest quota\'d ancestor-or-self, by whole names, never "/"', () => {
    const q = new QuotaIndex();
    q.add('/a');
    q.add('/a/b/c');
    assert.equal(q.quotaOf('/a'), '/a');
    assert.equal(q.quotaOf('/a/b'), '/a');
    assert.equal(q.quotaOf('/a/b/c/d'), '/a/b/c');
    assert.equal(q.quotaOf('/ab'), null);
    assert.equal(q.quotaOf('/'), null);
  });
  it('only nodes below /zookeeper/quota name a quota', () => {
    assert.equal(quotaPathOf('/zookeeper/quota/a/b'), '/a/b');
    assert.equal(quotaPathOf('/zookeeper/quota'), null);
    assert.equal(quotaPathOf('/zookeeper/quotaX'), null);
    assert.equal(quotaPathOf('/zookeeper'), null);
  });
});

describe('the stats node (DataTree)', () => {
  it('creating the stats node counts the subtree; creates, setData and deletes move it', () => {
    const db = new ZkDatabase({ extendedTypesEnabled: false });
    ok(db, anon, create('/q', { data: bytes('12') }), create('/q/a', { data: bytes('345') }));
    setQuota(db, '/q', 'count=-1,bytes=-1=;countHardLimit=10');
    assert.equal(stats(db, '/q'), 'count=2,bytes=5');
    ok(db, anon, create('/q/a/b', { data: bytes('xy') }), setData('/q/a', bytes('3456789')));
    assert.equal(stats(db, '/q'), 'count=3,bytes=11');
    ok(db, anon, del('/q/a/b'));
    assert.equal(stats(db, '/q'), 'count=2,bytes=9');
    ok(db, anon, create('/other'));
    assert.equal(stats(db, '/q'), 'count=2,bytes=9');
  });
  it('deleting the limits node ends the quota; a limits node right under /zookeeper/quota is ignored', () => {
    const db = new ZkDatabase({ extendedTypesEnabled: false });
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=5,bytes=-1');
    ok(db, anon, del('/zookeeper/quota/q/zookeeper_limits'));
    ok(db, anon, create('/q/a'));
    assert.equal(stats(db, '/q'), 'count=1,bytes=0');
    assert.deepEqual(db.tree.quotas.all(), []);
    ok(db, anon, create('/zookeeper/quota/zookeeper_limits', { data: bytes('count=1,bytes=1') }));
    ok(db, anon, create('/zookeeper/quota/zookeeper_stats'));
    assert.deepEqual(db.tree.quotas.all(), []);
  });
  it('a snapshot load rebuilds the quota index and recounts the stats (setupQuota)', () => {
    const db = new ZkDatabase({ extendedTypesEnabled: false });
    ok(db, anon, create('/q'), create('/q/a', { data: bytes('abc') }));
    setQuota(db, '/q', 'count=-1,bytes=-1=;countHardLimit=10');
    const t = db.tree;
    // A stale stats text, as a fuzzy snapshot plus replay can leave it.
    ok(db, anon, setData('/zookeeper/quota/q/zookeeper_stats', bytes('count=99,bytes=99')));
    const r = new DataTree({ extendedTypesEnabled: false });
    r.beginRestore(t.aclTable());
    t.forEachNode((p, n) =>
      r.restoreNode(p, { ...n, data: n.data, aclId: t.aclIdOf(n), ephemeralOwner: n.ephemeralOwner }),
    );
    r.endRestore();
    assert.deepEqual(r.quotas.all(), ['/q']);
    assert.equal(text(r.getNode('/zookeeper/quota/q/zookeeper_stats')?.data ?? null), 'count=2,bytes=3');
  });
});

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
    assert.equal(stats(db, '/q'), 'count=3,bytes=0');
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
    assert.equal(stats(db, '/q'), 'count=2,bytes=5');
  });

  it('without enforceQuota the write goes through and is reported', () => {
    const notes: QuotaExceededNote[] = [];
    const db = new ZkDatabase({ extendedTypesEnabled: false, onQuotaExceeded: (n) => notes.push(n) });
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=-1,bytes=-1=;countHardLimit=1');
    ok(db, anon, create('/q/a'));
    assert.deepEqual(notes, [{ quota: '/q', what: 'count', current: 2, limit: 1, hard: true, refused: false }]);
    assert.equal(stats(db, '/q'), 'count=2,bytes=0');
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
    assert.equal(stats(db, '/q'), 'count=3,bytes=0');
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
    assert.equal(stats(db, '/q'), 'count=3,bytes=0');
  });
});
