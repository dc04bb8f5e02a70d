// Observer masters follow voter failures (zab/observer-master.ts observerMasterOf with the
// observer's view of the voters): 3 voters + 2 observers fed by the followers, as separate
// processes. SIGKILL the follower that feeds observer A: A moves to the other follower (not the
// leader, and it does not cycle back to the dead one), and a zkts local session on A keeps
// writing and reading with no error and no disconnect. Restart the killed follower: A moves back
// to it (it asks while still learning from the other one), again with no disconnect, and
// observer B, whose master never failed, keeps its master throughout. Then SIGKILL the leader:
// both observers learn from the one follower left (before, those whose turn was the dead leader
// asked it until initLimit, then learnt from the new leader), still with no disconnect.
//
// Ports: this suite has no block of its own (21000-23999 are all given out); it uses the
// ensemble-crash suite's block at server indexes 3..7, which that suite (0..2) does not use.
// zkts-only: observer masters and local sessions that survive a master change are zkts's.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, memberMode } from './harness/ensemble.js';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  if (process.env['ZKTS_TEST_KEEP_DIRS'] !== '1') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A mntr figure of the member on `port`, or undefined (not reported, or no answer). */
async function mntr(port: number, key: string): Promise<number | undefined> {
  try {
    const v = new RegExp(`zk_${key}\\t(\\d+)`).exec(await fourLetter(port, 'mntr', 2000))?.[1];
    return v === undefined ? undefined : Number(v);
  } catch {
    return undefined;
  }
}

describe('observer masters follow voter failures', () => {
  test('3 voters + 2 observers fed by followers: SIGKILL the follower feeding an observer, restart it, then SIGKILL the leader', { timeout: 240_000 }, async () => {
    const ports = [3, 4, 5, 6, 7].map((i) => suitePort(SUITE_PORTS.ensembleCrash, i));
    const cfg: Record<string, string> = {};
    ports.forEach((p, i) => (cfg[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i >= 3 ? ':observer' : ''}`));
    cfg['observerMasterPort'] = String(ports[0]! + 5);
    if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') cfg['logLevel'] = 'info';
    const dataDirs = ports.map((_, i) => {
      const d = mkdtempSync(join(tmpdir(), 'zkts-obs-masters-'));
      dirs.push(d);
      writeFileSync(join(d, 'myid'), `${i + 1}\n`);
      return d;
    });
    const start = (i: number): Promise<ServerHandle> =>
      startServer('zkts', {
        port: ports[i]!,
        dataDir: dataDirs[i]!,
        tickTime: 300,
        maxSessionTimeout: 12_000,
        extra: i >= 3 ? { ...cfg, peerType: 'observer' } : cfg,
      });
    for (let i = 0; i < 5; i++) servers.push(await start(i));
    const voters = servers.slice(0, 3);
    const [obsA, obsB] = servers.slice(3) as [ServerHandle, ServerHandle];
    const idOf = (s: ServerHandle): number => servers.indexOf(s) + 1;

    // The followers take the observers in turn (4 -> the first follower, 5 -> the second), so
    // the leader feeds none.
    const leader = await eventually('a leader and two followers', async () => {
      const modes = await Promise.all(voters.map((s) => memberMode(s.port)));
      const leaders = voters.filter((_, i) => modes[i] === 'leader');
      return leaders.length === 1 && modes.filter((m) => m === 'follower').length === 2 ? leaders[0] : undefined;
    }, 60_000);
    const [masterA, masterB] = voters.filter((s) => s !== leader) as [ServerHandle, ServerHandle];
    const mastersAre = async (a: ServerHandle, b: ServerHandle): Promise<true | undefined> => {
      const [ma, mb, onLeader] = await Promise.all([mntr(obsA.port, 'learner_master'), mntr(obsB.port, 'learner_master'), mntr(leader.port, 'synced_observers')]);
      return ma === idOf(a) && mb === idOf(b) && onLeader === 0 ? true : undefined;
    };
    await eventually('each observer fed by its follower', () => mastersAre(masterA, masterB), 60_000);

    // A zkts local session on observer A: writes (through the leader) and reads, all the time.
    const client = createClient(obsA.connectString, { sessionTimeoutMs: 10_000, localSession: true });
    clients.push(client);
    const disconnects: string[] = [];
    client.on('disconnected', (why: unknown) => disconnects.push(String(why)));
    await client.waitConnected(10_000);
    const session = client.sessionId;
    await client.create('/om', null);
    let stop = false;
    const acked: number[] = [];
    const errors: string[] = [];
    let reads = 0;
    const loop = (async () => {
      for (let i = 0; !stop && i < 100_000 && errors.length <= 20; i++) {
        try {
          await client.create(`/om/n-${String(i).padStart(6, '0')}`, null);
          acked.push(i);
          if ((await client.exists('/om')) !== null) reads++;
        } catch (e) {
          errors.push(String(e));
        }
      }
    })();
    const ackedAtLeast = (n: number, what: string): Promise<true> =>
      eventually(what, async () => (acked.length >= n || errors.length > 0 ? true : undefined), 60_000);

    try {
      await ackedAtLeast(30, 'writes through observer A');

      // The follower feeding A dies: A moves to the other follower, and stays fed by a follower.
      await masterA.kill();
      const atKill = acked.length;
      await eventually('observer A on the live follower, the leader feeding none', () => mastersAre(masterB, masterB), 40_000);
      await ackedAtLeast(atKill + 30, 'writes through observer A after its master died');

      // It comes back: A returns to it; B (on its own master all along) is not moved.
      const restarted = await start(servers.indexOf(masterA));
      servers[servers.indexOf(masterA)] = restarted;
      const bMasters = new Set<number | undefined>();
      await eventually('observer A back on its master', async () => {
        bMasters.add(await mntr(obsB.port, 'learner_master'));
        return mastersAre(restarted, masterB);
      }, 60_000);
      const atReturn = acked.length;
      await ackedAtLeast(atReturn + 30, 'writes through observer A after it moved back');
      bMasters.delete(undefined); // a mntr that timed out on a loaded machine
      assert.deepEqual([...bMasters], [idOf(masterB)], 'observer B changed masters');

      // The leader dies: the survivors elect, and both observers learn from the one follower
      // left, none from the dead leader (whose turn some of them now are) nor the new leader.
      await leader.kill();
      const atLeaderKill = acked.length;
      const survivors = voters.map((v) => (v === masterA ? restarted : v)).filter((v) => v !== leader);
      const [newLeader, lastFollower] = await eventually('a new leader', async () => {
        const modes = await Promise.all(survivors.map((s) => memberMode(s.port)));
        const i = modes.indexOf('leader');
        return i >= 0 && modes[1 - i] === 'follower' ? [survivors[i]!, survivors[1 - i]!] : undefined;
      }, 60_000);
      await eventually('both observers on the follower left', async () => {
        const [ma, mb, onLeader] = await Promise.all([mntr(obsA.port, 'learner_master'), mntr(obsB.port, 'learner_master'), mntr(newLeader.port, 'synced_observers')]);
        return ma === idOf(lastFollower) && mb === idOf(lastFollower) && onLeader === 0 ? true : undefined;
      }, 40_000);
      await ackedAtLeast(atLeaderKill + 30, 'writes through observer A after the leader died');
    } finally {
      stop = true;
      await loop;
    }

    // No error, no disconnect; the same session throughout; every acknowledged write is there.
    assert.deepEqual(errors, [], 'the local session saw errors');
    assert.deepEqual(disconnects, [], 'the local session was disconnected');
    assert.equal(client.state, 'connected');
    assert.equal(client.sessionId, session);
    assert.ok(reads > 0);
    const children = new Set(await client.getChildren('/om'));
    for (const i of acked) assert.ok(children.has(`n-${String(i).padStart(6, '0')}`), `acknowledged write ${i} missing on observer A`);
  });
});
