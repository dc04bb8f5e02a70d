// The server-wide connection throttle (src/shm/connthrottle.ts): ZooKeeper's BlueThrottle token
// bucket with BLUE random drops, in shared memory for every session worker (issue 11, goal 5).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  ConnThrottle,
  ConnectKind,
  connThrottleDefaults,
  connThrottleProblems,
  createConnThrottle,
  type ConnThrottleSettings,
} from '../../src/shm/connthrottle.js';

const never = (): number => 1; // a random() that never drops
const settings = (s: Partial<ConnThrottleSettings>): ConnThrottleSettings => ({ ...connThrottleDefaults, ...s });

describe('ConnThrottle', () => {
  it("is off by default (ZooKeeper's tokens 0): every connect passes, and is counted", () => {
    const t = createConnThrottle(connThrottleDefaults, 0);
    assert.equal(t.enabled, false);
    for (let i = 0; i < 1000; i++) assert.ok(t.check(t.weight(ConnectKind.newGlobal), 0, never));
    assert.equal(t.letThrough, 1000);
    assert.equal(t.rejected, 0);
  });

  it('lets a burst of `tokens` through, refuses the rest, and refills fillCount per fillTime', () => {
    const t = createConnThrottle(settings({ tokens: 3, fillTimeMs: 100, fillCount: 1 }), 1000);
    assert.deepEqual([1, 2, 3, 4].map(() => t.check(1, 1000, never)), [true, true, true, false]);
    assert.equal(t.check(1, 1100, never), false, 'BlueThrottle refills only once more than fillTime has passed');
    assert.equal(t.check(1, 1101, never), true);
    assert.equal(t.check(1, 1101, never), false);
    // 1000 ms later: 10 tokens are due, but the bucket holds 3.
    assert.deepEqual([1, 2, 3, 4].map(() => t.check(1, 2200, never)), [true, true, true, false]);
    assert.equal(t.letThrough, 7);
    assert.equal(t.rejected, 4);
    assert.equal(t.maxTokens, 3);
  });

  it('keeps the part of a fill period not paid out yet (connects closer together than fillTime)', () => {
    const t = createConnThrottle(settings({ tokens: 2, fillTimeMs: 10, fillCount: 1 }), 0);
    assert.ok(t.check(2, 0, never));
    // At 15 one token is paid for the first 10 ms; the other 5 ms are carried, so at 21 another
    // 10 ms have passed since the paid-out part.
    assert.ok(t.check(1, 15, never));
    assert.equal(t.check(1, 19, never), false);
    assert.ok(t.check(1, 21, never), 'BlueThrottle would have dropped the 5 ms and refuse here');
  });

  it('weighs connects when weights are on: the bucket counts global connects', () => {
    const s = settings({ tokens: 2, fillTimeMs: 1000, fillCount: 1, weightEnabled: true });
    const t = createConnThrottle(s, 0);
    assert.equal(t.maxTokens, 6, 'tokens × the global weight');
    assert.deepEqual(
      [ConnectKind.newGlobal, ConnectKind.renew, ConnectKind.newLocal].map((k) => t.weight(k)),
      [3, 2, 1],
    );
    assert.ok(t.check(t.weight(ConnectKind.newGlobal), 0, never));
    assert.ok(t.check(t.weight(ConnectKind.renew), 0, never));
    assert.equal(t.check(t.weight(ConnectKind.renew), 0, never), false, '1 token left: a renew needs 2');
    assert.ok(t.check(t.weight(ConnectKind.newLocal), 0, never));
    const off = createConnThrottle(settings({ tokens: 2 }), 0);
    assert.deepEqual([0, 1, 2].map((k) => off.weight(k as ConnectKind)), [1, 1, 1], 'weights off: 1 each');
  });

  it('BLUE: an empty bucket raises the drop chance each freeze time; a full one lowers it', () => {
    const s = settings({ tokens: 2, fillTimeMs: 1000, fillCount: 2, freezeTimeMs: 10, dropIncrease: 0.25, dropDecrease: 0.1 });
    const t = createConnThrottle(s, 0);
    const roll = (): number => 0.3;
    assert.ok(t.check(1, 0, roll));
    assert.ok(t.check(1, 0, roll));
    assert.equal(t.check(1, 11, roll), false, 'empty: refused by the bucket, drop chance now 0.25');
    assert.equal(t.dropChance, 0.25);
    assert.equal(t.check(1, 22, roll), false, 'still empty: 0.5');
    assert.equal(t.dropChance, 0.5);
    // 1000 ms on: the bucket is full again, yet the roll (0.3 < 0.5 - 0.1) still drops it.
    assert.equal(t.check(1, 1100, roll), false, 'dropped at random although tokens are there');
    assert.equal(t.dropChance, 0.4);
    assert.equal(t.check(1, 1111, roll), false);
    assert.ok(Math.abs(t.dropChance - 0.3) < 1e-9);
    assert.ok(t.check(1, 1122, roll), 'drop chance 0.2 < the roll: through');
    assert.equal(t.tokens, 1);
  });

  it('reports refusals at most once per interval, server-wide', () => {
    const t = createConnThrottle(settings({ tokens: 1, fillTimeMs: 1_000_000 }), 0);
    t.check(1, 0, never);
    assert.equal(t.refusedToReport(0, 10_000), 0, 'nothing refused yet');
    t.check(1, 1, never);
    t.check(1, 2, never);
    assert.equal(t.refusedToReport(3, 10_000), 2);
    t.check(1, 4, never);
    assert.equal(t.refusedToReport(5, 10_000), 0, 'within the interval');
    const other = ConnThrottle.attach(t.buffer);
    assert.equal(other.refusedToReport(6, 10_000), 0, 'another worker is within it too');
    assert.equal(other.refusedToReport(10_003, 10_000), 1);
  });

  it('is one bucket for every thread: workers hammering it together take exactly `tokens`', async () => {
    const tokens = 5000;
    const t = createConnThrottle(settings({ tokens, fillTimeMs: 2 ** 31 - 1 }), 0);
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.url).then(({ ConnThrottle }) => {
        const t = ConnThrottle.attach(workerData.buffer);
        let got = 0;
        for (let i = 0; i < 20000; i++) if (t.check(1, 1, () => 1)) got++;
        parentPort.postMessage(got);
      });`;
    const url = new URL('../../src/shm/connthrottle.js', import.meta.url).href;
    const runs = Array.from({ length: 4 }, () => {
      const w = new Worker(code, { eval: true, workerData: { url, buffer: t.buffer } });
      return new Promise<number>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    });
    const got = await Promise.all(runs);
    assert.equal(got.reduce((a, b) => a + b, 0), tokens, `per thread: ${got.join(', ')}`);
    assert.equal(t.rejected, 4 * 20000 - tokens);
    assert.equal(t.tokens, 0);
  });

  it('rejects settings ZooKeeper would not run with sensibly', () => {
    assert.deepEqual(connThrottleProblems(connThrottleDefaults), []);
    const p = connThrottleProblems(
      settings({ tokens: -1, fillTimeMs: 0, freezeTimeMs: -2, dropIncrease: 2, localSessionWeight: 5 }),
    );
    assert.equal(p.length, 5, p.join('\n'));
    assert.throws(() => createConnThrottle(settings({ fillCount: 0 }), 0));
    assert.throws(() => ConnThrottle.attach(new SharedArrayBuffer(8)));
  });
});
