// Ensemble mode, first slice (src/main/driver.ts): three voters as separate processes elect a
// leader; writes on the leader are readable on both followers; SIGKILL the leader, a new leader
// is elected and accepts writes, and no acknowledged write is lost. srvr reports the role.
// Followers refuse writes (request forwarding is not done yet) and serve reads.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function connect(cs: string): Promise<ZkClient> {
  const c = createClient(cs, { sessionTimeoutMs: 6000 });
  clients.push(c);
  await c.waitConnected(10_000);
  return c;
}

async function mode(port: number): Promise<string | null> {
  try {
    const text = await fourLetter(port, 'srvr', 1000);
    return /Mode: (\w+)/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the live members report exactly one leader and the rest followers. */
async function leaderOf(live: ServerHandle[]): Promise<ServerHandle> {
  return eventually('a leader and followers', async () => {
    const modes = await Promise.all(live.map((s) => mode(s.port)));
    const leaders = live.filter((_, i) => modes[i] === 'leader');
    if (leaders.length === 1 && modes.filter((m) => m === 'follower').length === live.length - 1) return leaders[0];
    return undefined;
  });
}

// zkts's own ensemble mode: it always runs zkts processes, whatever ZKTS_TEST_TARGET says.
describe('ensemble', () => {
  test('3 voters: elect, replicate, survive the leader SIGKILL', async () => {
    const ports = [0, 1, 2].map((i) => suitePort(SUITE_PORTS.ensemble, i));
    const extra: Record<string, string> = {};
    ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') extra['logLevel'] = 'info';
    for (let i = 0; i < 3; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zkts-ensemble-'));
      dirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      servers.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 200, extra }));
    }

    const leader = await leaderOf(servers);
    const followers = servers.filter((s) => s !== leader);

    // Writes on the leader.
    const lc = await connect(leader.connectString);
    const acked: string[] = [];
    await lc.create('/ens', Buffer.from('root'));
    for (let n = 0; n < 20; n++) {
      await lc.create(`/ens/n${n}`, Buffer.from(`v${n}`));
      acked.push(`n${n}`);
    }

    // Readable on both followers; writes there are refused (no forwarding yet).
    for (const f of followers) {
      const fc = await connect(f.connectString);
      await eventually(`replication to ${f.port}`, async () => ((await fc.exists('/ens/n19')) !== null ? true : undefined));
      for (const n of acked) assert.equal((await fc.getData(`/ens/${n}`)).data?.toString(), `v${n.slice(1)}`);
      await assert.rejects(fc.create('/refused', null));
    }

    // SIGKILL the leader: the two followers elect a new one, which accepts writes.
    await lc.close().catch(() => undefined);
    await leader.kill();
    const live = followers;
    const next = await leaderOf(live);
    const nc = await connect(next.connectString);
    await eventually('a write on the new leader', async () => {
      await nc.create('/ens/after', Buffer.from('after'));
      return true;
    }).catch((e: unknown) => {
      if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') for (const s of live) console.log(s.port, s.logs());
      throw e;
    });
    // No acknowledged write lost, on either survivor.
    for (const s of live) {
      const c = s === next ? nc : await connect(s.connectString);
      await eventually(`/ens/after on ${s.port}`, async () => ((await c.exists('/ens/after')) !== null ? true : undefined));
      for (const n of acked) assert.equal((await c.getData(`/ens/${n}`)).data?.toString(), `v${n.slice(1)}`);
    }
  });
});
