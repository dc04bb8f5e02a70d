// Ensemble sync in the real driver (src/main/driver.ts), three voters as separate processes,
// ports 22400-22499 (SUITE_PORTS.ensembleSync):
//   (a) a follower stopped while a few writes happen catches up by DIFF on restart and serves
//       them (its client reads them there);
//   (b) a follower stopped while more writes happen than the leader keeps in memory after its
//       snapshots (snapCount=10: a snapshot every 5-9 txns, 5 entries retained) gets SNAP on
//       restart: every znode (data and stat) and the ephemeral owners match the leader's, and a
//       global session created while it was down resumes on it; restarted once more, it
//       recovers that state from its own disk (the installed snapshot was made durable) and
//       syncs by DIFF;
//   (c) durable truncation has its deterministic test in test/main/storage/sync-stage.test.ts.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { CreateMode } from '../../src/common/zk.js';
import { ZkDatabase } from '../../src/main/pipeline/database.js';
import { recover } from '../../src/main/storage/recovery.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { suitePort } from './harness/target.js';
import { eventually, leaderOf } from './harness/ensemble.js';

/** This suite's block (SUITE_PORTS.ensembleSync); the quorum ports are client port + 1. */
const base = 22400;

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function connect(cs: string, extra: { sessionId?: bigint; password?: Uint8Array } = {}): Promise<ZkClient> {
  const c = createClient(cs, { sessionTimeoutMs: 8000, ...extra });
  clients.push(c);
  await c.waitConnected(15_000);
  return c;
}

/** Every znode under `root` as "path data czxid mzxid pzxid version cversion owner", sorted. */
async function listing(c: ZkClient, root: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [root];
  for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
    const { data, stat } = await c.getData(path);
    const owner = BigInt.asUintN(64, stat.ephemeralOwner).toString(16);
    out.push(`${path} ${Buffer.from(data ?? []).toString()} ${stat.czxid} ${stat.mzxid} ${stat.pzxid} ${stat.version} ${stat.cversion} ${owner}`);
    for (const name of await c.getChildren(path)) stack.push(`${path}/${name}`);
  }
  return out.sort();
}

/** The same listing from a data directory, as recovery rebuilds it (the server is stopped). */
function listingOnDisk(dataDir: string, root: string): string[] {
  const db = new ZkDatabase({ extendedTypesEnabled: true });
  recover(db, { dataDir, dataLogDir: dataDir });
  const out: string[] = [];
  db.tree.forEachNode((path, n) => {
    if (path !== root && !path.startsWith(`${root}/`)) return;
    const owner = BigInt.asUintN(64, n.ephemeralOwner).toString(16);
    // Clients see 2 * cversion - numChildren (DataNode.copyStat); the tree keeps ZooKeeper's
    // persisted cversion.
    const cversion = 2 * n.cversion - n.childCount;
    out.push(`${path} ${Buffer.from(n.data ?? []).toString()} ${n.czxid} ${n.mzxid} ${n.pzxid} ${n.version} ${cversion} ${owner}`);
  });
  return out.sort();
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('ensemble sync', () => {
  test('3 voters: DIFF after a short outage, SNAP after a long one, the installed snapshot durable', async () => {
    await scenario().catch((e: unknown) => {
      if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') for (const s of servers) console.log(s.port, s.logs());
      throw e;
    });
  });
});

async function scenario(): Promise<void> {
  {
    const ports = [0, 1, 2].map((i) => suitePort(base, i));
    const extra: Record<string, string> = { snapCount: '10', logLevel: 'info' };
    ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    const dataDirs: string[] = [];
    const start = async (i: number): Promise<ServerHandle> => {
      const s = await startServer('zkts', { port: ports[i]!, dataDir: dataDirs[i]!, tickTime: 200, extra });
      servers.push(s);
      return s;
    };
    const live: ServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zkts-ensemble-sync-'));
      dirs.push(dataDir);
      dataDirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      live.push(await start(i));
    }
    const debug = (e: unknown): never => {
      throw e;
    };

    const leader = await leaderOf(live);
    const lc = await connect(leader.connectString);
    await lc.create('/sync', Buffer.from('root'));
    for (let n = 0; n < 4; n++) await lc.create(`/sync/early${n}`, Buffer.from(`e${n}`));
    const fIndex = live.findIndex((s) => s !== leader);
    const fId = fIndex + 1;
    let follower = live[fIndex]!;
    const fc0 = await connect(follower.connectString);
    await eventually('replicated to the follower', async () => ((await fc0.exists('/sync/early3')) !== null ? true : undefined));
    await fc0.close();

    // (a) A short outage: 3 txns, fewer than the 5 the leader keeps: DIFF.
    await follower.stop();
    for (let n = 0; n < 3; n++) await lc.create(`/sync/a${n}`, Buffer.from(`a${n}`));
    follower = await start(fIndex);
    await leaderOf([leader, follower, ...live.filter((s) => s !== leader && s !== live[fIndex])]).catch(debug);
    const fa = await connect(follower.connectString);
    for (let n = 0; n < 3; n++) {
      const got = await eventually(`/sync/a${n} on the follower`, async () => (await fa.exists(`/sync/a${n}`)) ?? undefined);
      assert.ok(got);
      assert.equal((await fa.getData(`/sync/a${n}`)).data?.toString(), `a${n}`);
    }
    assert.ok(leader.logs().includes(`"to":${fId},"kind":"DIFF"`), 'the leader synced the follower by DIFF');
    assert.equal(count(follower.logs(), 'installed a snapshot from the leader'), 0);
    await fa.close();

    // (b) A long outage: far more txns than the leader keeps in memory: SNAP.
    await follower.stop();
    for (let n = 0; n < 60; n++) await lc.create(`/sync/b${n}`, Buffer.from(`b${n}`));
    for (let n = 0; n < 10; n++) await lc.setData(`/sync/b${n}`, Buffer.from(`b${n}-changed`));
    for (let n = 0; n < 2; n++) await lc.delete(`/sync/early${n}`);
    const eph = await connect(leader.connectString);
    await eph.create('/sync/eph', Buffer.from('mine'), { mode: CreateMode.ephemeral });
    for (let n = 60; n < 70; n++) await lc.create(`/sync/b${n}`, Buffer.from(`b${n}`));
    assert.ok(count(leader.logs(), 'in-memory log trimmed after a snapshot') > 0, 'the leader trimmed its in-memory log');
    follower = await start(fIndex);
    const fb = await connect(follower.connectString);
    await eventually('/sync/b69 on the follower', async () => ((await fb.exists('/sync/b69')) !== null ? true : undefined)).catch(debug);
    assert.equal(count(follower.logs(), 'installed a snapshot from the leader (SNAP sync)'), 1, 'the follower installed one snapshot');
    assert.ok(leader.logs().includes('sending a snapshot (SNAP sync)'));
    const onLeader = await listing(lc, '/sync');
    assert.deepEqual(await listing(fb, '/sync'), onLeader);
    assert.ok(onLeader.some((l) => l.startsWith('/sync/eph mine') && l.endsWith(BigInt.asUintN(64, eph.sessionId).toString(16))));
    // The session created while the follower was down is known there (from the snapshot).
    const password = eph.sessionPassword;
    await eph.close({ closeSession: false });
    const resumed = await connect(follower.connectString, { sessionId: eph.sessionId, password });
    assert.equal(BigInt.asUintN(64, resumed.sessionId), BigInt.asUintN(64, eph.sessionId));
    assert.equal((await resumed.getData('/sync/eph')).data?.toString(), 'mine');

    // Writes after the SNAP reach the follower through its new log.
    await lc.create('/sync/after-snap', Buffer.from('x'));
    await eventually('/sync/after-snap on the follower', async () => ((await fb.exists('/sync/after-snap')) !== null ? true : undefined));
    const expected = await listing(lc, '/sync');
    await fb.close();

    // Restart: the follower recovers the installed snapshot (and the log after it) from disk.
    await follower.stop();
    assert.deepEqual(listingOnDisk(dataDirs[fIndex]!, '/sync'), expected, 'the follower\'s disk holds the synced state');
    const diffsBefore = count(leader.logs(), `"to":${fId},"kind":"DIFF"`);
    follower = await start(fIndex);
    assert.match(follower.logs(), /snapshot loaded/);
    const fc = await connect(follower.connectString);
    await eventually('synced again', async () => (count(leader.logs(), `"to":${fId},"kind":"DIFF"`) > diffsBefore ? true : undefined)).catch(debug);
    assert.equal(count(follower.logs(), 'installed a snapshot from the leader'), 0, 'no SNAP needed after the restart');
    assert.deepEqual(await listing(fc, '/sync'), await listing(lc, '/sync'));
    await resumed.close();
  }
}
