// Issue 9, items 2 and 3, against real server processes:
//   2. A session that owns ephemerals whose paths add up to more than a txn-log record holds used
//      to make closeSession (or expiry) fail an assertion, and after a restart the expiry built
//      the same txn again (a crash loop). Now an ephemeral create past what the session's
//      closeSession txn may list gets QuotaExceeded; closing, expiring (also on an ensemble's
//      leader, and after a restart into a smaller jute.maxbuffer) leaves every server up.
//   3. A flipped byte in the middle of the newest log, with valid records after it, used to be
//      taken for a torn tail and truncated (acknowledged txns dropped). Now the server refuses to
//      start naming the file and the offset, `zkts check` says so, and nothing is changed; a
//      real torn tail (nothing valid after it) is still truncated.
// Raw jute client (harness/raw.ts): each path is ~1 MB, so that on the old code 70 of them make
// a closeSession over the 64 MiB record limit.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanLog } from '../../../src/main/storage/log-format.js';
import { Op, type RawConn, createBody, openSession, type Reply } from '../harness/raw.js';
import { fourLetter, repoRoot, startServer, type ServerHandle } from '../harness/server.js';
import { eventually, leaderOf } from '../harness/ensemble.js';
import { SUITE_PORTS, suitePort } from '../harness/target.js';

const QUOTA_EXCEEDED = -125;
const NO_NODE = -101;
/** A path component this long keeps a create just under jute.maxbuffer's default (1 MiB). */
const LONG = 1_040_000;
/** On the old code 65 such paths pass the 64 MiB record limit; stop at 70 whatever happens. */
const CREATES_MAX = 70;

const dirs: string[] = [];
const servers: ServerHandle[] = [];
const conns: RawConn[] = [];

after(async () => {
  for (const c of conns) c.destroy();
  for (const s of servers) if (!s.exited) await s.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function start(port: number, dataDir: string, extra: Record<string, string> = {}, tickTime = 200): Promise<ServerHandle> {
  const s = await startServer('zkts', { port, dataDir, tickTime, maxSessionTimeout: 60_000, extra });
  servers.push(s);
  return s;
}

async function session(port: number, timeoutMs: number): Promise<RawConn> {
  const { conn } = await openSession(port, timeoutMs);
  conns.push(conn);
  return conn;
}

function longPath(tag: string, i: number): string {
  return `/${tag}-${String(i).padStart(3, '0')}-${'x'.repeat(LONG)}`;
}

/** Creates ~1 MB-path ephemerals until one is refused (or CREATES_MAX); what came back. */
async function fill(conn: RawConn, tag: string): Promise<{ created: number; refusedWith: number | null }> {
  for (let i = 0; i < CREATES_MAX; i++) {
    const r: Reply | null = await conn.call(i + 1, Op.create, createBody(longPath(tag, i), Buffer.alloc(0), 1), 60_000);
    assert.ok(r !== null, `the connection closed at create ${i}`);
    if (r.err !== 0) return { created: i, refusedWith: r.err };
  }
  return { created: CREATES_MAX, refusedWith: null };
}

/** Whether the server still answers: ruok, and a fresh session can write. */
async function serving(s: ServerHandle): Promise<boolean> {
  if (s.exited) return false;
  try {
    if ((await fourLetter(s.port, 'ruok', 3000)) !== 'imok') return false;
    const c = await session(s.port, 10_000);
    const r = await c.call(1, Op.exists, existsBody('/'), 10_000);
    c.destroy();
    return r !== null && r.err === 0;
  } catch {
    return false;
  }
}

function existsBody(path: string): Buffer {
  const p = Buffer.from(path);
  const b = Buffer.alloc(4 + p.length + 1);
  b.writeInt32BE(p.length, 0);
  p.copy(b, 4);
  b[4 + p.length] = 0;
  return b;
}

async function exists(port: number, path: string): Promise<number> {
  const c = await session(port, 10_000);
  const r = await c.call(1, Op.exists, existsBody(path), 30_000);
  c.destroy();
  assert.ok(r !== null, 'exists answered');
  return r.err;
}

describe('item 2: closing a session that owns many ephemerals cannot crash-loop', () => {
  test('standalone: the bound answers QuotaExceeded; closeSession and a restart leave the server up', { timeout: 600_000 }, async () => {
    const port = suitePort(SUITE_PORTS.advStorage, 0);
    const dataDir = freshDir('zkts-adv-close-');
    let server = await start(port, dataDir);
    const conn = await session(port, 60_000);
    const filled = await fill(conn, 'c');
    const closed = await conn.call(1000, Op.closeSession, Buffer.alloc(0), 120_000);
    assert.ok(
      closed !== null && closed.err === 0,
      `closeSession answered (after ${filled.created} creates); server exited: ${server.exited}; output:\n${server.logs().slice(-2000)}`,
    );
    assert.ok(await serving(server), `the server is up after closeSession; output:\n${server.logs().slice(-3000)}`);
    assert.equal(filled.refusedWith, QUOTA_EXCEEDED, `created ${filled.created} before any refusal`);
    assert.ok(filled.created >= 1);
    assert.equal(await exists(port, longPath('c', 0)), NO_NODE);
    await server.stop();
    server = await start(port, dataDir);
    assert.ok(await serving(server), 'up after a restart');
    assert.equal(await exists(port, longPath('c', 0)), NO_NODE);
    await server.stop();
  });

  test('expiry after a restart into a smaller jute.maxbuffer: closed without the list, no crash loop', { timeout: 600_000 }, async () => {
    const port = suitePort(SUITE_PORTS.advStorage, 1);
    const dataDir = freshDir('zkts-adv-expire-');
    // First life: a bound of 8 MiB lets the session own ~8 paths of 1 MB.
    let server = await start(port, dataDir, { 'jute.maxbuffer': String(8 * 1024 * 1024) });
    // 30 s: a loaded disk can hold one 1 MB create for seconds, and this client does not ping.
    const conn = await session(port, 30_000);
    const filled = await fill(conn, 'x');
    conn.destroy();
    await server.kill(); // before the session expires: the restart inherits it
    // Second life: the default jute.maxbuffer (1 MiB) cannot list what the session owns.
    server = await start(port, dataDir);
    await eventually('the recovered session expires and its ephemerals go', async () => {
      if (server.exited) throw new Error(`the server died:\n${server.logs().slice(-3000)}`);
      return (await exists(port, longPath('x', 0))) === NO_NODE ? true : undefined;
    }, 150_000);
    assert.ok(await serving(server), `up after the expiry; output:\n${server.logs().slice(-3000)}`);
    assert.match(server.logs(), /closed without the list/);
    await server.stop();
    server = await start(port, dataDir);
    assert.ok(await serving(server), 'up after one more restart');
    await server.stop();
    assert.equal(filled.refusedWith, QUOTA_EXCEEDED, `created ${filled.created} before any refusal`);
    assert.ok(filled.created >= 7, `${filled.created} paths of 1 MB under an 8 MiB bound`);
  });

  test('ensemble: a session on a follower hits the bound, then the leader expires it; every member stays up', { timeout: 600_000 }, async () => {
    const ports = [3, 4, 5].map((i) => suitePort(SUITE_PORTS.advStorage, i));
    const members: Record<string, string> = {};
    ports.forEach((p, i) => (members[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    const live: ServerHandle[] = [];
    for (let i = 0; i < 3; i++) {
      const dataDir = freshDir('zkts-adv-ens-');
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      live.push(await start(ports[i] as number, dataDir, members, 300));
    }
    const leader = await leaderOf(live);
    const follower = live.find((s) => s !== leader) as ServerHandle;
    const conn = await session(follower.port, 30_000);
    const filled = await fill(conn, 'e');
    conn.destroy();
    for (const s of live) {
      await eventually(`the expiry reached ${s.port}`, async () => {
        if (s.exited) throw new Error(`${s.port} died:\n${s.logs().slice(-3000)}`);
        return (await exists(s.port, longPath('e', 0))) === NO_NODE ? true : undefined;
      }, 150_000);
    }
    for (const s of live) assert.ok(await serving(s), `${s.port} is up; output:\n${s.logs().slice(-3000)}`);
    assert.equal(await leaderOf(live), leader, 'no election happened');
    assert.equal(filled.refusedWith, QUOTA_EXCEEDED, `created ${filled.created} before any refusal`);
    for (const s of live) await s.stop();
  });
});

describe('item 3: mid-log corruption stops start-up; only a torn tail is truncated', () => {
  test('a flipped byte before valid records: refused with file and offset, zkts check reports it, nothing truncated; a torn tail is truncated', { timeout: 300_000 }, async () => {
    const port = suitePort(SUITE_PORTS.advStorage, 2);
    const dataDir = freshDir('zkts-adv-corrupt-');
    let server = await start(port, dataDir);
    const conn = await session(port, 10_000);
    for (let i = 0; i < 30; i++) {
      const r = await conn.call(i + 1, Op.create, createBody(`/n${i}`, Buffer.from(`v${i}`)), 30_000);
      assert.equal(r?.err, 0);
    }
    conn.destroy();
    await server.stop();
    const logDir = join(dataDir, 'version-2');
    const newest = readdirSync(logDir)
      .filter((f) => f.startsWith('log.'))
      .sort((a, b) => parseInt(a.slice(4), 16) - parseInt(b.slice(4), 16))
      .at(-1) as string;
    const file = join(logDir, newest);
    const pristine = readFileSync(file);
    const records: { zxid: number; offset: number }[] = [];
    const scan = scanLog(pristine, file, (hdr, _txn, offset) => void records.push({ zxid: hdr.zxid, offset }));
    assert.ok(records.length >= 20, `${records.length} records in ${file}`);
    const victim = records[records.length - 10] as { offset: number };
    const damaged = Buffer.from(pristine);
    damaged[victim.offset + 20] = (damaged[victim.offset + 20] ?? 0) ^ 0x10;
    writeFileSync(file, damaged);

    // The server refuses to start, naming the file and the offset.
    await assert.rejects(
      startServer('zkts', { port, dataDir, tickTime: 200, startTimeoutMs: 60_000 }),
      (e: Error) => e.message.includes(`${newest} is corrupt at offset ${victim.offset}`) && e.message.includes('exited'),
    );
    assert.deepEqual(readFileSync(file), damaged, 'nothing was truncated or rewritten');
    assert.equal(statSync(file).size, pristine.length);

    // zkts check says the same, and is not fooled into "recoverable".
    const check = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'zkts.js'), 'check', dataDir], { encoding: 'utf8' });
    assert.equal(check.status, 2, check.stdout + check.stderr);
    assert.match(check.stdout, new RegExp(`${newest}: .*DAMAGED.*\n  CORRUPT at offset ${victim.offset}: a valid record follows`));
    assert.match(check.stdout, /recoverable: NO/);
    assert.deepEqual(readFileSync(file), damaged, 'check changed nothing');

    // A real torn tail: the last record half written, zeros after it. Truncated, and served.
    const torn = Buffer.from(pristine);
    const last = records[records.length - 1] as { zxid: number; offset: number };
    torn.fill(0, last.offset + 20, scan.goodEnd);
    const copy = freshDir('zkts-adv-torn-');
    cpSync(dataDir, copy, { recursive: true });
    writeFileSync(join(copy, 'version-2', newest), torn);
    server = await start(port, copy);
    assert.ok(await serving(server));
    assert.equal(await exists(port, `/n28`), 0, 'the records before the torn one are there');
    assert.equal(await exists(port, `/n29`), NO_NODE, 'the torn record is gone');
    await server.stop();
    assert.equal(statSync(join(copy, 'version-2', newest)).size, last.offset, 'truncated at the last good record');
  });
});
