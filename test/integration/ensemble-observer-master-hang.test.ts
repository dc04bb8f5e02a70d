// An observer master that hangs (zab/observer-master.ts leaveQuietMaster): 3 voters + 2 observers
// fed by the followers, as separate processes. SIGSTOP the follower that feeds observer A: the
// process lives and its connections stay open, but it sends nothing. A hears nothing from it for
// syncLimit ticks and moves to the other follower (not the leader) without an election
// (zk_observer_master_quiet_leaves counts it), while a zkts local session and a global session on
// A keep writing and reading with no error and no disconnect. SIGCONT it: it finds out that its
// leader dropped it, joins again, A goes back to it, and every member ends on the same committed
// zxid with every acknowledged write on A and on the resumed follower. Each move, A tells the
// member it leaves (OBSERVERLEAVE): the other follower feeds it nothing more once it moved back
// (zk_observer_stray_feed_messages on A), where before it went on until its record of A expired.
//
// zkts-only: observer masters and local sessions that survive a master change are zkts's.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, memberMode } from './harness/ensemble.js';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];
const stopped = new Set<number>();

/**
 * The server process behind a handle and its launcher (src/main/launcher.ts: on Node 20 with more
 * than one session worker the handle's process only holds the client port and mirrors a child,
 * the server), both to be stopped together.
 */
function processesOf(s: ServerHandle): number[] {
  const pids = [s.pid];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === s.pid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function signal(pids: readonly number[], sig: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
    if (sig === 'SIGSTOP') stopped.add(pid);
    else stopped.delete(pid);
  }
}

after(async () => {
  signal([...stopped], 'SIGCONT');
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') servers.forEach((s, i) => writeFileSync(join(tmpdir(), `zkts-obs-master-hang-${i + 1}.log`), s.logs()));
  if (process.env['ZKTS_TEST_KEEP_DIRS'] !== '1') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The mntr figures of the member on `port` (empty when it does not answer). */
async function mntr(port: number): Promise<Map<string, string>> {
  try {
    const text = await fourLetter(port, 'mntr', 2000);
    return new Map(text.split('\n').filter((l) => l.startsWith('zk_')).map((l) => l.split('\t') as [string, string]));
  } catch {
    return new Map();
  }
}

async function figure(port: number, key: string): Promise<number | undefined> {
  const v = (await mntr(port)).get(`zk_${key}`);
  return v === undefined ? undefined : Number(v);
}

/** Writes (create, then a read) one at a time on `client` until stopped. */
function writer(client: ZkClient, prefix: string) {
  let stop = false;
  const acked: string[] = [];
  const errors: string[] = [];
  let reads = 0;
  const done = (async () => {
    for (let i = 0; !stop && i < 100_000 && errors.length <= 20; i++) {
      const path = `/hang/${prefix}-${String(i).padStart(6, '0')}`;
      try {
        await client.create(path, null);
        acked.push(path);
        if ((await client.exists(path)) !== null) reads++;
      } catch (e) {
        errors.push(String(e));
      }
    }
  })();
  return {
    acked,
    errors,
    reads: () => reads,
    stop: async () => {
      stop = true;
      await done;
    },
  };
}

describe('an observer master that hangs', () => {
  test('3 voters + 2 observers fed by followers: SIGSTOP the follower feeding an observer, then SIGCONT it', { timeout: 240_000 }, async () => {
    const ports = [0, 1, 2, 3, 4].map((i) => suitePort(SUITE_PORTS.observerMasterLiveness, i));
    const cfg: Record<string, string> = {};
    ports.forEach((p, i) => (cfg[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i >= 3 ? ':observer' : ''}`));
    cfg['observerMasterPort'] = String(ports[0]! + 5);
    if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') cfg['logLevel'] = 'info';
    const tickTime = 300; // syncLimit 5 ticks: 1.5 s; initLimit 10: 3 s
    for (let i = 0; i < 5; i++) {
      const d = mkdtempSync(join(tmpdir(), 'zkts-obs-master-hang-'));
      dirs.push(d);
      writeFileSync(join(d, 'myid'), `${i + 1}\n`);
      servers.push(await startServer('zkts', { port: ports[i]!, dataDir: d, tickTime, maxSessionTimeout: 12_000, extra: i >= 3 ? { ...cfg, peerType: 'observer' } : cfg }));
    }
    const voters = servers.slice(0, 3);
    const [obsA, obsB] = servers.slice(3) as [ServerHandle, ServerHandle];
    const idOf = (s: ServerHandle): number => servers.indexOf(s) + 1;

    const leader = await eventually('a leader and two followers', async () => {
      const modes = await Promise.all(voters.map((s) => memberMode(s.port)));
      const leaders = voters.filter((_, i) => modes[i] === 'leader');
      return leaders.length === 1 && modes.filter((m) => m === 'follower').length === 2 ? leaders[0] : undefined;
    }, 60_000);
    const [masterA, masterB] = voters.filter((s) => s !== leader) as [ServerHandle, ServerHandle];
    const mastersAre = async (a: ServerHandle, b: ServerHandle): Promise<true | undefined> => {
      const [ma, mb, onLeader] = await Promise.all([figure(obsA.port, 'learner_master'), figure(obsB.port, 'learner_master'), figure(leader.port, 'synced_observers')]);
      return ma === idOf(a) && mb === idOf(b) && onLeader === 0 ? true : undefined;
    };
    await eventually('each observer fed by its follower', () => mastersAre(masterA, masterB), 60_000);

    // A local and a global session on observer A, both writing and reading all the time.
    const sessions = [true, false].map((localSession) => {
      const c = createClient(obsA.connectString, { sessionTimeoutMs: 10_000, localSession });
      clients.push(c);
      return c;
    });
    const disconnects: string[] = [];
    for (const c of sessions) {
      c.on('disconnected', (why: unknown) => disconnects.push(String(why)));
      await c.waitConnected(10_000);
    }
    const ids = sessions.map((c) => c.sessionId);
    await sessions[0]!.create('/hang', null);
    const writers = [writer(sessions[0]!, 'local'), writer(sessions[1]!, 'global')];
    const ackedAtLeast = (n: number, what: string): Promise<true> =>
      eventually(what, async () => (writers.every((w) => w.acked.length >= n || w.errors.length > 0) ? true : undefined), 60_000);

    try {
      await ackedAtLeast(20, 'writes through observer A');
      assert.equal(await figure(obsA.port, 'observer_master_quiet_leaves'), 0);

      // The follower feeding A stops: alive, connected, silent. A leaves it for the other one.
      const t0 = performance.now();
      const hung = processesOf(masterA);
      signal(hung, 'SIGSTOP');
      const atStop = writers.map((w) => w.acked.length);
      await eventually('observer A on the live follower, the leader feeding none', () => mastersAre(masterB, masterB), 60_000);
      console.log(`# observer A moved off its stopped master in ${(performance.now() - t0).toFixed(0)} ms (syncLimit ${5 * tickTime} ms)`);
      assert.equal(await figure(obsA.port, 'observer_master_quiet_leaves'), 1, 'left for silence, not by an election');
      await ackedAtLeast(Math.max(...atStop) + 20, 'writes through observer A after its master stopped');

      // It resumes: it learns that its leader dropped it, joins again, and A goes back to it.
      signal(hung, 'SIGCONT');
      await eventually('observer A back on its master', () => mastersAre(masterA, masterB), 90_000);
      // A told masterB it left (OBSERVERLEAVE): masterB feeds it nothing more, at once rather than
      // until its record of A went silent for syncLimit (a write through A is an INFORM to it).
      const strayAtBack = await figure(obsA.port, 'observer_stray_feed_messages');
      const atBack = writers.map((w) => w.acked.length);
      await ackedAtLeast(Math.max(...atBack) + 30, 'writes through observer A after it moved back');
      const strays = (await figure(obsA.port, 'observer_stray_feed_messages'))! - strayAtBack!;
      assert.ok(strays < 5, `the master A left still fed it: ${strays} messages over 30 writes`);
      await eventually('masterB feeds only observer B', async () => ((await figure(masterB.port, 'synced_observers')) === 1 ? true : undefined), 30_000);
    } finally {
      for (const w of writers) await w.stop();
    }

    // No error, no disconnect, the same sessions; the ensemble converges, every write is there.
    assert.deepEqual(writers.flatMap((w) => w.errors), [], 'the sessions saw errors');
    assert.deepEqual(disconnects, [], 'a session was disconnected');
    assert.deepEqual(sessions.map((c) => c.sessionId), ids);
    for (const c of sessions) assert.equal(c.state, 'connected');
    assert.ok(writers.every((w) => w.reads() > 0));
    assert.equal(await memberMode(masterA.port), 'follower');
    await eventually('every member on the same committed zxid', async () => {
      const z = await Promise.all(servers.map(async (s) => (await mntr(s.port)).get('zk_last_committed_zxid')));
      return z.every((x) => x !== undefined && x === z[0]) ? true : undefined;
    }, 30_000);
    const onA = new Set(await sessions[0]!.getChildren('/hang'));
    const reader = createClient(masterA.connectString, { sessionTimeoutMs: 10_000, localSession: true });
    clients.push(reader);
    await reader.waitConnected(10_000);
    const onResumed = new Set(await reader.getChildren('/hang'));
    for (const p of writers.flatMap((w) => w.acked)) {
      const name = p.slice('/hang/'.length);
      assert.ok(onA.has(name), `acknowledged write ${p} missing on observer A`);
      assert.ok(onResumed.has(name), `acknowledged write ${p} missing on the resumed follower`);
    }
  });
});
