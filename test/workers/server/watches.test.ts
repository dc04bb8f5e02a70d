// Session worker: watch registration and event fan-out over real sockets.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EventType, KeeperState, OpCode } from '../../../src/common/zk.js';
import { WatchKind } from '../../../src/shm/records.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, type OpenSession } from './harness/sessions.js';

async function expectEvent(s: OpenSession, type: number, path: string): Promise<void> {
  const r = await s.client.reply();
  assert.equal(r.header.xid, -1);
  assert.equal(r.header.zxid, -1, 'ZooKeeper 3.8 sends zxid -1 in notifications');
  assert.equal(r.header.err, 0);
  assert.deepEqual(r.event, { type, state: KeeperState.syncConnected, path });
}

async function expectNothing(s: OpenSession, ms = 60): Promise<void> {
  await assert.rejects(s.client.frame(ms), /timed out/);
}

describe('session worker watches', () => {
  let main: FakeMain;
  let a: OpenSession;
  let b: OpenSession;
  let c: OpenSession;
  before(async () => {
    main = await FakeMain.start();
    a = await openGlobal(main);
    b = await openGlobal(main);
    c = await openGlobal(main);
  });
  after(async () => {
    for (const s of [a, b, c]) s.client.destroy();
    assert.equal(await main.stop(), 0);
  });

  const reg = (s: OpenSession, kind: number, path: string): void =>
    main.watchRegister({ sidHi: s.sidHi, sidLo: s.sidLo, kind, path });

  it('fans one event out to every watching session, once each, and consumes one-shot watches', async () => {
    reg(a, WatchKind.data, '/n');
    reg(a, WatchKind.child, '/n');
    reg(b, WatchKind.exist, '/n');
    reg(c, WatchKind.child, '/other');
    main.event({ type: EventType.nodeDeleted, path: '/n' });
    await expectEvent(a, EventType.nodeDeleted, '/n');
    await expectEvent(b, EventType.nodeDeleted, '/n');
    await expectNothing(a);
    await expectNothing(c);
    // Consumed: the same trigger again reaches nobody.
    main.event({ type: EventType.nodeDeleted, path: '/n' });
    await expectNothing(a);
    await expectNothing(b);
    const stats = await main.stats({ sections: ['watchesBySession', 'watchesByPath'] });
    assert.deepEqual(stats.watches?.byPath, [{ path: '/other', sids: [`0x${c.response.sessionId.toString(16)}`] }]);
  });

  it('fires child watches on childrenChanged only, data watches on dataChanged only', async () => {
    reg(a, WatchKind.data, '/m');
    reg(b, WatchKind.child, '/m');
    main.event({ type: EventType.nodeChildrenChanged, path: '/m' });
    await expectEvent(b, EventType.nodeChildrenChanged, '/m');
    await expectNothing(a);
    main.event({ type: EventType.nodeDataChanged, path: '/m' });
    await expectEvent(a, EventType.nodeDataChanged, '/m');
    await expectNothing(b);
  });

  it('keeps persistent watches and matches persistent-recursive ones on descendants', async () => {
    reg(a, WatchKind.persistent, '/p');
    reg(b, WatchKind.persistentRecursive, '/p');
    reg(c, WatchKind.persistentRecursive, '/');
    main.event({ type: EventType.nodeChildrenChanged, path: '/p' });
    await expectEvent(a, EventType.nodeChildrenChanged, '/p');
    await expectNothing(b); // recursive watches never see childrenChanged
    await expectNothing(c);
    main.event({ type: EventType.nodeCreated, path: '/p/x/y' });
    await expectEvent(b, EventType.nodeCreated, '/p/x/y');
    await expectEvent(c, EventType.nodeCreated, '/p/x/y');
    await expectNothing(a); // a plain persistent watch is for /p itself
    main.event({ type: EventType.nodeDataChanged, path: '/p' });
    await expectEvent(a, EventType.nodeDataChanged, '/p');
    await expectEvent(b, EventType.nodeDataChanged, '/p');
    await expectEvent(c, EventType.nodeDataChanged, '/p');
    main.event({ type: EventType.nodeDeleted, path: '/q' });
    await expectEvent(c, EventType.nodeDeleted, '/q');
    await expectNothing(a);
    await expectNothing(b);
  });

  it('delivers a targeted event to its session only, consuming nothing', async () => {
    reg(a, WatchKind.data, '/t');
    reg(b, WatchKind.data, '/t');
    main.event({ type: EventType.nodeDataChanged, path: '/t', targetHi: b.sidHi, targetLo: b.sidLo });
    await expectEvent(b, EventType.nodeDataChanged, '/t');
    await expectNothing(a);
    main.event({ type: EventType.nodeDataChanged, path: '/t' });
    await expectEvent(a, EventType.nodeDataChanged, '/t');
    await expectEvent(b, EventType.nodeDataChanged, '/t');
  });

  it('writes an event before any reply that follows it in the ring', async () => {
    reg(a, WatchKind.data, '/o');
    a.client.send(5, OpCode.setData, (w) => {
      w.writeString('/o');
      w.writeBuffer(Buffer.from('v'));
      w.writeInt(-1);
    });
    const r = await main.next('request', { skip: ['touch'] });
    main.event({ type: EventType.nodeDataChanged, path: '/o' });
    main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: 5 });
    await expectEvent(a, EventType.nodeDataChanged, '/o');
    assert.equal((await a.client.reply()).header.xid, 5);
  });

  it('writes an event after a reply that comes before it in the ring', async () => {
    reg(a, WatchKind.data, '/r');
    a.client.send(6, OpCode.exists, (w) => {
      w.writeString('/r');
      w.writeBool(false);
    });
    const r = await main.next('request', { skip: ['touch'] });
    main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: 6 });
    main.event({ type: EventType.nodeDataChanged, path: '/r' });
    assert.equal((await a.client.reply()).header.xid, 6);
    await expectEvent(a, EventType.nodeDataChanged, '/r');
  });

  it('keeps the ring order on the wire for event, reply, event (the first written at once, the rest queued)', async () => {
    reg(a, WatchKind.data, '/e1');
    reg(a, WatchKind.child, '/e2');
    reg(b, WatchKind.data, '/e1');
    a.client.send(8, OpCode.exists, (w) => {
      w.writeString('/e1');
      w.writeBool(false);
    });
    const r = await main.next('request', { skip: ['touch'] });
    main.event({ type: EventType.nodeDataChanged, path: '/e1' });
    main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: 8 });
    main.event({ type: EventType.nodeChildrenChanged, path: '/e2' });
    await expectEvent(a, EventType.nodeDataChanged, '/e1');
    assert.equal((await a.client.reply()).header.xid, 8);
    await expectEvent(a, EventType.nodeChildrenChanged, '/e2');
    await expectEvent(b, EventType.nodeDataChanged, '/e1');
    await expectNothing(b);
  });

  it("drops a session's watches when its connection closes", async () => {
    const d = await openGlobal(main);
    reg(d, WatchKind.data, '/gone');
    // A barrier: ring records are handled in order, so once this event reaches the client the
    // registration is in the table (else a close seen first would race it).
    main.event({ type: EventType.nodeDataChanged, path: '/barrier', targetHi: d.sidHi, targetLo: d.sidLo });
    assert.equal((await d.client.reply()).event?.path, '/barrier');
    d.client.destroy();
    await main.next('detach', { skip: ['touch'] });
    const stats = await main.stats({ sections: ['watchesByPath'] });
    assert.ok(!(stats.watches?.byPath ?? []).some((p) => p.path === '/gone'));
  });
});

describe('session worker watches: the READ filter (CVE-2024-23944)', () => {
  let main: FakeMain;
  const superDigest = `super:${createHash('sha1').update('super:pw').digest('base64')}`;
  before(async () => {
    main = await FakeMain.start({ init: { superDigest } });
  });
  after(async () => {
    assert.equal(await main.stop(), 0);
  });

  async function authed(userPassword: string | null): Promise<OpenSession> {
    const s = await openGlobal(main);
    if (userPassword === null) return s;
    s.client.send(-4, OpCode.auth, (w) => {
      w.writeInt(0);
      w.writeString('digest');
      w.writeBuffer(Buffer.from(userPassword));
    });
    assert.equal((await s.client.reply()).header.err, 0);
    // The worker tells the main thread each id it adds: the super id first, then the digest.
    const ids = userPassword === 'super:pw' ? 2 : 1;
    for (let i = 0; i < ids; i++) await main.next('auth', { skip: ['touch'] });
    return s;
  }
  const aliceId = `alice:${createHash('sha1').update('alice:pw').digest('base64')}`;

  it('shows a restricted event only to sessions with a digest id, address or super id it names', async () => {
    const nobody = await authed(null);
    const alice = await authed('alice:pw');
    const root = await authed('super:pw');
    const wrongRoot = await authed('super:nope');
    const all = [nobody, alice, root, wrongRoot];
    for (const s of all) main.watchRegister({ sidHi: s.sidHi, sidLo: s.sidLo, kind: WatchKind.persistentRecursive, path: '/' });
    main.event({ type: EventType.nodeCreated, path: '/secret', readers: { digestIds: [aliceId], ipIds: [] } });
    await expectEvent(alice, EventType.nodeCreated, '/secret');
    await expectEvent(root, EventType.nodeCreated, '/secret');
    await expectNothing(nobody);
    await expectNothing(wrongRoot);
    // An ip ACL admits the connection's address (every test client connects from 127.0.0.1).
    main.event({ type: EventType.nodeDataChanged, path: '/lan', readers: { digestIds: [], ipIds: ['127.0.0.0/8'] } });
    for (const s of all) await expectEvent(s, EventType.nodeDataChanged, '/lan');
    main.event({ type: EventType.nodeDataChanged, path: '/far', readers: { digestIds: [], ipIds: ['10.0.0.1'] } });
    await expectEvent(root, EventType.nodeDataChanged, '/far');
    for (const s of [nobody, alice, wrongRoot]) await expectNothing(s);
    // Unrestricted: everyone.
    main.event({ type: EventType.nodeDeleted, path: '/open' });
    for (const s of all) await expectEvent(s, EventType.nodeDeleted, '/open');
    for (const s of all) {
      s.client.destroy();
      await main.next('detach', { skip: ['touch'] });
    }
  });

  it('consumes a one-shot watch whose event it holds back, as ZooKeeper does', async () => {
    const s = await authed(null);
    main.watchRegister({ sidHi: s.sidHi, sidLo: s.sidLo, kind: WatchKind.exist, path: '/x' });
    main.event({ type: EventType.nodeCreated, path: '/x', readers: { digestIds: [aliceId], ipIds: [] } });
    await expectNothing(s);
    main.event({ type: EventType.nodeDataChanged, path: '/x' });
    await expectNothing(s);
    s.client.destroy();
  });
});
