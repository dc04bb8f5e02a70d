// Ensemble mode, first slice (src/main/driver.ts): three voters as separate processes elect a
// leader; writes on the leader are readable on both followers; SIGKILL the leader, a new leader
// is elected and accepts writes, and no acknowledged write is lost. srvr reports the role.
// Followers serve reads and forward writes to the leader: the follower answers its client once it
// has applied the committed txn, so the same session reads its write at once (on that follower),
// and the write is visible on every member.
// Global sessions on followers (LearnerSessionTracker): createSession and closeSession go to the
// leader; every member knows the session, so it resumes on another member with id + password and
// keeps its ephemerals; a session whose client goes away is expired by the leader, and its
// ephemerals disappear on every member.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { CreateMode } from '../../src/common/zk.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, leaderOf } from './harness/ensemble.js';

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
    const fwdAcked: string[] = []; // forwarded from followers, each with data 'w1'
    await lc.create('/ens', Buffer.from('root'));
    for (let n = 0; n < 20; n++) {
      await lc.create(`/ens/n${n}`, Buffer.from(`v${n}`));
      acked.push(`n${n}`);
    }

    // Readable on both followers; writes there are forwarded to the leader.
    for (const f of followers) {
      const fc = await connect(f.connectString);
      await eventually(`replication to ${f.port}`, async () => ((await fc.exists('/ens/n19')) !== null ? true : undefined));
      for (const n of acked) assert.equal((await fc.getData(`/ens/${n}`)).data?.toString(), `v${n.slice(1)}`);
      const name = `f${f.port}`;
      // Pipelined: replies in order, each after its txn is applied here (read-your-writes).
      const writes = [0, 1, 2].map((k) => fc.create(`/ens/${name}-${k}`, Buffer.from(`w${k}`)));
      const read = fc.getData(`/ens/${name}-2`);
      for (const w of writes) await w;
      assert.equal((await read).data?.toString(), 'w2');
      await fc.setData(`/ens/${name}-0`, Buffer.from('changed'));
      assert.equal((await fc.getData(`/ens/${name}-0`)).data?.toString(), 'changed');
      await assert.rejects(fc.create(`/ens/${name}-0`, null)); // NodeExists, through the leader
      fwdAcked.push(`${name}-1`);
    }
    // Every member has the followers' writes.
    for (const s of servers) {
      const c = s === leader ? lc : await connect(s.connectString);
      for (const f of followers) {
        await eventually(`/ens/f${f.port}-2 on ${s.port}`, async () =>
          (await c.exists(`/ens/f${f.port}-2`)) !== null ? true : undefined,
        );
        assert.equal((await c.getData(`/ens/f${f.port}-0`)).data?.toString(), 'changed');
      }
    }

    // Global sessions created on a follower.
    const on = new Map<ServerHandle, ZkClient>([[leader, lc]]);
    const clientOn = async (s: ServerHandle): Promise<ZkClient> => {
      let c = on.get(s);
      if (c === undefined) {
        c = await connect(s.connectString);
        on.set(s, c);
      }
      return c;
    };
    const owner = (id: bigint): bigint => BigInt.asUintN(64, id);
    const ownedEverywhere = async (path: string, id: bigint): Promise<void> => {
      for (const s of servers) {
        const c = await clientOn(s);
        const st = await eventually(`${path} on ${s.port}`, async () => (await c.exists(path)) ?? undefined);
        assert.equal(owner(st.ephemeralOwner), owner(id), `${path} owner on ${s.port}`);
      }
    };
    const goneEverywhere = async (path: string): Promise<void> => {
      for (const s of servers) {
        const c = await clientOn(s);
        await eventually(`${path} gone on ${s.port}`, async () => ((await c.exists(path)) === null ? true : undefined));
      }
    };
    const [f1, f2] = followers as [ServerHandle, ServerHandle];
    const gc = await connect(f1.connectString);
    const gid = gc.sessionId;
    assert.equal(Number(owner(gid) >> 56n), servers.indexOf(f1) + 1, 'the session id carries its server id');
    await gc.create('/ens/eph', Buffer.from('e'), { mode: CreateMode.ephemeral });
    await ownedEverywhere('/ens/eph', gid);
    // Resumed on another member with id + password: same session, same ephemeral.
    const password = gc.sessionPassword;
    await gc.close({ closeSession: false });
    const rc = createClient(f2.connectString, { sessionTimeoutMs: 6000, sessionId: gid, password });
    clients.push(rc);
    await rc.waitConnected(10_000);
    assert.equal(owner(rc.sessionId), owner(gid));
    assert.equal(owner((await rc.exists('/ens/eph'))!.ephemeralOwner), owner(gid));
    await rc.create('/ens/eph2', null, { mode: CreateMode.ephemeral });
    await ownedEverywhere('/ens/eph2', gid);
    // closeSession on a follower goes to the leader; the ephemeral goes everywhere.
    const cc = await connect(f2.connectString);
    await cc.create('/ens/eph-closed', null, { mode: CreateMode.ephemeral });
    await ownedEverywhere('/ens/eph-closed', cc.sessionId);
    await cc.close();
    await goneEverywhere('/ens/eph-closed');
    // The client goes away without closeSession: the leader expires the session.
    await rc.close({ closeSession: false });
    await goneEverywhere('/ens/eph');
    await goneEverywhere('/ens/eph2');
    for (const [s, c] of on) if (s !== leader) await c.close().catch(() => undefined);

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
      for (const n of fwdAcked) assert.equal((await c.getData(`/ens/${n}`)).data?.toString(), 'w1');
    }
    // A write on the surviving follower is forwarded to the new leader.
    const follower = live.find((s) => s !== next)!;
    const fc2 = await connect(follower.connectString);
    await eventually('a forwarded write under the new leader', async () => {
      await fc2.create('/ens/after-f', Buffer.from('x'));
      return true;
    });
    assert.equal((await fc2.getData('/ens/after-f')).data?.toString(), 'x');
    await eventually('/ens/after-f on the new leader', async () => ((await nc.exists('/ens/after-f')) !== null ? true : undefined));
  });
});
