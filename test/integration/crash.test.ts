// No acknowledged write is ever lost (issue 3): a client pipelines creates and records which
// were acknowledged; the server is SIGKILLed at seeded random moments (snapCount is small, so
// kills also land during snapshots and log rolls), restarted on the same data, and then every
// acknowledged znode must be there with its data, and no znode may exist that was never sent.
// Also: a restart keeps global sessions (and their ephemerals) until they expire, and forgets
// local sessions.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateMode, createClient, type ZkClient } from '../../src/client/index.js';
import { mulberry32 } from '../harness/prng.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';

const seed = Number(process.env['ZKTS_CRASH_SEED'] ?? 20261121);
const rounds = Number(process.env['ZKTS_CRASH_ROUNDS'] ?? 10);
const dirs: string[] = [];

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'zkts-crash-'));
  dirs.push(d);
  return d;
}

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function connect(cs: string, opts: Parameters<typeof createClient>[1] = {}): Promise<ZkClient> {
  const c = createClient(cs, { sessionTimeoutMs: 4000, ...opts });
  await c.waitConnected(10000);
  return c;
}

function startZkts(port: number, dataDir: string, extra: Record<string, string> = {}): Promise<ServerHandle> {
  return startServer('zkts', { port, dataDir, tickTime: 200, extra: { snapCount: '300', ...extra } });
}

describe(`SIGKILL at random moments (seed ${seed}, ${rounds} rounds)`, () => {
  test('every acknowledged create survives, and nothing that was never sent appears', async () => {
    const random = mulberry32(seed);
    const port = suitePort(SUITE_PORTS.crash, 0);
    const dataDir = freshDir();
    const acked = new Set<number>();
    let sent = 0;
    let server = await startZkts(port, dataDir);
    {
      const c = await connect(server.connectString);
      await c.create('/crash');
      await c.close();
    }
    for (let round = 0; round < rounds; round++) {
      const c = await connect(server.connectString);
      c.on('error', () => {});
      let writing = true;
      const writers: Promise<void>[] = [];
      // 16 pipelined writers until the kill; each records what was acknowledged.
      for (let w = 0; w < 16; w++) {
        writers.push(
          (async () => {
            while (writing) {
              const n = sent++;
              try {
                await c.create(`/crash/n${n}`, Buffer.from(`v${n}`));
                acked.add(n);
              } catch {
                return; // the server is gone: this writer is done
              }
            }
          })(),
        );
      }
      const killAfterMs = 30 + Math.floor(random() * 400);
      await new Promise((r) => setTimeout(r, killAfterMs));
      await server.kill();
      writing = false;
      await Promise.all(writers);
      await c.close({ closeSession: false, timeoutMs: 100 }).catch(() => {});

      server = await startZkts(port, dataDir);
      const check = await connect(server.connectString);
      const children = await check.getChildren('/crash');
      const present = new Set(children.map((name) => Number(name.slice(1))));
      const lost = [...acked].filter((n) => !present.has(n));
      assert.deepEqual(lost.slice(0, 10), [], `round ${round} (kill after ${killAfterMs} ms): acknowledged creates lost`);
      const neverSent = [...present].filter((n) => !(n >= 0 && n < sent));
      assert.deepEqual(neverSent, [], `round ${round}: znodes that were never sent`);
      // Spot-check data of acknowledged nodes.
      for (const n of [...acked].slice(-5)) {
        const { data } = await check.getData(`/crash/n${n}`);
        assert.equal(data?.toString(), `v${n}`);
      }
      await check.close();
    }
    assert.ok(acked.size > rounds * 10, `the load wrote something: ${acked.size} acknowledged creates`);
    await server.stop();
  });
});

describe('restarts and sessions', () => {
  test('a global session and its ephemeral survive a restart; an abandoned one expires', async () => {
    const port = suitePort(SUITE_PORTS.crash, 1);
    const dataDir = freshDir();
    let server = await startZkts(port, dataDir);
    const kept = await connect(server.connectString, { sessionTimeoutMs: 6000 });
    const abandoned = await connect(server.connectString, { sessionTimeoutMs: 1000 });
    await kept.create('/kept', null, { mode: CreateMode.ephemeral });
    await abandoned.create('/abandoned', null, { mode: CreateMode.ephemeral });
    const id = kept.sessionId;
    const password = kept.sessionPassword;
    await server.kill();
    await kept.close({ closeSession: false, timeoutMs: 100 }).catch(() => {});
    await abandoned.close({ closeSession: false, timeoutMs: 100 }).catch(() => {});

    server = await startZkts(port, dataDir);
    const resumed = await connect(server.connectString, { sessionTimeoutMs: 6000, sessionId: id, password });
    assert.equal(resumed.sessionId, id, 'the same session after the restart');
    assert.equal((await resumed.exists('/kept'))?.ephemeralOwner, id);
    // The abandoned session (1 s) expires after the restart and takes its ephemeral along.
    const deadline = Date.now() + 8000;
    while ((await resumed.exists('/abandoned')) !== null) {
      assert.ok(Date.now() < deadline, 'the abandoned session never expired');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.notEqual(await resumed.exists('/kept'), null, 'the resumed session kept its ephemeral');
    await resumed.close();
    await server.stop();
  });

  test('local sessions do not survive a restart', async () => {
    const port = suitePort(SUITE_PORTS.crash, 2);
    const dataDir = freshDir();
    const extra = { localSessionsEnabled: 'true' };
    let server = await startZkts(port, dataDir, extra);
    const local = await connect(server.connectString, { sessionTimeoutMs: 6000 });
    await local.create('/written-by-local', Buffer.from('x'));
    const id = local.sessionId;
    const password = local.sessionPassword;
    await server.kill();
    await local.close({ closeSession: false, timeoutMs: 100 }).catch(() => {});

    server = await startZkts(port, dataDir, extra);
    const again = createClient(server.connectString, { sessionTimeoutMs: 6000, sessionId: id, password });
    const expired = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 8000);
      again.once('expired', () => {
        clearTimeout(t);
        resolve(true);
      });
      again.once('connected', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    assert.equal(expired, true, 'a local session is gone after a restart: the client is told it expired');
    await again.close().catch(() => {});
    const check = await connect(server.connectString);
    assert.equal((await check.getData('/written-by-local')).data?.toString(), 'x', 'its writes are durable');
    await check.close();
    await server.stop();
  });
});
