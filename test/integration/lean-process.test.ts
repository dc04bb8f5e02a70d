// A lean server process (issue 11, goal 2: an observer tier pays the per-process base once per
// observer). What keeps it lean must not change what clients see:
// - sessionWorkers=1: the one session worker binds the client port itself, so on Node 20 there
//   is no launcher process (src/cli.ts); it listens with the launcher's backlog
//   (clientPortListenBacklog, by default clientListenBacklogDefault) and serves a stock client.
// - a member without quorum TLS never loads node:tls (its modules cost ~1.3 MB of RSS): read from
//   the member's own process.moduleLoadList, which a preload (--import) writes when it exits.
// - youngGenerationFixed=true: the main thread's young generation stays at its initial size (an
//   idle observer's otherwise grows to ~8 MB while its modules load); the preload writes V8's
//   new-space size too. The observer runs the tier profile (sessionWorkers=0 with it).
// - youngGenerationFixed=true with a session worker thread: starting a worker sets V8's flags back
//   to the command line's, so src/cli.ts fixes the growth factor again once each worker is
//   online; a standalone with one worker, after 10,000 creates, still has a 2 MB new space.
// - sessionWorkers=0: no session worker thread at all; the worker's code serves the sessions on
//   the main thread (src/workers/worker.ts serveOnThisThread), rings and doorbells included. An
//   observer in that mode serves kazoo (watches, ephemerals, a write forwarded to the leader),
//   its four-letter words (which cross the admin port), and stops cleanly; a Node report (taken
//   on SIGUSR2, --report-on-signal) lists no worker thread.
// The RSS figures are in `npm run bench:idle-rss`, never asserted here.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientListenBacklogDefault } from '../../src/main/limits.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { call, nzkClose, nzkConnect, zookeeper } from './harness/nzk.js';
import { eventually, memberMode } from './harness/ensemble.js';
import { runKazoo } from './harness/kazoo.js';

/** The child processes of pid (a launcher's server). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
    for (const p of text.split(/\s+/)) if (p !== '') kids.push(Number(p));
  }
  return kids;
}

/** The listen backlog of the socket listening on port (ss prints it as Send-Q). */
function listenBacklog(port: number): number {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim();
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one socket listens on ${port}: ${out}`);
  return Number(lines[0]!.trim().split(/\s+/)[2]);
}

describe('sessionWorkers=1', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer('zkts', { port: suitePort(SUITE_PORTS.leanProcess, 0), extra: { sessionWorkers: '1' } });
  });
  after(async () => {
    await server?.stop();
  });

  test('runs as one process whose worker listens with the launcher backlog', async () => {
    assert.deepEqual(childrenOf(server.pid), [], 'no server process under a launcher');
    assert.match(await fourLetter(server.port, 'envi'), new RegExp(`process\\.pid=${server.pid}\\n`));
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    assert.equal(listenBacklog(server.port), Math.min(clientListenBacklogDefault, somaxconn));
  });

  test('serves a stock client', async () => {
    const c = await nzkConnect(server.connectString);
    try {
      await call((cb) => c.create('/lean', Buffer.from('v'), zookeeper.CreateMode.PERSISTENT, cb));
      const [data] = await call<[Buffer | undefined]>((cb) => c.getData('/lean', cb));
      assert.equal(data?.toString(), 'v');
    } finally {
      await nzkClose(c);
    }
  });
});

/** A preload for a server process: on exit its main thread writes the builtin modules it loaded
 *  (process.moduleLoadList) to `${ZKTS_TEST_MODULE_LIST}.${pid}`, and V8's new-space size in
 *  bytes to `${ZKTS_TEST_MODULE_LIST}.${pid}.new-space`. */
const modulePreload = `import fs from 'node:fs';
import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';
const out = process.env.ZKTS_TEST_MODULE_LIST;
if (isMainThread && out) process.on('exit', () => {
  fs.writeFileSync(out + '.' + process.pid, process.moduleLoadList.join('\\n'));
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  fs.writeFileSync(out + '.' + process.pid + '.new-space', String(young?.space_size ?? -1));
});
`;
/** The most a young generation that never grew may span (V8 starts it at 1 MB; unfixed, an
 *  idle member's main thread grows it to ~8 MB while its modules load). */
const youngGenerationUngrownBytesMax = 2 << 20;

describe('an observer in the tier profile, without quorum TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-lean-modules-'));
  const members: ServerHandle[] = [];
  const listFile = join(dir, 'modules');

  before(async () => {
    const preload = join(dir, 'preload.mjs');
    writeFileSync(preload, modulePreload);
    const ports = [suitePort(SUITE_PORTS.leanProcess, 1), suitePort(SUITE_PORTS.leanProcess, 2)];
    const extra: Record<string, string> = { 'server.1': `127.0.0.1:${ports[0]! + 1}:${ports[0]! + 2}`, 'server.2': `127.0.0.1:${ports[1]! + 1}:${ports[1]! + 2}:observer` };
    const saved = { options: process.env['NODE_OPTIONS'], list: process.env['ZKTS_TEST_MODULE_LIST'] };
    process.env['NODE_OPTIONS'] = `${saved.options ?? ''} --import ${preload}`.trim();
    process.env['ZKTS_TEST_MODULE_LIST'] = listFile;
    try {
      for (const [i, port] of ports.entries()) {
        const dataDir = join(dir, `member${i + 1}`);
        mkdirSync(dataDir);
        writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
        const own = i === 0 ? {} : { peerType: 'observer', sessionWorkers: '0', youngGenerationFixed: 'true' };
        members.push(await startServer('zkts', { port, dataDir, tickTime: 200, extra: { ...extra, ...own } }));
      }
    } finally {
      if (saved.options === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = saved.options;
      if (saved.list === undefined) delete process.env['ZKTS_TEST_MODULE_LIST'];
      else process.env['ZKTS_TEST_MODULE_LIST'] = saved.list;
    }
  });
  after(async () => {
    for (const m of members) await m.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('observes, serves a stock client, never loads node:tls, and its young generation never grows', async () => {
    const [voter, observer] = members as [ServerHandle, ServerHandle];
    await eventually('the observer observes', async () => ((await memberMode(observer.port)) === 'observer' ? true : undefined));
    const c = await nzkConnect(observer.connectString);
    try {
      await call((cb) => c.create('/lean-observer', Buffer.from('v'), zookeeper.CreateMode.PERSISTENT, cb));
      const [data] = await call<[Buffer | undefined]>((cb) => c.getData('/lean-observer', cb));
      assert.equal(data?.toString(), 'v');
    } finally {
      await nzkClose(c);
    }
    await observer.stop();
    await voter.stop();
    for (const m of [voter, observer]) {
      const loaded = readFileSync(`${listFile}.${m.pid}`, 'utf8').split('\n');
      assert.ok(loaded.includes('NativeModule net'), 'the list is the process\'s module list');
      assert.ok(!loaded.includes('NativeModule tls'), `member ${m.pid} loaded node:tls`);
    }
    const young = Number(readFileSync(`${listFile}.${observer.pid}.new-space`, 'utf8'));
    assert.ok(young > 0 && young <= youngGenerationUngrownBytesMax, `the observer's new space spans ${young} bytes`);
  });
});

describe('an observer with sessionWorkers=0 (sessions on the main thread)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-lean-main-thread-'));
  const reports = join(dir, 'reports');
  const members: ServerHandle[] = [];

  before(async () => {
    mkdirSync(reports);
    const ports = [suitePort(SUITE_PORTS.leanProcess, 3), suitePort(SUITE_PORTS.leanProcess, 4)];
    const extra: Record<string, string> = { 'server.1': `127.0.0.1:${ports[0]! + 1}:${ports[0]! + 2}`, 'server.2': `127.0.0.1:${ports[1]! + 1}:${ports[1]! + 2}:observer` };
    const saved = process.env['NODE_OPTIONS'];
    process.env['NODE_OPTIONS'] = `${saved ?? ''} --report-on-signal --report-directory=${reports}`.trim();
    try {
      for (const [i, port] of ports.entries()) {
        const dataDir = join(dir, `member${i + 1}`);
        mkdirSync(dataDir);
        writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
        const own = i === 0 ? {} : { peerType: 'observer', sessionWorkers: '0', youngGenerationFixed: 'true' };
        members.push(await startServer('zkts', { port, dataDir, tickTime: 200, extra: { ...extra, ...own } }));
      }
    } finally {
      if (saved === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = saved;
    }
  });
  after(async () => {
    for (const m of members) await m.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs no worker thread', async () => {
    const observer = members[1]!;
    process.kill(observer.pid, 'SIGUSR2');
    const file = await eventually('the Node report is written', async () => {
      const name = readdirSync(reports).find((f) => f.includes(`.${observer.pid}.`) && f.endsWith('.json'));
      if (name === undefined) return undefined;
      try {
        return JSON.parse(readFileSync(join(reports, name), 'utf8')) as { workers: unknown[] };
      } catch {
        return undefined; // still being written
      }
    });
    assert.deepEqual(file.workers, [], 'no worker thread in the observer process');
    assert.deepEqual(childrenOf(observer.pid), [], 'no server process under a launcher');
  });

  test('serves kazoo: watches, ephemerals, writes through the leader, large data, session close', async () => {
    const observer = members[1]!;
    await eventually('the observer observes', async () => ((await memberMode(observer.port)) === 'observer' ? true : undefined));
    const r = await runKazoo<{ event: unknown; seen: string | null; gone: boolean; data: string; big: number }>(
      `
      a = connect()
      b = connect()
      a.create('/main-thread', b'v1')
      events = Events()
      a.get('/main-thread', watch=events)
      a.create('/main-thread-eph', b'', ephemeral=True)
      b.set('/main-thread', b'v2')
      got = events.wait(1, 10)
      seen = b.exists('/main-thread-eph')
      a.stop(); a.close()
      deadline = time.time() + 10
      while b.exists('/main-thread-eph') is not None and time.time() < deadline:
          time.sleep(0.05)
      data, _ = b.get('/main-thread')
      # Near jute.maxbuffer: over half of a ring (main/limits.ts mainThreadSessionsRingBytes),
      # so the request and the reply cross in fragments.
      b.create('/main-thread-big', b'x' * 1000000)
      big, _ = b.get('/main-thread-big')
      result({'event': got[0] if got else None, 'seen': None if seen is None else 'yes',
              'gone': b.exists('/main-thread-eph') is None, 'data': data.decode(), 'big': len(big)})
      b.stop(); b.close()
      `,
      { hosts: observer.connectString, timeoutMs: 30_000 },
    );
    assert.deepEqual(r.event, { type: 'CHANGED', state: 'CONNECTED', path: '/main-thread' });
    assert.equal(r.seen, 'yes');
    assert.equal(r.gone, true, "the closed session's ephemeral is deleted");
    assert.equal(r.data, 'v2');
    assert.equal(r.big, 1_000_000);
  });

  test('answers four-letter words that ask the sessions side, and stops cleanly', async () => {
    const [voter, observer] = members as [ServerHandle, ServerHandle];
    const c = await nzkConnect(observer.connectString);
    try {
      await call((cb) => c.exists('/', cb));
      // cons is answered from the session side's statistics (the admin port): the stock client
      // and the asking connection itself.
      const cons = await fourLetter(observer.port, 'cons');
      assert.ok(cons.split('\n').filter((l) => l.includes('queued=')).length >= 2, cons);
      assert.match(await fourLetter(observer.port, 'mntr'), /zk_server_state\tobserver/);
      assert.match(await fourLetter(observer.port, 'envi'), /zkts\.sessionWorkers=0\n/);
    } finally {
      await nzkClose(c);
    }
    await observer.stop(20_000);
    assert.ok(observer.exited);
    assert.doesNotMatch(observer.logs(), /crashed|FATAL|Error/);
    await voter.stop();
  });
});

describe('youngGenerationFixed with a session worker thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-lean-young-'));
  const listFile = join(dir, 'modules');
  let server: ServerHandle;

  before(async () => {
    const preload = join(dir, 'preload.mjs');
    writeFileSync(preload, modulePreload);
    const saved = { options: process.env['NODE_OPTIONS'], list: process.env['ZKTS_TEST_MODULE_LIST'] };
    process.env['NODE_OPTIONS'] = `${saved.options ?? ''} --import ${preload}`.trim();
    process.env['ZKTS_TEST_MODULE_LIST'] = listFile;
    try {
      server = await startServer('zkts', {
        port: suitePort(SUITE_PORTS.leanProcess, 5),
        extra: { sessionWorkers: '1', youngGenerationFixed: 'true', forceSync: 'no' },
      });
    } finally {
      if (saved.options === undefined) delete process.env['NODE_OPTIONS'];
      else process.env['NODE_OPTIONS'] = saved.options;
      if (saved.list === undefined) delete process.env['ZKTS_TEST_MODULE_LIST'];
      else process.env['ZKTS_TEST_MODULE_LIST'] = saved.list;
    }
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the main thread's young generation stays fixed after the worker starts", async () => {
    const c = await nzkConnect(server.connectString);
    try {
      // Nodes with long paths: what survives in the main thread's heap (the tree) makes V8 grow
      // a young generation whose growth is not fixed.
      const prefix = `/young-${'p'.repeat(200)}-`;
      for (let batch = 0; batch < 20; batch++) {
        await Promise.all(
          Array.from({ length: 500 }, (_, i) =>
            call((cb) => c.create(`${prefix}${batch * 500 + i}`, Buffer.from('v'), zookeeper.CreateMode.PERSISTENT, cb)),
          ),
        );
      }
    } finally {
      await nzkClose(c);
    }
    await server.stop();
    const young = Number(readFileSync(`${listFile}.${server.pid}.new-space`, 'utf8'));
    assert.ok(young > 0 && young <= youngGenerationUngrownBytesMax, `the server's new space spans ${young} bytes`);
  });
});
