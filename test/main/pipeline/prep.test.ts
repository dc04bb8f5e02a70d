// Unit tests of src/main/pipeline/prep.ts and outstanding.ts: every error code
// PrepRequestProcessor gives a write, in ZooKeeper's order of checks; the transactions it builds;
// sequential names; and pipelined writes validated against changes not yet applied. (multi and
// the session txns: prep/multi.test.ts, prep/session.test.ts.)

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Err, OpCode } from '../../../src/common/zk.js';
import type { MultiOp, Txn } from '../../../src/protocol/types.js';
import {
  T0,
  alice,
  aliceCtx,
  aliceOnly,
  bytes,
  check,
  closeSession,
  create,
  createTTL,
  ctx,
  del,
  delContainer,
  mCheck,
  mCreate,
  mDelete,
  mSetData,
  multi,
  newDb,
  node,
  ok,
  prep,
  prepErr,
  setACL,
  setData,
} from '../harness/zk-db.js';
import { mulberry32 } from '../../harness/prng.js';

const anon = ctx();
const readOnlyAcl = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];

function txnOf(p: { txn: Txn }): Txn {
  return p.txn;
}

describe('create: error codes in ZooKeeper order', () => {
  it('invalid flags are BadArguments (CreateMode.fromFlag)', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, create('/a', { flags: 7 })), Err.badArguments);
    assert.equal(prepErr(db, anon, create('/a', { flags: -1 })), Err.badArguments);
  });
  it('TTL without extended types is Unimplemented', () => {
    const db = newDb(false);
    assert.equal(prepErr(db, anon, createTTL('/t', 1000)), Err.unimplemented);
    assert.equal(prepErr(db, anon, create('/t', { flags: 5 })), Err.unimplemented);
  });
  it('a bad TTL is BadArguments (EphemeralType.validateTTL)', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, createTTL('/t', 0)), Err.badArguments);
    assert.equal(prepErr(db, anon, createTTL('/t', -5)), Err.badArguments);
    assert.equal(prepErr(db, anon, createTTL('/t', 2 ** 40)), Err.badArguments);
    assert.equal(
      prepErr(db, anon, createTTL('/t', 1000, 0)),
      Err.badArguments,
      'ttl on a non-TTL mode',
    );
    assert.equal(
      prepErr(db, anon, create('/t', { flags: 6 })),
      Err.badArguments,
      'TTL mode without a ttl',
    );
    assert.equal(prepErr(db, anon, createTTL('/t', 2 ** 40 - 1)), Err.ok);
  });
  it('an ephemeral from a local session is EphemeralOnLocalSession', () => {
    const db = newDb();
    const local = ctx(0x300n, { local: true });
    assert.equal(prepErr(db, local, create('/e', { flags: 1 })), Err.ephemeralOnLocalSession);
    assert.equal(prepErr(db, local, create('/e', { flags: 3 })), Err.ephemeralOnLocalSession);
    assert.equal(prepErr(db, local, create('/p')), Err.ok, 'persistent nodes are fine');
  });
  it('a path without / or with NUL is BadArguments; "a/b" looks up parent "a" (NoNode)', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, create('abc')), Err.badArguments);
    assert.equal(prepErr(db, anon, create('/a\u0000b')), Err.badArguments);
    assert.equal(prepErr(db, anon, create('a/b')), Err.noNode);
  });
  it('InvalidACL comes before the parent lookup', () => {
    const db = newDb();
    const authAcl = [{ perms: 31, id: { scheme: 'auth', id: '' } }];
    assert.equal(prepErr(db, anon, create('/missing/x', { acl: authAcl })), Err.invalidACL);
    assert.equal(prepErr(db, anon, create('/x', { acl: [] })), Err.invalidACL);
    assert.equal(
      prepErr(
        db,
        anon,
        create('/x', { acl: [{ perms: 31, id: { scheme: 'world', id: 'nobody' } }] }),
      ),
      Err.invalidACL,
    );
  });
  it('auth ACL expands to the digest ids', () => {
    const db = newDb();
    const [r] = ok(
      db,
      aliceCtx(),
      create('/x', { acl: [{ perms: 3, id: { scheme: 'auth', id: '' } }] }),
    );
    assert.ok(r);
    assert.deepEqual(node(db, '/x').acl, [{ perms: 3, id: alice }]);
  });
  it('missing parent is NoNode; no CREATE on the parent is NoAuth (before NodeExists)', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, create('/nope/x')), Err.noNode);
    ok(db, aliceCtx(), create('/locked', { acl: aliceOnly }), create('/locked/x'));
    assert.equal(prepErr(db, anon, create('/locked/y')), Err.noAuth);
    assert.equal(prepErr(db, anon, create('/locked/x')), Err.noAuth);
    assert.equal(prepErr(db, aliceCtx(), create('/locked/y')), Err.ok);
    assert.equal(
      prepErr(db, ctx(1n, { authIds: [{ scheme: 'super', id: '' }] }), create('/locked/z')),
      Err.ok,
    );
  });
  it('the full path is validated after the parent checks (BadArguments)', () => {
    const db = newDb();
    ok(db, anon, create('/a'));
    assert.equal(prepErr(db, anon, create('/a/')), Err.badArguments);
    assert.equal(prepErr(db, anon, create('/a/.')), Err.badArguments);
    assert.equal(prepErr(db, anon, create('/a//b')), Err.noNode, 'parent "/a/" does not exist');
  });
  it('an existing node is NodeExists, the root and /zookeeper included', () => {
    const db = newDb();
    ok(db, anon, create('/a'));
    assert.equal(prepErr(db, anon, create('/a')), Err.nodeExists);
    assert.equal(prepErr(db, anon, create('/')), Err.nodeExists);
    assert.equal(prepErr(db, anon, create('/zookeeper')), Err.nodeExists);
    assert.equal(prepErr(db, anon, create('/zookeeper/mine')), Err.ok);
  });
  it('children of ephemerals are NoChildrenForEphemerals; of containers and TTL nodes fine', () => {
    const db = newDb();
    ok(
      db,
      anon,
      create('/e', { flags: 1 }),
      create('/c', { op: 19, flags: 4 }),
      createTTL('/t', 1000),
    );
    assert.equal(prepErr(db, anon, create('/e/x')), Err.noChildrenForEphemerals);
    assert.equal(prepErr(db, anon, create('/c/x')), Err.ok);
    assert.equal(prepErr(db, anon, create('/t/x')), Err.ok);
  });
});

describe('create: transactions and sequential names', () => {
  it('builds CreateTxn / CreateContainerTxn / CreateTTLTxn with the parent cversion + 1', () => {
    const db = newDb();
    const p1 = prep(db, anon, create('/a', { flags: 1, data: bytes('d'), op: 15 }));
    assert.equal(p1.hdr.type, OpCode.create2);
    assert.equal(p1.hdr.clientId, 0x100n);
    assert.deepEqual(txnOf(p1), {
      type: 1,
      path: '/a',
      data: bytes('d'),
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      ephemeral: true,
      parentCVersion: 1,
    });
    db.apply(p1);
    const p2 = prep(db, anon, create('/c', { op: 19, flags: 4 }));
    assert.equal(txnOf(p2).type, 19);
    assert.equal((txnOf(p2) as { parentCVersion: number }).parentCVersion, 2);
    db.apply(p2);
    const p3 = prep(db, anon, createTTL('/t', 1234));
    assert.deepEqual(
      { ...txnOf(p3), acl: null },
      { type: 21, path: '/t', data: null, acl: null, parentCVersion: 3, ttl: 1234 },
    );
  });
  it('names sequential nodes from the parent persisted cversion, deletes included', () => {
    const db = newDb();
    ok(db, anon, create('/q'), create('/q/x'), del('/q/x'));
    const [a, b] = ok(db, anon, create('/q/n-', { flags: 2 }), create('/q/n-', { flags: 3 }));
    assert.deepEqual(a?.response, { op: 1, res: { path: '/q/n-0000000001' } });
    assert.deepEqual(b?.response, { op: 1, res: { path: '/q/n-0000000002' } });
    const [c] = ok(db, anon, create('/q/', { flags: 2 }));
    assert.deepEqual(c?.response, { op: 1, res: { path: '/q/0000000003' } });
    assert.equal(prepErr(db, anon, create('/q//', { flags: 2 })), Err.noNode);
  });
  it('every write takes a zxid, failed ones too', () => {
    const db = newDb();
    const p1 = prep(db, anon, create('/a'));
    db.apply(p1);
    const p2 = prep(db, anon, create('/a'));
    assert.equal(p2.hdr.zxid, p1.hdr.zxid + 1);
    assert.equal(p2.hdr.type, OpCode.error);
    assert.deepEqual(p2.txn, { type: -1, err: Err.nodeExists });
    db.apply(p2);
    const p3 = prep(db, anon, create('/c'));
    assert.equal(p3.hdr.zxid, p1.hdr.zxid + 2);
  });
});

describe('delete', () => {
  it('built-in nodes and paths without / are BadArguments', () => {
    const db = newDb();
    for (const p of [
      '/',
      '/zookeeper',
      '/zookeeper/quota',
      '/zookeeper/config',
      'abc',
      '/a\u0000',
    ]) {
      assert.equal(prepErr(db, anon, del(p)), Err.badArguments, p);
    }
  });
  it('NoNode (parent), NoAuth (parent), NoNode (node), BadVersion, NotEmpty, in order', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, del('/nope/x')), Err.noNode);
    ok(db, aliceCtx(), create('/locked', { acl: aliceOnly }));
    assert.equal(prepErr(db, anon, del('/locked/missing')), Err.noAuth);
    assert.equal(prepErr(db, anon, del('/missing')), Err.noNode);
    ok(db, anon, create('/a'), create('/a/b'));
    assert.equal(prepErr(db, anon, del('/a', 5)), Err.badVersion);
    assert.equal(prepErr(db, anon, del('/a', 0)), Err.notEmpty);
    assert.equal(prepErr(db, anon, del('/a/b', 0)), Err.ok);
    assert.equal(prepErr(db, anon, del('/a')), Err.ok);
  });
  it('the node ACL does not matter, the parent one does', () => {
    const db = newDb();
    ok(db, aliceCtx(), create('/x', { acl: aliceOnly }));
    assert.equal(prepErr(db, anon, del('/x')), Err.ok);
  });
});

describe('deleteContainer (ContainerManager requests)', () => {
  it('refuses non-empty nodes and plain ephemerals, deletes the rest without an ACL check', () => {
    const db = newDb();
    const system = ctx(0n);
    ok(db, anon, create('/c', { op: 19, flags: 4 }), create('/c/x'), create('/e', { flags: 1 }));
    ok(db, aliceCtx(), create('/p', { acl: aliceOnly }));
    assert.equal(prepErr(db, system, delContainer('/c')), Err.notEmpty);
    assert.equal(prepErr(db, system, delContainer('/e')), Err.badVersion);
    assert.equal(prepErr(db, system, delContainer('/nope')), Err.noNode);
    assert.equal(prepErr(db, system, delContainer('/zookeeper')), Err.badArguments);
    assert.equal(prepErr(db, system, delContainer('/c/x')), Err.ok);
    assert.equal(prepErr(db, system, delContainer('/c')), Err.ok);
    // ZooKeeper's rule only refuses NORMAL ephemerals: a persistent node goes too.
    assert.equal(prepErr(db, system, delContainer('/p')), Err.ok);
  });
});

describe('setData, setACL, check', () => {
  it('setData: BadArguments, NoNode, NoAuth (WRITE), BadVersion', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, setData('/a/', null)), Err.badArguments);
    assert.equal(prepErr(db, anon, setData('/a', null)), Err.noNode);
    ok(db, anon, create('/r', { acl: readOnlyAcl }), create('/a'));
    assert.equal(prepErr(db, anon, setData('/r', null)), Err.noAuth);
    assert.equal(prepErr(db, anon, setData('/zookeeper/config', null)), Err.noAuth);
    assert.equal(prepErr(db, anon, setData('/a', null, 3)), Err.badVersion);
    const p = prep(db, anon, setData('/a', bytes('x'), 0));
    assert.deepEqual(p.txn, { type: 5, path: '/a', data: bytes('x'), version: 1 });
    const r = db.apply(p);
    assert.equal(r.err, 0);
    assert.equal(node(db, '/a').mzxid, p.hdr.zxid);
    assert.equal(node(db, '/a').mtime, p.hdr.time);
  });
  it('setACL: BadArguments, InvalidACL, NoNode, NoAuth (ADMIN), BadVersion on aversion', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, setACL('/a/', readOnlyAcl)), Err.badArguments);
    assert.equal(
      prepErr(db, anon, setACL('/nope', [])),
      Err.invalidACL,
      'InvalidACL before NoNode',
    );
    assert.equal(prepErr(db, anon, setACL('/nope', readOnlyAcl)), Err.noNode);
    assert.equal(prepErr(db, anon, setACL('/zookeeper/config', readOnlyAcl)), Err.noAuth);
    ok(db, anon, create('/a'));
    assert.equal(prepErr(db, anon, setACL('/a', readOnlyAcl, 1)), Err.badVersion);
    const p = prep(db, anon, setACL('/a', readOnlyAcl, 0));
    assert.deepEqual(p.txn, { type: 7, path: '/a', acl: readOnlyAcl, version: 1 });
    db.apply(p);
    assert.equal(node(db, '/a').aversion, 1);
    assert.equal(node(db, '/a').version, 0);
    assert.equal(prepErr(db, anon, setACL('/a', readOnlyAcl)), Err.noAuth, 'no ADMIN any more');
  });
  it('setACL on /zookeeper/config (aversion -1) by a super user goes to aversion 0', () => {
    const db = newDb();
    const sup = ctx(1n, { authIds: [{ scheme: 'super', id: '' }] });
    const p = prep(db, sup, setACL('/zookeeper/config', readOnlyAcl, -1));
    assert.deepEqual(p.txn, { type: 7, path: '/zookeeper/config', acl: readOnlyAcl, version: 0 });
  });
  it('check: BadArguments, NoNode, NoAuth (READ), BadVersion; changes nothing', () => {
    const db = newDb();
    assert.equal(prepErr(db, anon, check('bad', 0)), Err.badArguments);
    assert.equal(prepErr(db, anon, check('/nope', 0)), Err.noNode);
    ok(db, aliceCtx(), create('/s', { acl: aliceOnly }), create('/a'));
    assert.equal(prepErr(db, anon, check('/s', 0)), Err.noAuth);
    assert.equal(prepErr(db, anon, check('/a', 2)), Err.badVersion);
    const p = prep(db, anon, check('/a', 0));
    assert.deepEqual(p.txn, { type: 13, path: '/a', version: 1 });
    assert.equal(db.outstanding.size, 0);
  });
  it('versions wrap as Java ints, skipping -1 (ZOOKEEPER-4743)', () => {
    const db = newDb();
    ok(db, anon, create('/v'));
    node(db, '/v').version = 2147483647;
    assert.deepEqual(prep(db, anon, setData('/v', null)).txn, {
      type: 5,
      path: '/v',
      data: null,
      version: -2147483648,
    });
    db.outstanding.clear();
    node(db, '/v').version = -2;
    assert.deepEqual(prep(db, anon, setData('/v', null, -2)).txn, {
      type: 5,
      path: '/v',
      data: null,
      version: 0,
    });
  });
});

describe('pipelined writes (outstanding changes)', () => {
  it('create /a then create /a/b before /a is applied', () => {
    const db = newDb();
    const a = prep(db, anon, create('/a'));
    const b = prep(db, anon, create('/a/b'));
    assert.equal(b.txn.type, 1);
    assert.equal(b.txn.type === 1 && b.txn.parentCVersion, 1);
    assert.equal(db.tree.getNode('/a'), undefined);
    assert.equal(db.outstanding.size, 4);
    db.apply(a);
    assert.equal(db.outstanding.size, 2, 'records up to the applied zxid are retired');
    db.apply(b);
    assert.equal(db.outstanding.size, 0);
    assert.equal(db.tree.statOf(node(db, '/a')).numChildren, 1);
  });
  it('sees pending creates, deletes and versions', () => {
    const db = newDb();
    ok(db, anon, create('/x'));
    const ps = [prep(db, anon, create('/a')), prep(db, anon, setData('/x', null, 0))];
    assert.equal(
      prep(db, anon, create('/a')).txn.type,
      -1,
      'NodeExists against the pending create',
    );
    assert.equal(
      prep(db, anon, setData('/x', null, 0)).txn.type,
      -1,
      'BadVersion against the pending set',
    );
    ps.push(prep(db, anon, setData('/x', null, 1)));
    ps.push(prep(db, anon, del('/a')));
    assert.deepEqual(prep(db, anon, del('/a')).txn, { type: -1, err: Err.noNode });
    const s1 = prep(db, anon, create('/x/s', { flags: 2 }));
    const s2 = prep(db, anon, create('/x/s', { flags: 2 }));
    assert.equal(s1.txn.type === 1 && s1.txn.path, '/x/s0000000000');
    assert.equal(s2.txn.type === 1 && s2.txn.path, '/x/s0000000001');
  });
  it('a pending setACL is enforced at once', () => {
    const db = newDb();
    ok(db, aliceCtx(), create('/a'));
    const p = prep(db, aliceCtx(), setACL('/a', aliceOnly));
    assert.deepEqual(prep(db, anon, setData('/a', bytes('x'))).txn, { type: -1, err: Err.noAuth });
    db.apply(p);
  });
  it('resetPipeline forgets outstanding changes and restarts zxids', () => {
    const db = newDb();
    prep(db, anon, create('/a'));
    db.resetPipeline(5 * 2 ** 32);
    assert.equal(db.outstanding.size, 0);
    const p = prep(db, anon, create('/a'));
    assert.equal(p.hdr.zxid, 5 * 2 ** 32 + 1);
    assert.equal(p.txn.type, 1);
  });
});

describe('pipelining is invisible (property, seeded)', () => {
  // Outstanding changes exist so that validating against "tree + changes not yet applied" gives
  // the same answer as validating against the tree after those changes. So: any schedule of
  // applies lagging behind prepares must produce the same transactions, replies, events and
  // final tree as preparing and applying each request at once.
  const paths = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/c'];
  type Step = { c: ReturnType<typeof ctx>; r: Parameters<typeof prep>[2] };

  function randomSteps(rand: () => number, count: number): Step[] {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const sessions = [ctx(0x11n), ctx(0x12n), ctx(0x13n)];
    const steps: Step[] = [];
    for (let i = 0; i < count; i++) {
      const c = pick(sessions);
      const p = pick(paths);
      const v = rand() < 0.7 ? -1 : Math.floor(rand() * 3);
      const roll = rand();
      let r: Step['r'];
      if (roll < 0.3)
        r = create(p, { flags: pick([0, 0, 1, 2, 3, 4]), op: pick([1, 15] as const) });
      else if (roll < 0.45) r = del(p, v);
      else if (roll < 0.6) r = setData(p, bytes(String(i)), v);
      else if (roll < 0.65)
        r = setACL(p, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], v);
      else if (roll < 0.7) r = check(p, v);
      else if (roll < 0.75) r = closeSession;
      else if (roll < 0.8) r = delContainer(p);
      else
        r = multi([
          mCreate(pick(paths), pick([0, 1, 2])),
          rand() < 0.5 ? mSetData(pick(paths), bytes('m'), v) : mDelete(pick(paths), v),
          mCheck(pick(paths), -1),
        ]);
      steps.push({ c, r });
    }
    return steps;
  }

  const view = (x: unknown): string =>
    JSON.stringify(x, (_k, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v,
    );

  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}`, () => {
      const rand = mulberry32(seed);
      const steps = randomSteps(rand, 120);
      const serial = newDb();
      const piped = newDb();
      const expected: string[] = [];
      steps.forEach(({ c, r }, i) => {
        const p = serial.prepare(c, r, T0 + i);
        const a = serial.apply(p);
        expected.push(view([p, a]));
      });
      const queue: ReturnType<typeof prep>[] = [];
      const actual: string[] = [];
      const prepared: string[] = [];
      const drain = (n: number): void => {
        for (let k = 0; k < n && queue.length > 0; k++) {
          const p = queue.shift();
          assert.ok(p);
          actual.push(view([p, piped.apply(p)]));
        }
      };
      steps.forEach(({ c, r }, i) => {
        const p = piped.prepare(c, r, T0 + i);
        prepared.push(view(p));
        queue.push(p);
        drain(Math.floor(rand() * 3));
      });
      drain(queue.length);
      assert.deepEqual(actual, expected);
      assert.equal(piped.tree.treeDigest(), serial.tree.treeDigest());
      assert.equal(piped.outstanding.size, 0);
    });
  }
});

describe('the session secret in /zookeeper (issue 9, item 6)', () => {
  it('only the server (session 0) sets /zookeeper; clients get NoAuth, super and multi included', () => {
    const db = newDb();
    const sup = ctx(0x300n, { authIds: [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'super', id: 'admin' }] });
    assert.equal(prepErr(db, anon, setData('/zookeeper', bytes('x'))), Err.noAuth);
    assert.equal(prepErr(db, sup, setData('/zookeeper', bytes('x'))), Err.noAuth);
    const m = prep(db, sup, multi([mSetData('/zookeeper', bytes('x'))]));
    assert.equal(m.txn.type, 14);
    assert.deepEqual(m.txn.type === 14 && m.txn.txns.map((t) => (t.type === -1 ? t.err : 0)), [Err.noAuth]);
    db.apply(m);
    assert.equal(prepErr(db, ctx(0n), setData('/zookeeper', bytes('secret'))), 0);
    assert.deepEqual(db.tree.getNode('/zookeeper')?.data, bytes('secret'));
  });
});

describe('a txn never outgrows txnBytesMax (jute.maxbuffer x 2)', () => {
  // An `auth` ACL entry expands on the server to every id of the session, so a small request
  // can make a txn far larger than itself (ZOOKEEPER-2101); one larger than a log record ended
  // the server.
  const ids = Array.from({ length: 32 }, (_, i) => ({ scheme: 'digest', id: `u${i}${'x'.repeat(1000)}:h` }));
  const heavy = ctx(0x200n, { authIds: ids });
  const authAcl = [{ perms: 31, id: { scheme: 'auth', id: '' } }];
  const mAuthCreate = (path: string): MultiOp => ({ op: 1, req: { path, data: null, acl: [...authAcl], flags: 0 } });

  it('the op that passes the bound is BadArguments, later ones RuntimeInconsistency, and nothing is kept', () => {
    const db = newDb();
    // ~33 KB of ACL per create: 0xfffff x 2 is passed at the 64th.
    const ops = Array.from({ length: 100 }, (_, i) => mAuthCreate(`/t${i}`));
    const t = txnOf(prep(db, heavy, multi(ops)));
    assert.equal(t.type, 14);
    const errs = (t as Extract<Txn, { type: 14 }>).txns.map((x) => (x.type === -1 ? x.err : 0));
    const first = errs.findIndex((e) => e !== 0);
    assert.ok(first > 0 && first < 100, `an op fails (${first})`);
    assert.equal(errs[first], Err.badArguments);
    assert.ok(errs.slice(first + 1).every((e) => e === Err.runtimeInconsistency));
    assert.equal(prepErr(db, heavy, create('/t0', { acl: authAcl })), Err.ok, 'the rolled back create is free again');
  });

  it('a single create, setACL or setData under the bound is untouched, over it BadArguments', () => {
    const db = newDb();
    ok(db, heavy, create('/a', { acl: authAcl }), setACL('/a', authAcl), setData('/a', new Uint8Array(0xfffff - 64)));
    const big = new Uint8Array(0xfffff);
    ok(db, heavy, create('/b', { data: big }));
    // setData counts too (a request over jute.maxbuffer never reaches prep through a socket).
    const t = txnOf(prep(db, heavy, multi([mSetData('/b', big), mSetData('/b', big), mSetData('/b', big)])));
    assert.equal(t.type, 14);
    const errs = (t as Extract<Txn, { type: 14 }>).txns.map((x) => (x.type === -1 ? x.err : 0));
    assert.deepEqual(errs, [Err.ok, Err.badArguments, Err.runtimeInconsistency]);
  });
});
