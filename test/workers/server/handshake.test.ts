// Session worker: the handshake (ZooKeeperServer.processConnectRequest / finishSessionInit).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Err } from '../../../src/common/zk.js';
import { SessionFlag } from '../../../src/shm/records.js';
import { sessionPassword } from '../../../src/workers/session/handshake.js';
import { TestClient, hiLo, idOf } from './harness/client.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, openLocal } from './harness/sessions.js';

describe('session worker handshake', () => {
  let main: FakeMain;
  before(async () => {
    main = await FakeMain.start();
  });
  after(async () => {
    assert.equal(await main.stop(), 0);
  });

  it('creates a global session only when the main thread says attached', async () => {
    const client = await TestClient.connect(main.port);
    client.sendConnect({ timeoutMs: 10000, lastZxidSeen: 50 });
    const attach = await main.next('attach');
    assert.equal(attach.flags, SessionFlag.create);
    assert.equal(attach.timeoutMs, 10000);
    assert.equal(attach.lastZxidSeen, 50);
    assert.equal(attach.ip, '127.0.0.1');
    assert.equal(attach.passwdOk, true);
    assert.equal(attach.sidHi >>> 24, 7, 'server id in the top byte');
    assert.equal((attach.sidHi >>> 16) & 0xff, 0, 'worker index in the next byte');
    // No answer before `attached`.
    await assert.rejects(client.frame(150));
    main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, timeoutMs: 10000 });
    const r = await client.connectResponse();
    assert.equal(r.timeOut, 10000);
    assert.equal(r.sessionId, idOf(attach.sidHi, attach.sidLo));
    assert.deepEqual(Buffer.from(r.passwd), sessionPassword('test-secret', attach.sidHi, attach.sidLo));
    assert.equal(r.readOnly, false);
    client.destroy();
    const detach = await main.next('detach');
    assert.equal(detach.connId, attach.connId);
  });

  it('negotiates the timeout into [min, max]', async () => {
    const low = await openGlobal(main, { timeoutMs: 1 });
    assert.equal(low.attach.timeoutMs, 4000);
    assert.equal(low.response.timeOut, 4000);
    const high = await openGlobal(main, { timeoutMs: 1_000_000 });
    assert.equal(high.response.timeOut, 40000);
    low.client.destroy();
    high.client.destroy();
    await main.next('detach');
    await main.next('detach');
  });

  it('answers a local session at once, without a round trip', async () => {
    const s = await openLocal(main, { timeoutMs: 6000 });
    assert.equal(s.response.timeOut, 6000);
    assert.equal(s.attach.flags, SessionFlag.local | SessionFlag.create);
    assert.deepEqual(Buffer.from(s.response.passwd), sessionPassword('test-secret', s.sidHi, s.sidLo));
    s.client.destroy();
    const d = await main.next('detach');
    assert.equal(d.reason, 0);
  });

  it('answers an expired session with timeout 0, session 0, zero password, then closes', async () => {
    const s = await openGlobal(main);
    s.client.destroy();
    await main.next('detach');
    const again = await TestClient.connect(main.port);
    again.sendConnect({ sessionId: s.response.sessionId, passwd: s.response.passwd });
    const attach = await main.next('attach');
    assert.equal(attach.flags, 0);
    assert.equal(attach.sidHi, s.sidHi);
    main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, err: Err.sessionExpired, timeoutMs: 0 });
    const r = await again.connectResponse();
    assert.equal(r.timeOut, 0);
    assert.equal(r.sessionId, 0n);
    assert.deepEqual(Buffer.from(r.passwd), Buffer.alloc(16));
    await again.waitClosed();
  });

  it('re-establishes a global session with the timeout negotiated from the new request', async () => {
    const s = await openGlobal(main, { timeoutMs: 20000 });
    s.client.destroy();
    await main.next('detach');
    const again = await TestClient.connect(main.port);
    again.sendConnect({ sessionId: s.response.sessionId, passwd: s.response.passwd, timeoutMs: 30000 });
    const attach = await main.next('attach');
    assert.equal(attach.timeoutMs, 30000);
    main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, timeoutMs: 20000 });
    const r = await again.connectResponse();
    assert.equal(r.sessionId, s.response.sessionId);
    assert.equal(r.timeOut, 30000, 'ZooKeeper answers with the newly negotiated timeout');
    again.destroy();
    await main.next('detach');
  });

  it('refuses a wrong password itself, leaving the connection that holds the session open', async () => {
    const s = await openGlobal(main);
    const bad = await TestClient.connect(main.port);
    bad.sendConnect({ sessionId: s.response.sessionId, passwd: Buffer.alloc(16, 1) });
    const r = await bad.connectResponse();
    assert.equal(r.sessionId, 0n);
    assert.equal(r.timeOut, 0);
    assert.deepEqual(Buffer.from(r.passwd), Buffer.alloc(16));
    await bad.waitClosed();
    // ZooKeeper closes the holder before it checks the password; zkts does not (a session id is
    // not enough to cut its holder off). The session lives on.
    const a = await main.next('attach');
    assert.deepEqual([a.passwdOk, a.sidHi, a.sidLo], [false, s.sidHi, s.sidLo], 'informational: no answer awaited');
    assert.equal(s.client.closed, false, 'the holder keeps its connection');
    s.client.destroy();
    const d = await main.next('detach');
    assert.equal(d.connId, s.attach.connId);
    main.attached({ sidHi: a.sidHi, sidLo: a.sidLo, connId: a.connId, err: Err.sessionExpired, timeoutMs: 0 });
    const back = await TestClient.connect(main.port);
    back.sendConnect({ sessionId: s.response.sessionId, passwd: s.response.passwd });
    const again = await main.next('attach');
    assert.equal(again.passwdOk, true);
    main.attached({ sidHi: again.sidHi, sidLo: again.sidLo, connId: again.connId, timeoutMs: 10000 });
    assert.equal((await back.connectResponse()).sessionId, s.response.sessionId);
    back.destroy();
    await main.next('detach');
  });

  it('closes a client that has seen a newer zxid than this server, without an answer', async () => {
    const client = await TestClient.connect(main.port);
    client.sendConnect({ lastZxidSeen: 101 });
    await client.waitClosed();
    await assert.rejects(client.frame(10));
    assert.deepEqual(main.pending(), []);
  });

  it('re-attaches a live local session on the same worker and closes its old connection', async () => {
    const s = await openLocal(main, { timeoutMs: 8000 });
    const again = await TestClient.connect(main.port);
    again.sendConnect({ sessionId: s.response.sessionId, passwd: s.response.passwd, timeoutMs: 9000 });
    const r = await again.connectResponse();
    assert.equal(r.sessionId, s.response.sessionId);
    assert.equal(r.timeOut, 9000);
    await s.client.waitClosed();
    const attach = await main.next('attach');
    assert.equal(attach.flags, SessionFlag.local, 'informational attach: local, not create');
    assert.equal(attach.sidLo, s.sidLo);
    // Whatever the main thread answers to it is ignored: the connection is open already.
    main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, err: Err.sessionExpired, timeoutMs: 0 });
    assert.ok(await again.staysOpen(50));
    again.destroy();
    const d = await main.next('detach');
    assert.equal(d.connId, attach.connId);
  });

  it('gives stock clients local sessions when localSessionsEnabled', async () => {
    const m2 = await FakeMain.start({ init: { localSessionsEnabled: true } });
    try {
      const client = await TestClient.connect(m2.port);
      client.sendConnect();
      const r = await client.connectResponse();
      const a = await m2.next('attach');
      assert.equal(a.flags, SessionFlag.local | SessionFlag.create);
      assert.deepEqual(hiLo(r.sessionId), { sidHi: a.sidHi, sidLo: a.sidLo });
      client.destroy();
      await m2.next('detach');
    } finally {
      await m2.stop();
    }
  });

  it('closes the connection when the server is not serving', async () => {
    main.status.serving = false;
    try {
      const client = await TestClient.connect(main.port);
      client.sendConnect();
      await client.waitClosed();
      assert.deepEqual(main.pending(), []);
    } finally {
      main.status.serving = true;
    }
  });

  it('keeps requests sent before the handshake completes and forwards them after', async () => {
    const client = await TestClient.connect(main.port);
    client.sendConnect();
    client.send(1, 3, (w) => {
      w.writeString('/a');
      w.writeBool(false);
    });
    const attach = await main.next('attach');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(main.pending(), [], 'nothing forwarded before the session exists');
    main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, timeoutMs: 10000 });
    await client.connectResponse();
    const req = await main.next('request');
    assert.equal(req.xid, 1);
    assert.equal(req.op, 3);
    client.destroy();
    await main.next('detach');
  });
});

describe('session worker handshake before the session secret is known', () => {
  it('holds connects, then plans them with the secret it is given (issue 9, item 6)', async () => {
    const main = await FakeMain.start({ init: { sessionSecret: '' } });
    try {
      const client = await TestClient.connect(main.port);
      client.sendConnect();
      client.send(1, 3, (w) => {
        w.writeString('/a');
        w.writeBool(false);
      });
      assert.deepEqual(await main.drain(200), [], 'nothing asked of the main thread without a secret');
      assert.ok(!client.closed, 'held, not refused');
      main.worker.postMessage({ type: 'sessionSecret', secret: 'late-secret' });
      const attach = await main.next('attach');
      assert.ok((attach.flags & SessionFlag.create) !== 0);
      main.attached({ sidHi: attach.sidHi, sidLo: attach.sidLo, connId: attach.connId, timeoutMs: 10000 });
      const r = await client.connectResponse();
      assert.deepEqual(Buffer.from(r.passwd), sessionPassword('late-secret', attach.sidHi, attach.sidLo));
      const req = await main.next('request');
      assert.deepEqual([req.xid, req.op], [1, 3], 'the request sent behind the held connect goes on');
      client.destroy();
      await main.next('detach');
    } finally {
      await main.stop();
    }
  });
});
