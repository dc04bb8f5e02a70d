// Unit tests of src/main/pipeline/reads.ts: every read's reply and error codes, ACL checks, the
// watch each read registers (or not), multiRead, addWatch, and setWatches after a reconnect.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Err, EventType, OpCode } from '../../../src/common/zk.js';
import type { ClientRequest, MultiOp } from '../../../src/protocol/types.js';
import { Reads, WatchKind, WatchList, WatchRegistration } from '../../../src/main/pipeline/reads.js';
import { JuteWriter, encodeResponse } from '../../../src/protocol/jute/index.js';
import { mulberry32 } from '../../harness/prng.js';
import { ZkDatabase } from '../../../src/main/pipeline/database.js';
import type { RequestContext } from '../../../src/main/pipeline/context.js';
import {
  aliceCtx,
  aliceOnly,
  bytes,
  create,
  ctx,
  del,
  newDb,
  ok,
  setData,
  write,
} from '../harness/zk-db.js';

const anon = ctx();
const pw = (op: 3 | 4 | 8 | 12, path: string, watch = false): ClientRequest => ({
  op,
  req: { path, watch },
});
const read = (db: ZkDatabase, c: RequestContext, r: ClientRequest) => db.read(c, r);

function setup(): ZkDatabase {
  const db = newDb();
  ok(db, anon, create('/a', { data: bytes('A') }), create('/a/b'), create('/a/c'));
  ok(db, aliceCtx(), create('/secret', { acl: aliceOnly, data: bytes('S') }));
  ok(
    db,
    aliceCtx(),
    create('/adminonly', { acl: [{ perms: 16, id: { scheme: 'world', id: 'anyone' } }] }),
  );
  ok(
    db,
    aliceCtx(),
    create('/mixed', { acl: [...aliceOnly, { perms: 1, id: { scheme: 'world', id: 'anyone' } }] }),
  );
  return db;
}

describe('exists', () => {
  const db = setup();
  it('answers the stat, with a watch if asked', () => {
    const r = read(db, anon, pw(3, '/a', true));
    assert.equal(r.err, 0);
    assert.deepEqual(r.response, { op: 3, res: { stat: db.tree.statOf(db.tree.getNode('/a')!) } });
    assert.deepEqual(r.watch, new WatchRegistration('/a', WatchKind.exist));
    assert.equal(read(db, anon, pw(3, '/a')).watch, null);
  });
  it('registers a watch on a missing node (that is how NodeCreated is watched)', () => {
    const r = read(db, anon, pw(3, '/missing', true));
    assert.equal(r.err, Err.noNode);
    assert.equal(r.response, null);
    assert.deepEqual(r.watch, new WatchRegistration('/missing', WatchKind.exist));
  });
  it('needs no permission (3.8.0), or READ on an existing node with existsChecksRead', () => {
    assert.equal(read(db, anon, pw(3, '/secret', true)).err, Err.ok);
    const strict = new ZkDatabase({ extendedTypesEnabled: false, existsChecksRead: true });
    ok(strict, aliceCtx(), create('/secret', { acl: aliceOnly }));
    const r = read(strict, anon, pw(3, '/secret', true));
    assert.equal(r.err, Err.noAuth);
    assert.equal(r.watch, null, 'no watch without READ');
    assert.equal(read(strict, aliceCtx(), pw(3, '/secret')).err, 0);
    assert.equal(read(strict, anon, pw(3, '/missing', true)).watch?.kind, WatchKind.exist);
  });
  it('a NUL in the path is BadArguments', () => {
    assert.equal(read(db, anon, pw(3, '/a\u0000', true)).err, Err.badArguments);
  });
});

describe('getData, getChildren, getChildren2', () => {
  const db = setup();
  it('getData answers data and stat, watch only if asked', () => {
    const r = read(db, anon, pw(4, '/a', true));
    assert.deepEqual(r.response, {
      op: 4,
      res: { data: bytes('A'), stat: db.tree.statOf(db.tree.getNode('/a')!) },
    });
    assert.deepEqual(r.watch, new WatchRegistration('/a', WatchKind.data));
  });
  it('null data stays null, the root has empty data', () => {
    const r = read(db, anon, pw(4, '/a/b'));
    assert.equal(r.response?.op === 4 && r.response.res.data, null);
    const root = read(db, anon, pw(4, '/'));
    assert.deepEqual(root.response?.op === 4 && root.response.res.data, new Uint8Array(0));
  });
  it('NoNode and NoAuth register no watch', () => {
    for (const op of [4, 8, 12] as const) {
      const missing = read(db, anon, pw(op, '/missing', true));
      assert.deepEqual([missing.err, missing.watch], [Err.noNode, null]);
      const locked = read(db, anon, pw(op, '/secret', true));
      assert.deepEqual([locked.err, locked.watch], [Err.noAuth, null]);
    }
  });
  it('getChildren lists names; getChildren2 adds the stat; both may watch children', () => {
    const r = read(db, anon, pw(8, '/a', true));
    assert.deepEqual(r.response, { op: 8, res: { children: ['b', 'c'] } });
    assert.deepEqual(r.watch, new WatchRegistration('/a', WatchKind.child));
    const r2 = read(db, anon, pw(12, '/a'));
    assert.equal(r2.response?.op === 12 && r2.response.res.stat.numChildren, 2);
    assert.equal(r2.watch, null);
    assert.deepEqual(read(db, anon, pw(8, '/a/b')).response, { op: 8, res: { children: [] } });
  });
});

describe('getACL', () => {
  const db = setup();
  const getACL = (path: string): ClientRequest => ({ op: OpCode.getACL, req: { path } });
  it('shows the ACL in full with ADMIN', () => {
    const r = read(db, aliceCtx(), getACL('/mixed'));
    assert.deepEqual(r.response?.op === 6 && r.response.res.acl, [
      ...aliceOnly,
      { perms: 1, id: { scheme: 'world', id: 'anyone' } },
    ]);
  });
  it('masks digest ids for a reader without ADMIN', () => {
    const r = read(db, anon, getACL('/mixed'));
    assert.deepEqual(r.response?.op === 6 && r.response.res.acl, [
      { perms: 31, id: { scheme: 'digest', id: 'alice:x' } },
      { perms: 1, id: { scheme: 'world', id: 'anyone' } },
    ]);
  });
  it('needs READ or ADMIN', () => {
    assert.equal(read(db, anon, getACL('/secret')).err, Err.noAuth);
    assert.equal(read(db, anon, getACL('/adminonly')).err, Err.ok);
    assert.equal(read(db, anon, getACL('/missing')).err, Err.noNode);
  });
  it('shows /zookeeper/config as world:anyone READ with aversion -1', () => {
    const r = read(db, anon, getACL('/zookeeper/config'));
    assert.deepEqual(r.response?.op === 6 && r.response.res.acl, [
      { perms: 1, id: { scheme: 'world', id: 'anyone' } },
    ]);
    assert.equal(r.response?.op === 6 && r.response.res.stat.aversion, -1);
  });
});

describe('getAllChildrenNumber, getEphemerals, sync', () => {
  const db = setup();
  it('getAllChildrenNumber counts the subtree, after READ', () => {
    const n = (path: string) => read(db, anon, { op: OpCode.getAllChildrenNumber, req: { path } });
    assert.deepEqual(n('/a').response, { op: 104, res: { totalNumber: 2 } });
    assert.deepEqual(n('/').response, { op: 104, res: { totalNumber: 3 + 6 } });
    assert.equal(n('/secret').err, Err.noAuth);
    assert.equal(n('/missing').err, Err.noNode);
  });
  it('getEphemerals lists the calling session ephemerals by prefix', () => {
    const s = ctx(0x55n);
    ok(db, s, create('/a/e1', { flags: 1 }), create('/e2', { flags: 1 }));
    const g = (path: string) => read(db, s, { op: OpCode.getEphemerals, req: { path } }).response;
    assert.deepEqual(g('/'), { op: 103, res: { ephemerals: ['/a/e1', '/e2'] } });
    assert.deepEqual(g('/a'), { op: 103, res: { ephemerals: ['/a/e1'] } });
    assert.deepEqual(read(db, anon, { op: OpCode.getEphemerals, req: { path: '' } }).response, {
      op: 103,
      res: { ephemerals: [] },
    });
  });
  it('sync echoes the path', () => {
    assert.deepEqual(read(db, anon, { op: OpCode.sync, req: { path: '/a' } }).response, {
      op: 9,
      res: { path: '/a' },
    });
  });
});

describe('multiRead', () => {
  const db = setup();
  const gd = (path: string): MultiOp => ({ op: 4, req: { path, watch: true } });
  const gc = (path: string): MultiOp => ({ op: 8, req: { path, watch: true } });
  it('answers each op, errors per op, and sets no watch', () => {
    const r = read(db, anon, {
      op: OpCode.multiRead,
      req: [gd('/a'), gc('/a'), gd('/missing'), gc('/secret')],
    });
    assert.equal(r.err, 0);
    assert.equal(r.watch, null);
    assert.deepEqual(r.response, {
      op: 22,
      res: [
        { op: 4, data: bytes('A'), stat: db.tree.statOf(db.tree.getNode('/a')!) },
        { op: 8, children: ['b', 'c'] },
        { op: -1, err: Err.noNode },
        { op: -1, err: Err.noAuth },
      ],
    });
  });
  it('a write op fails the whole request with MarshallingError', () => {
    const r = read(db, anon, {
      op: OpCode.multiRead,
      req: [gd('/a'), { op: 2, req: { path: '/a', version: -1 } }],
    });
    assert.deepEqual([r.err, r.response], [Err.marshallingError, null]);
  });
  it('stops collecting past replyBytesMax: tooLarge only when the reply would be larger (issue 9)', () => {
    ok(db, anon, create('/big', { data: new Uint8Array(1000) }), create('/big/' + 'n'.repeat(300)), create('/big/\u00e9t\u00e9'));
    const unbounded = new Reads(db.tree, { replyBytesMax: Infinity });
    const rand = mulberry32(9);
    const paths = ['/big', '/a', '/missing', '/secret'];
    let tooLarge = 0;
    for (let i = 0; i < 300; i++) {
      const ops = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => {
        const path = paths[Math.floor(rand() * paths.length)]!;
        return rand() < 0.5 ? gd(path) : gc(path);
      });
      const bound = Math.floor(rand() * 6000);
      const r = new Reads(db.tree, { replyBytesMax: bound }).read(anon, { op: OpCode.multiRead, req: ops });
      const full = unbounded.read(anon, { op: OpCode.multiRead, req: ops });
      const w = new JuteWriter();
      encodeResponse(w, full.response!);
      if (r.tooLarge) {
        tooLarge++;
        assert.equal(r.response, null);
        assert.ok(w.length > bound, `tooLarge at ${w.length} bytes under the bound ${bound}`);
      } else {
        assert.deepEqual(r.response, full.response);
      }
    }
    assert.ok(tooLarge > 30 && tooLarge < 270, `${tooLarge} of 300 too large`);
  });
});

describe('addWatch', () => {
  const db = setup();
  it('registers persistent or persistent-recursive watches, no checks', () => {
    const add = (path: string, mode: number) =>
      read(db, anon, { op: OpCode.addWatch, req: { path, mode } });
    assert.deepEqual(
      add('/nowhere', 0).watch,
      new WatchRegistration('/nowhere', WatchKind.persistent),
    );
    assert.deepEqual(
      add('/secret', 1).watch,
      new WatchRegistration('/secret', WatchKind.persistentRecursive),
    );
    assert.deepEqual(add('/a', 0).response, { op: 106, res: null });
    assert.equal(add('/a', 7).err, Err.marshallingError);
  });
});

describe('setWatches', () => {
  it('fires what the client missed since relativeZxid, registers the rest', () => {
    const db = newDb();
    const [a, , c] = ok(db, anon, create('/a'), create('/b'), create('/c'), create('/c/x'));
    assert.ok(a && c);
    const seen = db.lastZxid;
    ok(db, anon, setData('/b', bytes('new')), create('/d'), create('/c/y'));
    write(db, anon, del('/a'));
    const r = db.setWatches(
      {
        relativeZxid: seen,
        dataWatches: ['/a', '/b', '/c'],
        existWatches: ['/d', '/e'],
        childWatches: ['/a', '/c', '/b'],
        persistentWatches: ['/p'],
        persistentRecursiveWatches: ['/r'],
      },
      true,
    );
    assert.deepEqual(
      r.fire.map((f) => [f.path, f.type]),
      [
        ['/a', EventType.nodeDeleted],
        ['/b', EventType.nodeDataChanged],
        ['/d', EventType.nodeCreated],
        ['/a', EventType.nodeDeleted],
        ['/c', EventType.nodeChildrenChanged],
      ],
    );
    assert.equal(r.fire[0]?.acl, null);
    assert.deepEqual(
      r.register.flatMap((l) => l.paths.map((path) => [path, l.kind])),
      [
        ['/c', WatchKind.data],
        ['/e', WatchKind.exist],
        ['/b', WatchKind.child],
        ['/p', WatchKind.persistent],
        ['/r', WatchKind.persistentRecursive],
      ],
    );
  });
  it('setWatches (v1) has no persistent lists', () => {
    const db = newDb();
    const r = db.setWatches({
      relativeZxid: 0,
      dataWatches: ['/'],
      existWatches: [],
      childWatches: [],
    });
    assert.deepEqual(r.fire, []);
    assert.deepEqual(r.register, [new WatchList(WatchKind.data, ['/'])]);
  });
});

describe('the session secret in /zookeeper (issue 9, item 6)', () => {
  it('getData of /zookeeper, alone or in a multiRead, shows no data to any client', () => {
    const db = newDb();
    ok(db, ctx(0n), setData('/zookeeper', bytes('zkts-session-secret:v1:' + 'ab'.repeat(32))));
    const sup = ctx(0x300n, { authIds: [{ scheme: 'super', id: 'admin' }] });
    for (const c of [anon, sup]) {
      const r = read(db, c, pw(4, '/zookeeper'));
      assert.deepEqual(r.response?.op === 4 && r.response.res.data, new Uint8Array(0));
      const m = read(db, c, { op: OpCode.multiRead, req: [{ op: 4, req: { path: '/zookeeper', watch: false } } as MultiOp] });
      assert.deepEqual(m.response?.op === 22 && m.response.res.map((x) => (x.op === 4 ? x.data : null)), [new Uint8Array(0)]);
    }
    const kids = read(db, anon, pw(8, '/zookeeper'));
    assert.deepEqual(kids.response?.op === 8 && [...kids.response.res.children].sort(), ['config', 'quota']);
  });
});
