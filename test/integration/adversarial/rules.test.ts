// Adversarial clients against the server's rules (issue 9, items 4, 8, 9 and 14), over raw TCP
// with hand-written jute bytes (harness/raw.ts) against a real server process:
//
//   4   opcodes only the server issues (deleteContainer, createSession, error, notification)
//       are refused from clients, also inside a multi;
//   8   the default four-letter-word whitelist is ZooKeeper's (srvr only);
//   9   one request or session cannot make a thread do unbounded work: a huge ACL, a flood of
//       auth ids and a txn that outgrows its request are refused, and a witness session keeps
//       being served;
//  14   removeWatches / checkWatches see a persistent or recursive watch as both a data and a
//       child watch (it sits in both of ZooKeeper 3.8's WatchManagers).
//
// Items 4, 8 and 14 assert what Apache ZooKeeper 3.8 answers (ZKTS_TEST_TARGET=apache runs them
// against it); item 9's bounds are zkts's own (ZooKeeper has none) and run against zkts only.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { aclEntriesMax, authIdsPerSessionMax } from '../../../src/common/limits.js';
import { JuteReader, JuteWriter, Op, type RawConn, openSession, parseReply, requestPacket, type Reply } from '../harness/raw.js';
import { leaderOf } from '../harness/ensemble.js';
import { fourLetter, startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, isApache, suitePort, targetKind } from '../harness/target.js';

/** Opcodes and codes this file needs beyond harness/raw.ts's Op (ZooDefs / KeeperException). */
const OpX = {
  notification: 0,
  error: -1,
  createSession: -10,
  setACL: 7,
  multi: 14,
  checkWatches: 17,
  removeWatches: 18,
  deleteContainer: 20,
  auth: 100,
} as const;
const Code = {
  ok: 0,
  marshallingError: -5,
  unimplemented: -6,
  badArguments: -8,
  noNode: -101,
  noAuth: -102,
  invalidACL: -114,
  authFailed: -115,
  noWatcher: -121,
} as const;
/** Watcher.WatcherType (3.8 knows 1-3) and AddWatchMode. */
const WatcherType = { children: 1, data: 2, any: 3 } as const;
const AddWatchMode = { persistent: 0, persistentRecursive: 1 } as const;
const EventType = { nodeCreated: 1, nodeDeleted: 2, nodeDataChanged: 3, nodeChildrenChanged: 4 } as const;

let server: ServerHandle;
let port: number;
/** A session that must keep being served whatever the others send. */
let witness: RawConn;
let witnessXid = 1;
let pinger: NodeJS.Timeout | undefined;
/** The whitelist of the main server: the words item 8 needs, and ruok for the harness. */
const WHITELIST = 'srvr,ruok,envi,cons,dump,wchc';

before(async () => {
  port = suitePort(SUITE_PORTS.advRules);
  server = await startServer(targetKind(), { port, tickTime: 500, extra: { '4lw.commands.whitelist': WHITELIST } });
  witness = (await openSession(port, 10000)).conn;
  pinger = setInterval(() => void witness.write(requestPacket(-2, Op.ping)), 2000);
  assert.equal((await witness.call(witnessXid++, Op.create, createBody('/adv', [worldAll])))?.err, Code.ok);
});

const opened: RawConn[] = [];
async function newSession(): Promise<RawConn> {
  const { conn } = await openSession(port, 10000);
  opened.push(conn);
  return conn;
}

afterEach(() => {
  for (const c of opened.splice(0)) c.destroy();
});

after(async () => {
  clearInterval(pinger);
  witness?.destroy();
  await server?.stop();
});

// ---- jute bodies -----------------------------------------------------------------------------

interface RawAcl {
  perms: number;
  scheme: string;
  id: string;
}
const worldAll: RawAcl = { perms: 31, scheme: 'world', id: 'anyone' };

function writeAcls(w: JuteWriter, acl: readonly RawAcl[]): JuteWriter {
  w.int(acl.length);
  for (const a of acl) w.int(a.perms).string(a.scheme).string(a.id);
  return w;
}
function createBody(path: string, acl: readonly RawAcl[], flags = 0): Buffer {
  return writeAcls(new JuteWriter().string(path).buffer(Buffer.alloc(0)), acl).int(flags).bytes();
}
function setAclBody(path: string, acl: readonly RawAcl[]): Buffer {
  return writeAcls(new JuteWriter().string(path), acl).int(-1).bytes();
}
function pathBody(path: string): Buffer {
  return new JuteWriter().string(path).bytes();
}
function pathWatchBody(path: string, watch: boolean): Buffer {
  return new JuteWriter().string(path).bool(watch).bytes();
}
function pathIntBody(path: string, n: number): Buffer {
  return new JuteWriter().string(path).int(n).bytes();
}
function setDataBody(path: string, data: string): Buffer {
  return new JuteWriter().string(path).buffer(Buffer.from(data)).int(-1).bytes();
}
function authBody(scheme: string, auth: string): Buffer {
  return new JuteWriter().int(0).string(scheme).buffer(Buffer.from(auth)).bytes();
}
/** DigestAuthenticationProvider.generateDigest("user:password"). */
function digest(userPassword: string): string {
  const user = userPassword.slice(0, userPassword.indexOf(':'));
  return `${user}:${crypto.createHash('sha1').update(userPassword).digest('base64')}`;
}

/** `ip` ACL entries with distinct ids (10.a.b.c), so that nothing is a duplicate. */
function distinctIpAcl(n: number): RawAcl[] {
  const out: RawAcl[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ perms: 31, scheme: 'ip', id: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
  }
  return out;
}

async function exists(conn: RawConn, xid: number, path: string): Promise<number> {
  const r = await conn.call(xid, Op.exists, pathWatchBody(path, false), 60000);
  assert.ok(r !== null, 'connection closed');
  return r.err;
}

/** The witness session still gets correct answers. */
async function assertWitnessServed(): Promise<void> {
  const xid = witnessXid++;
  const r = await witness.call(xid, Op.exists, pathWatchBody('/adv', false), 60000);
  assert.ok(r !== null, 'the witness connection was closed');
  assert.equal(r.xid, xid);
  assert.equal(r.err, Code.ok);
}

interface WatchEvent {
  type: number;
  path: string;
}
/** Sends one request; returns its reply and the watch events that came before it. */
async function callCollect(conn: RawConn, xid: number, type: number, body: Buffer): Promise<{ reply: Reply; events: WatchEvent[] }> {
  await conn.write(requestPacket(xid, type, body));
  const events: WatchEvent[] = [];
  for (;;) {
    const f = await conn.nextFrame(30000);
    assert.ok(f !== null, 'connection closed');
    const r = parseReply(f);
    if (r.xid === -2) continue;
    if (r.xid === -1) {
      const e = new JuteReader(r.body);
      const evType = e.int();
      e.int(); // state
      events.push({ type: evType, path: e.string() ?? '' });
      continue;
    }
    assert.equal(r.xid, xid, 'reply in order');
    return { reply: r, events };
  }
}

// ---- item 4 ----------------------------------------------------------------------------------

describe('item 4: opcodes only the server issues', () => {
  test('a client deleteContainer is refused (BadArguments) and the node it names survives', async () => {
    const owner = await newSession();
    let xid = 1;
    assert.equal((await owner.call(xid++, OpX.auth, authBody('digest', 'alice:secret')))?.err, Code.ok);
    const aliceOnly: RawAcl[] = [{ perms: 31, scheme: 'digest', id: digest('alice:secret') }];
    // An empty persistent node and an empty container, both closed to everyone but alice.
    assert.equal((await owner.call(xid++, Op.create, createBody('/adv/locked', aliceOnly)))?.err, Code.ok);
    assert.equal((await owner.call(xid++, Op.createContainer, createBody('/adv/box', aliceOnly, 4)))?.err, Code.ok);

    // An anonymous session may not touch them; ContainerManager's deleteContainer checks no ACL,
    // so from a client it must be refused outright (ZooKeeper: BadArguments, connection kept).
    const intruder = await newSession();
    for (const path of ['/adv/locked', '/adv/box']) {
      const r = await intruder.call(10, OpX.deleteContainer, pathBody(path), 30000);
      assert.ok(r !== null, 'the connection stays open (ZooKeeper answers, it does not close)');
      assert.equal(r.err, Code.badArguments, `deleteContainer ${path}`);
      assert.equal(await exists(owner, xid++, path), Code.ok, `${path} survives`);
    }
    // Inside a multi, deleteContainer is no op MultiOperationRecord knows: MarshallingError.
    const multi = new JuteWriter()
      .int(OpX.deleteContainer).bool(false).int(-1).string('/adv/locked')
      .int(-1).bool(true).int(-1)
      .bytes();
    const m = await intruder.call(11, OpX.multi, multi, 30000);
    assert.ok(m !== null, 'connection closed');
    assert.equal(m.err, Code.marshallingError, 'deleteContainer inside a multi');
    assert.equal(await exists(owner, xid++, '/adv/locked'), Code.ok, 'survives the multi');
    await assertWitnessServed();
  });

  test('through a follower too: the leader refuses a forwarded deleteContainer; a session at the auth bound still writes', { skip: isApache() ? 'zkts ensemble mode' : false }, async () => {
    const ports = [2, 3, 4].map((i) => suitePort(SUITE_PORTS.advRules, i));
    const extra: Record<string, string> = {};
    ports.forEach((p, i) => (extra[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}`));
    const members: ServerHandle[] = [];
    const dirs: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const dataDir = mkdtempSync(join(tmpdir(), 'zkts-adv-rules-'));
        dirs.push(dataDir);
        writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
        members.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 200, extra }));
      }
      const leader = await leaderOf(members);
      const follower = members.find((m) => m !== leader)!;
      const { conn: owner } = await openSession(follower.port, 10000);
      opened.push(owner);
      let xid = 1;
      // As many digest ids as a session may hold: every forwarded write carries them all.
      for (let i = 0; i < authIdsPerSessionMax - 1; i++) {
        assert.equal((await owner.call(-4, OpX.auth, authBody('digest', `user${i}:pw`)))?.err, Code.ok);
      }
      assert.equal((await owner.call(-4, OpX.auth, authBody('digest', 'alice:secret')))?.err, Code.ok);
      const aliceOnly: RawAcl[] = [{ perms: 31, scheme: 'digest', id: digest('alice:secret') }];
      assert.equal((await owner.call(xid++, Op.create, createBody('/locked', aliceOnly), 30000))?.err, Code.ok);
      const { conn: intruder } = await openSession(follower.port, 10000);
      opened.push(intruder);
      assert.equal((await intruder.call(1, OpX.deleteContainer, pathBody('/locked'), 30000))?.err, Code.badArguments);
      const { conn: onLeader } = await openSession(leader.port, 10000);
      opened.push(onLeader);
      assert.equal(await exists(onLeader, 1, '/locked'), Code.ok, 'survives on the leader');
      assert.equal(await exists(owner, xid++, '/locked'), Code.ok, 'and on the follower');
    } finally {
      for (const m of members) await m.kill();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  const closers: Array<[string, number]> = [
    ['error (-1)', OpX.error],
    ['notification (0)', OpX.notification],
  ];
  // Apache 3.8 lets a client's createSession into its pipeline (Request.isValid); zkts refuses it
  // as an opcode it does not serve, like error and notification.
  if (!isApache()) closers.push(['createSession (-10)', OpX.createSession]);
  for (const [name, op] of closers) {
    test(`a client ${name} is answered Unimplemented and its connection closed`, async () => {
      const c = await newSession();
      const r = await c.call(7, op, Buffer.alloc(4), 30000);
      assert.ok(r !== null, 'an answer before the close');
      assert.equal(r.err, Code.unimplemented);
      assert.equal(await c.waitClosed(10000), true, 'connection closed');
      await assertWitnessServed();
    });
  }
});

// ---- item 8 ----------------------------------------------------------------------------------

describe('item 8: the default four-letter-word whitelist is srvr only', () => {
  const words = ['envi', 'cons', 'dump', 'wchc'];

  test('envi, cons, dump and wchc are answered when listed', async () => {
    for (const w of words) {
      const text = await fourLetter(port, w);
      assert.ok(!text.includes('not in the whitelist'), `${w}: ${text}`);
      assert.ok(text.length > 0, `${w} answered`);
    }
  });

  test('without 4lw.commands.whitelist only srvr is answered', async () => {
    const p = suitePort(SUITE_PORTS.advRules, 1);
    const plain = await startServer(targetKind(), { port: p, without: ['4lw.commands.whitelist'] });
    try {
      for (const w of [...words, 'ruok', 'stat', 'mntr', 'conf']) {
        assert.equal(await fourLetter(p, w), `${w} is not executed because it is not in the whitelist.\n`, w);
      }
      assert.match(await fourLetter(p, 'srvr'), /^Zookeeper version: /);
    } finally {
      await plain.stop();
    }
  });
});

// ---- item 9 ----------------------------------------------------------------------------------

describe('item 9: no request or session makes a thread do unbounded work', { skip: isApache() ? 'zkts bounds' : false }, () => {
  test('an ACL of more than aclEntriesMax entries is InvalidACL on create, create in a multi and setACL', async () => {
    const c = await newSession();
    // 40,000 distinct entries (~960 KB, inside jute.maxbuffer): on the old code its O(n^2)
    // de-duplication held the main thread for seconds.
    const huge = distinctIpAcl(40000);
    const r1 = await c.call(1, Op.create, createBody('/adv/huge', huge), 120000);
    assert.ok(r1 !== null, 'connection closed');
    assert.equal(r1.err, Code.invalidACL, 'create with 40,000 entries');
    await assertWitnessServed();
    const over = distinctIpAcl(aclEntriesMax + 1);
    assert.equal((await c.call(2, Op.create, createBody('/adv/over', over), 60000))?.err, Code.invalidACL);
    const multi = writeAcls(new JuteWriter().int(Op.create).bool(false).int(-1).string('/adv/over').buffer(Buffer.alloc(0)), over)
      .int(0)
      .int(-1).bool(true).int(-1)
      .bytes();
    const m = await c.call(3, OpX.multi, multi, 60000);
    assert.ok(m !== null, 'connection closed');
    const mr = new JuteReader(m.body);
    assert.deepEqual([mr.int(), mr.bool(), mr.int(), mr.int()], [-1, false, Code.invalidACL, Code.invalidACL], 'ErrorResult');
    assert.equal(await exists(c, 4, '/adv/over'), Code.noNode, 'the multi created nothing');
    // Exactly the bound is fine.
    assert.equal((await c.call(5, Op.create, createBody('/adv/max', distinctIpAcl(aclEntriesMax)), 60000))?.err, Code.ok);
    assert.equal((await c.call(6, OpX.setACL, setAclBody('/adv/max', huge), 120000))?.err, Code.invalidACL);
    assert.equal((await c.call(7, OpX.setACL, setAclBody('/adv/max', over), 60000))?.err, Code.invalidACL);
    await assertWitnessServed();
  });

  test('more than authIdsPerSessionMax auth ids: AuthFailed and the connection closes', async () => {
    const c = await newSession();
    // Pipelined, as a flood would come; the same id again does not count twice.
    const n = authIdsPerSessionMax;
    const frames: Buffer[] = [];
    for (let i = 0; i < n; i++) frames.push(requestPacket(-4, OpX.auth, authBody('digest', `u${i}:p`)));
    frames.push(requestPacket(-4, OpX.auth, authBody('digest', 'u0:p')));
    frames.push(requestPacket(-4, OpX.auth, authBody('digest', `u${n}:p`)));
    await c.write(Buffer.concat(frames));
    for (let i = 0; i <= n; i++) {
      const r = await c.nextReply(30000);
      assert.ok(r !== null, `closed after ${i} auth replies`);
      assert.equal(r.err, Code.ok, `auth ${i}`);
    }
    const last = await c.nextReply(30000);
    assert.ok(last !== null, 'the refusal is answered before the close');
    assert.equal(last.err, Code.authFailed);
    assert.equal(await c.waitClosed(10000), true, 'connection closed');
    await assertWitnessServed();
  });

  test('a multi whose txn outgrows its request (auth ACLs expand per create) gets BadArguments; the server stays up', async () => {
    // Each create names one `auth` entry (~20 bytes); the server expands it to every digest id
    // of the session (authIdsPerSessionMax ids of ~1 KB): 2,500 creates in a ~60 KB request
    // make an ~80 MB txn. On the old code the log's record bound failed an assertion and the
    // server died. Now the op that passes txnBytesMax gets BadArguments and the multi is rolled
    // back; a small one with the same ACL still works.
    const c = await newSession();
    const frames: Buffer[] = [];
    for (let i = 0; i < authIdsPerSessionMax; i++) {
      frames.push(requestPacket(-4, OpX.auth, authBody('digest', `u${String(i).padStart(2, '0')}${'x'.repeat(980)}:pw`)));
    }
    await c.write(Buffer.concat(frames));
    for (let i = 0; i < authIdsPerSessionMax; i++) assert.equal((await c.nextReply(30000))?.err, Code.ok, `auth ${i}`);
    const authAcl: RawAcl[] = [{ perms: 31, scheme: 'auth', id: '' }];
    const multiOf = (n: number, prefix: string): Buffer => {
      const w = new JuteWriter();
      for (let i = 0; i < n; i++) {
        writeAcls(w.int(Op.create).bool(false).int(-1).string(`${prefix}${i}`).buffer(Buffer.alloc(0)), authAcl).int(0);
      }
      return w.int(-1).bool(true).int(-1).bytes();
    };
    const big = await c.call(1, OpX.multi, multiOf(2500, '/adv/tx'), 120000);
    assert.ok(big !== null, 'connection closed (the server died?)');
    const br = new JuteReader(big.body);
    const errs = new Set<number>();
    for (let i = 0; i < 2500; i++) {
      assert.equal(br.int(), -1, `op ${i} is an ErrorResult`);
      assert.equal(br.bool(), false);
      br.int();
      errs.add(br.int());
    }
    assert.ok(errs.has(Code.badArguments), `one op is BadArguments (got ${[...errs].join(',')})`);
    assert.equal(await exists(c, 2, '/adv/tx0'), Code.noNode, 'the multi was rolled back');
    const small = await c.call(3, OpX.multi, multiOf(3, '/adv/ty'), 60000);
    assert.ok(small !== null, 'connection closed');
    assert.equal(new JuteReader(small.body).int(), Op.create, 'a small multi with the same ACL creates');
    assert.equal(await exists(c, 4, '/adv/ty2'), Code.ok);
    await assertWitnessServed();
  });

  test('an auth id longer than authIdCharsMax is AuthFailed', async () => {
    const c = await newSession();
    const r = await c.call(-4, OpX.auth, authBody('digest', `${'u'.repeat(4096)}:p`), 30000);
    assert.ok(r !== null, 'answered before the close');
    assert.equal(r.err, Code.authFailed);
    assert.equal(await c.waitClosed(10000), true, 'connection closed');
    await assertWitnessServed();
  });
});

// ---- item 14 ---------------------------------------------------------------------------------

describe('item 14: removeWatches / checkWatches on persistent and recursive watches', () => {
  test('a persistent watch is a data and a child watch; each half goes on its own', async () => {
    const c = await newSession();
    let xid = 1;
    assert.equal((await c.call(xid++, Op.create, createBody('/adv/p', [worldAll])))?.err, Code.ok);
    assert.equal((await c.call(xid++, Op.addWatch, pathIntBody('/adv/p', AddWatchMode.persistent)))?.err, Code.ok);
    for (const t of [WatcherType.data, WatcherType.children, WatcherType.any]) {
      assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/p', t)))?.err, Code.ok, `check type ${t}`);
    }
    // Remove the data half: the child half still fires, and stays.
    assert.equal((await c.call(xid++, OpX.removeWatches, pathIntBody('/adv/p', WatcherType.data)))?.err, Code.ok);
    assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/p', WatcherType.data)))?.err, Code.noWatcher);
    assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/p', WatcherType.children)))?.err, Code.ok);
    const set = await callCollect(c, xid++, Op.setData, setDataBody('/adv/p', 'x'));
    assert.equal(set.reply.err, Code.ok);
    assert.deepEqual(set.events, [], 'no data event once the data half is gone');
    for (const child of ['/adv/p/a', '/adv/p/b']) {
      const made = await callCollect(c, xid++, Op.create, createBody(child, [worldAll]));
      assert.equal(made.reply.err, Code.ok);
      assert.deepEqual(made.events, [{ type: EventType.nodeChildrenChanged, path: '/adv/p' }], `child event for ${child}`);
    }
    assert.equal((await c.call(xid++, OpX.removeWatches, pathIntBody('/adv/p', WatcherType.children)))?.err, Code.ok);
    assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/p', WatcherType.any)))?.err, Code.noWatcher);
    assert.equal((await c.call(xid++, OpX.removeWatches, pathIntBody('/adv/p', WatcherType.any)))?.err, Code.noWatcher);
    await assertWitnessServed();
  });

  test('a recursive watch is a data and a child watch too; without its child half it still sees data', async () => {
    const c = await newSession();
    let xid = 1;
    assert.equal((await c.call(xid++, Op.create, createBody('/adv/r', [worldAll])))?.err, Code.ok);
    assert.equal((await c.call(xid++, Op.addWatch, pathIntBody('/adv/r', AddWatchMode.persistentRecursive)))?.err, Code.ok);
    for (const t of [WatcherType.data, WatcherType.children, WatcherType.any]) {
      assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/r', t)))?.err, Code.ok, `check type ${t}`);
    }
    assert.equal((await c.call(xid++, OpX.removeWatches, pathIntBody('/adv/r', WatcherType.children)))?.err, Code.ok);
    assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/r', WatcherType.children)))?.err, Code.noWatcher);
    assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/r', WatcherType.data)))?.err, Code.ok);
    const made = await callCollect(c, xid++, Op.create, createBody('/adv/r/x', [worldAll]));
    assert.equal(made.reply.err, Code.ok);
    assert.deepEqual(made.events, [{ type: EventType.nodeCreated, path: '/adv/r/x' }], 'the data half still fires below');
    assert.equal((await c.call(xid++, OpX.removeWatches, pathIntBody('/adv/r', WatcherType.data)))?.err, Code.ok);
    assert.equal((await c.call(xid++, OpX.checkWatches, pathIntBody('/adv/r', WatcherType.any)))?.err, Code.noWatcher);
    const set = await callCollect(c, xid++, Op.setData, setDataBody('/adv/r/x', 'y'));
    assert.deepEqual(set.events, [], 'nothing fires once both halves are gone');
    await assertWitnessServed();
  });
});
