// Session worker: globalOutstandingLimit as ZooKeeper applies it (ServerCnxn.incrOutstandingAnd-
// CheckThrottle, ZooKeeperServer.shouldThrottle): while the requests in flight server-wide
// exceed the limit, a connection with a request in flight is not read; one with none in flight
// still is (issue 9 item 10).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpCode } from '../../../src/common/zk.js';
import type { JuteWriter } from '../../../src/protocol/jute/index.js';
import { FakeMain } from './harness/fake-main.js';
import { openGlobal, sleep } from './harness/sessions.js';

const limit = 4;

function exists(path: string): (w: JuteWriter) => void {
  return (w) => {
    w.writeString(path);
    w.writeBool(false);
  };
}

describe('globalOutstandingLimit in the session worker', () => {
  let main: FakeMain;
  before(async () => {
    main = await FakeMain.start({ init: { globalOutstandingLimit: limit } });
  });
  after(async () => {
    await main.stop();
  });

  it('stops reading connections with requests in flight while the total exceeds the limit', async () => {
    const a = await openGlobal(main, { timeoutMs: 30_000 });
    const b = await openGlobal(main, { timeoutMs: 30_000 });
    const total = 20;
    for (let xid = 1; xid <= total; xid++) a.client.send(xid, OpCode.exists, exists('/a'));
    const taken = [];
    for (let i = 0; i <= limit; i++) taken.push(await main.next('request', { skip: ['touch'], timeoutMs: 10_000 }));
    // Nothing more comes (a slow machine could only hide a failure here, never cause one).
    taken.push(...(await main.drain(300)).filter((r) => r.kind === 'request'));
    assert.deepEqual(
      taken.map((r) => r.xid),
      [1, 2, 3, 4, 5],
      'the request that takes the total over the limit is the last one read',
    );
    assert.equal(main.status.requestsInFlight, limit + 1);

    // B has nothing in flight: its first request is read, then it waits like A.
    b.client.send(1, OpCode.exists, exists('/b'));
    b.client.send(2, OpCode.exists, exists('/b'));
    const fromB = [await main.next('request', { skip: ['touch'], timeoutMs: 10_000 })];
    fromB.push(...(await main.drain(300)).filter((r) => r.kind === 'request'));
    assert.deepEqual(fromB.map((r) => [r.sidLo === b.sidLo, r.xid]), [[true, 1]]);
    main.reply({ sidHi: b.sidHi, sidLo: b.sidLo, xid: 1 });
    assert.equal((await b.client.reply()).header.xid, 1);
    const b2 = await main.next('request', { skip: ['touch'] });
    assert.equal(b2.sidLo, b.sidLo);
    assert.equal(b2.xid, 2, 'B is read again once its request was answered');
    main.reply({ sidHi: b.sidHi, sidLo: b.sidLo, xid: 2 });
    assert.equal((await b.client.reply()).header.xid, 2);

    // Answer A's requests as they come: every one is read and answered in order, and the total
    // never exceeds the limit by more than one per connection.
    let answered = 0;
    let maxInFlight = 0;
    for (const r of taken) {
      main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: r.xid });
      answered++;
    }
    while (answered < total) {
      const r = await main.next('request', { skip: ['touch'], timeoutMs: 10_000 });
      maxInFlight = Math.max(maxInFlight, main.status.requestsInFlight);
      assert.equal(r.xid, answered + 1);
      main.reply({ sidHi: r.sidHi, sidLo: r.sidLo, xid: r.xid });
      answered++;
    }
    for (let xid = 1; xid <= total; xid++) assert.equal((await a.client.reply()).header.xid, xid);
    assert.ok(maxInFlight <= limit + 2, `requests in flight reached ${maxInFlight}`);
    await sleep(50);
    assert.equal(main.status.requestsInFlight, 0, 'every answer is subtracted');
    a.client.destroy();
    b.client.destroy();
  });
});
