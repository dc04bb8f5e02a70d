// A lean server process (issue 11, goal 2: an observer tier pays the per-process base once per
// observer). What keeps it lean must not change what clients see:
// - sessionWorkers=1: the one session worker binds the client port itself, so on Node 20 there
//   is no launcher process (src/cli.ts); it listens with the launcher's backlog
//   (clientPortListenBacklog, by default clientListenBacklogDefault) and serves a stock client.
// The RSS figures are in `npm run bench:idle-rss`, never asserted here.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { clientListenBacklogDefault } from '../../src/main/limits.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { call, nzkClose, nzkConnect, zookeeper } from './harness/nzk.js';

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
