// Unit tests of quotas (issue 9, item 7): StatsTrack's text as ZooKeeper 3.8 reads and writes
// it; and the stats node the apply step keeps (DataTree.updateQuotaStat / updateQuotaForPath /
// setupQuota). Prep's check: test/main/pipeline/prep/quota.test.ts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ZkDatabase } from '../../../src/main/pipeline/database.js';
import { DataTree } from '../../../src/main/tree/data-tree.js';
import { QuotaIndex, quotaPathOf, StatsTrack } from '../../../src/main/tree/quota.js';
import { bytes, create, ctx, del, ok, quotaStats, setData, setQuota } from '../harness/zk-db.js';

const anon = ctx();
const text = (d: Uint8Array | null): string => (d === null ? '' : Buffer.from(d).toString('utf8'));

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
    assert.equal(quotaStats(db, '/q'), 'count=2,bytes=5');
    ok(db, anon, create('/q/a/b', { data: bytes('xy') }), setData('/q/a', bytes('3456789')));
    assert.equal(quotaStats(db, '/q'), 'count=3,bytes=11');
    ok(db, anon, del('/q/a/b'));
    assert.equal(quotaStats(db, '/q'), 'count=2,bytes=9');
    ok(db, anon, create('/other'));
    assert.equal(quotaStats(db, '/q'), 'count=2,bytes=9');
  });
  it('deleting the limits node ends the quota; a limits node right under /zookeeper/quota is ignored', () => {
    const db = new ZkDatabase({ extendedTypesEnabled: false });
    ok(db, anon, create('/q'));
    setQuota(db, '/q', 'count=5,bytes=-1');
    ok(db, anon, del('/zookeeper/quota/q/zookeeper_limits'));
    ok(db, anon, create('/q/a'));
    assert.equal(quotaStats(db, '/q'), 'count=1,bytes=0');
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
