// Chunked SNAP on the quorum transport (src/main/net/transport.ts, codec.ts SnapChunk), on
// 127.0.0.1 ports 22490-22499 only: a snapshot larger than a frame and than the send queue's
// bound arrives whole and in order with the messages sent after it; a small one still goes in
// one frame; a peer that breaks the chunk sequence is disconnected.

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg } from '../../../../src/main/zab/messages.js';
import { encodeHelloFrame, encodeMessageFrame, encodeSnapChunkFrame, decodeFrame } from '../../../../src/main/net/codec.js';
import { QuorumTransport, type PeerAddress, type QuorumTransportOptions } from '../../../../src/main/net/transport.js';

const host = '127.0.0.1';
let nextPort = 22490;
function port(): number {
  assert.ok(nextPort <= 22499, 'test ports stay in 22490-22499');
  return nextPort++;
}

const open: QuorumTransport[] = [];
after(async () => {
  await Promise.all(open.map((t) => t.close()));
});

interface Node {
  t: QuorumTransport;
  received: Msg[];
  warnings: string[];
  downs: number;
}

function pair(options: Partial<QuorumTransportOptions>): [Node, Node] {
  const ports = [port(), port()];
  return [1, 2].map((id, i) => {
    const peers = new Map<number, PeerAddress>([[3 - id, { host, port: ports[1 - i]! }]]);
    const warnings: string[] = [];
    const t = new QuorumTransport({
      myId: id,
      peers,
      listenHost: host,
      listenPort: ports[i]!,
      reconnectDelayMsMin: 20,
      reconnectDelayMsMax: 200,
      logger: { debug() {}, info() {}, warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
      ...options,
    });
    open.push(t);
    const node: Node = { t, received: [], warnings, downs: 0 };
    t.on('message', (_from, msg) => node.received.push(msg));
    t.on('peerDown', () => node.downs++);
    return node;
  }) as [Node, Node];
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function pattern(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 7 + (i >> 10)) & 0xff;
  return out;
}

describe('chunked SNAP', () => {
  test('a snapshot over the frame and queue bounds arrives whole, in order with later messages', async () => {
    // 8 MiB of snapshot through 1 MiB frames, 256 KiB chunks and a 2 MiB send-queue bound.
    const [a, b] = pair({ frameBytesMax: 1 << 20, snapChunkBytes: 256 * 1024, sendQueueBytesMax: 2 << 20 });
    await Promise.all([a.t.start(), b.t.start()]);
    await waitFor('connected', () => a.t.isConnected(2) && b.t.isConnected(1));
    const data = pattern(8 << 20);
    assert.equal(a.t.send(2, { type: 'DIFF', zxid: 1 }), true);
    assert.equal(a.t.send(2, { type: 'SNAP', zxid: 42, data }), true);
    // Sent while the snapshot is still going out: they wait behind it.
    for (let z = 43; z <= 60; z++) assert.equal(a.t.send(2, { type: 'PROPOSAL', zxid: z, payload: new Uint8Array([z]) }), true);
    assert.equal(a.t.send(2, { type: 'NEWLEADER', epoch: 1, zxid: 60 }), true);
    await waitFor('everything', () => b.received.length === 21);
    assert.deepEqual(b.received.map((m) => m.type), ['DIFF', 'SNAP', ...Array(18).fill('PROPOSAL'), 'NEWLEADER']);
    const snap = b.received[1] as Extract<Msg, { type: 'SNAP' }>;
    assert.equal(snap.zxid, 42);
    assert.equal(snap.data.length, data.length);
    assert.ok(Buffer.from(snap.data).equals(Buffer.from(data)), 'snapshot bytes identical');
    assert.deepEqual(b.received.slice(2, 20).map((m) => (m as { zxid: number }).zxid), Array.from({ length: 18 }, (_, i) => 43 + i));
    assert.equal(a.downs + b.downs, 0, `no reset: ${a.warnings.join('; ')}`);
    // And a small one after it still goes in a single frame.
    assert.equal(a.t.send(2, { type: 'SNAP', zxid: 61, data: pattern(1000) }), true);
    await waitFor('small snap', () => b.received.length === 22);
    assert.equal((b.received[21] as Extract<Msg, { type: 'SNAP' }>).data.length, 1000);
  });

  test('SnapChunk frames round-trip through the codec', () => {
    const d = decodeFrame(encodeSnapChunkFrame(pattern(5000)).subarray(4));
    assert.equal(d.kind, 'snapChunk');
    assert.ok(d.kind === 'snapChunk' && Buffer.from(d.data).equals(Buffer.from(pattern(5000))));
  });

  test('a message inside a chunked SNAP, or chunks over snapBytesMax, close the connection', async () => {
    const receiverPort = port();
    const warnings: string[] = [];
    const t = new QuorumTransport({
      myId: 1,
      peers: new Map([[2, { host, port: 22499 }]]),
      listenHost: host,
      listenPort: receiverPort,
      reconnectDelayMsMin: 5_000,
      reconnectDelayMsMax: 5_000,
      snapBytesMax: 10_000,
      logger: { debug() {}, info() {}, warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
    });
    open.push(t);
    const got: Msg[] = [];
    t.on('message', (_f, m) => got.push(m));
    await t.start();
    // A raw peer 2 (larger id: its dial is kept) speaking the protocol by hand.
    const rawPeer = async (frames: Buffer[]): Promise<void> => {
      const s = net.connect({ host, port: receiverPort });
      const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      s.write(encodeHelloFrame({ cluster: 'zkts', sender: 2, receiver: 1, nonce: new Uint8Array(0), mac: new Uint8Array(0) }));
      for (const f of frames) s.write(f);
      await Promise.race([closed, sleep(3000).then(() => s.destroy())]);
    };
    await rawPeer([encodeSnapChunkFrame(pattern(100)), encodeMessageFrame({ type: 'PING' })]);
    assert.ok(warnings.some((w) => w.includes('PING inside a chunked SNAP')), warnings.join('; '));
    await rawPeer([encodeSnapChunkFrame(pattern(6000)), encodeSnapChunkFrame(pattern(6000))]);
    assert.ok(warnings.some((w) => w.includes('over snapBytesMax')), warnings.join('; '));
    assert.deepEqual(got, []);
  });
});
