// The lean raw-socket load client (src/load/lean-client.ts) over a real socket (its reply checks
// alone: lean-checks.test.ts): against the floor server it holds sessions with answered pings and no errors;
// against a server that answers a ping with the wrong xid or a nonzero err it counts a protocol
// error and drops that session; so do a bad ConnectResponse and an unexpected frame; a shed connect
// is retried; the herd re-attaches every session with its own id; a re-attach answered "expired"
// counts an expiration.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Err, Xid } from '../../src/common/zk.js';
import { startFloorServer } from '../../src/load/floor-server.js';
import { LeanSessions } from '../../src/load/lean-client.js';
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

/** A server that parses frames and answers each with what `answer` says: a frame body, 'close'
 *  (end the connection), or null (nothing). conn counts connections, frame the frames on one. */
async function scriptedServer(port: number, answer: (conn: number, frame: number, body: Buffer) => Buffer | 'close' | null): Promise<net.Server> {
  let conns = 0;
  const server = net.createServer((s) => {
    const conn = conns++;
    let frames = 0;
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const body = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + body.length);
        const a = answer(conn, frames++, body);
        if (a === 'close') return void s.destroy();
        if (a !== null) {
          const len = Buffer.alloc(4);
          len.writeInt32BE(a.length, 0);
          s.write(Buffer.concat([len, a]));
        }
      }
    });
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

test('a bad ConnectResponse is a protocol error: the session is closed and counted, not opened', async () => {
  const server = await scriptedServer(PORT + 3, () => connectResponse({ protocolVersion: 7 }));
  const lean = new LeanSessions(3, { host: '127.0.0.1', port: PORT + 3, sessionTimeoutMs: 10_000 });
  try {
    const r = await lean.open(3, 3, 10_000);
    assert.deepEqual([r.opened, r.failed], [0, 3]);
    assert.equal(lean.counters.protocolErrors, 3);
    assert.equal(lean.connected, 0);
    assert.deepEqual([...lean.errors], [['connect: protocol version 7', 3]]);
  } finally {
    await lean.closeAll(2_000);
    await new Promise((r) => server.close(r));
  }
});

test('an unexpected frame (a watch event no one asked for) closes the session as a protocol error', async () => {
  const server = await scriptedServer(PORT + 4, (_c, frame) => (frame === 0 ? connectResponse() : null));
  const lean = new LeanSessions(2, { host: '127.0.0.1', port: PORT + 4, sessionTimeoutMs: 10_000 });
  const sockets: net.Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  try {
    assert.equal((await lean.open(2, 2, 10_000)).opened, 2);
    // The server pushes a notification (xid -1) to every session unasked.
    const ev = replyHeader(Xid.notification, Err.ok, 20);
    const len = Buffer.alloc(4);
    len.writeInt32BE(ev.length, 0);
    for (const s of sockets) s.write(Buffer.concat([len, ev]));
    await until('both sessions dropped', () => lean.counters.protocolErrors === 2);
    assert.equal(lean.connected, 0);
    assert.match([...lean.errors.keys()].join(), /unexpected watch event|no ping in flight/);
  } finally {
    await lean.closeAll(2_000);
    await new Promise((r) => server.close(r));
  }
});

test('a connect the server sheds (closes) is retried after a short backoff and then opens', async () => {
  // Every other connection is closed at once, as a connection throttle sheds.
  const server = await scriptedServer(PORT + 5, (conn) => (conn % 2 === 0 ? 'close' : connectResponse()));
  const lean = new LeanSessions(6, { host: '127.0.0.1', port: PORT + 5, sessionTimeoutMs: 10_000 });
  try {
    const r = await lean.open(6, 1, 20_000);
    assert.deepEqual([r.opened, r.failed], [6, 0]);
    assert.ok(lean.counters.connectRetries >= 6, `retries ${lean.counters.connectRetries}`);
    assert.deepEqual([...lean.errors], []);
    assert.deepEqual([...lean.retries.keys()], ['connect: closed by the server']);
  } finally {
    await lean.closeAll(2_000);
    await new Promise((r) => server.close(r));
  }
});

test('the herd against the floor: every session drops and re-attaches with its own id; closeSession is answered', async () => {
  const floor = await startFloorServer(PORT + 6);
  const lean = new LeanSessions(40, { host: '127.0.0.1', port: PORT + 6, sessionTimeoutMs: 10_000 });
  try {
    assert.equal((await lean.open(40, 8, 10_000)).opened, 40);
    const r = await lean.dropAndReattach(8, 20_000, 5_000);
    assert.deepEqual([r.dropped, r.resumed, r.expired, r.failed, r.changedId], [40, 40, 0, 0, 0]);
    assert.ok(r.allBackMs > 0);
    assert.equal(lean.reattachLatency.count, 40);
    assert.equal(floor.sessionsOpened, 80);
    assert.equal(lean.connected, 40);
    const c = await lean.closeSessions(8, 10_000);
    assert.deepEqual([c.closed, c.timedOut, c.failed], [40, 0, 0]);
    assert.equal(lean.connected, 0);
    assert.deepEqual([...lean.errors], []);
  } finally {
    await lean.closeAll(2_000);
    await floor.close();
  }
});

test('a re-attach the server answers "expired" (timeout 0) counts an expiration, not a protocol error', async () => {
  // First connection per session: a fresh session; a re-attach (nonzero id asked): expired.
  const server = await scriptedServer(PORT + 7, (_c, _f, body) => (body.readBigInt64BE(16) === 0n ? connectResponse() : connectResponse({ timeOut: 0, sessionId: 0n })));
  const lean = new LeanSessions(5, { host: '127.0.0.1', port: PORT + 7, sessionTimeoutMs: 10_000 });
  try {
    assert.equal((await lean.open(5, 5, 10_000)).opened, 5);
    const r = await lean.dropAndReattach(5, 10_000, 5_000);
    assert.deepEqual([r.dropped, r.resumed, r.expired, r.failed], [5, 0, 5, 0]);
    assert.equal(lean.counters.protocolErrors, 0);
    assert.equal(lean.connected, 0);
  } finally {
    await lean.closeAll(2_000);
    await new Promise((r) => server.close(r));
  }
});
