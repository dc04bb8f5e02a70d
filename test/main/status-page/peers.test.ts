// The other members' figures (src/main/status-page/peers.ts): mntr and srvr parsed as ZooKeeper
// prints them, srvr where mntr is not whitelisted, and an answer that is too long, late or absent
// shown as such. Against small TCP servers that answer as a member would.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PeerProbes, parseMntr, parseSrvr } from '../../../src/main/status-page/peers.js';
import { statusPeerReplyBytesMax } from '../../../src/main/status-page/limits.js';
import type { PeerProbeResult } from '../../../src/main/status-page/snapshot.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as ConstructorParameters<typeof PeerProbes>[1];

const mntrText = [
  'zk_version\t3.8.0-zkts',
  'zk_server_state\tfollower',
  'zk_avg_latency\t0.5',
  'zk_packets_received\t42',
  'zk_num_alive_connections\t3',
  'zk_znode_count\t12',
  'zk_global_sessions\t4',
  'zk_local_sessions\t1',
  'zk_zxid\t0x200000007',
  'zk_worker_sessions\t1/3,0/1',
  '',
].join('\n');

const srvrText = [
  'Zookeeper version: 3.8.0-zkts',
  'Latency min/avg/max: 0/1.25/9',
  'Received: 17',
  'Sent: 17',
  'Connections: 2',
  'Outstanding: 0',
  'Zxid: 0x100000003',
  'Mode: observer',
  'Node count: 8',
  '',
].join('\n');

describe('parseMntr / parseSrvr', () => {
  it('read the figures the page shows', () => {
    assert.deepEqual(parseMntr(mntrText), {
      word: 'mntr',
      mode: 'follower',
      zxid: 0x200000007,
      nodeCount: 12,
      sessions: { local: 1, global: 4 },
      packetsReceived: 42,
      avgLatencyMs: 0.5,
      connections: 3,
      workerSessions: [
        { local: 1, global: 3 },
        { local: 0, global: 1 },
      ],
    });
    assert.deepEqual(parseSrvr(srvrText), {
      word: 'srvr',
      mode: 'observer',
      zxid: 0x100000003,
      nodeCount: 8,
      sessions: null,
      packetsReceived: 17,
      avgLatencyMs: 1.25,
      connections: 2,
      workerSessions: null,
    });
  });

  it('take nonsense as unknown, never as a figure', () => {
    const f = parseMntr('zk_zxid\t0xnothex\nzk_znode_count\tmany\nzk_server_state\n\tleader\n');
    assert.deepEqual([f.zxid, f.nodeCount, f.mode, f.sessions], [null, null, null, null]);
    assert.equal(parseSrvr('garbage').mode, null);
    assert.equal(parseMntr('zk_zxid\t0xffffffffffffffff\n').zxid, null, 'beyond a safe integer');
    assert.equal(parseMntr('zk_worker_sessions\t1/x,2/3\n').workerSessions, null, 'a malformed per-worker row');
    assert.equal(parseMntr(mntrText.replace(/zk_worker_sessions.*\n/, '')).workerSessions, null, 'Apache has no such row');
  });
});

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A member on 127.0.0.1:port that answers each word with answer(word), or not at all. */
async function member(answer: (word: string) => string | Buffer | null): Promise<{ port: number; words: string[] }> {
  const words: string[] = [];
  const server = net.createServer((sock) => {
    sock.once('data', (d) => {
      const word = d.toString('utf8').slice(0, 4);
      words.push(word);
      const a = answer(word);
      if (a !== null) sock.end(a);
    });
    sock.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, words };
}

async function probeOnce(probes: PeerProbes, id: number): Promise<PeerProbeResult> {
  const deadline = Date.now() + 10_000;
  probes.poke();
  for (;;) {
    const r = probes.latest().get(id);
    if (r !== undefined) return r;
    assert.ok(Date.now() < deadline, 'an answer or an error within 10 s');
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe('PeerProbes', () => {
  it('asks srvr where mntr is not whitelisted, and keeps asking srvr', async () => {
    const m = await member((w) => (w === 'mntr' ? 'mntr is not executed because it is not in the whitelist.\n' : srvrText));
    const probes = new PeerProbes([{ id: 2, host: '127.0.0.1', clientPort: m.port, role: 'observer' }], quiet);
    const r = await probeOnce(probes, 2);
    assert.equal(r.error, null);
    assert.equal(r.figures?.word, 'srvr');
    assert.equal(r.figures?.mode, 'observer');
    assert.deepEqual(m.words, ['mntr', 'srvr']);
    await new Promise((res) => setTimeout(res, 50));
    probes.poke();
    const deadline = Date.now() + 10_000;
    while (m.words.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    assert.deepEqual(m.words, ['mntr', 'srvr', 'srvr']);
  });

  it('reports a member that answers neither, one that is down, and one that says too much', async () => {
    const refuses = await member((w) => `${w} is not executed because it is not in the whitelist.\n`);
    const chatty = await member(() => Buffer.alloc(statusPeerReplyBytesMax + 1, 0x41));
    const down = await member(() => null);
    servers.at(-1)!.close();
    const probes = new PeerProbes(
      [
        { id: 1, host: '127.0.0.1', clientPort: refuses.port, role: 'participant' },
        { id: 2, host: '127.0.0.1', clientPort: chatty.port, role: 'participant' },
        { id: 3, host: '127.0.0.1', clientPort: down.port, role: 'participant' },
        { id: 4, host: '127.0.0.1', clientPort: null, role: 'participant' },
      ],
      quiet,
    );
    const [r1, r2, r3] = await Promise.all([probeOnce(probes, 1), probeOnce(probes, 2), probeOnce(probes, 3)]);
    assert.match(r1.error ?? '', /neither mntr nor srvr/);
    assert.match(r2.error ?? '', new RegExp(`over ${statusPeerReplyBytesMax} bytes`));
    assert.match(r3.error ?? '', /^no answer: .*ECONNREFUSED/);
    assert.equal(probes.latest().has(4), false, 'no client port: never asked');
  });

  it('gives up on a member that never answers', async () => {
    const silent = await member(() => null);
    const probes = new PeerProbes([{ id: 1, host: '127.0.0.1', clientPort: silent.port, role: 'participant' }], quiet);
    const r = await probeOnce(probes, 1);
    assert.match(r.error ?? '', /no answer within/);
  });
});
