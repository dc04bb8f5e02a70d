// Session worker: expiry of local sessions, touches of global ones, sessionEnd, upgrades.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventType, OpCode } from '../../../src/common/zk.js';
import { DetachReason, SessionEndReason, SessionFlag } from '../../../src/shm/records.js';
import { TestClient } from './harness/client.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, openLocal, sleep } from './harness/sessions.js';

describe('session worker session lifetimes (tickTime 50 ms)', () => {
  let main: FakeMain;
  before(async () => {
    main = await FakeMain.start({ init: { tickTimeMs: 50, minSessionTimeoutMs: 100, maxSessionTimeoutMs: 2000 } });
  });
  after(async () => {
    assert.equal(await main.stop(), 0);
  });

  it('expires a silent local session: connection closed, detach(localSessionExpired)', async () => {
    const s = await openLocal(main, { timeoutMs: 150 });
    const t0 = Date.now();
    const d = await main.next('detach', { timeoutMs: 2000, skip: ['touch'] });
    const elapsed = Date.now() - t0;
    assert.equal(d.reason, DetachReason.localSessionExpired);
    assert.equal(d.connId, s.attach.connId);
    assert.ok(elapsed >= 100 && elapsed < 600, `expired after ${elapsed} ms`);
    await s.client.waitClosed();
  });

  it('keeps a pinging local session alive past its timeout', async () => {
    const s = await openLocal(main, { timeoutMs: 150 });
    for (let i = 0; i < 8; i++) {
      s.client.send(-2, OpCode.ping);
      await s.client.reply();
      await sleep(50);
    }
    assert.ok(!s.client.closed);
    assert.deepEqual((await main.drain(0)).filter((r) => r.kind === 'detach'), []);
    s.client.destroy();
    await main.next('detach', { skip: ['touch'] });
    await main.next('detach', { timeoutMs: 2000, skip: ['touch'] }); // then it expires
  });

  it('keeps a disconnected local session until its timeout, so the client can come back', async () => {
    const s = await openLocal(main, { timeoutMs: 400 });
    s.client.destroy();
    const d = await main.next('detach', { skip: ['touch'] });
    assert.equal(d.reason, DetachReason.connectionClosed);
    await sleep(100);
    const back = await TestClient.connect(main.port);
    back.sendConnect({ sessionId: s.response.sessionId, passwd: s.response.passwd, timeoutMs: 150 });
    const r = await back.connectResponse();
    assert.equal(r.sessionId, s.response.sessionId);
    assert.equal(r.timeOut, 150);
    await main.next('attach', { skip: ['touch'] });
    const end = await main.next('detach', { timeoutMs: 2000, skip: ['touch'] });
    assert.equal(end.reason, DetachReason.localSessionExpired);
    await back.waitClosed();
    // Gone for good now: a reconnect is the main thread's to refuse.
    const late = await TestClient.connect(main.port);
    late.sendConnect({ sessionId: s.response.sessionId, passwd: s.response.passwd });
    const a = await main.next('attach', { skip: ['touch'] });
    assert.equal(a.flags & SessionFlag.local, 0);
    late.destroy();
    await main.next('detach', { skip: ['touch'] });
  });

  it('closes a connection that sends nothing for its session timeout', async () => {
    const s = await openGlobal(main, { timeoutMs: 150 });
    await s.client.waitClosed(2000);
    const d = await main.next('detach', { skip: ['touch'] });
    assert.equal(d.reason, DetachReason.connectionClosed);
  });

  it('reports global sessions heard from in batched touch records, never local ones', async () => {
    const g1 = await openGlobal(main, { timeoutMs: 2000 });
    const g2 = await openGlobal(main, { timeoutMs: 2000 });
    const l = await openLocal(main, { timeoutMs: 2000 });
    await main.drain(60);
    // Three pings in one write: read in one turn, between two ticks.
    const pings = Buffer.concat([0, 1, 2].map(() => TestClient.requestFrame(-2, OpCode.ping)));
    for (const s of [g1, g2, l]) s.client.write(pings);
    for (const s of [g1, g2, l]) for (let i = 0; i < 3; i++) await s.client.reply();
    const recs = await main.drain(80);
    const touched = recs.filter((r) => r.kind === 'touch').flatMap((r) => r.ids);
    const key = (hi: number, lo: number): string => `${hi}:${lo}`;
    const keys = touched.map(([hi, lo]) => key(hi, lo));
    assert.equal(keys.filter((k) => k === key(g1.sidHi, g1.sidLo)).length, 1, 'three pings, one touch');
    assert.equal(keys.filter((k) => k === key(g2.sidHi, g2.sidLo)).length, 1);
    assert.ok(!keys.includes(key(l.sidHi, l.sidLo)));
    for (const s of [g1, g2, l]) s.client.destroy();
    for (let i = 0; i < 3; i++) await main.next('detach', { skip: ['touch'] });
  });

  it('closes the connection of a session the main thread ends', async () => {
    const s = await openGlobal(main, { timeoutMs: 2000 });
    main.sessionEnd({ sidHi: s.sidHi, sidLo: s.sidLo, reason: SessionEndReason.expired });
    await s.client.waitClosed();
    const recs = await main.drain(60);
    assert.deepEqual(recs.filter((r) => r.kind === 'detach'), [], 'no detach for a session the main thread ended');
  });

  it('treats an upgraded local session as global', async () => {
    // A timeout long enough that a loaded machine does not idle the connection out mid-test.
    const s = await openLocal(main, { timeoutMs: 1000 });
    main.upgraded({ sidHi: s.sidHi, sidLo: s.sidLo });
    // A barrier: the worker handles ring records in order, so once this event reaches the
    // client the upgrade has been applied.
    main.event({ type: EventType.nodeDataChanged, path: '/barrier', targetHi: s.sidHi, targetLo: s.sidLo });
    assert.equal((await s.client.reply()).event?.path, '/barrier');
    s.client.send(1, OpCode.exists, (w) => {
      w.writeString('/e');
      w.writeBool(false);
    });
    const r = await main.next('request', { skip: ['touch'] });
    assert.equal(r.flags & SessionFlag.local, 0);
    main.reply({ sidHi: s.sidHi, sidLo: s.sidLo, xid: 1 });
    await s.client.reply();
    // Touched as a global session is (the worker sends touches on its tick, not at once).
    for (;;) {
      const t = await main.next('touch', { timeoutMs: 5000 });
      if (t.ids.some(([hi, lo]) => hi === s.sidHi && lo === s.sidLo)) break;
    }
    // No local expiry any more (the connection still idles out after its timeout).
    const d = await main.next('detach', { timeoutMs: 10_000, skip: ['touch'] });
    assert.equal(d.reason, DetachReason.connectionClosed);
  });
});
