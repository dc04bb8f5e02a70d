// Issue 9, items 5 and 7, over a real server: what ACLs and quotas keep from a client.
//
//   5. Watch events are filtered by READ on the node they are about (CVE-2024-23944): a
//      persistent-recursive watch on "/" does not learn the paths of nodes it cannot read, nor
//      does a one-shot exists watch, nor a setWatches replay (CVE-2026-59739).
//   7. superDigest (DigestAuthenticationProvider.superDigest): `addauth digest super:<pw>` passes
//      every ACL, a wrong password nothing. enforceQuota: zkCli's setquota limits are enforced
//      with QuotaExceeded (-125), also for writes in flight together; without enforceQuota a
//      limit passed is only logged.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { runKazoo, dedent } from '../harness/kazoo.js';
import { JuteReader, JuteWriter, Op, openSession, requestPacket, type RawConn } from '../harness/raw.js';
import { startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, suitePort } from '../harness/target.js';
import { zkcliScript } from '../harness/zkcli.js';

const SUPER_PASSWORD = 'letmein';
const superDigest = `super:${createHash('sha1').update(`super:${SUPER_PASSWORD}`).digest('base64')}`;

/** enforceQuota and superDigest on. */
let server: ServerHandle;
/** Neither: quotas are only logged. */
let lenient: ServerHandle;

before(async () => {
  server = await startServer('zkts', {
    port: suitePort(SUITE_PORTS.advAcl, 0),
    tickTime: 200,
    extra: { enforceQuota: 'true', 'DigestAuthenticationProvider.superDigest': superDigest, logLevel: 'info' },
  });
  lenient = await startServer('zkts', { port: suitePort(SUITE_PORTS.advAcl, 1), tickTime: 200, extra: { logLevel: 'info' } });
});

after(async () => {
  await server?.stop();
  await lenient?.stop();
});

/** Runs a kazoo script with B = '/<name>' and QuotaExceededError (-125, unknown to kazoo 2.8). */
function kz<T>(s: ServerHandle, name: string, script: string, timeoutMs = 30000): Promise<T> {
  const prelude = dedent(`
    B = ${JSON.stringify('/' + name)}
    @_zookeeper_exception(-125)
    class QuotaExceededError(kex.ZookeeperError):
        pass
  `);
  return runKazoo<T>(prelude + '\n' + dedent(script), { hosts: s.connectString, timeoutMs });
}

type Ev = [number, string];

describe('item 5: watch events are filtered by READ (CVE-2024-23944)', () => {
  test('a persistent-recursive watch on / sees readable nodes only; a reader of them sees all', async () => {
    const r = await kz<{ outsider: Ev[]; alice: Ev[]; hidden: boolean }>(
      server,
      'adv-acl-watch',
      `
      outsider = connect()
      alice = connect(auth_data=[('digest', 'alice:pw')])
      olog = record_wire(outsider)
      alog = record_wire(alice)
      call(outsider, AddWatch('/', 1))
      call(alice, AddWatch('/', 1))
      mine = make_digest_acl('alice', 'pw', all=True)
      alice.create(B, b'')
      hidden = Events()
      outsider.exists(B + '/hidden', watch=hidden)   # a one-shot watch on a path not there yet
      alice.create(B + '/secret', b's', acl=[mine])
      alice.set(B + '/secret', b't')
      alice.create(B + '/secret/deeper', b'', acl=[mine])
      alice.create(B + '/hidden', b'', acl=[mine])
      alice.create(B + '/open', b'o')
      alice.set(B + '/open', b'p')
      # readable by address (kazoo connects from 127.0.0.1), not by id
      alice.create(B + '/byip', b'', acl=[make_acl('ip', '127.0.0.1', read=True), mine])
      alice.delete(B + '/secret/deeper')
      alice.delete(B + '/secret')
      alice.delete(B + '/hidden')
      alice.delete(B + '/open')
      alice.delete(B + '/byip')
      alice.create(B + '/end', b'')
      ev = lambda log: [[e['type'], e['path']] for e in log if e['kind'] == 'event']
      deadline = time.time() + 10
      while time.time() < deadline and [1, B + '/end'] not in ev(olog):
          time.sleep(0.05)
      while time.time() < deadline and [1, B + '/end'] not in ev(alog):
          time.sleep(0.05)
      result({'outsider': ev(olog), 'alice': ev(alog), 'hidden': len(hidden.items) > 0})
      `,
    );
    const B = '/adv-acl-watch';
    // NodeCreated 1, NodeDeleted 2, NodeDataChanged 3 (recursive watches never see 4).
    assert.deepEqual(r.outsider, [
      [1, B],
      [1, `${B}/open`],
      [3, `${B}/open`],
      [1, `${B}/byip`],
      [2, `${B}/open`],
      [2, `${B}/byip`],
      [1, `${B}/end`],
    ]);
    assert.equal(r.hidden, false, 'the one-shot exists watch must not fire for an unreadable node');
    assert.deepEqual(r.alice, [
      [1, B],
      [1, `${B}/secret`],
      [3, `${B}/secret`],
      [1, `${B}/secret/deeper`],
      [1, `${B}/hidden`],
      [1, `${B}/open`],
      [3, `${B}/open`],
      [1, `${B}/byip`],
      [2, `${B}/secret/deeper`],
      [2, `${B}/secret`],
      [2, `${B}/hidden`],
      [2, `${B}/open`],
      [2, `${B}/byip`],
      [1, `${B}/end`],
    ]);
  });

  test('setWatches does not replay an event for a node the session cannot read', async () => {
    const B = '/adv-acl-setwatches';
    await kz(
      server,
      'adv-acl-setwatches',
      `
      alice = connect(auth_data=[('digest', 'alice:pw')])
      alice.create(B, b'')
      alice.create(B + '/secret', b'', acl=[make_digest_acl('alice', 'pw', all=True)])
      alice.create(B + '/open', b'')
      result(None)
      `,
    );
    const { conn } = await openSession(server.port);
    try {
      // SetWatches{relativeZxid, dataWatches, existWatches, childWatches}: both nodes exist, so
      // each exist watch fires at once with NodeCreated, before the reply.
      const body = new JuteWriter().long(0).int(0).int(2).string(`${B}/secret`).string(`${B}/open`).int(0).bytes();
      await conn.write(requestPacket(7, 101, body));
      const events: string[] = [];
      for (;;) {
        const f = await conn.nextFrame(5000);
        assert.ok(f !== null, 'connection closed');
        const r = new JuteReader(f);
        const xid = r.int();
        r.long();
        r.int();
        if (xid === 7) break;
        if (xid !== -1) continue;
        const type = r.int();
        r.int();
        events.push(`${type} ${r.string()}`);
      }
      assert.deepEqual(events, [`1 ${B}/open`]);
    } finally {
      conn.destroy();
    }
  });
});

describe('item 7: superDigest', () => {
  test('addauth digest super:<password> reads and deletes what its ACL denies; a wrong password does not', async () => {
    const r = await kz<{ wrong: (string | null)[]; right: (string | null)[]; data: string; gone: boolean }>(
      server,
      'adv-acl-super',
      `
      alice = connect(auth_data=[('digest', 'alice:pw')])
      mine = make_digest_acl('alice', 'pw', all=True)
      alice.create(B, b'', acl=[mine])
      alice.create(B + '/n', b'private', acl=[mine])
      wrong = connect(auth_data=[('digest', 'super:not-${SUPER_PASSWORD}')])
      w = [err(wrong.get, B + '/n'), err(wrong.delete, B + '/n'), err(wrong.get_children, B)]
      root = connect(auth_data=[('digest', 'super:${SUPER_PASSWORD}')])
      data, _ = root.get(B + '/n')
      r = [err(root.get_children, B), err(root.set, B + '/n', b'changed'), err(root.delete, B + '/n'), err(root.delete, B)]
      result({'wrong': w, 'right': r, 'data': data.decode(), 'gone': alice.exists(B) is None})
      `,
    );
    assert.deepEqual(r.wrong, ['NoAuthError', 'NoAuthError', 'NoAuthError']);
    assert.equal(r.data, 'private');
    assert.deepEqual(r.right, [null, null, null, null]);
    assert.equal(r.gone, true);
  });
});

/** A raw create of `path` (open ACL, empty data); resolves with the reply's err. */
function createReq(xid: number, path: string, data = Buffer.alloc(0)): Buffer {
  const body = new JuteWriter().string(path).buffer(data).int(1).int(31).string('world').string('anyone').int(0).bytes();
  return requestPacket(xid, Op.create, body);
}

async function rawCall(conn: RawConn, xid: number, packet: Buffer): Promise<number> {
  await conn.write(packet);
  const r = await conn.nextReply(10000);
  assert.ok(r !== null && r.xid === xid, `reply to xid ${xid}`);
  return r.err;
}

/** The stats text of a quota, read through zkCli's listquota. */
function statLine(out: string, path: string): string {
  const m = new RegExp(`^Output stat for ${path} (.*)$`, 'm').exec(out);
  assert.ok(m !== null, `listquota output: ${out}`);
  return m[1] ?? '';
}

describe('item 7: quotas', () => {
  test('enforceQuota: past a hard limit set with zkCli setquota, creates and setData get QuotaExceeded', async () => {
    const B = '/adv-acl-quota';
    const set = await zkcliScript(server.connectString, [`create ${B}`, `setquota -N 3 ${B}`, `setquota -B 10 ${B}`, 'quit']);
    assert.equal(set.code, 0, set.out);
    const { conn } = await openSession(server.port);
    try {
      // count: B itself and two children make 3.
      assert.equal(await rawCall(conn, 1, createReq(1, `${B}/a`)), 0);
      assert.equal(await rawCall(conn, 2, createReq(2, `${B}/b`, Buffer.from('12345'))), 0);
      assert.equal(await rawCall(conn, 3, createReq(3, `${B}/c`)), -125);
      // bytes: 5 of 10 used; setData to 11 bytes would pass the byte hard limit.
      const setData = (xid: number, data: Buffer): Buffer =>
        requestPacket(xid, Op.setData, new JuteWriter().string(`${B}/b`).buffer(data).int(-1).bytes());
      assert.equal(await rawCall(conn, 4, setData(4, Buffer.alloc(11, 0x61))), -125);
      assert.equal(await rawCall(conn, 5, setData(5, Buffer.alloc(10, 0x61))), 0);
      // Deleting one makes room for one.
      assert.equal(await rawCall(conn, 6, requestPacket(6, Op.delete, new JuteWriter().string(`${B}/a`).int(-1).bytes())), 0);
      assert.equal(await rawCall(conn, 7, createReq(7, `${B}/d`)), 0);
      assert.equal(await rawCall(conn, 8, createReq(8, `${B}/e`)), -125);
    } finally {
      conn.destroy();
    }
    const list = await zkcliScript(server.connectString, [`listquota ${B}`, 'quit']);
    assert.equal(statLine(list.out, B), 'count=3,bytes=10');
    assert.match(server.logs(), /Quota exceeded: \/adv-acl-quota \[current count=4, hardCountLimit=3\]/);
  });

  test('enforceQuota: creates in flight together cannot pass the hard limit between them', async () => {
    const B = '/adv-acl-quota-burst';
    const set = await zkcliScript(server.connectString, [`create ${B}`, `setquota -N 5 ${B}`, 'quit']);
    assert.equal(set.code, 0, set.out);
    const { conn } = await openSession(server.port);
    const n = 40;
    try {
      // All sent before any reply is read: the server prepares them while earlier ones are
      // still on their way to the log.
      await conn.write(Buffer.concat(Array.from({ length: n }, (_, i) => createReq(100 + i, `${B}/n${i}`))));
      const errs: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = await conn.nextReply(10000);
        assert.ok(r !== null, 'connection closed');
        errs.push(r.err);
      }
      assert.deepEqual(errs.filter((e) => e === 0).length, 4, `replies: ${errs.join(',')}`);
      assert.ok(errs.every((e) => e === 0 || e === -125), `replies: ${errs.join(',')}`);
    } finally {
      conn.destroy();
    }
    const list = await zkcliScript(server.connectString, [`listquota ${B}`, 'quit']);
    assert.equal(statLine(list.out, B), 'count=5,bytes=0');
  });

  test('without enforceQuota a hard limit passed is logged, and the write succeeds', async () => {
    const B = '/adv-acl-quota-lenient';
    const set = await zkcliScript(lenient.connectString, [`create ${B}`, `setquota -N 2 ${B}`, 'quit']);
    assert.equal(set.code, 0, set.out);
    const { conn } = await openSession(lenient.port);
    try {
      assert.equal(await rawCall(conn, 1, createReq(1, `${B}/a`)), 0);
      assert.equal(await rawCall(conn, 2, createReq(2, `${B}/b`)), 0);
    } finally {
      conn.destroy();
    }
    const list = await zkcliScript(lenient.connectString, [`listquota ${B}`, 'quit']);
    assert.equal(statLine(list.out, B), 'count=3,bytes=0');
    const deadline = Date.now() + 10000;
    while (!/Quota exceeded: \/adv-acl-quota-lenient \[current count=3, hardCountLimit=2\]/.test(lenient.logs())) {
      assert.ok(Date.now() < deadline, `no quota log line in:\n${lenient.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
