// No acknowledged write is lost across an ensemble's crashes: three voters take writes from
// clients that know every member, while members are SIGKILLed at seeded random moments and
// restarted on their data (snapCount is small, so snapshots, log trimming and SNAP / DIFF / TRUNC
// syncs all happen under fire). At the end every member holds every acknowledged znode, no znode
// that was never sent, and the same set of znodes as the others.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { mulberry32 } from '../harness/prng.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, memberMode } from './harness/ensemble.js';

const seed = Number(process.env['ZKTS_ENSEMBLE_CRASH_SEED'] ?? 20261121);
const rounds = Number(process.env['ZKTS_ENSEMBLE_CRASH_ROUNDS'] ?? 6);
const dirs: string[] = [];
const members: (ServerHandle | null)[] = [];
const clients: ZkClient[] = [];

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const m of members) if (m !== null && !m.exited) await m.kill();
  if (process.env['ZKTS_TEST_KEEP_DIRS'] !== '1') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ensemble crashes', () => {
  test(`SIGKILL members at random moments under writes (seed ${seed}, ${rounds} rounds)`, { timeout: 300_000 }, async () => {
    const random = mulberry32(seed); // replay a failure with ZKTS_ENSEMBLE_CRASH_SEED
    const ports = [0, 1, 2].map((i) => suitePort(SUITE_PORTS.ensembleCrash, i));
    const extra: Record<string, string> = { snapCount: '40' };
    ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    const dataDirs = ports.map((_, i) => {
      const d = mkdtempSync(join(tmpdir(), 'zkts-ens-crash-'));
      dirs.push(d);
      writeFileSync(join(d, 'myid'), `${i + 1}\n`);
      return d;
    });
    const start = (i: number): Promise<ServerHandle> =>
      startServer('zkts', { port: ports[i]!, dataDir: dataDirs[i]!, tickTime: 300, maxSessionTimeout: 10_000, extra });
    for (let i = 0; i < 3; i++) members.push(await start(i));
    const quorumUp = async (): Promise<boolean> => {
      const ms = await Promise.all(members.map((m) => (m === null ? null : memberMode(m.port))));
      return ms.filter((m) => m === 'leader').length === 1 && ms.filter((m) => m === 'follower').length >= 1;
    };
    await eventually('a leader', async () => ((await quorumUp()) ? true : undefined), 40_000);

    // Writers: each knows every member, creates sequentially, and records what was acknowledged.
    const all = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const setup = createClient(all, { sessionTimeoutMs: 10_000 });
    clients.push(setup);
    await setup.waitConnected(10_000);
    await setup.create('/crash', null);
    const acked = new Set<string>();
    const sent = new Set<string>();
    let stop = false;
    const writer = async (w: number): Promise<void> => {
      const c = createClient(all, { sessionTimeoutMs: 10_000 });
      clients.push(c);
      for (let n = 0; !stop && n < 100_000; n++) {
        const name = `w${w}-${String(n).padStart(6, '0')}`;
        sent.add(name);
        try {
          await c.create(`/crash/${name}`, Buffer.from(name));
          acked.add(name);
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // ConnectionLoss and the like: outcome unknown
        }
      }
    };
    const writers = [0, 1, 2].map((w) => writer(w));

    for (let round = 0; round < rounds; round++) {
      await new Promise((r) => setTimeout(r, 300 + random() * 1500));
      const victim = Math.floor(random() * 3);
      const m = members[victim]!;
      const before = acked.size;
      await m.kill();
      members[victim] = null;
      await new Promise((r) => setTimeout(r, random() * 1500));
      members[victim] = await start(victim);
      await eventually(`a leader after round ${round}`, async () => ((await quorumUp()) ? true : undefined), 40_000);
      await eventually(`writes after round ${round}`, async () => (acked.size > before + 20 ? true : undefined), 40_000);
    }
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.size > 100, `only ${acked.size} writes acknowledged`);

    // Every member converges on the same znodes, holding every acknowledged one and nothing unsent.
    const listings: Set<string>[] = [];
    for (const m of members) {
      const c = createClient(m!.connectString, { sessionTimeoutMs: 10_000 });
      clients.push(c);
      await c.waitConnected(15_000);
      await c.sync('/crash');
      listings.push(new Set(await c.getChildren('/crash')));
    }
    for (const [i, names] of listings.entries()) {
      for (const a of acked) assert.ok(names.has(a), `acknowledged ${a} missing on member ${i + 1} (seed ${seed})`);
      for (const n of names) assert.ok(sent.has(n), `${n} on member ${i + 1} was never sent`);
      assert.deepEqual([...names].sort(), [...listings[0]!].sort(), `member ${i + 1} differs from member 1`);
    }
  });
});
