// Herds (issue 11, goal 5; seed 001: "a big chunk of the clients can try to connect/disconnect at
// the same time"). The server side:
//
// - clientPortListenBacklog (ZooKeeper 3.6+) is the backlog of the client port's listening socket,
//   also after the session workers adopt it (each worker's listen() sets it again);
// - connection throttling as ZooKeeper 3.6's BlueThrottle: a connect the bucket refuses is closed
//   without a session, its client connects again at once, and every client of a herd ends up with
//   its session long before a session timeout could pass;
// - with the throttle off (the default) a herd connects as before, none refused.
//
// The throttle keys are written in ZooKeeper's own zoo.cfg spelling (connection_throttle_*, which
// ZooKeeper reads as the zookeeper.connection_throttle_* system properties), so the throttle tests
// mean the same against Apache ZooKeeper.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { dedent, runKazoo } from './harness/kazoo.js';
import { fourLetter, repoRoot, startServer, type ServerHandle, type StartOptions } from './harness/server.js';
import { SUITE_PORTS, isApache, suitePort, targetKind } from './harness/target.js';

/** Clients in a herd: enough to empty a small bucket many times over. */
const herdClients = 200;
/** Session timeout the clients ask for. */
const sessionTimeoutMs = 30_000;
/** Every client of a herd has its session within this: a third of the session timeout, so a
 *  client that waited out a timeout (or a reconnect pause anywhere near it) fails the test. It is
 *  a correctness bound, not a speed figure (bench/herd.ts measures that). */
const herdBoundMs = 10_000;

const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];
const dirs: string[] = [];

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'zkts-herd-'));
  dirs.push(d);
  return d;
}

async function start(i: number, extra: Record<string, string>, opts: Partial<StartOptions> = {}): Promise<ServerHandle> {
  const s = await startServer(targetKind(), {
    port: suitePort(SUITE_PORTS.herd, i),
    maxClientCnxns: 0, // a herd from one address
    extra,
    ...opts,
  });
  servers.push(s);
  return s;
}

async function stopServer(s: ServerHandle): Promise<void> {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await s.stop();
}

async function mntr(s: ServerHandle): Promise<Map<string, string>> {
  const out = await fourLetter(s.port, 'mntr');
  return new Map(out.split('\n').filter((l) => l.includes('\t')).map((l) => l.split('\t') as [string, string]));
}

async function mntrNumber(s: ServerHandle, key: string): Promise<number> {
  const v = (await mntr(s)).get(key);
  assert.ok(v !== undefined, `mntr has ${key}`);
  return Number(v);
}

/** `n` zkts clients started together; resolves with how long each took to get its session. */
async function herd(s: ServerHandle, n: number): Promise<{ clients: ZkClient[]; ms: number[] }> {
  const t0 = performance.now();
  const started = Array.from({ length: n }, () => {
    const c = createClient(s.connectString, { sessionTimeoutMs });
    clients.push(c);
    return c;
  });
  const ms = await Promise.all(
    started.map(async (c) => {
      await c.waitConnected(herdBoundMs * 3);
      return performance.now() - t0;
    }),
  );
  return { clients: started, ms };
}

/** The backlog (Send-Q of the listening socket, as ss prints it) of whatever listens on `port`. */
function listenBacklog(port: number): number[] {
  const r = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(l.trim().split(/\s+/)[2]));
}

describe('clientPortListenBacklog', () => {
  test('is the backlog of the client port, also once the session workers listen on it', async () => {
    const s = await start(0, { clientPortListenBacklog: '100', sessionWorkers: '2' });
    // Node passes 511 to listen() when not told otherwise, and Linux sets an already listening
    // socket's backlog again: each worker must pass the configured one on.
    const backlogs = listenBacklog(s.port);
    assert.ok(backlogs.length >= 1, 'something listens');
    assert.deepEqual(new Set(backlogs), new Set([100]), `ss Send-Q: ${backlogs.join(', ')}`);
    const c = createClient(s.connectString, { sessionTimeoutMs });
    clients.push(c);
    await c.waitConnected(herdBoundMs);
    assert.ok((await c.exists('/')) !== null, 'the server serves');
    await stopServer(s);
  });

  test('a bad value stops start-up with a config error naming the key', { skip: isApache() }, () => {
    const dir = freshDir();
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, `dataDir=${join(dir, 'data')}\nclientPort=${suitePort(SUITE_PORTS.herd, 9)}\nclientPortListenBacklog=0\n`);
    const r = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'zkts.js'), 'server', cfg], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.notEqual(r.status, 0, 'the server does not start');
    assert.match(r.stdout + r.stderr, /clientPortListenBacklog=0: must be positive/);
  });
});

describe('connection throttling (BlueThrottle)', () => {
  test(`a throttled herd of ${herdClients}: some connects refused, every client gets its session well within the timeout`, async () => {
    // 20 connects at once, then one every 10 ms: the herd empties the bucket many times over.
    const s = await start(1, {
      connection_throttle_tokens: '20',
      connection_throttle_fill_time: '10',
      connection_throttle_fill_count: '1',
    });
    const { clients: herdOf, ms } = await herd(s, herdClients);
    const slowest = Math.max(...ms);
    assert.ok(slowest < herdBoundMs, `every client has its session within ${herdBoundMs} ms (slowest ${Math.round(slowest)} ms)`);
    const rejected = await mntrNumber(s, 'zk_connection_rejected');
    assert.ok(rejected > 0, `the throttle refused connects (zk_connection_rejected ${rejected})`);
    // Every client has a working session of its own; a refused connect made none.
    const ids = new Set(herdOf.map((c) => c.sessionId.toString()));
    assert.equal(ids.size, herdClients, 'distinct sessions');
    await Promise.all(herdOf.map((c) => c.exists('/')));
    if (!isApache()) assert.equal(await mntrNumber(s, 'zk_global_sessions'), herdClients, 'no session from a refused connect');
    // The throttle warns at most once per interval (10 s), not once per refused connect.
    if (!isApache()) {
      const warnings = s.logs().split('\n').filter((l) => l.includes('Connection throttle: refused'));
      assert.ok(warnings.length <= 1 + Math.ceil(slowest / 10_000), `${warnings.length} warning lines`);
    }
    console.log(`# throttled herd: ${herdClients} sessions, ${rejected} connects refused, slowest ${Math.round(slowest)} ms`);
    await stopServer(s);
  });

  test(`with the throttle off (the default) a herd of ${herdClients} connects, none refused`, async () => {
    const s = await start(2, {});
    const { ms } = await herd(s, herdClients);
    assert.ok(Math.max(...ms) < herdBoundMs * 3, 'connected');
    assert.equal(await mntrNumber(s, 'zk_connection_rejected'), 0);
    if (!isApache()) assert.ok((await mntrNumber(s, 'zk_connection_request_count')) >= herdClients);
    await stopServer(s);
  });

  test('after a restart the whole herd re-establishes its sessions through the throttle, none expired', { skip: isApache() }, async () => {
    // 5 connects at once, then one per 50 ms: 60 clients coming back within a second or two
    // cannot all get in at once.
    const n = 60;
    const throttle = {
      connection_throttle_tokens: '5',
      connection_throttle_fill_time: '50',
      connection_throttle_fill_count: '1',
    };
    const dataDir = freshDir(); // outlives the first server process
    const first = await start(4, throttle, { dataDir });
    const { clients: herdOf } = await herd(first, n);
    const ids = herdOf.map((c) => c.sessionId);
    let expired = 0;
    for (const c of herdOf) c.on('expired', () => expired++);
    await first.kill(); // a crash: every connection drops at once; global sessions are durable
    const again = await start(4, throttle, { dataDir });
    const t0 = performance.now();
    const ms = await Promise.all(
      herdOf.map(async (c) => {
        await c.waitConnected(herdBoundMs * 3);
        return performance.now() - t0;
      }),
    );
    const slowest = Math.max(...ms);
    assert.ok(slowest < herdBoundMs, `all back within ${herdBoundMs} ms of the restart (slowest ${Math.round(slowest)} ms)`);
    assert.deepEqual(herdOf.map((c) => c.sessionId), ids, 'every client has its own session back');
    assert.equal(expired, 0, 'no session expired');
    const rejected = await mntrNumber(again, 'zk_connection_rejected');
    assert.ok(rejected > 0, `re-establishing connects were refused (${rejected}) and came back`);
    await Promise.all(herdOf.map((c) => c.exists('/')));
    console.log(`# restart herd: ${n} sessions back, ${rejected} connects refused, slowest ${Math.round(slowest)} ms`);
    await stopServer(again);
  });

  test('kazoo, refused while the bucket is empty, comes back and gets its session', async () => {
    // One token, back after 2 s: the first client takes it, so the second is refused until then.
    const s = await start(3, {
      connection_throttle_tokens: '1',
      connection_throttle_fill_time: '2000',
      connection_throttle_fill_count: '1',
    });
    const r = await runKazoo<{ connected: boolean; elapsedS: number; exists: boolean }>(
      dedent(`
        a = connect(timeout=30.0)
        t0 = time.time()
        b = KazooClient(hosts=HOSTS, timeout=30.0)
        b.start(timeout=15)
        elapsed = time.time() - t0
        result({'connected': b.connected, 'elapsedS': elapsed, 'exists': b.exists('/') is not None})
        b.stop(); a.stop()
      `),
      { hosts: s.connectString, timeoutMs: 40_000 },
    );
    assert.ok(r.connected && r.exists, 'kazoo has a working session');
    assert.ok(r.elapsedS * 1000 < herdBoundMs, `within ${herdBoundMs} ms (took ${r.elapsedS.toFixed(2)} s)`);
    assert.ok((await mntrNumber(s, 'zk_connection_rejected')) >= 1, 'its first connects were refused');
    await stopServer(s);
  });
});
