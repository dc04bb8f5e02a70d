// Bad input on the client port, over raw TCP with hand-written jute bytes (harness/raw.ts).
// What is asserted is what Apache ZooKeeper 3.8 does (NIOServerCnxnFactory), see NOTES.md.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { JuteReader, JuteWriter, Op, RawConn, createBody, openSession, parseReply, requestPacket } from './harness/raw.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort, targetKind } from './harness/target.js';

const MAX_CNXNS = 5;
const JUTE_MAXBUFFER = 0xfffff; // 1048575, the default

let server: ServerHandle;
let port: number;
/** an established session that must keep working whatever the other connections do */
let witness: RawConn;
let witnessXid = 1;
let pinger: NodeJS.Timeout | undefined;

before(async () => {
  port = suitePort(SUITE_PORTS.badinput);
  server = await startServer(targetKind(), { port, tickTime: 200, maxClientCnxns: MAX_CNXNS });
  witness = (await openSession(port, 4000)).conn;
  // keep the witness session alive (its timeout is 4 s)
  pinger = setInterval(() => void witness.write(requestPacket(-2, Op.ping)), 1000);
  assert.equal((await witness.call(witnessXid++, Op.create, createBody('/bad', Buffer.alloc(0))))?.err, 0);
});

/** connections a test opened; closed after each test, also when it fails half-way */
const opened: RawConn[] = [];
async function open(): Promise<RawConn> {
  const c = await RawConn.open(port);
  opened.push(c);
  return c;
}
async function newSession(): Promise<Awaited<ReturnType<typeof openSession>>> {
  const s = await openSession(port, 4000);
  opened.push(s.conn);
  return s;
}

afterEach(() => {
  for (const c of opened.splice(0)) c.destroy();
});

after(async () => {
  clearInterval(pinger);
  witness?.destroy();
  await server?.stop();
});

/** The witness session still gets correct answers. */
async function assertWitnessServed(): Promise<void> {
  const xid = witnessXid++;
  const r = await witness.call(xid, Op.exists, new JuteWriter().string('/bad').bool(false).bytes());
  assert.ok(r !== null, 'the witness connection was closed');
  assert.equal(r.xid, xid);
  assert.equal(r.err, 0);
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function pathRequest(path: string, watch = false): Buffer {
  return new JuteWriter().string(path).bool(watch).bytes();
}

describe('frame length limits (jute.maxbuffer)', () => {
  test('a length over jute.maxbuffer after the handshake closes that connection only', async () => {
    const { conn } = await newSession();
    await conn.write(lengthPrefix(JUTE_MAXBUFFER + 1));
    assert.equal(await conn.waitClosed(3000), true, 'connection closed');
    assert.equal(conn.received.length > 4 + 37, false, 'no reply after the ConnectResponse');
    await assertWitnessServed();
  });

  test('a huge length (0x7fffffff) after the handshake closes the connection', async () => {
    const { conn } = await newSession();
    await conn.write(lengthPrefix(0x7fffffff));
    assert.equal(await conn.waitClosed(3000), true);
    await assertWitnessServed();
  });

  test('a length over jute.maxbuffer before the handshake closes the connection without a reply', async () => {
    const conn = await open();
    await conn.write(lengthPrefix(JUTE_MAXBUFFER + 1));
    assert.equal(await conn.waitClosed(3000), true);
    assert.equal(conn.received.length, 0);
    await assertWitnessServed();
  });

  test('a request of exactly jute.maxbuffer bytes is served', async () => {
    const { conn } = await newSession();
    assert.equal((await conn.call(1, Op.create, createBody('/bad/big', Buffer.alloc(0))))?.err, 0);
    // SetDataRequest: path, data, version; the frame (without its length prefix) is exactly 0xfffff
    const path = '/bad/big';
    const overhead = 8 /* header */ + 4 + path.length + 4 /* data length */ + 4; /* version */
    const body = new JuteWriter().string(path).buffer(Buffer.alloc(JUTE_MAXBUFFER - overhead, 0x61)).int(-1).bytes();
    const packet = requestPacket(2, Op.setData, body);
    assert.equal(packet.readInt32BE(0), JUTE_MAXBUFFER);
    await conn.write(packet);
    const r = await conn.nextReply(10000);
    assert.ok(r !== null, 'connection closed');
    assert.equal(r.xid, 2);
    assert.equal(r.err, 0);
    const stat = new JuteReader(r.body);
    stat.long();
    stat.long();
    stat.long();
    stat.long();
    assert.equal(stat.int(), 1, 'version 1 after one setData');
    stat.int();
    stat.int();
    stat.long();
    assert.equal(stat.int(), JUTE_MAXBUFFER - overhead, 'dataLength');
    conn.destroy();
    await assertWitnessServed();
  });
});

describe('garbage before the handshake', () => {
  test('an HTTP request closes the connection without a reply', async () => {
    const conn = await open();
    await conn.write(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    assert.equal(await conn.waitClosed(3000), true);
    assert.equal(conn.received.length, 0);
    await assertWitnessServed();
  });

  test('a short frame that is no ConnectRequest closes the connection without a reply', async () => {
    const conn = await open();
    await conn.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    assert.equal(await conn.waitClosed(3000), true);
    assert.equal(conn.received.length, 0);
    await assertWitnessServed();
  });

  test('a zero length and a negative length close the connection', async () => {
    for (const n of [0, -2]) {
      const conn = await open();
      await conn.write(lengthPrefix(n));
      assert.equal(await conn.waitClosed(3000), true, `length ${n}`);
      assert.equal(conn.received.length, 0);
    }
    await assertWitnessServed();
  });

  test('a request packet sent in place of the ConnectRequest closes the connection', async () => {
    const conn = await open();
    await conn.write(requestPacket(-2, Op.ping));
    assert.equal(await conn.waitClosed(3000), true);
    assert.equal(conn.received.length, 0);
    await assertWitnessServed();
  });
});

describe('bad requests after a valid handshake', () => {
  test('an opcode that does not exist: Unimplemented (-6) reply, then the connection closes, the session lives', async () => {
    for (const op of [999, 10, -50]) {
      const { conn, session } = await newSession();
      await conn.write(requestPacket(7, op));
      const f = await conn.nextFrame(3000);
      assert.ok(f !== null, `opcode ${op}: a reply before the close`);
      const r = parseReply(f);
      assert.deepEqual({ xid: r.xid, zxid: r.zxid, err: r.err, body: r.body.length }, { xid: 7, zxid: -1n, err: -6, body: 0 }, `opcode ${op}`);
      assert.equal(await conn.waitClosed(3000), true, `opcode ${op}: connection closed`);
      // only the connection is gone: the session can be resumed
      const again = await open();
      const resp = await again.handshake({ timeOut: 4000, sessionId: session.sessionId, passwd: session.passwd, readOnly: false });
      assert.ok(resp !== null);
      assert.equal(resp.sessionId, session.sessionId);
      assert.equal(resp.timeOut, 4000);
      await again.call(1, Op.closeSession);
      again.destroy();
    }
    await assertWitnessServed();
  });

  test('reconfig while reconfiguration is disabled: ReconfigDisabled (-123) through an error txn', async () => {
    const { conn } = await newSession();
    const before = await conn.call(1, Op.exists, pathRequest('/bad'));
    assert.ok(before !== null);
    // ReconfigRequest: joiningServers, leavingServers, newMembers (null ustrings), curConfigId
    const body = new JuteWriter().int(-1).int(-1).int(-1).long(-1n).bytes();
    const r = await conn.call(2, 16, body);
    assert.ok(r !== null, 'a reply, the connection stays');
    assert.equal(r.err, -123);
    assert.equal(r.zxid, before.zxid + 1n, 'the refusal is logged as an error txn: it takes a zxid');
    assert.equal((await conn.call(3, Op.exists, pathRequest('/bad')))?.err, 0);
  });

  test('sasl without a SASL provider: an empty challenge, the session goes on', async () => {
    const { conn } = await newSession();
    const r = await conn.call(1, 102, new JuteWriter().int(4).raw(Buffer.from('abcd')).bytes());
    assert.ok(r !== null);
    assert.deepEqual({ err: r.err, zxid: r.zxid, body: r.body.toString('hex') }, { err: 0, zxid: 0n, body: 'ffffffff' });
    assert.equal((await conn.call(2, Op.exists, pathRequest('/bad')))?.err, 0);
  });

  test('create with a path without a leading slash: BadArguments (-8), the connection stays', async () => {
    const { conn } = await newSession();
    for (const path of ['noslash', '']) {
      const r = await conn.call(1, Op.create, createBody(path, Buffer.from('x')));
      assert.ok(r !== null, `closed after create '${path}'`);
      assert.equal(r.err, -8, `create '${path}'`);
      assert.equal(r.body.length, 0);
    }
    // a relative path with a slash: the parent ('bad') is looked up first, and is missing
    assert.equal((await conn.call(4, Op.create, createBody('bad/x', Buffer.alloc(0))))?.err, -101);
    // a NUL character is refused before the parent lookup
    assert.equal((await conn.call(5, Op.create, createBody('/bad-missing/x\u0000y', Buffer.alloc(0))))?.err, -8);
    // create2 too
    const r2 = await conn.call(2, Op.create2, createBody('noslash', Buffer.alloc(0)));
    assert.equal(r2?.err, -8);
    // the connection still serves
    const ok = await conn.call(3, Op.exists, pathRequest('/bad'));
    assert.equal(ok?.err, 0);
    conn.destroy();
  });

  test('create with other invalid paths: BadArguments (-8) when the parent exists', async () => {
    const { conn } = await newSession();
    for (const path of ['/bad/', '/bad/.', '/bad/..', '/bad/x\u0000y']) {
      const r = await conn.call(1, Op.create, createBody(path, Buffer.alloc(0)));
      assert.equal(r?.err, -8, `create ${JSON.stringify(path)}`);
    }
    // the parent (everything before the last slash) is looked up first: NoNode when it is
    // missing, even if the path is invalid
    assert.equal((await conn.call(2, Op.create, createBody('/bad-missing/', Buffer.alloc(0))))?.err, -101);
    assert.equal((await conn.call(2, Op.create, createBody('/bad//x', Buffer.alloc(0))))?.err, -101);
    assert.equal((await conn.call(2, Op.create, createBody('/bad/./x', Buffer.alloc(0))))?.err, -101);
    // sequential create appends the counter first: '/bad/' + sequential is a valid name
    const seq = await conn.call(3, Op.create, createBody('/bad/', Buffer.alloc(0), 2));
    assert.equal(seq?.err, 0);
    const name = new JuteReader(seq?.body ?? Buffer.alloc(0)).string();
    assert.match(name ?? '', /^\/bad\/\d{10}$/);
    conn.destroy();
  });

  test('reads of a path without a leading slash: NoNode (-101), not BadArguments', async () => {
    const { conn } = await newSession();
    assert.equal((await conn.call(1, Op.getData, pathRequest('noslash')))?.err, -101);
    assert.equal((await conn.call(2, Op.exists, pathRequest('noslash')))?.err, -101);
    assert.equal((await conn.call(3, Op.getChildren, pathRequest('noslash')))?.err, -101);
    conn.destroy();
  });

  test('a truncated request body: MarshallingError (-5), the connection stays', async () => {
    const { conn } = await newSession();
    // CreateRequest whose path claims 50 bytes but the frame ends after 1
    const r = await conn.call(1, Op.create, Buffer.from([0, 0, 0, 50, 0x2f]));
    assert.ok(r !== null, 'connection closed');
    assert.equal(r.xid, 1);
    assert.equal(r.err, -5);
    const ok = await conn.call(2, Op.exists, pathRequest('/bad'));
    assert.equal(ok?.err, 0);
    conn.destroy();
    await assertWitnessServed();
  });
});

describe('maxClientCnxns', () => {
  test(`connection ${MAX_CNXNS + 1} from one address is closed, and a slot frees up on close`, async () => {
    // wait until the server has let go of the connections of the earlier tests
    const deadline = Date.now() + 5000;
    for (;;) {
      const m = await fourLetter(port, 'mntr');
      const alive = Number(/^zk_num_alive_connections\t(\d+)$/m.exec(m)?.[1]);
      if (alive === 2) break; // the witness and this mntr connection
      assert.ok(Date.now() < deadline, `connections still alive: ${alive}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 100)); // the mntr connection itself is gone too
    const conns: RawConn[] = [];
    try {
      // the witness holds one slot
      for (let i = 0; i < MAX_CNXNS - 1; i++) {
        const { conn } = await newSession();
        conns.push(conn);
      }
      let extra: RawConn | undefined;
      try {
        extra = await open();
      } catch (e) {
        // a reset during connect also counts as refused
        assert.match(String((e as Error).message), /ECONNRESET|EPIPE/);
      }
      if (extra !== undefined) {
        const resp = await extra.handshake({ timeOut: 4000, readOnly: false }, 3000).catch(() => null);
        assert.equal(resp, null, 'no ConnectResponse for the connection over the limit');
        assert.equal(await extra.waitClosed(3000), true, 'the connection over the limit is closed');
      }
      // all the others still work
      for (const [i, c] of conns.entries()) {
        assert.equal((await c.call(1, Op.exists, pathRequest('/bad')))?.err, 0, `connection ${i}`);
      }
      await assertWitnessServed();
      // free one slot; a new connection is then accepted
      const freed = conns.pop();
      await freed?.call(2, Op.closeSession);
      freed?.destroy();
      let accepted = false;
      for (let attempt = 0; attempt < 20 && !accepted; attempt++) {
        const c = await open();
        const resp = await c.handshake({ timeOut: 4000, readOnly: false }, 3000).catch(() => null);
        if (resp !== null) {
          accepted = true;
          conns.push(c);
        } else {
          c.destroy();
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(accepted, true, 'a connection is accepted again after one closed');
    } finally {
      for (const c of conns) c.destroy();
    }
  });
});
