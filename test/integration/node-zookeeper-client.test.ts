// Interop with node-zookeeper-client 1.1.3 (npm), a client nobody here wrote.
//
// It sends the old-style ConnectRequest (no readOnly byte), handles replies strictly in order on
// one socket and calls watchers synchronously as notifications are decoded, which makes the
// order of events and replies directly observable.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ACL, Stat, TransactionResult, ZkEvent } from 'node-zookeeper-client';
import { call, errName, long, nzkClose, nzkConnect, startHolder, zookeeper, type Client } from './harness/nzk.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort, targetKind } from './harness/target.js';

const { CreateMode, Permission } = zookeeper;

let server: ServerHandle;
let root: Client;
const clients: Client[] = [];

before(async () => {
  server = await startServer(targetKind(), { port: suitePort(SUITE_PORTS.nzk), tickTime: 200 });
  root = await connect();
});

after(async () => {
  for (const c of clients) await nzkClose(c, 1000);
  await server?.stop();
});

async function connect(suffix = '', opts: Parameters<typeof nzkConnect>[1] = {}): Promise<Client> {
  const c = await nzkConnect(server.connectString + suffix, opts);
  clients.push(c);
  return c;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const create = (c: Client, path: string, data: Buffer | null = null, mode: number = CreateMode.PERSISTENT): Promise<string> =>
  call<[string]>((cb) => c.create(path, data, mode, cb)).then(([p]) => p);
const getData = (c: Client, path: string): Promise<[Buffer | undefined, Stat]> => call<[Buffer | undefined, Stat]>((cb) => c.getData(path, cb));
const setData = (c: Client, path: string, data: Buffer, version = -1): Promise<Stat> =>
  call<[Stat]>((cb) => c.setData(path, data, version, cb)).then(([s]) => s);
const exists = (c: Client, path: string): Promise<Stat | null> => call<[Stat | null]>((cb) => c.exists(path, cb)).then(([s]) => s);
const children = (c: Client, path: string): Promise<string[]> => call<[string[], Stat]>((cb) => c.getChildren(path, cb)).then(([k]) => k.sort());
const remove = (c: Client, path: string, version = -1): Promise<void> => call<[]>((cb) => c.remove(path, version, cb)).then(() => undefined);

describe('znodes', () => {
  test('create, getData, setData with versions, exists, remove', async () => {
    const p = '/nzk-basic';
    assert.equal(await create(root, p, Buffer.from('v0')), p);
    const [d0, s0] = await getData(root, p);
    assert.equal(d0?.toString(), 'v0');
    assert.deepEqual([s0.version, s0.cversion, s0.aversion, s0.dataLength, s0.numChildren], [0, 0, 0, 2, 0]);
    assert.equal(long(s0.ephemeralOwner), 0n);
    assert.equal(long(s0.mzxid), long(s0.czxid));
    const s1 = await setData(root, p, Buffer.from('v1'), 0);
    assert.equal(s1.version, 1);
    assert.ok(long(s1.mzxid) > long(s0.mzxid));
    assert.equal(await errName(setData(root, p, Buffer.from('x'), 0)), 'BAD_VERSION');
    assert.equal(await errName(create(root, p)), 'NODE_EXISTS');
    assert.equal(await errName(getData(root, `${p}/none`)), 'NO_NODE');
    assert.equal(await create(root, `${p}/child`), `${p}/child`);
    assert.equal(await errName(remove(root, p)), 'NOT_EMPTY');
    assert.equal(await errName(remove(root, `${p}/child`, 5)), 'BAD_VERSION');
    await remove(root, `${p}/child`, 0);
    assert.equal(await exists(root, `${p}/child`), null);
    const ps = await exists(root, p);
    assert.equal(ps?.cversion, 2);
    assert.equal(ps?.numChildren, 0);
    await remove(root, p);
    assert.equal(await exists(root, p), null);
  });

  test('ephemeral and sequential nodes', async () => {
    const c = await connect();
    const p = '/nzk-modes';
    await create(root, p);
    const e = await create(c, `${p}/e`, null, CreateMode.EPHEMERAL);
    const es = await create(c, `${p}/es-`, null, CreateMode.EPHEMERAL_SEQUENTIAL);
    const ps = await create(c, `${p}/ps-`, null, CreateMode.PERSISTENT_SEQUENTIAL);
    assert.equal(e, `${p}/e`);
    assert.equal(es, `${p}/es-0000000001`);
    assert.equal(ps, `${p}/ps-0000000002`);
    const st = await exists(root, e);
    assert.ok(st !== null);
    assert.deepEqual(st.ephemeralOwner, c.getSessionId());
    assert.equal(await errName(create(c, `${e}/x`)), 'NO_CHILDREN_FOR_EPHEMERALS');
  });

  test('ACLs: digest auth, NoAuth, getACL/setACL', async () => {
    const owner = await connect();
    owner.addAuthInfo('digest', Buffer.from('carol:pw'));
    const other = await connect();
    const p = '/nzk-acl';
    const acl = [new zookeeper.ACL(Permission.ALL, new zookeeper.Id('auth', ''))];
    assert.equal(await call<[string]>((cb) => owner.create(p, Buffer.from('s'), acl, CreateMode.PERSISTENT, cb)).then(([x]) => x), p);
    assert.equal(await errName(getData(other, p)), 'NO_AUTH');
    const [acls, st] = await call<[ACL[], Stat]>((cb) => owner.getACL(p, cb));
    assert.deepEqual(
      acls.map((a) => [a.permission, a.id.scheme, a.id.id]),
      [[31, 'digest', 'carol:RffyCdXXV1Js0ywLAoP5/l25yKs=' /* base64(sha1('carol:pw')) */]],
    );
    assert.equal(st.aversion, 0);
    const open = [new zookeeper.ACL(Permission.READ, new zookeeper.Id('world', 'anyone'))];
    assert.equal(await errName(call((cb) => other.setACL(p, open, -1, cb))), 'NO_AUTH');
    assert.equal(await errName(call((cb) => owner.setACL(p, open, 3, cb))), 'BAD_VERSION');
    const [st2] = await call<[Stat]>((cb) => owner.setACL(p, open, 0, cb));
    assert.equal(st2.aversion, 1);
    const [data] = await getData(other, p);
    assert.equal(data?.toString(), 's');
    assert.equal(await errName(setData(other, p, Buffer.from('x'))), 'NO_AUTH');
    const bad = [new zookeeper.ACL(Permission.ALL, new zookeeper.Id('digest', 'nocolon'))];
    assert.equal(await errName(call((cb) => root.create(`${p}-bad`, null, bad, CreateMode.PERSISTENT, cb))), 'INVALID_ACL');
  });
});

describe('chroot', () => {
  test('a connect string with /app: paths are relative to /app both ways', async () => {
    await create(root, '/nzk-app');
    const app = await connect('/nzk-app');
    assert.equal(await create(app, '/x', Buffer.from('in-app')), '/x');
    assert.equal(await create(app, '/s-', null, CreateMode.PERSISTENT_SEQUENTIAL), '/s-0000000001');
    const [d] = await getData(root, '/nzk-app/x');
    assert.equal(d?.toString(), 'in-app');
    assert.deepEqual(await children(app, '/'), ['s-0000000001', 'x']);
    const [rootStat] = await call<[Stat | null]>((cb) => app.exists('/', cb));
    const appStat = await exists(root, '/nzk-app');
    assert.deepEqual(rootStat, appStat, "exists('/') under the chroot is the chroot node");
    // watch events carry chroot-relative paths
    const seen: ZkEvent[] = [];
    await call((cb) => app.getData('/x', (e) => seen.push(e), cb));
    await setData(root, '/nzk-app/x', Buffer.from('changed'));
    for (let i = 0; i < 100 && seen.length === 0; i++) await sleep(20);
    assert.deepEqual(
      seen.map((e) => [e.getName(), e.getPath()]),
      [['NODE_DATA_CHANGED', '/x']],
    );
    // transactions too
    const [res] = await call<[TransactionResult[]]>((cb) => app.transaction().create('/t', null).setData('/x', Buffer.from('t'), -1).commit(cb));
    assert.equal(res[0]?.path, '/t');
    assert.ok((await exists(root, '/nzk-app/t')) !== null);
  });

  test('a chroot that does not exist: the session works, operations get NoNode', async () => {
    const c = await connect('/nzk-nowhere');
    assert.equal(await errName(create(c, '/x')), 'NO_NODE');
    assert.equal(await exists(c, '/'), null);
  });
});

describe('transactions', () => {
  test('commit applies every op and returns per-op results', async () => {
    const p = '/nzk-multi';
    await create(root, p);
    const [res] = await call<[TransactionResult[]]>((cb) =>
      root
        .transaction()
        .create(`${p}/a`, Buffer.from('1'))
        .create(`${p}/b`, null, CreateMode.PERSISTENT)
        .setData(`${p}/a`, Buffer.from('2'), 0)
        .check(`${p}/a`, 1)
        .remove(`${p}/b`, 0)
        .commit(cb),
    );
    assert.deepEqual(
      res.map((r) => [r.type, r.path ?? null, r.stat?.version ?? null]),
      [
        [1, `${p}/a`, null],
        [1, `${p}/b`, null],
        [5, null, 1],
        [13, null, null],
        [2, null, null],
      ],
    );
    assert.deepEqual(await children(root, p), ['a']);
  });

  test('a failing op: nothing applied, error results for every op', async () => {
    const p = '/nzk-multi-fail';
    await create(root, p);
    const outcome = await new Promise<{ error: string | null; results: TransactionResult[] }>((resolve) =>
      root
        .transaction()
        .create(`${p}/a`)
        .check(p, 42)
        .create(`${p}/b`)
        .commit((e, results) => resolve({ error: e === null ? null : e.getName(), results })),
    );
    assert.equal(outcome.error, 'BAD_VERSION');
    assert.deepEqual(
      outcome.results.map((r) => [r.type, r.err]),
      [
        [-1, 0],
        [-1, -103],
        [-1, -2],
      ],
    );
    assert.deepEqual(await children(root, p), []);
  });
});

describe('watches', () => {
  test('data, exists and child watchers get their event types once', async () => {
    const p = '/nzk-watch';
    await create(root, p);
    await create(root, `${p}/d`);
    const a = await connect();
    const log: string[] = [];
    const w = (tag: string) => (e: ZkEvent) => log.push(`${tag}:${e.getName()}:${e.getPath()}`);
    await call((cb) => a.getData(`${p}/d`, w('data'), cb));
    await call((cb) => a.exists(`${p}/new`, w('exists'), cb));
    await call((cb) => a.getChildren(p, w('child'), cb));
    await setData(root, `${p}/d`, Buffer.from('1'));
    await setData(root, `${p}/d`, Buffer.from('2'));
    await create(root, `${p}/new`);
    await remove(root, `${p}/d`);
    // a read on the watching connection comes after every event the writes caused
    await exists(a, '/');
    assert.deepEqual(log, [`data:NODE_DATA_CHANGED:${p}/d`, `exists:NODE_CREATED:${p}/new`, `child:NODE_CHILDREN_CHANGED:${p}`]);
    await call((cb) => a.exists(`${p}/new`, w('exists2'), cb));
    await remove(root, `${p}/new`);
    await exists(a, '/');
    assert.equal(log[3], `exists2:NODE_DELETED:${p}/new`);
  });

  test('ordering: the watcher runs before the callback of any read that shows the new data', async () => {
    const p = '/nzk-order';
    await create(root, p, Buffer.from('v0'));
    const a = await connect();
    const b = await connect();
    const log: string[] = [];
    await call((cb) => a.getData(p, (e) => log.push(`event:${e.getName()}`), cb));
    let stop = false;
    let inflight = 0;
    const pump = (): void => {
      while (!stop && inflight < 8) {
        inflight++;
        a.getData(p, (e, _d, st) => {
          inflight--;
          log.push(e ? `error:${e.getName()}` : `get:${st.version}`);
          pump();
        });
      }
    };
    pump();
    await sleep(30);
    await setData(b, p, Buffer.from('v1'));
    for (let i = 0; i < 200 && log.filter((x) => x === 'get:1').length < 5; i++) await sleep(10);
    stop = true;
    for (let i = 0; i < 200 && inflight > 0; i++) await sleep(10);
    const ev = log.indexOf('event:NODE_DATA_CHANGED');
    const firstNew = log.indexOf('get:1');
    assert.ok(ev >= 0, 'the watcher fired');
    assert.equal(log.filter((x) => x.startsWith('event:')).length, 1);
    assert.ok(firstNew >= 0, 'reads saw the new version');
    assert.ok(log.indexOf('get:0') >= 0 && log.indexOf('get:0') < ev, 'reads were answered before the write');
    assert.ok(ev < firstNew, `event at ${ev}, first read of version 1 at ${firstNew}: ${log.slice(Math.max(0, ev - 3), ev + 3).join(' ')}`);
    assert.deepEqual(
      log.filter((x) => x.startsWith('error')),
      [],
    );
  });
});

describe('sessions', () => {
  test('reconnect with session id and password: same session, its ephemerals intact', async () => {
    await create(root, '/nzk-resume');
    const holder = await startHolder(server.connectString, ['/nzk-resume/e'], 4000);
    await holder.kill(); // no closeSession: the session outlives the socket for its timeout
    const c = await connect('', { sessionId: holder.sessionId, sessionPassword: holder.password, sessionTimeout: 4000 });
    assert.deepEqual(c.getSessionId(), holder.sessionId);
    assert.deepEqual(c.getSessionPassword(), holder.password);
    const st = await exists(root, '/nzk-resume/e');
    assert.ok(st !== null, 'the ephemeral survived the reconnect');
    assert.deepEqual(st.ephemeralOwner, holder.sessionId);
    assert.equal((await setData(c, '/nzk-resume/e', Buffer.from('mine'))).version, 1);
    // closing the session removes its ephemerals at once
    await nzkClose(c);
    assert.equal(await exists(root, '/nzk-resume/e'), null);
    // the closed session cannot be resumed: the client reports it expired
    const again = zookeeper.createClient(server.connectString, { sessionId: holder.sessionId, sessionPassword: holder.password, sessionTimeout: 4000, spinDelay: 100 });
    const outcome = await new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 5000);
      again.once('expired', () => {
        clearTimeout(t);
        resolve('expired');
      });
      again.once('connected', () => {
        clearTimeout(t);
        resolve('connected');
      });
      again.connect();
    });
    again.close();
    assert.equal(outcome, 'expired');
  });

  test('a killed client\'s session expires: ephemerals removed, watchers notified', async () => {
    await create(root, '/nzk-expire');
    const holder = await startHolder(server.connectString, ['/nzk-expire/e'], 1000);
    assert.equal(holder.timeout, 1000);
    const events: string[] = [];
    await call((cb) => root.exists('/nzk-expire/e', (e) => events.push(`${e.getName()}:${e.getPath()}`), cb));
    await call((cb) => root.getChildren('/nzk-expire', (e) => events.push(`${e.getName()}:${e.getPath()}`), cb));
    await holder.kill();
    assert.ok((await exists(root, '/nzk-expire/e')) !== null, 'still there right after the socket closed');
    for (let i = 0; i < 500 && events.length < 2; i++) await sleep(20);
    assert.deepEqual(events.sort(), ['NODE_CHILDREN_CHANGED:/nzk-expire', 'NODE_DELETED:/nzk-expire/e']);
    assert.equal(await exists(root, '/nzk-expire/e'), null);
  });
});
