// Adversarial: taking a session over (issue 9, items 6 and 13), against real server processes.
//
// - A wrong password is refused with the expired-session answer, and the connection that holds
//   the session stays up and served.
// - Passwords are not derivable: the old public default secret does not resume a session; each
//   server (each ensemble) makes its own random secret, kept in its state across restarts; no
//   client can read or set it through /zookeeper.
// - A session that resumes on another member of a real ensemble fences its old connection: a
//   write sent there gets SessionMoved (-118) and is not applied; reads there get SessionMoved
//   too; the new connection is served.
//
// zkts only (ensembles and secrets are zkts's own), whatever ZKTS_TEST_TARGET says.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { JuteReader, JuteWriter, Op, RawConn, createBody, type ConnectResponse } from '../harness/raw.js';
import { leaderOf } from '../harness/ensemble.js';
import { startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, suitePort } from '../harness/target.js';

const TICK = 200;
// Raw connections do not ping: sessions outlive a loaded machine's slowest test step.
const TIMEOUT = 30_000;
const MAX_TIMEOUT = 60_000;
const ZERO_PASSWD = Buffer.alloc(16);
const SESSION_MOVED = -118;
const NO_AUTH = -102;
const OLD_PUBLIC_SECRET = 'zkts-default-session-secret';

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const opened: RawConn[] = [];

afterEach(() => {
  for (const c of opened.splice(0)) c.destroy();
});
after(async () => {
  for (const s of servers) if (!s.exited) await s.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'zkts-adv-sessions-'));
  dirs.push(d);
  return d;
}

async function open(port: number): Promise<RawConn> {
  const c = await RawConn.open(port);
  opened.push(c);
  return c;
}

async function newSession(port: number): Promise<{ conn: RawConn; session: ConnectResponse }> {
  const conn = await open(port);
  const session = await conn.handshake({ timeOut: TIMEOUT, readOnly: false });
  assert.ok(session !== null && session.timeOut > 0, `a session on ${port}`);
  return { conn, session };
}

/** Resumes a session on `port`: the ConnectResponse (null: closed without one). */
async function resume(port: number, sessionId: bigint, passwd: Buffer): Promise<{ conn: RawConn; r: ConnectResponse | null }> {
  const conn = await open(port);
  const r = await conn.handshake({ timeOut: TIMEOUT, sessionId, passwd, readOnly: false });
  return { conn, r };
}

/** The "invalid session" ConnectResponse ZooKeeper sends for a wrong password or an expired id. */
function assertExpiredAnswer(r: ConnectResponse | null): void {
  assert.ok(r !== null, 'a ConnectResponse comes before the close');
  assert.equal(r.timeOut, 0);
  assert.equal(r.sessionId, 0n);
  assert.deepEqual(r.passwd, ZERO_PASSWD);
}

function passwordUnder(secret: string, sessionId: bigint): Buffer {
  const id = Buffer.alloc(8);
  id.writeBigUInt64BE(sessionId);
  return createHmac('sha256', secret).update(id).digest().subarray(0, 16);
}

function pathBody(path: string, watch = false): Buffer {
  return new JuteWriter().string(path).bool(watch).bytes();
}

function setDataBody(path: string, data: Buffer): Buffer {
  return new JuteWriter().string(path).buffer(data).int(-1).bytes();
}

/** getData's reply body → the data. */
function dataOf(body: Buffer): Buffer {
  return new JuteReader(body).buffer() ?? Buffer.alloc(0);
}

/** The first MiB of a file: the secret is the first txn of a new log, and /zookeeper comes
 *  first in a snapshot (a log file is preallocated to 64 MiB). */
function headOf(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** Every secret zkts wrote into a data directory's files (snapshots and logs). */
function secretsOnDisk(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      let text: string;
      try {
        if (statSync(p).isDirectory()) {
          walk(p);
          continue;
        }
        text = headOf(p).toString('latin1');
      } catch (e) {
        // A snapshot's temporary file renamed (or a file purged) while we list: not a failure.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const m of text.matchAll(/zkts-session-secret:v1:([0-9a-f]{64})/g)) out.add(m[1]!);
    }
  };
  walk(dir);
  return out;
}

describe('adversarial sessions: standalone', () => {
  const base = SUITE_PORTS.advSessions;

  test('a wrong password is refused as expired, and the holder stays connected and served', async () => {
    const port = suitePort(base, 0);
    const server = await startServer('zkts', { port, dataDir: tempDir(), tickTime: TICK, maxSessionTimeout: MAX_TIMEOUT });
    servers.push(server);
    const { conn: holder, session } = await newSession(port);
    assert.equal((await holder.call(1, Op.create, createBody('/adv6-eph', Buffer.from('mine'), 1)))?.err, 0);
    for (let i = 0; i < 3; i++) {
      const bad = Buffer.from(session.passwd);
      bad[i] = (bad[i] ?? 0) ^ 0x5a;
      const { conn, r } = await resume(port, session.sessionId, bad);
      assertExpiredAnswer(r);
      assert.equal(await conn.waitClosed(5000), true, 'the refused connection is closed');
    }
    assert.equal(await holder.waitClosed(300), false, 'the holder keeps its connection');
    const got = await holder.call(2, Op.getData, pathBody('/adv6-eph'));
    assert.equal(got?.err, 0, 'the holder is still served');
    assert.equal(dataOf(got!.body).toString(), 'mine');
    await server.stop();
  });

  test('passwords come from a random secret per server, kept across restarts; not the old public one', async () => {
    const dirA = tempDir();
    const dirB = tempDir();
    const portA = suitePort(base, 1);
    const portB = suitePort(base, 2);
    let a = await startServer('zkts', { port: portA, dataDir: dirA, tickTime: TICK, maxSessionTimeout: MAX_TIMEOUT });
    servers.push(a);
    const b = await startServer('zkts', { port: portB, dataDir: dirB, tickTime: TICK, maxSessionTimeout: MAX_TIMEOUT });
    servers.push(b);
    const sa = await newSession(portA);
    const sb = await newSession(portB);

    // The old public default does not give the password, nor resume the session.
    for (const [port, s] of [[portA, sa.session], [portB, sb.session]] as const) {
      const guess = passwordUnder(OLD_PUBLIC_SECRET, s.sessionId);
      assert.notDeepEqual(s.passwd, guess, 'not the HMAC under the old public default');
      const { r } = await resume(port, s.sessionId, guess);
      assertExpiredAnswer(r);
    }

    // Each server made its own 256-bit secret, kept in its state; the passwords are HMACs under it.
    const secretsA = secretsOnDisk(dirA);
    const secretsB = secretsOnDisk(dirB);
    assert.equal(secretsA.size, 1, 'one secret in A');
    assert.equal(secretsB.size, 1, 'one secret in B');
    const [secretA] = [...secretsA];
    const [secretB] = [...secretsB];
    assert.notEqual(secretA, secretB, 'two servers, two secrets');
    assert.deepEqual(sa.session.passwd, passwordUnder(secretA!, sa.session.sessionId));
    assert.deepEqual(sb.session.passwd, passwordUnder(secretB!, sb.session.sessionId));
    // Session ids are not a counter: two in a row on one server are far apart.
    const next = await newSession(portA);
    const gap = next.session.sessionId - sa.session.sessionId;
    assert.ok(gap > 1000n || gap < -1000n, `ids ${sa.session.sessionId.toString(16)} then ${next.session.sessionId.toString(16)}`);

    // No client reads or sets it through /zookeeper, whatever it tries.
    const c = sa.conn;
    const got = await c.call(10, Op.getData, pathBody('/zookeeper'));
    assert.equal(got?.err, 0);
    assert.equal(dataOf(got!.body).length, 0, 'getData /zookeeper shows no data');
    const set = await c.call(11, Op.setData, setDataBody('/zookeeper', Buffer.from('zkts-session-secret:v1:' + '0'.repeat(64))));
    assert.equal(set?.err, NO_AUTH, 'setData /zookeeper is refused');
    const kids = await c.call(12, Op.getChildren, pathBody('/zookeeper'));
    assert.equal(kids?.err, 0);
    const r = new JuteReader(kids!.body);
    const n = r.int();
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(r.string() ?? '');
    assert.deepEqual(names.sort(), ['config', 'quota']);

    // Kept across a restart: the session resumes with the same password.
    sa.conn.destroy();
    next.conn.destroy();
    await a.stop();
    a = await startServer('zkts', { port: portA, dataDir: dirA, tickTime: TICK, maxSessionTimeout: MAX_TIMEOUT });
    servers.push(a);
    const back = await resume(portA, sa.session.sessionId, sa.session.passwd);
    assert.equal(back.r?.sessionId, sa.session.sessionId, 'resumed after the restart');
    assert.deepEqual([...secretsOnDisk(dirA)], [secretA], 'the same secret');
    await a.stop();
    await b.stop();
  });
});

describe('adversarial sessions: a 3-member ensemble', () => {
  let leader: ServerHandle;
  let f1: ServerHandle;
  let f2: ServerHandle;

  before(async () => {
    const ports = [3, 4, 5].map((i) => suitePort(SUITE_PORTS.advSessions, i));
    const extra: Record<string, string> = {};
    ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    const members: ServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const dataDir = tempDir();
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      const s = await startServer('zkts', { port: ports[i]!, dataDir, tickTime: TICK, maxSessionTimeout: MAX_TIMEOUT, extra });
      servers.push(s);
      members.push(s);
    }
    leader = await leaderOf(members);
    [f1, f2] = members.filter((m) => m !== leader) as [ServerHandle, ServerHandle];
  });

  test('one unguessable secret for the ensemble: a session resumes on another member; a wrong password changes nothing', async () => {
    const { conn: holder, session } = await newSession(f1.port);
    assert.equal((await holder.call(1, Op.create, createBody('/adv6-ens', Buffer.from('x'), 1)))?.err, 0);
    const bad = Buffer.from(session.passwd);
    bad[0] = (bad[0] ?? 0) ^ 1;
    assertExpiredAnswer((await resume(f2.port, session.sessionId, bad)).r);
    assertExpiredAnswer((await resume(leader.port, session.sessionId, passwordUnder(OLD_PUBLIC_SECRET, session.sessionId))).r);
    assert.equal(await holder.waitClosed(300), false, 'the holder keeps its connection');
    assert.equal((await holder.call(2, Op.exists, pathBody('/adv6-ens')))?.err, 0, 'the holder is still served');
    holder.destroy();
    // The same id + password resume it on another member, with its ephemeral.
    const back = await resume(f2.port, session.sessionId, session.passwd);
    assert.equal(back.r?.sessionId, session.sessionId, 'resumed on another member');
    assert.deepEqual(back.r?.passwd, session.passwd);
    assert.equal((await back.conn.call(1, Op.exists, pathBody('/adv6-ens')))?.err, 0);
  });

  test('a session resumed on another member fences its old connection: SessionMoved, and its write is not applied', async () => {
    // A session on follower 1, with an ephemeral and a node it writes.
    const { conn: old, session } = await newSession(f1.port);
    assert.equal((await old.call(1, Op.create, createBody('/adv13', Buffer.from('before'))))?.err, 0);
    assert.equal((await old.call(2, Op.create, createBody('/adv13-eph', Buffer.alloc(0), 1)))?.err, 0);

    // It resumes on follower 2 with id + password.
    const moved = await resume(f2.port, session.sessionId, session.passwd);
    assert.equal(moved.r?.sessionId, session.sessionId, 'resumed on another member');
    const fresh = moved.conn;

    // The old connection's write: SessionMoved, not applied; then the old connection is closed.
    const w = await old.call(4, Op.setData, setDataBody('/adv13', Buffer.from('stale')));
    assert.equal(w?.err, SESSION_MOVED, 'a write on the old connection gets SessionMoved');
    assert.equal(await old.waitClosed(5000), true, 'the old connection is closed after SessionMoved');
    const now = await fresh.call(1, Op.getData, pathBody('/adv13'));
    assert.equal(now?.err, 0);
    assert.equal(dataOf(now!.body).toString(), 'before', 'the stale write was not applied');
    // The new connection is served, and the session (its ephemeral) lives on.
    assert.equal((await fresh.call(2, Op.setData, setDataBody('/adv13', Buffer.from('after'))))?.err, 0);
    assert.equal((await fresh.call(3, Op.exists, pathBody('/adv13-eph')))?.err, 0);

    // A session on the leader that moves to a follower: reads on the old connection get
    // SessionMoved too (the leader fences its own connection before it answers the follower).
    const { conn: onLeader, session: s2 } = await newSession(leader.port);
    assert.equal((await onLeader.call(1, Op.exists, pathBody('/adv13')))?.err, 0);
    const moved2 = await resume(f1.port, s2.sessionId, s2.passwd);
    assert.equal(moved2.r?.sessionId, s2.sessionId);
    const rd = await onLeader.call(2, Op.getData, pathBody('/adv13'));
    assert.equal(rd?.err, SESSION_MOVED, 'a read on the old connection gets SessionMoved');
    assert.equal((await moved2.conn.call(1, Op.getData, pathBody('/adv13')))?.err, 0, 'the new connection is served');
  });
});
