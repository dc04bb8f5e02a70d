// Unit tests of src/main/pipeline/apply.ts: the reply FinalRequestProcessor builds for each
// committed transaction, the watch triggers in ZooKeeper's order, multi results, error txns,
// stats as ZooKeeper 3.8 reports them after a sequence of writes, and transactions a replica
// applies without having prepared them (including replay over a fuzzy snapshot).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openAclUnsafe } from '../../../src/common/acl.js';
import { Err, EventType, OpCode } from '../../../src/common/zk.js';
import type { Txn, TxnHeader } from '../../../src/protocol/types.js';
import {
  T0,
  aliceCtx,
  bytes,
  check,
  closeSession,
  create,
  createTTL,
  ctx,
  del,
  delContainer,
  mCreate,
  mDelete,
  mSetData,
  multi,
  newDb,
  node,
  ok,
  prep,
  setACL,
  setData,
  write,
} from '../harness/zk-db.js';

const anon = ctx();
const triggersOf = (r: {
  triggers: readonly { path: string; type: number }[];
}): [string, number][] => r.triggers.map((t) => [t.path, t.type]);

describe('replies', () => {
  it('create answers the path; create2, createContainer and createTTL the path and stat', () => {
    const db = newDb();
    const r1 = write(db, anon, create('/a', { data: bytes('x') }));
    assert.deepEqual(r1.response, { op: 1, res: { path: '/a' } });
    assert.equal(r1.type, OpCode.create);
    assert.equal(r1.sessionId, 0x100n);
    const r2 = write(db, anon, create('/b', { op: 15, flags: 1, data: bytes('yy') }));
    assert.equal(r2.response?.op, 15);
    const stat = r2.response?.op === 15 ? r2.response.res.stat : null;
    assert.deepEqual(stat, {
      czxid: r2.zxid,
      mzxid: r2.zxid,
      ctime: node(db, '/b').ctime,
      mtime: node(db, '/b').ctime,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0x100n,
      dataLength: 2,
      numChildren: 0,
      pzxid: r2.zxid,
    });
    const r3 = write(db, anon, create('/c', { op: 19, flags: 4 }));
    assert.equal(r3.response?.op, 19);
    assert.equal(r3.response?.op === 19 && r3.response.res.stat.ephemeralOwner, 0n);
    const r4 = write(db, anon, createTTL('/t', 500));
    assert.equal(r4.response?.op === 21 && r4.response.res.path, '/t');
  });
  it('delete, deleteContainer, check, closeSession: no body; setData, setACL: the stat', () => {
    const db = newDb();
    ok(db, anon, create('/a'), create('/c', { op: 19, flags: 4 }), create('/c/x'), del('/c/x'));
    assert.deepEqual(write(db, anon, check('/a', 0)).response, { op: 13, res: null });
    const s = write(db, anon, setData('/a', bytes('abc'), 0));
    assert.equal(s.response?.op === 5 && s.response.res.stat.version, 1);
    assert.equal(s.response?.op === 5 && s.response.res.stat.dataLength, 3);
    const a = write(db, anon, setACL('/a', [...openAclUnsafe], 0));
    assert.equal(a.response?.op === 7 && a.response.res.stat.aversion, 1);
    assert.deepEqual(write(db, ctx(0n), delContainer('/c')).response, { op: 20, res: null });
    assert.deepEqual(write(db, anon, del('/a')).response, { op: 2, res: null });
    assert.deepEqual(write(db, anon, closeSession).response, { op: -11, res: null });
  });
  it('an error txn answers its code and nothing else, and changes nothing', () => {
    const db = newDb();
    const digest = db.tree.treeDigest();
    const r = write(db, anon, del('/nope'));
    assert.equal(r.type, OpCode.error);
    assert.equal(r.err, Err.noNode);
    assert.equal(r.response, null);
    assert.deepEqual(r.triggers, []);
    assert.equal(db.tree.treeDigest(), digest);
    assert.equal(db.lastZxid, r.zxid);
  });
});

describe('watch triggers', () => {
  it('create /a/b: NodeCreated /a/b then NodeChildrenChanged /a', () => {
    const db = newDb();
    ok(db, anon, create('/a'));
    assert.deepEqual(triggersOf(write(db, anon, create('/a/b'))), [
      ['/a/b', EventType.nodeCreated],
      ['/a', EventType.nodeChildrenChanged],
    ]);
  });
  it('a top-level create changes the children of /', () => {
    const db = newDb();
    assert.deepEqual(triggersOf(write(db, anon, create('/x'))), [
      ['/x', EventType.nodeCreated],
      ['/', EventType.nodeChildrenChanged],
    ]);
  });
  it('delete: NodeDeleted then NodeChildrenChanged on the parent; setData: NodeDataChanged', () => {
    const db = newDb();
    ok(db, anon, create('/a'), create('/a/b'));
    assert.deepEqual(triggersOf(write(db, anon, setData('/a/b', bytes('1')))), [
      ['/a/b', EventType.nodeDataChanged],
    ]);
    assert.deepEqual(triggersOf(write(db, anon, del('/a/b'))), [
      ['/a/b', EventType.nodeDeleted],
      ['/a', EventType.nodeChildrenChanged],
    ]);
  });
  it('setACL and check raise nothing', () => {
    const db = newDb();
    ok(db, anon, create('/a'));
    assert.deepEqual(write(db, anon, setACL('/a', [...openAclUnsafe])).triggers, []);
    assert.deepEqual(write(db, anon, check('/a', -1)).triggers, []);
  });
  it('a multi raises each op events in op order', () => {
    const db = newDb();
    ok(db, anon, create('/old'));
    const r = write(db, anon, multi([mCreate('/n'), mSetData('/n', bytes('v')), mDelete('/old')]));
    assert.deepEqual(triggersOf(r), [
      ['/n', EventType.nodeCreated],
      ['/', EventType.nodeChildrenChanged],
      ['/n', EventType.nodeDataChanged],
      ['/old', EventType.nodeDeleted],
      ['/', EventType.nodeChildrenChanged],
    ]);
  });
  it('closing a session deletes its ephemerals with their events', () => {
    const db = newDb();
    const s = ctx(0x77n);
    ok(db, anon, create('/p'));
    ok(db, s, create('/p/e', { flags: 1 }), create('/top', { flags: 1 }));
    const r = write(db, s, closeSession);
    assert.deepEqual(triggersOf(r), [
      ['/p/e', EventType.nodeDeleted],
      ['/p', EventType.nodeChildrenChanged],
      ['/top', EventType.nodeDeleted],
      ['/', EventType.nodeChildrenChanged],
    ]);
    assert.equal(db.tree.ephemeralsCount, 0);
  });
});

describe('stats after a history (checked against ZooKeeper 3.8.0 by hand)', () => {
  it('parent cversion counts creates and deletes, pzxid the last child change', () => {
    // ZooKeeper: create /a (zxid 2) and /a/b (3): stat /a cversion=1 pzxid=3 numChildren=1;
    // delete /a/b (4): cversion=2 pzxid=4 numChildren=0; mzxid stays 2.
    const db = newDb();
    const [a, b] = ok(db, anon, create('/a', { data: bytes('x') }), create('/a/b'));
    assert.ok(a && b);
    let st = db.tree.statOf(node(db, '/a'));
    assert.deepEqual([st.cversion, st.pzxid, st.numChildren, st.mzxid], [1, b.zxid, 1, a.zxid]);
    const [d] = ok(db, anon, del('/a/b'));
    st = db.tree.statOf(node(db, '/a'));
    assert.deepEqual([st.cversion, st.pzxid, st.numChildren, st.mzxid], [2, d?.zxid, 0, a.zxid]);
  });
  it('a multi that creates a child shows it in the parent stat at once', () => {
    // ZooKeeper: multi(create /mm1, setData /mm1, create /mm1/c seq, check /mm1 v1) gives
    // /mm1/c0000000000, and stat /mm1 version=1 cversion=1 numChildren=1 pzxid=czxid.
    const db = newDb();
    const r = write(
      db,
      anon,
      multi([
        mCreate('/mm1'),
        mSetData('/mm1', bytes('x')),
        mCreate('/mm1/c', 2),
        { op: 13, req: { path: '/mm1', version: 1 } },
      ]),
    );
    const res = r.response?.op === 14 ? r.response.res : [];
    assert.deepEqual(res[2], { op: 1, path: '/mm1/c0000000000' });
    const st = db.tree.statOf(node(db, '/mm1'));
    assert.deepEqual(
      [st.version, st.cversion, st.numChildren, st.pzxid, st.czxid, st.mzxid],
      [1, 1, 1, r.zxid, r.zxid, r.zxid],
    );
    // The setData result was taken before the child was created.
    assert.equal(res[1]?.op === 5 && res[1].stat.numChildren, 0);
  });
});

describe('applying what another server prepared', () => {
  const hdr = (zxid: number, type: number, clientId = 0x5n): TxnHeader => ({
    clientId,
    cxid: 3,
    zxid,
    time: T0 + zxid,
    type,
  });

  it('applies a txn stream and keeps lastZxid', () => {
    const db = newDb();
    const stream: [TxnHeader, Txn][] = [
      [hdr(1, OpCode.createSession), { type: -10, timeOut: 4000 }],
      [
        hdr(2, OpCode.create),
        {
          type: 1,
          path: '/a',
          data: null,
          acl: [...openAclUnsafe],
          ephemeral: false,
          parentCVersion: 1,
        },
      ],
      [
        hdr(3, OpCode.create2),
        {
          type: 1,
          path: '/a/e',
          data: null,
          acl: [...openAclUnsafe],
          ephemeral: true,
          parentCVersion: 1,
        },
      ],
      [hdr(4, OpCode.error), { type: -1, err: Err.nodeExists }],
      [hdr(5, OpCode.setData), { type: 5, path: '/a', data: bytes('q'), version: 1 }],
    ];
    for (const [h, t] of stream) db.apply({ hdr: h, txn: t });
    assert.equal(db.lastZxid, 5);
    assert.equal(node(db, '/a/e').ephemeralOwner, 0x5n);
    assert.equal(node(db, '/a').version, 1);
    assert.deepEqual(node(db, '/a').data, bytes('q'));
    assert.throws(() =>
      db.apply({ hdr: hdr(5, OpCode.check), txn: { type: 13, path: '/a', version: 2 } }),
    );
  });
  it('a replayed create of an existing node still moves the parent (create only)', () => {
    const db = newDb();
    db.apply({
      hdr: hdr(1, OpCode.create),
      txn: {
        type: 1,
        path: '/p',
        data: null,
        acl: [...openAclUnsafe],
        ephemeral: false,
        parentCVersion: 1,
      },
    });
    db.apply({
      hdr: hdr(2, OpCode.create),
      txn: {
        type: 1,
        path: '/p/x',
        data: null,
        acl: [...openAclUnsafe],
        ephemeral: false,
        parentCVersion: 1,
      },
    });
    const r = db.apply({
      hdr: hdr(3, OpCode.create),
      txn: {
        type: 1,
        path: '/p/x',
        data: null,
        acl: [...openAclUnsafe],
        ephemeral: false,
        parentCVersion: 5,
      },
    });
    assert.equal(r.err, Err.nodeExists);
    assert.equal(r.response, null);
    assert.equal(node(db, '/p').cversion, 5);
    assert.equal(node(db, '/p').pzxid, 3);
    const r2 = db.apply({
      hdr: hdr(4, OpCode.create2),
      txn: {
        type: 1,
        path: '/p/x',
        data: null,
        acl: [...openAclUnsafe],
        ephemeral: false,
        parentCVersion: 9,
      },
    });
    assert.equal(r2.err, Err.nodeExists);
    assert.equal(
      node(db, '/p').cversion,
      5,
      'not for create2 (DataTree.processTxn checks OpCode.create)',
    );
  });
  it('a delete of a missing node answers NoNode but still bumps the parent pzxid', () => {
    const db = newDb();
    db.apply({
      hdr: hdr(1, OpCode.create),
      txn: {
        type: 1,
        path: '/p',
        data: null,
        acl: [...openAclUnsafe],
        ephemeral: false,
        parentCVersion: 1,
      },
    });
    const r = db.apply({ hdr: hdr(7, OpCode.delete), txn: { type: 2, path: '/p/gone' } });
    assert.equal(r.err, Err.noNode);
    assert.equal(node(db, '/p').pzxid, 7);
  });
  it('a multi failed in prep applies nothing: Ok / code / RuntimeInconsistency', () => {
    const db = newDb();
    const r = db.apply({
      hdr: hdr(1, OpCode.multi),
      txn: {
        type: 14,
        txns: [
          {
            type: 1,
            path: '/a',
            data: null,
            acl: [...openAclUnsafe],
            ephemeral: false,
            parentCVersion: 1,
          },
          { type: 5, path: '/a', data: null, version: 1 },
          { type: -1, err: Err.badVersion },
          { type: -1, err: Err.runtimeInconsistency },
        ],
      },
    });
    assert.deepEqual(r.response, {
      op: 14,
      res: [
        { op: -1, err: 0 },
        { op: -1, err: 0 },
        { op: -1, err: Err.badVersion },
        { op: -1, err: Err.runtimeInconsistency },
      ],
    });
    assert.equal(db.tree.getNode('/a'), undefined);
  });
});

describe('prepared and applied later', () => {
  it('interleaves sessions; each apply answers its own request', () => {
    const db = newDb();
    const s1 = aliceCtx(0x1n);
    const s2 = ctx(0x2n, { cxid: 9 });
    const p1 = prep(db, s1, create('/x'));
    const p2 = prep(db, s2, create('/x/y', { flags: 1 }));
    const r1 = db.apply(p1);
    const r2 = db.apply(p2);
    assert.deepEqual([r1.sessionId, r1.cxid, r1.err], [0x1n, 1, 0]);
    assert.deepEqual([r2.sessionId, r2.cxid, r2.err], [0x2n, 9, 0]);
    assert.equal(node(db, '/x/y').ephemeralOwner, 0x2n);
  });
});
