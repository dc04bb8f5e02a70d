// Tests of prep/multi.ts: a multi's sub-requests prepared all or nothing, through ZkDatabase.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Err, OpCode } from '../../../../src/common/zk.js';
import {
  bytes,
  create,
  ctx,
  mCheck,
  mCreate,
  mDelete,
  mSetData,
  multi,
  newDb,
  node,
  ok,
  prep,
  setData,
  write,
} from '../../harness/zk-db.js';

const anon = ctx();

describe('multi', () => {
  it('all ops share one zxid and see each other', () => {
    const db = newDb();
    const p = prep(
      db,
      anon,
      multi([mCreate('/m'), mCreate('/m/s-', 2), mSetData('/m', bytes('x'), 0), mCheck('/m', 1)]),
    );
    assert.equal(p.hdr.type, OpCode.multi);
    assert.equal(p.txn.type, 14);
    const txns = p.txn.type === 14 ? p.txn.txns : [];
    assert.deepEqual(
      txns.map((t) => t.type),
      [1, 1, 5, 13],
    );
    assert.equal(txns[1]?.type === 1 && txns[1].path, '/m/s-0000000000');
    const r = db.apply(p);
    assert.equal(r.err, 0);
    assert.deepEqual(r.response?.op === 14 && r.response.res.map((x) => x.op), [1, 1, 5, 13]);
    assert.equal(node(db, '/m').czxid, p.hdr.zxid);
    assert.equal(node(db, '/m/s-0000000000').czxid, p.hdr.zxid);
  });
  it('the first failing op gets its code, later ops RuntimeInconsistency, nothing applies', () => {
    const db = newDb();
    ok(db, anon, create('/a'));
    const before = db.tree.treeDigest();
    const p = prep(
      db,
      anon,
      multi([mCreate('/m1'), mSetData('/a', null, 5), mCreate('/m2'), mDelete('/a')]),
    );
    const txns = p.txn.type === 14 ? p.txn.txns : [];
    assert.deepEqual(txns.slice(1), [
      { type: -1, err: Err.badVersion },
      { type: -1, err: Err.runtimeInconsistency },
      { type: -1, err: Err.runtimeInconsistency },
    ]);
    assert.equal(txns[0]?.type, 1, 'the op before keeps its txn; apply reports it as Ok');
    assert.equal(db.outstanding.size, 0, 'changes of the ops before are rolled back');
    const r = db.apply(p);
    assert.equal(r.err, Err.ok, 'a multi replies Ok with per-op errors');
    assert.deepEqual(r.response, {
      op: 14,
      res: [
        { op: -1, err: Err.ok },
        { op: -1, err: Err.badVersion },
        { op: -1, err: Err.runtimeInconsistency },
        { op: -1, err: Err.runtimeInconsistency },
      ],
    });
    assert.equal(db.tree.getNode('/m1'), undefined);
    assert.equal(db.tree.treeDigest(), before);
    assert.deepEqual(r.triggers, []);
  });
  it('a failed multi restores outstanding records it shadowed (rollbackPendingChanges)', () => {
    const db = newDb();
    ok(db, anon, create('/p'));
    const first = prep(db, anon, create('/p/x')); // pipelined, not applied
    const failed = prep(
      db,
      anon,
      multi([mSetData('/p/x', bytes('m')), mCreate('/p/s-', 2), mCreate('/nope/y')]),
    );
    assert.equal(failed.txn.type === 14 && failed.txn.txns[2]?.type, -1);
    // /p/x is still "just created" (version 0) and /p's cversion still counts only /p/x.
    const next = prep(db, anon, setData('/p/x', bytes('z'), 0));
    assert.equal(next.txn.type, 5);
    const seq = prep(db, anon, create('/p/s-', { flags: 2 }));
    assert.equal(seq.txn.type === 1 && seq.txn.path, '/p/s-0000000001');
    for (const p of [first, failed, next, seq]) assert.equal(db.apply(p).err, 0);
    assert.equal(db.outstanding.size, 0);
    assert.deepEqual(node(db, '/p/x').data, bytes('z'));
  });
  it('create2 in a multi answers like create; container and TTL creates carry a stat', () => {
    const db = newDb();
    const r = write(
      db,
      anon,
      multi([
        mCreate('/a', 0, 15),
        mCreate('/c', 4, 1),
        {
          op: 21,
          req: {
            path: '/t',
            data: null,
            acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
            flags: 5,
            ttl: 99,
          },
        },
      ]),
    );
    assert.equal(r.err, 0);
    const res = r.response?.op === 14 ? r.response.res : [];
    assert.deepEqual(res[0], { op: 1, path: '/a' });
    assert.equal(res[1]?.op, 15);
    assert.equal(res[2]?.op, 15);
    assert.deepEqual([...db.tree.containers], ['/c']);
    assert.deepEqual([...db.tree.ttls], ['/t']);
  });
  it('a read op, or TTL flags on a plain create, fail the whole multi (Marshalling)', () => {
    const db = newDb();
    const p = prep(db, anon, multi([mCreate('/a'), { op: 4, req: { path: '/', watch: false } }]));
    assert.equal(p.hdr.type, OpCode.error);
    assert.deepEqual(p.txn, { type: -1, err: Err.marshallingError });
    const q = prep(db, anon, multi([mCreate('/a', 5)]));
    assert.deepEqual(q.txn, { type: -1, err: Err.marshallingError });
  });
  it('an empty multi is an empty result list', () => {
    const db = newDb();
    assert.deepEqual(write(db, anon, multi([])).response, { op: 14, res: [] });
  });
  it('an ephemeral create in a multi from a local session fails that op', () => {
    const db = newDb();
    const local = ctx(7n, { local: true });
    const r = write(db, local, multi([mCreate('/p'), mCreate('/e', 1)]));
    assert.deepEqual(r.response, {
      op: 14,
      res: [
        { op: -1, err: Err.ok },
        { op: -1, err: Err.ephemeralOnLocalSession },
      ],
    });
  });
});
