// Session worker: maxClientCnxns counted per IP across workers (NIOServerCnxnFactory).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createIpCountTable } from '../../../src/shm/ipcount.js';
import { TestClient } from './harness/client.js';
import { FakeMain } from './harness/fake-main.js';

describe('maxClientCnxns across two workers', () => {
  const ipCounts = createIpCountTable(256);
  let w0: FakeMain;
  let w1: FakeMain;
  before(async () => {
    // Two workers of one server: each its own port here (one listener per worker), one table.
    w0 = await FakeMain.start({ ipCounts, workerIndex: 0, init: { maxClientCnxns: 3 } });
    w1 = await FakeMain.start({ ipCounts, workerIndex: 1, init: { maxClientCnxns: 3 } });
  });
  after(async () => {
    await w0.stop();
    await w1.stop();
  });

  // A release lands when the worker sees the close: wait for it (bounded) rather than a fixed
  // sleep, which a loaded machine outlasts.
  async function countBecomes(n: number): Promise<void> {
    for (let waitedMs = 0; waitedMs < 5000 && ipCounts.count('127.0.0.1') !== n; waitedMs += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('refuses the connection over the limit on whichever worker it lands, and counts releases', async () => {
    const a = await TestClient.connect(w0.port);
    const b = await TestClient.connect(w0.port);
    const c = await TestClient.connect(w1.port);
    assert.ok(await a.staysOpen(50));
    assert.equal(ipCounts.count('127.0.0.1'), 3);
    const over = await TestClient.connect(w1.port);
    await over.waitClosed(2000);
    const over0 = await TestClient.connect(w0.port);
    await over0.waitClosed(2000);
    assert.equal(ipCounts.count('127.0.0.1'), 3);
    a.destroy();
    await countBecomes(2);
    assert.equal(ipCounts.count('127.0.0.1'), 2);
    const d = await TestClient.connect(w1.port);
    assert.ok(await d.staysOpen(50), 'room again after a close on the other worker');
    assert.ok(!b.closed && !c.closed);
    for (const x of [b, c, d]) x.destroy();
    await countBecomes(0);
    assert.equal(ipCounts.count('127.0.0.1'), 0);
  });
});
