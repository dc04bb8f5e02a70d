// Issue 9, item 1: no reply (and no request) is too big to cross the rings between a session
// worker and the main thread. Before the fix, a record larger than half a ring (2 MiB) threw in
// the main thread and ended the process, and a path over 64 KiB in a watch record did the same.
// Each test sends what a hostile (or merely large) client sends over a real socket, checks the
// answer byte for byte, and checks that the server is still up and a witness session is served.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JuteReader, JuteWriter, Op, type RawConn, createBody, openSession, readStat, requestPacket } from '../harness/raw.js';
import { startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, suitePort, targetKind } from '../harness/target.js';

const JUTE_MAXBUFFER = 0xfffff; // 1048575, the default
/** The second server's jute.maxbuffer: requests and replies over half a ring (2 MiB) are legal. */
const BIG_MAXBUFFER = 6 * 1024 * 1024;
/** Half the default 4 MiB ring: the largest record that crossed in one piece before the fix. */
const RING_RECORD_BYTES = 2 * 1024 * 1024;

const OpX = { multi: 14, multiRead: 22, setWatches: 101, addWatch: 106 } as const;
const EventType = { nodeCreated: 1, nodeDeleted: 2 } as const;

let server: ServerHandle;
let bigServer: ServerHandle;
/** An established session that must keep working whatever the other connections do. */
let witness: RawConn;
let witnessXid = 1;
let pinger: NodeJS.Timeout | undefined;
const opened: RawConn[] = [];

before(async () => {
  const port = suitePort(SUITE_PORTS.advReplies, 0);
  [server, bigServer] = await Promise.all([
    // tickTime 2 s: sessions of 30 s, so a connection busy reading a reply of megabytes on a
    // loaded machine (and sending no ping meanwhile) does not expire.
    startServer(targetKind(), { port, tickTime: 2000 }),
    startServer(targetKind(), { port: suitePort(SUITE_PORTS.advReplies, 1), tickTime: 2000, extra: { 'jute.maxbuffer': String(BIG_MAXBUFFER) } }),
  ]);
  witness = (await openSession(port, 30000)).conn;
  pinger = setInterval(() => void witness.write(requestPacket(-2, Op.ping)), 1000);
  assert.equal((await witness.call(witnessXid++, Op.create, createBody('/r', Buffer.alloc(0))))?.err, 0);
});

after(async () => {
  clearInterval(pinger);
  witness?.destroy();
  for (const c of opened) c.destroy();
  await Promise.all([server?.stop(), bigServer?.stop()]);
});

async function session(s: ServerHandle = server): Promise<RawConn> {
  const { conn } = await openSession(s.port, 30000);
  opened.push(conn);
  return conn;
}

/** The server process is up and the witness session still gets correct answers. */
async function assertServed(): Promise<void> {
  assert.equal(server.exited, false, 'the server process died');
  const xid = witnessXid++;
  const r = await witness.call(xid, Op.exists, new JuteWriter().string('/r').bool(false).bytes(), 10000);
  assert.ok(r !== null, 'the witness connection was closed');
  assert.equal(r.xid, xid);
  assert.equal(r.err, 0);
}

async function call(conn: RawConn, xid: number, op: number, body: Buffer, timeoutMs = 30000): Promise<Buffer> {
  const r = await conn.call(xid, op, body, timeoutMs);
  assert.ok(r !== null, `op ${op}: the connection was closed`);
  assert.equal(r.xid, xid);
  assert.equal(r.err, 0, `op ${op}: error ${r.err}`);
  return r.body;
}

function pathWatch(path: string, watch = false): Buffer {
  return new JuteWriter().string(path).bool(watch).bytes();
}

function multiHeader(w: JuteWriter, type: number, done: boolean, err: number): JuteWriter {
  return w.int(type).bool(done).int(err);
}

/** A MultiOperationRecord of creates (persistent, empty, world:anyone). */
function multiCreate(paths: readonly string[]): Buffer {
  const w = new JuteWriter();
  for (const p of paths) multiHeader(w, Op.create, false, -1).raw(createBody(p, Buffer.alloc(0)));
  return multiHeader(w, -1, true, -1).bytes();
}

/** A multiRead of getData / getChildren ops. */
function multiRead(ops: readonly { op: number; path: string }[]): Buffer {
  const w = new JuteWriter();
  for (const o of ops) multiHeader(w, o.op, false, -1).raw(pathWatch(o.path));
  return multiHeader(w, -1, true, -1).bytes();
}

/** 12,000 children with 190-character names: a getChildren reply of ~2.3 MB, over a ring record. */
const CHILDREN = 12_000;
function childName(i: number): string {
  return `c${String(i).padStart(6, '0')}-`.padEnd(190, 'x');
}

describe('replies larger than a ring record are delivered', () => {
  const data = Buffer.alloc(JUTE_MAXBUFFER - 200);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;

  before(async () => {
    const c = await session();
    await call(c, 1, Op.create, createBody('/r/big', data));
    await call(c, 2, Op.create, createBody('/r/many', Buffer.alloc(0)));
    const perMulti = 3000;
    for (let i = 0, xid = 3; i < CHILDREN; i += perMulti, xid++) {
      const paths = Array.from({ length: Math.min(perMulti, CHILDREN - i) }, (_, j) => `/r/many/${childName(i + j)}`);
      await call(c, xid, OpX.multi, multiCreate(paths));
    }
  });

  test('getData of a node near jute.maxbuffer: the default, and 6 MiB (a request over a ring record)', async () => {
    const c = await session();
    const r = new JuteReader(await call(c, 1, Op.getData, pathWatch('/r/big', true)));
    assert.ok(r.buffer()!.equals(data));
    assert.equal(readStat(r).dataLength, data.length);
    // jute.maxbuffer 6 MiB: the create crosses to the main thread in pieces, the reply back too.
    const c6 = await session(bigServer);
    const big = Buffer.alloc(BIG_MAXBUFFER - 200);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13 + 1) & 0xff;
    await call(c6, 1, Op.create, createBody('/huge', big));
    const r6 = new JuteReader(await call(c6, 2, Op.getData, pathWatch('/huge')));
    assert.ok(r6.buffer()!.equals(big), 'the data comes back unchanged');
    assert.equal(readStat(r6).dataLength, big.length);
    assert.equal(bigServer.exited, false, 'the 6 MiB server died');
    await assertServed();
  });

  test('getChildren / getChildren2 / getAllChildrenNumber of a node with very many children', async () => {
    const c = await session();
    const body = await call(c, 1, Op.getChildren, pathWatch('/r/many', true));
    assert.ok(body.length > RING_RECORD_BYTES, `reply of ${body.length} bytes`);
    const r = new JuteReader(body);
    const n = r.int();
    assert.equal(n, CHILDREN);
    const names = new Set<string>();
    for (let i = 0; i < n; i++) names.add(r.string()!);
    for (let i = 0; i < CHILDREN; i++) assert.ok(names.has(childName(i)), `child ${i} missing`);
    const r2 = new JuteReader(await call(c, 2, Op.getChildren2, pathWatch('/r/many')));
    assert.equal(r2.int(), CHILDREN);
    for (let i = 0; i < CHILDREN; i++) r2.string();
    assert.equal(readStat(r2).numChildren, CHILDREN);
    const r3 = new JuteReader(await call(c, 3, Op.getAllChildrenNumber, new JuteWriter().string('/r/many').bytes()));
    assert.equal(r3.int(), CHILDREN);
    await assertServed();
  });

  test('a multiRead of several near-maxbuffer reads and a large getChildren', async () => {
    const c = await session();
    const ops = [
      ...Array.from({ length: 3 }, () => ({ op: Op.getData, path: '/r/big' })),
      { op: Op.getChildren, path: '/r/many' },
      { op: Op.getData, path: '/r/none' },
    ];
    const body = await call(c, 1, OpX.multiRead, multiRead(ops));
    assert.ok(body.length > 2 * RING_RECORD_BYTES, `reply of ${body.length} bytes`);
    const r = new JuteReader(body);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual([r.int(), r.bool(), r.int()], [Op.getData, false, 0]);
      assert.ok(r.buffer()!.equals(data), `result ${i}: data`);
      readStat(r);
    }
    assert.deepEqual([r.int(), r.bool(), r.int()], [Op.getChildren, false, 0]);
    assert.equal(r.int(), CHILDREN);
    for (let i = 0; i < CHILDREN; i++) r.string();
    assert.deepEqual([r.int(), r.bool(), r.int()], [-1, false, -101], 'NoNode result');
    assert.equal(r.int(), -101);
    assert.deepEqual([r.int(), r.bool(), r.int()], [-1, true, -1]);
    assert.equal(r.remaining, 0);
    // The same connection goes on.
    await call(c, 2, Op.exists, pathWatch('/r'));
    await assertServed();
  });

  test('a multiRead whose reply would pass the ring limit closes only its connection', async () => {
    if (targetKind() === 'apache') return; // ZooKeeper sends all of it (40 MB)
    const c = await session();
    const ops = Array.from({ length: 40 }, () => ({ op: Op.getData, path: '/r/big' }));
    await c.write(requestPacket(1, OpX.multiRead, multiRead(ops)));
    assert.equal(await c.waitClosed(30000), true, 'the connection is closed');
    assert.equal(c.received.length, 4 + 37, 'nothing after the ConnectResponse');
    await assertServed();
  });
});

describe('watch records larger than a ring string', () => {
  test('a big setWatches: thousands of paths and paths over 64 KiB', async () => {
    const c = await session();
    await call(c, 1, Op.create, createBody('/r/sw', Buffer.alloc(0)));
    const long = `/r/sw/${'p'.repeat(100_000)}`;
    const absent = Array.from({ length: 20_000 }, (_, i) => `/r/sw/absent-${String(i).padStart(5, '0')}`);
    const body = new JuteWriter()
      .long(0) // relativeZxid: every change since is missed
      .int(2).string(long).string('/r/sw/gone') // data watches: both nodes are gone → NodeDeleted
      .int(absent.length + 1);
    for (const p of absent) body.string(p);
    body.string(`${long}-exist`).int(0); // exist watches (registered: no such nodes), no child watches
    const bytes = body.bytes();
    assert.ok(bytes.length < JUTE_MAXBUFFER);
    await c.write(requestPacket(2, OpX.setWatches, bytes));
    const events: { type: number; path: string }[] = [];
    let reply: ReturnType<typeof parseFrame> | null = null;
    while (reply === null) {
      const f = await c.nextFrame(30000);
      assert.ok(f !== null, 'the connection was closed');
      const p = parseFrame(f);
      if (p.xid === -1) events.push(p.event!);
      else if (p.xid === 2) reply = p;
    }
    assert.equal(reply.err, 0);
    assert.deepEqual(events, [
      { type: EventType.nodeDeleted, path: long },
      { type: EventType.nodeDeleted, path: '/r/sw/gone' },
    ]);
    // The exist watches were registered: creating one of them fires NodeCreated, long path too.
    const other = await session();
    await call(other, 1, Op.create, createBody(absent[12_345]!, Buffer.alloc(0)));
    await call(other, 2, Op.create, createBody(`${long}-exist`, Buffer.alloc(0)));
    const created: { type: number; path: string }[] = [];
    while (created.length < 2) {
      const f = await c.nextFrame(30000);
      assert.ok(f !== null, 'the connection was closed');
      const p = parseFrame(f);
      if (p.xid === -1) created.push(p.event!);
    }
    assert.deepEqual(created, [
      { type: EventType.nodeCreated, path: absent[12_345] },
      { type: EventType.nodeCreated, path: `${long}-exist` },
    ]);
    await assertServed();
  });

  test('addWatch and a child event on a path over 64 KiB', async () => {
    const c = await session();
    const parent = `/r/${'q'.repeat(70_000)}`;
    await call(c, 1, Op.create, createBody(parent, Buffer.alloc(0)));
    // persistent recursive watch on the long path (AddWatchMode 1)
    await call(c, 2, OpX.addWatch, new JuteWriter().string(parent).int(1).bytes());
    const other = await session();
    await call(other, 1, Op.create, createBody(`${parent}/child`, Buffer.alloc(0)));
    for (;;) {
      const f = await c.nextFrame(30000);
      assert.ok(f !== null, 'the connection was closed');
      const p = parseFrame(f);
      if (p.xid !== -1) continue;
      assert.deepEqual(p.event, { type: EventType.nodeCreated, path: `${parent}/child` });
      break;
    }
    const r = new JuteReader(await call(c, 3, Op.getChildren, pathWatch(parent, true)));
    assert.equal(r.int(), 1);
    assert.equal(r.string(), 'child');
    await assertServed();
  });
});

/** A reply frame: header, and for a notification (xid -1) its WatcherEvent. */
function parseFrame(f: Buffer): { xid: number; err: number; event?: { type: number; path: string } } {
  const r = new JuteReader(f);
  const xid = r.int();
  r.long(); // zxid
  const err = r.int();
  if (xid !== -1) return { xid, err };
  const type = r.int();
  r.int(); // state
  return { xid, err, event: { type, path: r.string()! } };
}
