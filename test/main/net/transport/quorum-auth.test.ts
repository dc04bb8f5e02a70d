// QuorumTransport against hostile connections, on 127.0.0.1 ports 23183-23189 only
// (SUITE_PORTS.advQuorum's block; the adversarial ensemble test has 23100-23182, each test
// here closes its transports before the next reuses the ports): the quorum secret's challenge-response (a wrong secret, a
// replayed handshake, a Hello without the challenge), the pre-authentication frame bound and
// handshake count, and a send() that cannot encode its message.

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeHelloFrame } from '../../../../src/main/net/codec.js';
import { FrameReader } from '../../../../src/protocol/frame-reader.js';
import { handshakesInboundMax } from '../../../../src/main/net/limits.js';
import { QuorumTransport, type PeerAddress } from '../../../../src/main/net/transport.js';

const host = '127.0.0.1';
let nextPort = 23183;
/** The next port of this test (reset between tests); 23189 is never listened on. */
function port(): number {
  assert.ok(nextPort <= 23188, 'test ports stay in 23183-23188');
  return nextPort++;
}
function firstPort(): number {
  nextPort = 23183;
  return port();
}
const secretA = new TextEncoder().encode('the-first-quorum-secret');
const secretB = new TextEncoder().encode('another-quorum-secret!!');

interface Node {
  readonly t: QuorumTransport;
  readonly events: string[];
  readonly warnings: string[];
}
const open: QuorumTransport[] = [];
const sockets: net.Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(open.map((t) => t.close()));
});

function node(myId: number, listenPort: number, peers: Map<number, PeerAddress>, secret: Uint8Array | null): Node {
  const warnings: string[] = [];
  const t = new QuorumTransport({
    myId,
    peers,
    listenHost: host,
    listenPort,
    secret,
    reconnectDelayMsMin: 20,
    reconnectDelayMsMax: 200,
    logger: { debug() {}, info() {}, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
  });
  open.push(t);
  const events: string[] = [];
  t.on('peerUp', (p) => events.push(`up ${p}`));
  t.on('peerDown', (p) => events.push(`down ${p}`));
  return { t, events, warnings };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function rawConnect(p: number): Promise<{ s: net.Socket; closed: Promise<void>; received: Buffer[] }> {
  const s = net.connect({ host, port: p });
  sockets.push(s);
  s.on('error', () => undefined);
  const received: Buffer[] = [];
  s.on('data', (b: Buffer) => received.push(b));
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  return { s, closed, received };
}

function has(warnings: string[], text: string): boolean {
  return warnings.some((w) => w.includes(text));
}

describe('quorum transport: authentication and hostile connections', () => {
  test('members that share the secret connect; one with another secret is refused both ways', async () => {
    const ports = [firstPort(), port(), port()];
    const peers = new Map(ports.map((p, i) => [i + 1, { host, port: p }]));
    const nodes = [node(1, ports[0]!, peers, secretA), node(2, ports[1]!, peers, secretA), node(3, ports[2]!, peers, secretB)];
    await Promise.all(nodes.map((n) => n.t.start()));
    await waitFor('1 and 2 connected', () => nodes[0]!.t.isConnected(2) && nodes[1]!.t.isConnected(1));
    // 3 dials 1 and 2 (it is the larger id) and checks their answers first: neither passes
    // under its secret, so it hangs up before it would send a proof.
    await waitFor('3 refuses 1 and 2', () => has(nodes[2]!.warnings, 'server 1 failed the quorum secret') && has(nodes[2]!.warnings, 'server 2 failed the quorum secret'));
    assert.deepStrictEqual(nodes[2]!.t.connectedPeers(), []);
    assert.equal(nodes[0]!.t.isConnected(3), false);
    assert.ok(nodes[0]!.t.send(2, { type: 'PING' }));
    await Promise.all(nodes.map((n) => n.t.close()));
  });

  test('a recorded handshake replayed on a new connection fails, and the authenticated link stays up', async () => {
    const p1 = firstPort();
    const p2 = port();
    const relayPort = port();
    // Member 2 reaches member 1 through a relay that records what 2 sends.
    const recorded: Buffer[] = [];
    const relay = net.createServer((inbound) => {
      const outbound = net.connect({ host, port: p1 });
      inbound.on('data', (b: Buffer) => {
        recorded.push(Buffer.from(b));
        outbound.write(b);
      });
      outbound.on('data', (b: Buffer) => inbound.write(b));
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(relayPort, host, () => resolve()));
    const n1 = node(1, p1, new Map([[2, { host, port: p2 }]]), secretA);
    const n2 = node(2, p2, new Map([[1, { host, port: relayPort }]]), secretA);
    await Promise.all([n1.t.start(), n2.t.start()]);
    await waitFor('1 and 2 connected through the relay', () => n1.t.isConnected(2) && n2.t.isConnected(1));
    // The dialler's first two frames: its Hello (with its nonce) and its proof.
    const frames: Buffer[] = [];
    new FrameReader(1024).push(Buffer.concat(recorded), (body) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(body.length);
      frames.push(Buffer.concat([prefix, body]));
      return frames.length < 2;
    });
    assert.equal(frames.length, 2);
    const replay = await rawConnect(p1);
    replay.s.write(frames[0]!);
    await waitFor('the acceptor answers with its own challenge', () => replay.received.length > 0);
    replay.s.write(frames[1]!);
    await replay.closed;
    assert.ok(has(n1.warnings, 'server 2 failed the quorum secret'), n1.warnings.join('\n'));
    assert.ok(n1.t.isConnected(2), 'the authenticated link is still up');
    assert.deepStrictEqual(n1.events, ['up 2']);
    assert.ok(n2.t.send(1, { type: 'PING' }));
    await Promise.all([n1.t.close(), n2.t.close()]);
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  });

  test('before the handshake: a Hello without the challenge, a frame over 1 KiB, too many handshakes', async () => {
    const p = firstPort();
    const n = node(1, p, new Map([[2, { host, port: 23189 }]]), secretA);
    await n.t.start();
    const plain = await rawConnect(p);
    plain.s.write(encodeHelloFrame({ cluster: 'zkts', sender: 2, receiver: 1, nonce: new Uint8Array(0), mac: new Uint8Array(0) }));
    await plain.closed;
    assert.ok(has(n.warnings, 'Hello without a challenge'));

    // The header alone is enough to refuse a 2 KiB frame: its body is never sent.
    const big = await rawConnect(p);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2048);
    big.s.write(header);
    await big.closed;
    assert.ok(has(n.warnings, 'frame of 2048 bytes over frameBytesMax 1024'));

    // Connections that never say Hello: past handshakesInboundMax, new ones are closed at once.
    const idle = [];
    for (let i = 0; i < handshakesInboundMax + 5; i++) idle.push(await rawConnect(p));
    await waitFor('the extra connections closed', () => has(n.warnings, 'too many quorum connections in their handshake'));
    for (const c of idle) c.s.destroy();
    await n.t.close();
  });

  test('send() never throws: an unencodable Zab message resets the link, an unencodable REQUEST is dropped', async () => {
    const p1 = firstPort();
    const p2 = port();
    const peers = new Map([[1, { host, port: p1 }], [2, { host, port: p2 }]]);
    const n1 = node(1, p1, peers, null);
    const n2 = node(2, p2, peers, null);
    await Promise.all([n1.t.start(), n2.t.start()]);
    await waitFor('connected', () => n1.t.isConnected(2) && n2.t.isConnected(1));
    const authIds = Array.from({ length: 5000 }, (_, i) => ({ scheme: 'digest', id: `u${i}` }));
    const request = { type: 'REQUEST', session: 1n, cxid: 1, op: 1, body: new Uint8Array(0), authIds, timeoutMs: 1000, local: false } as const;
    assert.equal(n1.t.send(2, request), false);
    assert.ok(n1.t.isConnected(2), 'a forwarding message that cannot be sent leaves the link up');
    assert.ok(has(n1.warnings, 'cannot be sent: dropped'));
    assert.equal(n1.t.send(2, { type: 'ACK', zxid: 2 ** 60 }), false);
    await waitFor('peerDown after the reset', () => n1.events.includes('down 2'));
    // disconnect(): the driver's verdict on an impossible message.
    await waitFor('reconnected', () => n1.t.isConnected(2));
    n1.t.disconnect(2, 'a test');
    await waitFor('peerDown after disconnect', () => n1.events.filter((e) => e === 'down 2').length === 2);
    assert.ok(has(n1.warnings, 'impossible message'));
    await Promise.all([n1.t.close(), n2.t.close()]);
  });
});
