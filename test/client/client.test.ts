// The zkts client (src/client) against a real server: ZKTS_TEST_TARGET=apache | zkts (default).
//
//   ZKTS_TEST_TARGET=apache node --test dist/test/client/client.test.js
//
// Ports 24000-24099 (+ ZKTS_TEST_PORT_SHIFT / 10): the shared server at +0 (+1, +2 if run as an
// ensemble), the restart server at +10, TCP proxies from +40, a port nobody listens on at +99.
// Network faults (a cut connection, an unreachable server, a silent one) come from test/client/
// harness/proxy.ts standing between the client and the server.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  AddWatchMode,
  Acls,
  CreateMode,
  Err,
  EventType,
  Ops,
  Perms,
  WatcherType,
  type ZkClient,
  ZkError,
  createClient,
  type ClientOptions,
  type WatchEvent,
  type Watcher,
} from '../../src/client/index.js';
import { OpCode } from '../../src/common/zk.js';
import { startServer, type ServerHandle } from '../integration/harness/server.js';
import { isApache, targetKind } from '../integration/harness/target.js';
import { TcpProxy } from './harness/proxy.js';

function portShift(): number {
  const raw = process.env['ZKTS_TEST_PORT_SHIFT'];
  return raw === undefined || raw === '' ? 0 : Number(raw) / 10;
}
const BASE = 24000 + portShift();
const SERVER_PORT = BASE;
const RESTART_PORT = BASE + 10;
const DEAD_PORT = BASE + 99;
let nextProxyPort = BASE + 40;

const TICK = 200;
/** Fast reconnects for tests; ZooKeeper's own defaults are 1000 / 1000. */
const FAST: ClientOptions = { retryDelayMs: 50, reconnectJitterMs: 20, sessionTimeoutMs: 6000 };

const clients: ZkClient[] = [];
const proxies: TcpProxy[] = [];

function open(connectString: string, options: ClientOptions = {}): ZkClient {
  const c = createClient(connectString, { ...FAST, ...options });
  clients.push(c);
  return c;
}

async function connect(connectString: string, options: ClientOptions = {}): Promise<ZkClient> {
  const c = open(connectString, options);
  await c.waitConnected(10000);
  return c;
}

async function proxy(targetPort: number): Promise<TcpProxy> {
  const p = await TcpProxy.start(nextProxyPort++, targetPort);
  proxies.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function waitEvent(c: ZkClient, name: string, ms = 10000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      c.off(name, on);
      reject(new Error(`no '${name}' within ${ms} ms (state ${c.state})`));
    }, ms);
    const on = (...args: unknown[]): void => {
      clearTimeout(t);
      resolve(args);
    };
    c.once(name, on);
  });
}

/** A watcher that records its events. */
function recorder(): { w: Watcher; events: WatchEvent[] } {
  const events: WatchEvent[] = [];
  return { w: (e) => events.push(e), events };
}

async function rejectsWith(p: Promise<unknown>, code: number, pathOf?: string): Promise<ZkError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ZkError, `expected a ZkError, got ${String(e)}`);
    assert.equal(e.code, code, `expected code ${code}, got ${e.code} (${e.message})`);
    if (pathOf !== undefined) assert.equal(e.path, pathOf);
    return e;
  }
  assert.fail(`expected a rejection with code ${code}`);
}

describe(`zkts client against ${targetKind()}`, () => {
  let server: ServerHandle;
  let cs: string;

  before(async () => {
    server = await startServer(targetKind(), {
      port: SERVER_PORT,
      tickTime: TICK,
      minSessionTimeout: 2 * TICK,
      maxSessionTimeout: 30000,
    });
    cs = server.connectString;
  });

  after(async () => {
    await server?.stop();
  });

  test('connects: states, session id, negotiated timeout, ConnectRequest bytes', async () => {
    const px = await proxy(SERVER_PORT);
    const c = open(px.connectString, { sessionTimeoutMs: 4000 });
    const seen: string[] = [];
    for (const s of ['connecting', 'connected']) c.on(s, () => seen.push(s));
    assert.equal(c.state, 'connecting');
    await c.waitConnected(5000);
    assert.deepEqual(seen, ['connecting', 'connected']);
    assert.equal(c.state, 'connected');
    assert.notEqual(c.sessionId, 0n);
    assert.equal(c.sessionTimeoutMs, 4000);
    assert.equal(c.sessionPassword.length, 16);
    assert.equal(c.connectedHost, px.connectString);
    // protocolVersion, lastZxidSeen, timeOut, sessionId, passwd (4+16), readOnly: 45 bytes, no
    // localSession byte when it is not asked for.
    const [req] = px.connectFrames();
    assert.ok(req !== undefined);
    assert.equal(req.body.length, 45);
    assert.equal(req.body.readInt32BE(12), 4000);
    assert.equal(req.body[44], 0);

    const px2 = await proxy(SERVER_PORT);
    const l = await connect(px2.connectString, { localSession: true, readOnly: true });
    const [req2] = px2.connectFrames();
    assert.ok(req2 !== undefined);
    assert.equal(req2.body.length, 46, 'the localSession byte follows readOnly');
    assert.equal(req2.body[44], 1);
    assert.equal(req2.body[45], 1);
    assert.ok(await l.exists('/'));
  });

  test('create modes, create2, exists, getData, setData, delete', async () => {
    const c = await connect(cs);
    assert.equal(await c.create('/crud', 'v0'), '/crud');
    const st = await c.exists('/crud');
    assert.ok(st !== null);
    assert.equal(st.version, 0);
    assert.equal(st.dataLength, 2);
    assert.equal(await c.exists('/crud-missing'), null);

    const { data, stat } = await c.getData('/crud');
    assert.equal(data?.toString(), 'v0');
    assert.equal(stat.version, 0);
    const st1 = await c.setData('/crud', Buffer.from('v1'));
    assert.equal(st1.version, 1);
    assert.ok(st1.mzxid > st.mzxid);
    assert.ok(c.lastZxid >= st1.mzxid);
    assert.equal((await c.setData('/crud', 'v2', 1)).version, 2);

    const seq1 = await c.create('/crud/s-', null, { mode: CreateMode.persistentSequential });
    const seq2 = await c.create('/crud/s-', null, { mode: CreateMode.persistentSequential });
    assert.match(seq1, /^\/crud\/s-\d{10}$/);
    assert.ok(seq2 > seq1);
    assert.equal((await c.getData(seq1)).data, null, 'null data stays null');

    const eph = await c.create2('/crud/e', 'x', { mode: CreateMode.ephemeral });
    assert.equal(eph.path, '/crud/e');
    assert.equal(eph.stat.ephemeralOwner, c.sessionId);
    const ephSeq = await c.create('/crud/es-', '', { mode: CreateMode.ephemeralSequential });
    assert.match(ephSeq, /^\/crud\/es-\d{10}$/);

    const cont = await c.create2('/crud/container', 'c', { mode: CreateMode.container });
    assert.equal(cont.path, '/crud/container');
    assert.equal(await c.create('/crud/container2', 'c', { mode: CreateMode.container }), '/crud/container2');
    const ttl = await c.create2('/crud/ttl', 't', { mode: CreateMode.persistentWithTTL, ttl: 60000 });
    assert.equal(ttl.path, '/crud/ttl');
    assert.match(await c.create('/crud/ttls-', 't', { mode: CreateMode.persistentSequentialWithTTL, ttl: 60000 }), /^\/crud\/ttls-\d{10}$/);
    const plain = await c.create2('/crud/plain');
    assert.equal(plain.stat.dataLength, 0);
    assert.equal(plain.stat.ephemeralOwner, 0n);

    await c.delete('/crud/plain', 0);
    await c.delete('/crud/ttl');
    assert.equal(await c.exists('/crud/plain'), null);
    const kids = await c.getChildren('/crud');
    assert.equal(kids.length, 7);
    for (const k of ['container', 'container2', 'e', ephSeq.slice(6), seq1.slice(6), seq2.slice(6)]) assert.ok(kids.includes(k), k);
    assert.ok(kids.some((k) => /^ttls-\d{10}$/.test(k)));
  });

  test('getChildren2, getAllChildrenNumber, getEphemerals, getACL / setACL, sync, whoAmI', async () => {
    const c = await connect(cs);
    await c.create('/kids');
    await c.create('/kids/a');
    await c.create('/kids/a/x');
    await c.create('/kids/b', null, { mode: CreateMode.ephemeral });
    const r = await c.getChildren2('/kids');
    assert.deepEqual(r.children.sort(), ['a', 'b']);
    assert.equal(r.stat.numChildren, 2);
    assert.equal(await c.getAllChildrenNumber('/kids'), 3);
    assert.deepEqual(await c.getEphemerals('/kids'), ['/kids/b']);
    assert.deepEqual(await c.getEphemerals(), ['/kids/b']);

    const acl = await c.getACL('/kids');
    assert.deepEqual(acl.acl, [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }]);
    assert.equal(acl.stat.aversion, 0);
    const readAdmin = [{ perms: Perms.read | Perms.admin, id: { scheme: 'world', id: 'anyone' } }];
    const st = await c.setACL('/kids', readAdmin, 0);
    assert.equal(st.aversion, 1);
    assert.deepEqual((await c.getACL('/kids')).acl, readAdmin);
    await rejectsWith(c.create('/kids/c'), Err.noAuth, '/kids/c');
    await rejectsWith(c.setACL('/kids', Acls.openUnsafe, 0), Err.badVersion, '/kids');
    await c.setACL('/kids', Acls.openUnsafe);

    assert.equal(await c.sync('/kids'), '/kids');
    const who = await c.whoAmI();
    assert.ok(who.some((w) => w.authScheme === 'ip'));
  });

  test('addAuth digest, creator ACLs, noAuth for others, auth re-sent after a reconnect', async () => {
    const px = await proxy(SERVER_PORT);
    const a = await connect(px.connectString);
    await a.addAuth('digest', 'alice:secret');
    assert.ok((await a.whoAmI()).some((w) => w.authScheme === 'digest' && w.user === 'alice'));
    await a.create('/authed', 'private', { acl: Acls.creatorAll });
    const acl = (await a.getACL('/authed')).acl;
    assert.equal(acl[0]?.id.scheme, 'digest');
    assert.match(acl[0]?.id.id ?? '', /^alice:/);

    const b = await connect(cs);
    await rejectsWith(b.getData('/authed'), Err.noAuth, '/authed');
    // credentials given as an option; a request made before the connection is up waits for it
    const auth = open(cs, { auth: [{ scheme: 'digest', auth: 'alice:secret' }] });
    assert.equal((await auth.getData('/authed')).data?.toString(), 'private');

    const sid = a.sessionId;
    px.cut();
    await waitEvent(a, 'connected');
    assert.equal(a.sessionId, sid);
    assert.equal((await a.getData('/authed')).data?.toString(), 'private', 'auth was re-sent');
    assert.equal(px.framesOf(OpCode.auth).length, 2);
    assert.ok(px.framesOf(OpCode.auth).every((f) => f.xid === -4));
  });

  test('an auth the server rejects kills the client (authFailed)', async () => {
    const c = await connect(cs);
    const failed = waitEvent(c, 'authFailed');
    const pending = c.getData('/');
    await rejectsWith(c.addAuth('no-such-scheme', 'x'), Err.authFailed);
    await failed;
    assert.equal(c.state, 'authFailed');
    await pending.catch(() => undefined);
    await rejectsWith(c.exists('/'), Err.authFailed);
  });

  test('errors carry KeeperException codes, names and paths', async () => {
    const c = await connect(cs);
    await c.create('/err');
    const e = await rejectsWith(c.getData('/err/missing'), Err.noNode, '/err/missing');
    assert.equal(e.codeName, 'noNode');
    assert.equal(e.name, 'ZkError');
    assert.match(e.message, /noNode \(-101\) for \/err\/missing/);
    await rejectsWith(c.create('/err'), Err.nodeExists, '/err');
    await rejectsWith(c.create('/err/a/b'), Err.noNode, '/err/a/b');
    await rejectsWith(c.setData('/err', 'x', 7), Err.badVersion, '/err');
    await rejectsWith(c.delete('/err', 3), Err.badVersion, '/err');
    await c.create('/err/child');
    await rejectsWith(c.delete('/err'), Err.notEmpty, '/err');
    await c.create('/err/eph', null, { mode: CreateMode.ephemeral });
    await rejectsWith(c.create('/err/eph/x'), Err.noChildrenForEphemerals, '/err/eph/x');
    await rejectsWith(c.create('/err/acl', null, { acl: [{ perms: 31, id: { scheme: 'nope', id: 'x' } }] }), Err.invalidACL);
    await rejectsWith(c.getChildren('/err/missing'), Err.noNode);
    await rejectsWith(c.delete('/err/missing'), Err.noNode);
    // checked before anything is sent
    await rejectsWith(c.getData('no-slash'), Err.badArguments);
    await rejectsWith(c.create('/err/trailing/'), Err.badArguments);
    await rejectsWith(c.create('/err/ttl', null, { mode: CreateMode.persistentWithTTL }), Err.badArguments);
    await rejectsWith(c.create('/err/ttl', null, { ttl: 5 }), Err.badArguments);
    assert.equal(await c.create('/err/seq/', null, { mode: CreateMode.persistentSequential }).catch((x: ZkError) => x.code), Err.noNode);
    // the connection survived all of it
    assert.equal(c.state, 'connected');
  });

  test('multi, transaction builder, check, multiRead', async () => {
    const c = await connect(cs);
    await c.create('/tx');
    const res = await c
      .transaction()
      .create('/tx/a', 'a')
      .create('/tx/b', 'b', { stat: true })
      .create('/tx/s-', null, { mode: CreateMode.persistentSequential })
      .setData('/tx/a', 'a2', 0)
      .check('/tx', 0)
      .delete('/tx/b')
      .commit();
    assert.equal(res.length, 6);
    assert.deepEqual(res[0], { type: 'create', path: '/tx/a', stat: null });
    // create2 inside a multi: Apache 3.8 answers with a plain CreateResult (no stat), and so
    // does zkts (the sub-txn is a CreateTxn, as ZooKeeper logs it)
    assert.ok(res[1]?.type === 'create' && res[1].path === '/tx/b');
    assert.equal(res[1].stat, null);
    assert.ok(res[2]?.type === 'create' && /^\/tx\/s-\d{10}$/.test(res[2].path));
    assert.ok(res[3]?.type === 'setData' && res[3].stat.version === 1);
    assert.deepEqual(res[4], { type: 'check' });
    assert.deepEqual(res[5], { type: 'delete' });

    const e = await rejectsWith(c.multi([Ops.create('/tx/c'), Ops.check('/tx/a', 0), Ops.delete('/tx/a')]), Err.badVersion, '/tx/a');
    assert.deepEqual(
      e.results?.map((r) => (r as { code?: number }).code),
      [0, Err.badVersion, Err.runtimeInconsistency],
    );
    assert.equal(await c.exists('/tx/c'), null, 'nothing of a failed multi is applied');

    await c.check('/tx/a', 1);
    await rejectsWith(c.check('/tx/a', 0), Err.badVersion, '/tx/a');
    await rejectsWith(c.check('/tx/zz'), Err.noNode, '/tx/zz');

    const reads = await c.multiRead([Ops.getData('/tx/a'), Ops.getChildren('/tx'), Ops.getData('/tx/none')]);
    assert.ok(reads[0]?.type === 'getData' && reads[0].data?.toString() === 'a2');
    assert.ok(reads[1]?.type === 'getChildren' && reads[1].children.includes('a'));
    assert.ok(reads[2]?.type === 'error' && reads[2].code === Err.noNode);
  });

  test('chroot: requests, replies, multi results, ephemerals and watch events use client paths', async () => {
    const root = await connect(cs);
    await root.create('/app');
    await root.create('/app/a');
    const c = await connect(`${cs}/app/a`);
    assert.equal(c.chroot, '/app/a');
    assert.equal(await c.create('/x', 'in chroot'), '/x');
    assert.equal((await root.getData('/app/a/x')).data?.toString(), 'in chroot');
    assert.equal((await c.create2('/y')).path, '/y');
    assert.equal(await c.create('/s-', null, { mode: CreateMode.persistentSequential }), '/s-0000000002');
    assert.deepEqual((await c.getChildren('/')).sort(), ['s-0000000002', 'x', 'y']);
    assert.equal(await c.sync('/x'), '/x');
    assert.equal(await c.sync('/'), '/');
    const m = await c.multi([Ops.create('/m'), Ops.create('/m/n', null, { stat: true })]);
    assert.deepEqual(m.map((r) => (r as { path?: string }).path), ['/m', '/m/n']);
    await c.create('/e', null, { mode: CreateMode.ephemeral });
    assert.deepEqual(await c.getEphemerals('/'), ['/e']);
    assert.equal((await c.exists('/'))?.numChildren, 5);

    const w = recorder();
    await c.getData('/x', w.w);
    await c.exists('/later', w.w);
    await c.getChildren('/', w.w);
    await root.setData('/app/a/x', 'changed');
    await root.create('/app/a/later');
    await until('3 events', () => w.events.length >= 3);
    assert.deepEqual(
      w.events.map((e) => `${e.name} ${e.path}`).sort(),
      ['nodeChildrenChanged /', 'nodeCreated /later', 'nodeDataChanged /x'],
    );
    await rejectsWith(c.getData('/nope'), Err.noNode, '/nope');
  });

  test('one-shot watches: data, exist, child; fire once; default watcher and per-path emitter', async () => {
    const c = await connect(cs);
    const other = await connect(cs);
    await c.create('/w1');
    await c.create('/w1/k');
    const data = recorder();
    const child = recorder();
    const exist = recorder();
    await c.getData('/w1', data.w);
    await c.getData('/w1', data.w); // the same watcher twice is one registration
    await c.getChildren('/w1', child.w);
    assert.equal(await c.exists('/w1/new', exist.w), null);

    await other.setData('/w1', 'x');
    await other.setData('/w1', 'y'); // one-shot: no second event
    await other.create('/w1/new');
    await until('events', () => data.events.length >= 1 && child.events.length >= 1 && exist.events.length >= 1);
    await other.sync('/');
    await sleep(100);
    assert.deepEqual(data.events.map((e) => [e.type, e.name, e.path, e.state]), [[EventType.nodeDataChanged, 'nodeDataChanged', '/w1', 3]]);
    assert.deepEqual(child.events.map((e) => e.name), ['nodeChildrenChanged']);
    assert.deepEqual(exist.events.map((e) => `${e.name} ${e.path}`), ['nodeCreated /w1/new']);

    // delete fires data and child watches
    const d1 = recorder();
    const d2 = recorder();
    await c.getData('/w1/k', d1.w);
    await c.getChildren('/w1/k', d2.w);
    await other.delete('/w1/k');
    await until('deleted', () => d1.events.length === 1 && d2.events.length === 1);
    assert.equal(d1.events[0]?.name, 'nodeDeleted');
    assert.equal(d2.events[0]?.name, 'nodeDeleted');

    // watch = true: the client's 'watch' event and the per-path emitter
    const viaClient: WatchEvent[] = [];
    const viaPath: string[] = [];
    c.on('watch', (e: WatchEvent) => viaClient.push(e));
    const pe = c.watchEmitter('/w1');
    pe.on('nodeDataChanged', (e: WatchEvent) => viaPath.push(`named ${e.path}`));
    pe.on('event', (e: WatchEvent) => viaPath.push(`event ${e.name}`));
    await c.getData('/w1', true);
    await other.setData('/w1', 'z');
    await until('default watcher', () => viaClient.length === 1 && viaPath.length === 2);
    assert.deepEqual(viaPath, ['named /w1', 'event nodeDataChanged']);
    c.releaseWatchEmitter('/w1');
  });

  test('persistent and persistent recursive watches; removeWatches / removeAllWatches / checkWatches', async () => {
    const c = await connect(cs);
    const other = await connect(cs);
    // separate paths: Apache 3.8 keeps one watch mode per path and connection (ZOOKEEPER-4466)
    await c.create('/pw');
    await c.create('/pw/p');
    await c.create('/pw/r');
    const p = recorder();
    const rec = recorder();
    await c.addWatch('/pw/p', AddWatchMode.persistent, p.w);
    await c.addWatch('/pw/r', AddWatchMode.persistentRecursive, rec.w);
    await other.setData('/pw/p', '1');
    await other.setData('/pw/p', '2');
    await other.create('/pw/p/c');
    await other.setData('/pw/p/c', 'not watched');
    await other.setData('/pw/r', '1');
    await other.create('/pw/r/a');
    await other.create('/pw/r/a/b');
    await other.setData('/pw/r/a/b', 'x');
    await other.delete('/pw/r/a/b');
    await until('events', () => rec.events.length >= 5 && p.events.length >= 3);
    await other.sync('/');
    await sleep(100);
    assert.deepEqual(p.events.map((e) => `${e.name} ${e.path}`), [
      'nodeDataChanged /pw/p',
      'nodeDataChanged /pw/p',
      'nodeChildrenChanged /pw/p',
    ]);
    // recursive watches get no child events
    assert.deepEqual(rec.events.map((e) => `${e.name} ${e.path}`), [
      'nodeDataChanged /pw/r',
      'nodeCreated /pw/r/a',
      'nodeCreated /pw/r/a/b',
      'nodeDataChanged /pw/r/a/b',
      'nodeDeleted /pw/r/a/b',
    ]);

    await c.checkWatches('/pw/p', WatcherType.any);
    await c.checkWatches('/pw/r', WatcherType.any);
    await rejectsWith(c.checkWatches('/elsewhere', WatcherType.any), Err.noWatcher, '/elsewhere');
    await rejectsWith(c.removeWatches('/pw/p', () => undefined, WatcherType.any), Err.noWatcher, '/pw/p');
    await rejectsWith(c.removeWatches('/pw/p', p.w, WatcherType.data), Err.noWatcher, '/pw/p');

    // local = true: the watcher goes here whatever the server says (Apache 3.8.0 answers
    // checkWatches of the persistent types with marshallingError; zkts knows them)
    await c.removeWatches('/pw/r', rec.w, WatcherType.persistentRecursive, true);
    assert.equal(rec.events.at(-1)?.name, 'persistentWatchRemoved');
    if (!isApache()) {
      await c.addWatch('/pw/r', AddWatchMode.persistentRecursive, rec.w);
      await c.removeWatches('/pw/r', rec.w, WatcherType.persistentRecursive);
      assert.equal(rec.events.at(-1)?.name, 'persistentWatchRemoved');
    }
    const n = rec.events.length;

    // a one-shot data watch next to the persistent one; removeAllWatches(any) takes both
    const d = recorder();
    await c.getData('/pw/p', d.w);
    await c.removeAllWatches('/pw/p', WatcherType.any);
    assert.deepEqual(d.events.map((e) => e.name), ['dataWatchRemoved']);
    assert.equal(p.events.at(-1)?.name, 'persistentWatchRemoved');
    await rejectsWith(c.checkWatches('/pw/p', WatcherType.any), Err.noWatcher);
    await other.setData('/pw/p', '3');
    await other.create('/pw/r/z');
    await other.sync('/');
    await sleep(100);
    assert.equal(rec.events.length, n, 'removed watchers hear nothing more');
    assert.equal(d.events.length, 1);
    assert.equal(p.events.length, 4);

    // a specific one-shot watcher removed, the other on the same path stays
    const keep = recorder();
    const drop = recorder();
    await c.getData('/pw', keep.w);
    await c.exists('/pw', drop.w);
    await c.removeWatches('/pw', drop.w, WatcherType.data);
    assert.deepEqual(drop.events.map((e) => e.name), ['dataWatchRemoved']);
    await other.setData('/pw', '4');
    await until('kept watcher', () => keep.events.length === 1);
    assert.equal(drop.events.length, 1);
  });

  test('pipelining: 1000 requests in flight on one connection, replies in order', async () => {
    const c = await connect(cs);
    await c.create('/pipe');
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      ps.push(i % 2 === 0 ? c.create('/pipe/s-', String(i), { mode: CreateMode.persistentSequential }) : c.exists('/pipe'));
    }
    assert.equal(c.outstanding, 1000);
    const res = await Promise.all(ps);
    const created = res.filter((_, i) => i % 2 === 0) as string[];
    assert.equal(created.length, 500);
    for (let i = 1; i < created.length; i++) assert.ok((created[i] as string) > (created[i - 1] as string), 'sequence follows submit order');
    // Per-session FIFO: the exists after the j-th create sees exactly j + 1 children — the
    // creates before it (writes in flight are not overtaken) and none after it.
    const stats = res.filter((_, i) => i % 2 === 1) as { numChildren: number }[];
    for (let j = 0; j < stats.length; j++) assert.equal(stats[j]?.numChildren, j + 1, `exists #${j}`);
    assert.equal(await c.getAllChildrenNumber('/pipe'), 500);
    assert.equal(c.outstanding, 0);
  });

  test('watches are re-registered after a reconnect: SetWatches, relativeZxid = last zxid seen', async () => {
    const root = await connect(cs);
    await root.create('/rw');
    await root.create('/rw/data', 'v');
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString);
    const data = recorder();
    const exist = recorder();
    const child = recorder();
    await c.getData('/rw/data', data.w);
    await c.exists('/rw/new', exist.w);
    await c.getChildren('/rw', child.w);
    const sid = c.sessionId;
    const seenZxid = c.lastZxid;

    px.blocked = true;
    const disc = waitEvent(c, 'disconnected');
    px.cut();
    await disc;
    assert.equal(c.state === 'disconnected' || c.state === 'connecting', true);
    await root.setData('/rw/data', 'changed');
    await root.create('/rw/new');
    assert.equal(data.events.length + exist.events.length + child.events.length, 0);

    px.blocked = false;
    await waitEvent(c, 'connected');
    assert.equal(c.sessionId, sid);
    await until('events after re-registration', () => data.events.length === 1 && exist.events.length === 1 && child.events.length === 1);
    assert.equal(data.events[0]?.name, 'nodeDataChanged');
    assert.equal(exist.events[0]?.name, 'nodeCreated');
    assert.equal(child.events[0]?.name, 'nodeChildrenChanged');
    const sw = px.framesOf(OpCode.setWatches);
    assert.equal(sw.length, 1);
    assert.equal(sw[0]?.xid, -8);
    assert.equal(Number(sw[0]?.body.readBigInt64BE(8)), seenZxid, 'relativeZxid');
    assert.equal(px.framesOf(OpCode.setWatches2).length, 0);
  });

  test('persistent watches are re-registered with SetWatches2', async () => {
    const root = await connect(cs);
    await root.create('/rw2');
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString);
    const rec = recorder();
    const data = recorder();
    await c.addWatch('/rw2', AddWatchMode.persistentRecursive, rec.w);
    await c.getData('/rw2', data.w);
    px.cut();
    await waitEvent(c, 'connected');
    await until('SetWatches2 at the proxy', () => px.framesOf(OpCode.setWatches2).length > 0);
    const sw2 = px.framesOf(OpCode.setWatches2);
    assert.equal(sw2.length, 1);
    assert.equal(sw2[0]?.xid, -8);
    await root.create('/rw2/x');
    await root.setData('/rw2', 'd');
    await until('events', () => rec.events.length === 2 && data.events.length === 1);
    assert.deepEqual(rec.events.map((e) => `${e.name} ${e.path}`), ['nodeCreated /rw2/x', 'nodeDataChanged /rw2']);
  });

  test('pings when idle (xid -2 every timeout / 3); a silent server means a reconnect (2/3 timeout)', async () => {
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString, { sessionTimeoutMs: 1500 });
    assert.equal(c.sessionTimeoutMs, 1500);
    await sleep(1300);
    const pings = px.framesOf(OpCode.ping);
    assert.ok(pings.length >= 2 && pings.length <= 4, `${pings.length} pings in 1.3 s at a 500 ms interval`);
    assert.ok(pings.every((f) => f.xid === -2));
    assert.equal(c.state, 'connected');

    const sid = c.sessionId;
    const t0 = Date.now();
    px.frozen = true;
    const pending = c.getData('/');
    await waitEvent(c, 'disconnected', 3000);
    const took = Date.now() - t0;
    // nothing received for readTimeout (1000 ms); the last ping reply came 0-500 ms before
    assert.ok(took >= 400 && took < 1600, `read timeout after ${took} ms`);
    await rejectsWith(pending, Err.connectionLoss);
    px.frozen = false;
    px.cut();
    await waitEvent(c, 'connected', 5000);
    assert.equal(c.sessionId, sid, 'same session after the reconnect');
  });

  test('connection loss fails outstanding requests with connectionLoss; the session survives', async () => {
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString);
    px.frozen = true;
    const ps = [c.getData('/'), c.create('/never'), c.exists('/')];
    await sleep(50);
    px.frozen = false; // the requests are gone; later connections go through
    px.cut();
    for (const p of ps) await rejectsWith(p, Err.connectionLoss);
    await c.waitConnected(5000);
    assert.ok(await c.exists('/'));
  });

  test('session resume from a second client object with id + password', async () => {
    const a = await connect(cs, { sessionTimeoutMs: 8000 });
    await a.create('/resume', null, { mode: CreateMode.ephemeral });
    const sessionId = a.sessionId;
    const password = a.sessionPassword;
    await a.close({ closeSession: false });
    assert.equal(a.state, 'closed');

    const b = await connect(cs, { sessionTimeoutMs: 8000, sessionId, password });
    assert.equal(b.sessionId, sessionId);
    assert.equal((await b.exists('/resume'))?.ephemeralOwner, sessionId);
    assert.deepEqual(await b.getEphemerals(), ['/resume']);

    await b.close();
    const c = await connect(cs);
    assert.equal(await c.exists('/resume'), null, 'closeSession removed the ephemeral');

    // a wrong password: the server refuses the session (Apache first drops the connection
    // that holds it: c reconnects; zkts leaves the holder alone, issue 9 item 6)
    let dropped = false;
    const holderDropped = waitEvent(c, 'disconnected').then(() => (dropped = true));
    const wrong = open(cs, { sessionId: c.sessionId, password: Buffer.alloc(16, 7) });
    await waitEvent(wrong, 'expired');
    assert.equal(wrong.state, 'expired');
    if (isApache()) {
      await holderDropped;
      await c.waitConnected(5000);
    } else {
      holderDropped.catch(() => undefined);
      assert.ok(await c.exists('/'));
      assert.equal(dropped, false, 'zkts: the holder keeps its connection');
    }
    assert.ok(await c.exists('/'));
  });

  test('expiry: no connection for longer than the session timeout', async () => {
    const root = await connect(cs);
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString, { sessionTimeoutMs: 1000 });
    assert.equal(c.sessionTimeoutMs, 1000);
    await c.create('/exp', null, { mode: CreateMode.ephemeral });
    const w = recorder();
    await c.getData('/exp', w.w);
    px.blocked = true;
    px.cut();
    await waitEvent(c, 'disconnected');
    await rejectsWith(c.getData('/exp'), Err.connectionLoss);
    await sleep(2000);
    assert.equal(await root.exists('/exp'), null, 'the server expired the session');
    const expired = waitEvent(c, 'expired');
    px.blocked = false;
    await expired;
    assert.equal(c.state, 'expired');
    await rejectsWith(c.getData('/'), Err.sessionExpired);
    await rejectsWith(c.addAuth('digest', 'a:b'), Err.sessionExpired);
    assert.equal(w.events.length, 0);
  });

  test('close: closeSession ends the session; later calls fail', async () => {
    const c = await connect(cs);
    const other = await connect(cs);
    await c.create('/closing', null, { mode: CreateMode.ephemeral });
    const closed = waitEvent(c, 'closed');
    const inflight = c.exists('/closing');
    await c.close();
    await closed;
    assert.ok(await inflight, 'requests sent before close are answered');
    assert.equal(c.state, 'closed');
    assert.equal(await other.exists('/closing'), null);
    await rejectsWith(c.getData('/'), Err.connectionLoss);
    await c.close(); // idempotent
  });

  test('close while reconnecting: closeSession goes out on the attempt under way', async () => {
    const root = await connect(cs);
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString);
    await c.create('/closing2', null, { mode: CreateMode.ephemeral });
    px.held = true;
    px.cut();
    await until('a reconnect attempt', () => px.accepted === 2);
    await sleep(20);
    assert.equal(c.state, 'connecting');
    const closed = c.close();
    await rejectsWith(c.getData('/'), Err.connectionLoss);
    px.release();
    await closed;
    assert.equal(c.state, 'closed');
    assert.equal(px.framesOf(OpCode.closeSession).length, 1);
    assert.equal(await root.exists('/closing2'), null);
  });

  test('close while the servers are unreachable ends after the failed attempt', async () => {
    const px = await proxy(SERVER_PORT);
    const c = await connect(px.connectString);
    px.blocked = true;
    px.cut();
    await waitEvent(c, 'disconnected');
    const t0 = Date.now();
    await c.close();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(c.state, 'closed');
  });

  test('failover: a dead first host, then the live one', async () => {
    const ordered = await connect(`127.0.0.1:${DEAD_PORT},${cs}`, { shuffleHosts: false });
    assert.equal(ordered.connectedHost, cs);
    assert.deepEqual(ordered.hosts.map((h) => h.port), [DEAD_PORT, SERVER_PORT]);
    for (let i = 0; i < 3; i++) {
      const c = await connect(`127.0.0.1:${DEAD_PORT},${cs}`);
      assert.equal(c.connectedHost, cs);
      assert.ok(await c.exists('/'));
    }
  });

  test('failover: the connected host goes away, the session moves to the other one', async () => {
    const pa = await proxy(SERVER_PORT);
    const pb = await proxy(SERVER_PORT);
    const c = await connect(`${pa.connectString},${pb.connectString}`);
    await c.create('/moving', null, { mode: CreateMode.ephemeral });
    const sid = c.sessionId;
    const first = c.connectedHost;
    const [gone, other] = first === pa.connectString ? [pa, pb] : [pb, pa];
    gone.blocked = true;
    gone.cut();
    await waitEvent(c, 'connected');
    assert.equal(c.connectedHost, other.connectString);
    assert.equal(c.sessionId, sid);
    assert.equal((await c.exists('/moving'))?.ephemeralOwner, sid);
  });

  test('failover: the server restarts on the same port and data, the session resumes', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-client-restart-'));
    const opts = { port: RESTART_PORT, dataDir, tickTime: TICK, minSessionTimeout: 2 * TICK, maxSessionTimeout: 30000 };
    let s = await startServer(targetKind(), opts);
    try {
      const c = await connect(s.connectString, { sessionTimeoutMs: 10000 });
      await c.create('/survivor', null, { mode: CreateMode.ephemeral });
      const sid = c.sessionId;
      const disc = waitEvent(c, 'disconnected');
      await s.stop();
      await disc;
      await rejectsWith(c.exists('/'), Err.connectionLoss);
      s = await startServer(targetKind(), opts);
      await c.waitConnected(15000);
      assert.equal(c.sessionId, sid);
      assert.equal((await c.exists('/survivor'))?.ephemeralOwner, sid);
      await c.close();
    } finally {
      await s.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
