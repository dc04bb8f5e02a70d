// The lean raw-socket load client (src/load/lean-client.ts): its reply checks, alone and over a
// real socket; against the floor server it holds sessions with answered pings and no errors;
// against a server that answers a ping with the wrong xid or a nonzero err it counts a protocol
// error and drops that session.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Err, Xid } from '../../src/common/zk.js';
import { startFloorServer } from '../../src/load/floor-server.js';
import { LeanSessions, checkConnectResponse, checkPingReply } from '../../src/load/lean-client.js';
import { JuteWriter, encodeConnectResponse } from '../../src/protocol/jute/index.js';

// Ports: suite X's block (test/integration/harness/target.ts), the 80s.
const PORT = 23880;

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connectResponse(over: { protocolVersion?: number; timeOut?: number; sessionId?: bigint; passwd?: Uint8Array } = {}): Buffer {
  const w = new JuteWriter();
  encodeConnectResponse(w, {
    protocolVersion: over.protocolVersion ?? 0,
    timeOut: over.timeOut ?? 30_000,
    sessionId: over.sessionId ?? 0x1234n,
    passwd: over.passwd ?? new Uint8Array(16),
    readOnly: false,
  });
  return w.bytesCopy();
}

function replyHeader(xid: number, err: number, extra = 0): Buffer {
  const b = Buffer.alloc(16 + extra);
  b.writeInt32BE(xid, 0);
  b.writeInt32BE(err, 12);
  return b;
}

test('the ConnectResponse check', () => {
  const ok = connectResponse();
  assert.equal(checkConnectResponse(ok, 0, ok.length), null);
  for (const bad of [
    connectResponse({ protocolVersion: 1 }),
    connectResponse({ timeOut: 0 }),
    connectResponse({ sessionId: 0n }),
    connectResponse({ passwd: new Uint8Array(8) }),
    ok.subarray(0, 10),
  ]) {
    assert.notEqual(checkConnectResponse(bad, 0, bad.length), null);
  }
});

test('the ping reply check: xid -2, err 0, 16 bytes', () => {
  const ok = replyHeader(Xid.ping, Err.ok);
  assert.equal(checkPingReply(ok, 0, 16), null);
  assert.match(checkPingReply(replyHeader(7, Err.ok), 0, 16)!, /xid 7/);
  assert.match(checkPingReply(replyHeader(Xid.notification, Err.ok), 0, 16)!, /watch event/);
  assert.match(checkPingReply(replyHeader(Xid.ping, Err.sessionExpired), 0, 16)!, /sessionExpired/);
  assert.match(checkPingReply(replyHeader(Xid.ping, Err.ok, 4), 0, 20)!, /20 bytes/);
  assert.match(checkPingReply(ok, 0, 12)!, /12 bytes/);
});

test('against the floor: sessions open, every ping is answered, no errors', async () => {
  const floor = await startFloorServer(PORT);
  const lean = new LeanSessions(50, { host: '127.0.0.1', port: PORT, sessionTimeoutMs: 10_000 });
  try {
    const open = await lean.open(50, 8, 10_000);
    assert.deepEqual([open.opened, open.failed], [50, 0]);
    assert.equal(floor.sessionsOpened, 50);
    lean.recording = true;
    lean.startPings(200);
    await until('three rounds of pings answered', () => lean.counters.pingsAnswered >= 150);
    assert.equal(lean.counters.protocolErrors, 0);
    assert.equal(lean.counters.disconnects, 0);
    assert.equal(lean.connected, 50);
    assert.ok(lean.rtt.count > 0);
    assert.deepEqual([...lean.errors], []);
  } finally {
    await lean.closeAll(2_000);
    await floor.close();
  }
});

/** A server that answers the handshake properly and then every ping with `reply`. */
async function badServer(port: number, reply: Buffer): Promise<net.Server> {
  const resp = connectResponse();
  const frame = (b: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeInt32BE(b.length, 0);
    return Buffer.concat([len, b]);
  };
  const server = net.createServer((s) => {
    let handshaken = false;
    s.on('data', () => {
      s.write(frame(handshaken ? reply : resp));
      handshaken = true;
    });
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

for (const [name, reply, kind] of [
  ['a wrong xid', replyHeader(5, Err.ok), /xid 5/],
  ['a nonzero err', replyHeader(Xid.ping, Err.connectionLoss), /connectionLoss/],
] as const) {
  test(`a ping answered with ${name} is a protocol error that drops the session`, async () => {
    const port = PORT + (name.includes('xid') ? 1 : 2);
    const server = await badServer(port, reply);
    const lean = new LeanSessions(4, { host: '127.0.0.1', port, sessionTimeoutMs: 10_000 });
    try {
      assert.equal((await lean.open(4, 4, 10_000)).opened, 4);
      lean.startPings(100);
      await until('every session dropped', () => lean.counters.protocolErrors === 4);
      assert.equal(lean.connected, 0);
      assert.equal(lean.counters.pingsAnswered, 0);
      const kinds = [...lean.errors.keys()];
      assert.equal(kinds.length, 1);
      assert.match(kinds[0]!, kind);
    } finally {
      await lean.closeAll(2_000);
      await new Promise((r) => server.close(r));
    }
  });
}
