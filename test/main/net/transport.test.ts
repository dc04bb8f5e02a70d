// QuorumTransport on 127.0.0.1, ports 26000-26099 only: a full mesh with ordered delivery, one
// connection per pair under simultaneous connects, peerDown/peerUp around a killed connection,
// bad frames closing only their connection, send-queue overflow, and close() leaving no handles.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg } from '../../../src/main/zab/messages.js';
import { encodeHelloFrame } from '../../../src/main/net/codec.js';
import {
  QuorumTransport,
  type PeerAddress,
  type QuorumTransportOptions,
  type TransportLogger,
} from '../../../src/main/net/transport.js';

const host = '127.0.0.1';
let nextPort = 26000;
function port(): number {
  assert.ok(nextPort < 26099, 'test ports stay in 26000-26098 (26099 is never listened on)');
  return nextPort++;
}
const unusedPort = 26099;

interface Node {
  readonly t: QuorumTransport;
  readonly events: string[];
  readonly received: Map<number, Msg[]>;
  readonly warnings: string[];
}

const open: QuorumTransport[] = [];
after(async () => {
  await Promise.all(open.map((t) => t.close()));
});

function recordingLogger(warnings: string[]): TransportLogger {
  return {
    debug() {},
    info() {},
    warn(obj, msg) {
      warnings.push(`${msg} ${JSON.stringify(obj)}`);
    },
  };
}

function node(options: Omit<QuorumTransportOptions, 'logger'>): Node {
  const warnings: string[] = [];
  const t = new QuorumTransport({
    reconnectDelayMsMin: 20,
    reconnectDelayMsMax: 200,
    ...options,
    logger: recordingLogger(warnings),
  });
  open.push(t);
  const events: string[] = [];
  const received = new Map<number, Msg[]>();
  t.on('peerUp', (p) => events.push(`up ${p}`));
  t.on('peerDown', (p) => events.push(`down ${p}`));
  t.on('message', (from, msg) => {
    let list = received.get(from);
    if (list === undefined) received.set(from, (list = []));
    list.push(msg);
  });
  return { t, events, received, warnings };
}

/** Nodes for ids, each listening on its own port; `via` overrides an address seen by a node. */
function mesh(ids: number[], via: (from: number, to: number, a: PeerAddress) => PeerAddress = (_f, _t, a) => a): Node[] {
  const ports = new Map(ids.map((id) => [id, port()]));
  return ids.map((id) => {
    const peers = new Map<number, PeerAddress>();
    for (const other of ids) {
      if (other !== id) peers.set(other, via(id, other, { host, port: ports.get(other)! }));
    }
    return node({ myId: id, peers, listenHost: host, listenPort: ports.get(id)! });
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function fullyConnected(nodes: Node[]): boolean {
  return nodes.every((n) => n.t.connectedPeers().length === nodes.length - 1);
}

async function closeAll(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.t.close()));
}

function rawHello(to: number, from: number, cluster = 'zkts'): Buffer {
  return encodeHelloFrame({ cluster, sender: from, receiver: to, nonce: new Uint8Array(0), mac: new Uint8Array(0) });
}

describe('quorum transport', () => {
  test('three transports form a full mesh and deliver messages in order', async () => {
    const nodes = mesh([1, 2, 3]);
    await Promise.all(nodes.map((n) => n.t.start()));
    await waitFor('full mesh', () => fullyConnected(nodes));
    const count = 300;
    for (let i = 0; i < count; i++) {
      for (const n of nodes) {
        for (const to of n.t.connectedPeers()) {
          const payload = new Uint8Array([n.t.myId, to, i & 255, i >> 8]);
          assert.ok(n.t.send(to, { type: 'PROPOSAL', zxid: 0x100000000 + i, payload }));
        }
      }
    }
    const want = (from: number, to: number): Msg[] =>
      Array.from({ length: count }, (_, i) => ({
        type: 'PROPOSAL' as const,
        zxid: 0x100000000 + i,
        payload: new Uint8Array([from, to, i & 255, i >> 8]),
      }));
    await waitFor('all messages', () =>
      nodes.every((n) => [...n.received.values()].reduce((s, l) => s + l.length, 0) === 2 * count),
    );
    for (const n of nodes) {
      for (const from of [1, 2, 3].filter((id) => id !== n.t.myId)) {
        assert.deepStrictEqual(n.received.get(from), want(from, n.t.myId));
      }
      assert.deepStrictEqual(n.events.filter((e) => e.startsWith('down')), []);
      assert.equal(n.t.connectionCount(), 2, `node ${n.t.myId} holds one socket per peer`);
    }
    // One message object to several peers (encoded once): each gets it whole.
    const shared: Msg = { type: 'INFORM', zxid: 0x200000001, payload: new Uint8Array([9, 9]) };
    assert.ok(nodes[0]!.t.send(2, shared) && nodes[0]!.t.send(3, shared));
    await waitFor('shared', () => [nodes[1]!, nodes[2]!].every((n) => n.received.get(1)!.length === count + 1));
    assert.deepStrictEqual(nodes[1]!.received.get(1)!.at(-1), shared);
    assert.deepStrictEqual(nodes[2]!.received.get(1)!.at(-1), shared);
    await closeAll(nodes);
  });

  test('a simultaneous connect resolves to one connection per pair', async () => {
    for (let round = 0; round < 3; round++) {
      const nodes = mesh([4, 7]);
      await Promise.all(nodes.map((n) => n.t.start()));
      await waitFor('pair up', () => fullyConnected(nodes));
      await sleep(150); // nudges and dial-backs settle
      for (const n of nodes) {
        assert.deepStrictEqual(n.events, [`up ${n.t.myId === 4 ? 7 : 4}`]);
        assert.equal(n.t.connectionCount(), 1);
      }
      assert.ok(nodes[0]!.t.send(7, { type: 'PING' }));
      await waitFor('ping', () => (nodes[1]!.received.get(4)?.length ?? 0) === 1);
      await closeAll(nodes);
    }
  });

  test('a peer started late is reached through its nudge', async () => {
    const [a, b] = mesh([1, 2]);
    await a!.t.start(); // 1 nudges 2 (refused) and waits for 2 to dial
    await sleep(100);
    await b!.t.start();
    await waitFor('pair up', () => fullyConnected([a!, b!]));
    await closeAll([a!, b!]);
  });

  test('a killed connection gives peerDown, then peerUp after reconnect', async () => {
    // Node 2 (the larger id, so the dialler) reaches node 1 through a proxy we can cut.
    const proxyPort = port();
    const cut: net.Socket[] = [];
    let target = 0;
    const proxy = net.createServer((client) => {
      const upstream = net.connect({ host, port: target });
      cut.push(client, upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(proxyPort, host, r));
    const nodes = mesh([1, 2], (from, to, a) => {
      if (from !== 2 || to !== 1) return a;
      target = a.port;
      return { host, port: proxyPort };
    });
    await Promise.all(nodes.map((n) => n.t.start()));
    await waitFor('pair up', () => fullyConnected(nodes));
    for (const s of cut.splice(0)) s.destroy();
    await waitFor('down and up again', () =>
      nodes.every((n) => n.events.length === 3 && fullyConnected(nodes)),
    );
    assert.deepStrictEqual(nodes[0]!.events, ['up 2', 'down 2', 'up 2']);
    assert.deepStrictEqual(nodes[1]!.events, ['up 1', 'down 1', 'up 1']);
    assert.ok(nodes[1]!.t.send(1, { type: 'COMMIT', zxid: 42 }));
    await waitFor('commit', () => (nodes[0]!.received.get(2)?.length ?? 0) === 1);
    await closeAll(nodes);
    for (const s of cut) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
  });

  test('a garbage frame and an oversized frame close only that connection', async () => {
    // Peer 9 is configured but nothing listens for it: a raw socket plays it.
    const ports = [port(), port()];
    const frameBytesMax = 64 * 1024;
    const peers = (self: number): Map<number, PeerAddress> =>
      new Map([
        [1, { host, port: ports[0]! }],
        [2, { host, port: ports[1]! }],
        [9, { host, port: unusedPort }],
      ].filter(([id]) => id !== self) as [number, PeerAddress][]);
    const a = node({ myId: 1, peers: peers(1), listenHost: host, listenPort: ports[0]!, frameBytesMax });
    const b = node({ myId: 2, peers: peers(2), listenHost: host, listenPort: ports[1]!, frameBytesMax });
    await Promise.all([a.t.start(), b.t.start()]);
    await waitFor('1-2 up', () => a.t.isConnected(2) && b.t.isConnected(1));

    const fake = async (bad: Buffer): Promise<void> => {
      const s = net.connect({ host, port: ports[0]! });
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      s.on('error', () => {});
      s.on('data', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(rawHello(1, 9));
      await waitFor('fake 9 up', () => a.t.isConnected(9));
      s.write(bad);
      await closed;
      await waitFor('fake 9 down', () => !a.t.isConnected(9));
    };
    const garbage = Buffer.from([0, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await fake(garbage);
    const oversized = Buffer.alloc(4);
    oversized.writeUInt32BE(frameBytesMax + 1);
    await fake(oversized);

    // Garbage before any Hello: closed, with no event at all.
    const s = net.connect({ host, port: ports[0]! });
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await new Promise<void>((r) => s.on('close', () => r()));

    assert.deepStrictEqual(a.events, ['up 2', 'up 9', 'down 9', 'up 9', 'down 9']);
    assert.deepStrictEqual(b.events, ['up 1']);
    assert.equal(a.warnings.filter((w) => w.startsWith('bad quorum frame')).length, 3);
    assert.ok(a.t.send(2, { type: 'ACK', zxid: 7 }));
    await waitFor('ack after the bad frames', () => (b.received.get(1)?.length ?? 0) === 1);
    await closeAll([a, b]);
  });

  test('a peer that does not read is reset once its send queue passes the bound', async () => {
    const listenPort = port();
    const peers = new Map([[9, { host, port: unusedPort }]]);
    const frameBytesMax = 1024 * 1024 + 1024;
    const a = node({ myId: 1, peers, listenHost: host, listenPort, frameBytesMax, sendQueueBytesMax: 2 * frameBytesMax });
    await a.t.start();
    const s = net.connect({ host, port: listenPort });
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(rawHello(1, 9));
    await waitFor('fake 9 up', () => a.t.isConnected(9));
    s.pause();
    const payload = new Uint8Array(1024 * 1024);
    let sent = 0;
    while (a.t.send(9, { type: 'PROPOSAL', zxid: sent + 1, payload })) {
      sent += 1;
      assert.ok(sent < 200, 'the queue bound trips');
      await sleep(0);
    }
    assert.equal(a.t.send(9, { type: 'PING' }), false);
    await waitFor('peerDown', () => a.events.at(-1) === 'down 9');
    assert.ok(a.warnings.some((w) => w.startsWith('quorum send queue over its bound')));
    s.destroy();
    await a.t.close();
  });

  test('a hello from another cluster or for another id is refused', async () => {
    const listenPort = port();
    const a = node({ myId: 1, peers: new Map([[9, { host, port: unusedPort }]]), listenHost: host, listenPort });
    await a.t.start();
    for (const hello of [rawHello(1, 9, 'other'), rawHello(5, 9), rawHello(1, 8), rawHello(1, 1)]) {
      const s = net.connect({ host, port: listenPort });
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(hello);
      await new Promise<void>((r) => s.on('close', () => r()));
    }
    assert.deepStrictEqual(a.events, []);
    assert.equal(a.warnings.filter((w) => w.startsWith('bad quorum frame')).length, 4);
    await a.t.close();
  });

  test('close() leaves no sockets, servers or timers behind', async () => {
    await sleep(20); // handles of earlier tests finish closing
    const before = handles();
    const nodes = mesh([1, 2, 3]);
    await Promise.all(nodes.map((n) => n.t.start()));
    await waitFor('full mesh', () => fullyConnected(nodes));
    // One peer gone: the others are now in reconnect backoff, with timers pending.
    await nodes[2]!.t.close();
    await waitFor('peer 3 down', () => !nodes[0]!.t.isConnected(3) && !nodes[1]!.t.isConnected(3));
    await closeAll(nodes);
    for (const n of nodes) assert.equal(n.t.connectionCount(), 0);
    // A server's close callback can run just before its handle leaves the list: poll.
    await waitFor('handles released', () => {
      const now = handles();
      return Object.entries(now).every(([k, v]) => v <= (before[k] ?? 0));
    }, 2000);
  });

  test('a process whose transports are closed exits by itself', async () => {
    const ports = [port(), port(), port()];
    const moduleUrl = new URL('../../../src/main/net/transport.js', import.meta.url).href;
    const script = `
      import { QuorumTransport } from ${JSON.stringify(moduleUrl)};
      const ports = ${JSON.stringify(ports)};
      const ts = ports.map((p, i) => new QuorumTransport({
        myId: i + 1, listenHost: '127.0.0.1', listenPort: p, reconnectDelayMsMin: 10,
        peers: new Map(ports.map((q, j) => [j + 1, { host: '127.0.0.1', port: q }])),
      }));
      await Promise.all(ts.map((t) => t.start()));
      while (!ts.every((t) => t.connectedPeers().length === 2)) await new Promise((r) => setTimeout(r, 5));
      await ts[2].close();
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all(ts.map((t) => t.close()));
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    clearTimeout(killer);
    assert.equal(code, 0, `child did not exit cleanly: ${out}`);
    assert.match(out, /closed/);
  });
});

function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout') counts[r] = (counts[r] ?? 0) + 1;
  }
  return counts;
}
