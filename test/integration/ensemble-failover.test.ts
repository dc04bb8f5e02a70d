// The no-disconnect leader change (issue 4, item 6), with clients nobody here wrote: 3 voters and
// 2 observers as separate processes; kazoo writes through observer A, node-zookeeper-client
// writes through a follower, and a zkts local session keeps reading on observer B. SIGKILL the
// leader under that load, then check that:
//   - writes resume on their own, with no error reported to either client (a write that was in
//     flight at the kill waits for the new leader instead of failing);
//   - no client sees a disconnect (kazoo stays CONNECTED, node-zookeeper-client never emits
//     `disconnected`), and every session keeps its id and its ephemerals;
//   - the local session's reads go on through the election;
//   - every acknowledged write is on every surviving member.
// Apache ZooKeeper closes every client connection of a learner that loses its leader, so this
// suite is zkts-only by design.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { runKazoo, startKazoo } from './harness/kazoo.js';
import { call, nzkConnect, startHolder, zookeeper, type Client as NzkClient } from './harness/nzk.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, memberMode } from './harness/ensemble.js';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];
const cleanups: (() => unknown)[] = [];

after(async () => {
  for (const f of cleanups) await f();
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  if (process.env['ZKTS_TEST_KEEP_DIRS'] !== '1') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One leader among the voters, the other voters following, every observer observing. */
async function settled(voters: ServerHandle[], observers: ServerHandle[]): Promise<ServerHandle> {
  return eventually('a leader, followers and observers', async () => {
    const vm = await Promise.all(voters.map((s) => memberMode(s.port)));
    const om = await Promise.all(observers.map((s) => memberMode(s.port)));
    const leaders = voters.filter((_, i) => vm[i] === 'leader');
    if (leaders.length !== 1 || vm.filter((m) => m === 'follower').length !== voters.length - 1) return undefined;
    return om.every((m) => m === 'observer') ? leaders[0] : undefined;
  });
}

/** kazoo on one member only (no failover possible): writes until told to stop. */
const kazooWriter = String.raw`
states = []
zk = KazooClient(hosts=HOSTS, timeout=10.0)
zk.start(timeout=15)
zk.add_listener(lambda st: states.append(str(st)))
sid = zk.client_id[0]
zk.ensure_path('/fo')
zk.create('/fo/eph-kz', b'e', ephemeral=True)
stop = threading.Event()
def stopper():
    recv()
    stop.set()
threading.Thread(target=stopper, daemon=True).start()
acked = []
errors = []
i = 0
t0 = time.time()
send({'ready': '%x' % sid})
while not stop.is_set() and time.time() - t0 < 90 and i < 200000:
    try:
        zk.create('/fo/k-%06d' % i, b'x')
        acked.append(i)
        if len(acked) % 20 == 0:
            send({'acked': len(acked)})
    except Exception as e:
        errors.append(repr(e))
        if len(errors) > 20:
            break
    i += 1
eph = zk.exists('/fo/eph-kz')
result({'session': '%x' % sid, 'sessionAfter': '%x' % zk.client_id[0], 'states': states, 'acked': acked,
        'errors': errors, 'ephOwner': ('%x' % eph.ephemeralOwner) if eph else None, 'state': str(zk.state)})
zk.stop()
`;

describe('ensemble failover without disconnects', () => {
  test('3 voters + 2 observers: SIGKILL the leader under write load', { timeout: 180_000 }, async () => {
    const ports = [0, 1, 2, 3, 4].map((i) => suitePort(SUITE_PORTS.ensembleFailover, i));
    const servers5: Record<string, string> = {};
    ports.forEach((p, i) => (servers5[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i >= 3 ? ':observer' : ''}`));
    // Followers feed the observers (observer masters: observer 4 -> voter 1, 5 -> voter 2).
    servers5['observerMasterPort'] = String(ports[0]! + 5);
    if (process.env['ZKTS_ENSEMBLE_DEBUG'] === '1') servers5['logLevel'] = 'info';
    for (let i = 0; i < 5; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zkts-failover-'));
      dirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      const extra = i >= 3 ? { ...servers5, peerType: 'observer' } : servers5;
      servers.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 300, maxSessionTimeout: 12_000, extra }));
    }
    const voters = servers.slice(0, 3);
    const [obsA, obsB] = servers.slice(3) as [ServerHandle, ServerHandle];
    const leader = await settled(voters, [obsA, obsB]);
    const follower = voters.find((s) => s !== leader)!;
    // At least one observer learns from a follower, not from the leader. An observer whose
    // master was not up yet when it first tried learns elsewhere and moves to its master once
    // that one answers (zab/learner.ts), so wait for that rather than catch the stand-in.
    const fedBy = await eventually('both observers synced, one with a follower', async () => {
      const counts = await Promise.all(voters.map(async (v) => Number(/zk_synced_observers\t(\d+)/.exec(await fourLetter(v.port, 'mntr'))?.[1] ?? 0)));
      return counts.reduce((a, b) => a + b, 0) === 2 && counts[voters.indexOf(leader)]! < 2 ? counts : undefined;
    }, 60_000);
    assert.ok(fedBy[voters.indexOf(leader)]! < 2, `the leader feeds every observer: ${fedBy.join(',')}`);

    // kazoo: a global session on observer A, writing.
    const kz = startKazoo(kazooWriter, { hosts: obsA.connectString, timeoutMs: 150_000 });
    cleanups.push(() => kz.kill());
    const kzReady = await kz.nextMessage<{ ready: string }>(20_000);

    // node-zookeeper-client: a global session on a follower, with an ephemeral, writing.
    const nzk: NzkClient = await nzkConnect(follower.connectString, { sessionTimeout: 10_000 });
    cleanups.push(() => nzk.close());
    const nzkStates: string[] = [];
    nzk.on('state', (s: { name: string }) => nzkStates.push(s.name));
    const nzkSession = nzk.getSessionId().toString('hex');
    await eventually('/fo on the follower', async () => ((await call((cb) => nzk.exists('/fo', cb)))[0] ? true : undefined));
    await call((cb) => nzk.create('/fo/eph-nzk', Buffer.from('e'), zookeeper.CreateMode.EPHEMERAL, cb));
    let stopWriting = false;
    const nzkAcked: number[] = [];
    const nzkErrors: string[] = [];
    const nzkLoop = (async () => {
      for (let i = 0; !stopWriting && i < 200_000 && nzkErrors.length <= 20; i++) {
        try {
          await call((cb) => nzk.create(`/fo/n-${String(i).padStart(6, '0')}`, Buffer.from('y'), cb));
          nzkAcked.push(i);
        } catch (e) {
          nzkErrors.push(String(e));
        }
      }
    })();

    // A zkts local session on observer B, reading all the time.
    const reader = createClient(obsB.connectString, { sessionTimeoutMs: 10_000, localSession: true });
    clients.push(reader);
    await reader.waitConnected(10_000);
    let reads = 0;
    const readErrors: string[] = [];
    const readLoop = (async () => {
      while (!stopWriting && readErrors.length <= 20) {
        try {
          await reader.exists('/fo');
          reads++;
        } catch (e) {
          readErrors.push(String(e));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    // Writes flow through both learners; then the leader dies.
    let kzAcked = 0;
    while (kzAcked < 60) kzAcked = (await kz.nextMessage<{ acked: number }>(20_000)).acked;
    await eventually('node-zookeeper-client writes', async () => (nzkAcked.length >= 60 ? true : undefined));
    const readsBefore = reads;
    await leader.kill();
    const atKill = { kz: kzAcked, nzk: nzkAcked.length, reads };

    // Writes resume on both, by themselves.
    while (kzAcked < atKill.kz + 100) kzAcked = (await kz.nextMessage<{ acked: number }>(40_000)).acked;
    await eventually('node-zookeeper-client writes after the kill', async () => (nzkAcked.length >= atKill.nzk + 100 ? true : undefined), 40_000);
    const survivors = servers.filter((s) => s !== leader);
    const next = await settled(voters.filter((s) => s !== leader), [obsA, obsB]);
    stopWriting = true;
    kz.write('stop');
    const kzDone = await kz.done;
    assert.equal(kzDone.code, 0, kzDone.stderr);
    const kr = kzDone.results[0] as {
      session: string;
      sessionAfter: string;
      states: string[];
      acked: number[];
      errors: string[];
      ephOwner: string | null;
      state: string;
    };
    await nzkLoop;
    await readLoop;

    // No client saw an error or a disconnect; sessions and ephemerals are intact.
    assert.deepEqual(kr.errors, [], 'kazoo writes failed');
    assert.deepEqual(kr.states, [], 'kazoo saw connection state changes');
    assert.equal(kr.state, 'CONNECTED');
    assert.equal(kr.sessionAfter, kzReady.ready);
    assert.equal(kr.ephOwner, kzReady.ready);
    assert.deepEqual(nzkErrors, [], 'node-zookeeper-client writes failed');
    assert.deepEqual(nzkStates, [], 'node-zookeeper-client saw state changes');
    assert.equal(nzk.getSessionId().toString('hex'), nzkSession);
    assert.deepEqual(readErrors, [], 'the local session could not read');
    assert.ok(reads > readsBefore, 'the local session read through the election');
    assert.equal(reader.state, 'connected', 'the local session is still connected');

    // Every acknowledged write is on every surviving member.
    const kzNames = new Set(kr.acked.map((i) => `k-${String(i).padStart(6, '0')}`));
    const nzkNames = new Set(nzkAcked.map((i) => `n-${String(i).padStart(6, '0')}`));
    const lastKz = `/fo/k-${String(kr.acked[kr.acked.length - 1]).padStart(6, '0')}`;
    for (const s of survivors) {
      const c = createClient(s.connectString, { sessionTimeoutMs: 10_000 });
      clients.push(c);
      await c.waitConnected(10_000);
      await eventually(`${lastKz} on ${s.port}`, async () => ((await c.exists(lastKz)) !== null ? true : undefined));
      await c.sync('/fo');
      const children = new Set(await c.getChildren('/fo'));
      for (const n of kzNames) assert.ok(children.has(n), `${n} (kazoo, acknowledged) missing on ${s.port}`);
      for (const n of nzkNames) assert.ok(children.has(n), `${n} (node-zookeeper-client, acknowledged) missing on ${s.port}`);
      // (kazoo has closed its session by now; its ephemeral was checked from kazoo itself)
      assert.ok(children.has('eph-nzk'), `node-zookeeper-client's ephemeral on ${s.port}`);
      await c.close();
    }
    assert.ok(next !== leader);
    // mntr on the new leader: its learners, and the replication figures every member reports.
    const m = await fourLetter(next.port, 'mntr');
    assert.match(m, /zk_server_state\tleader\n/);
    assert.match(m, /zk_synced_followers\t1\n/);
    assert.match(m, /zk_synced_observers\t[012]\n/);
    assert.match(m, /zk_pending_proposals\t\d+\n/);
    assert.match(m, /zk_last_committed_zxid\t0x[0-9a-f]+\n/);
    assert.match(m, /zk_last_proposal_size\t[1-9]\d*\n/);
    const om = await fourLetter(obsA.port, 'mntr');
    assert.match(om, /zk_server_state\tobserver\n/);
    assert.match(om, /zk_last_logged_zxid\t0x[0-9a-f]+\n/);
  });

  test('local sessions on a follower: upgraded through the leader on the first ephemeral; unknown elsewhere; the new leader expires a dead global session and keeps live ones', { timeout: 180_000 }, async () => {
    const ports = [5, 6, 7].map((i) => suitePort(SUITE_PORTS.ensembleFailover, i));
    const extra: Record<string, string> = { localSessionsEnabled: 'true', localSessionsUpgradingEnabled: 'true' };
    ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    const members: ServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zkts-failover-'));
      dirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      const s = await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 300, maxSessionTimeout: 12_000, extra });
      servers.push(s);
      members.push(s);
    }
    const leader = await settled(members, []);
    const [f1, f2] = members.filter((s) => s !== leader) as [ServerHandle, ServerHandle];
    const sessions = async (s: ServerHandle): Promise<{ global: number; local: number }> => {
      const m = await fourLetter(s.port, 'mntr');
      return { global: Number(/zk_global_sessions\t(\d+)/.exec(m)![1]), local: Number(/zk_local_sessions\t(\d+)/.exec(m)![1]) };
    };
    const globalBefore = (await sessions(leader)).global;

    // kazoo on a follower: a local session (the leader never hears of it) until its first
    // ephemeral, which makes it global through the leader; the ephemeral is everywhere.
    const up = await runKazoo<{ sid: string; localBefore: number; owner: string; pw: string }>(
      String.raw`
      import socket
      def mntr(port):
          s = socket.create_connection(('127.0.0.1', port)); s.sendall(b'mntr'); out = b''
          while True:
              d = s.recv(65536)
              if not d: break
              out += d
          return dict(l.split('	', 1) for l in out.decode().splitlines() if '	' in l)
      zk = KazooClient(hosts=HOSTS, timeout=10.0)
      zk.start(timeout=15)
      sid, pw = zk.client_id
      zk.ensure_path('/up')
      local_before = int(mntr(int(HOSTS.split(':')[1]))['zk_local_sessions'])
      zk.create('/up/e', b'x', ephemeral=True)
      owner = zk.exists('/up/e').ephemeralOwner
      result({'sid': '%x' % sid, 'localBefore': local_before, 'owner': '%x' % owner, 'pw': pw.hex()})
      # no stop(): the process exits without closeSession; the session lives on its timeout
      `,
      { hosts: f1.connectString },
    );
    assert.ok(up.localBefore >= 1, 'the kazoo session started local');
    assert.equal(up.owner, up.sid);
    assert.equal((await sessions(leader)).global, globalBefore + 1, 'the leader knows the upgraded session');
    for (const s of members) {
      const c = createClient(s.connectString, { sessionTimeoutMs: 10_000 });
      clients.push(c);
      await c.waitConnected(10_000);
      const st = await eventually(`/up/e on ${s.port}`, async () => (await c.exists('/up/e')) ?? undefined);
      assert.equal(BigInt.asUintN(64, st.ephemeralOwner).toString(16), up.sid);
      await c.close();
    }

    // A local session (never upgraded) is unknown to any other member: told it expired there.
    const loc = createClient(f1.connectString, { sessionTimeoutMs: 10_000, localSession: true });
    clients.push(loc);
    await loc.waitConnected(10_000);
    await loc.exists('/up');
    const locId = loc.sessionId;
    const locPw = loc.sessionPassword;
    await loc.close({ closeSession: false });
    const moved = createClient(f2.connectString, { sessionTimeoutMs: 10_000, sessionId: locId, password: locPw });
    clients.push(moved);
    await assert.rejects(moved.waitConnected(10_000));
    assert.equal(moved.state, 'expired');

    // A global session whose client is gone, and one that stays: kill the leader. The new leader
    // re-arms both and expires only the dead one.
    const dead = await startHolder(f2.connectString, ['/up/dead'], 4000);
    const live = await nzkConnect(f2.connectString, { sessionTimeout: 4000 });
    cleanups.push(() => live.close());
    await call((cb) => live.create('/up/live', Buffer.from('l'), zookeeper.CreateMode.EPHEMERAL, cb));
    await dead.kill();
    await leader.kill();
    const next = await settled(members.filter((s) => s !== leader), []);
    const nc = createClient(next.connectString, { sessionTimeoutMs: 10_000 });
    clients.push(nc);
    await nc.waitConnected(10_000);
    await eventually('the dead session expired by the new leader', async () => ((await nc.exists('/up/dead')) === null ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 5000)); // longer than the live session's timeout
    assert.notEqual(await nc.exists('/up/live'), null, 'the live session kept its ephemeral');
    assert.equal(live.getState().getName(), 'SYNC_CONNECTED');
  });
});
