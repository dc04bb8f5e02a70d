// Single-thread tests of Doorbell (src/shm/doorbell.ts) over a ByteRing pair: waits for data and
// for space, the timeout fallback, close.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import { Doorbell } from '../../src/shm/doorbell.js';
import { Slot } from '../../src/shm/layout.js';
import { pair } from './harness/rings.js';

describe('Doorbell', () => {
  test('wait resolves at once when data is there, on publish, on timeout, and on close', async () => {
    const { p, c } = pair(256);
    const bell = new Doorbell(c, { timeoutMs: 10_000 });
    p.reserve(1, 0);
    p.commit();
    p.publish();
    await bell.wait(); // data already there
    c.peek();
    c.release();
    c.releaseBatch();

    const w = bell.wait();
    assert.equal(Atomics.load(c.ctl, Slot.consumerSleeping), 1);
    assert.throws(() => bell.wait(), /already pending/);
    p.reserve(1, 0);
    p.commit();
    p.publish(); // notifies (waitAsync resolves in a later task)
    assert.equal(Atomics.load(c.ctl, Slot.consumerSleeping), 0, 'producer took the flag');
    await w;
    assert.equal(p.stats().dataNotifies, 1);
    c.peek();
    c.release();
    c.releaseBatch();

    const quick = new Doorbell(c, { timeoutMs: 5 });
    const t0 = performance.now();
    await quick.wait(); // nobody publishes: the timeout fallback resolves it
    assert.ok(performance.now() - t0 >= 4);
    quick.close();

    const pending = bell.wait();
    bell.close();
    await pending;
    await bell.wait(); // closed: resolves at once
  });

  test('a timed-out wait that finds a record counts a late wake-up; a notified one does not', async () => {
    const { p, c } = pair(256);
    const bell = new Doorbell(c, { timeoutMs: 5 });
    const w = bell.wait(); // asleep: nothing published yet
    p.reserve(1, 0);
    p.commit();
    p.publishQuiet(); // visible, but the sleeper is not woken: only the fallback finds it
    await w;
    assert.equal(c.stats().lateWakeups, 1);
    assert.equal(p.stats().dataNotifies, 0);
    c.peek();
    c.release();
    c.releaseBatch();

    const notified = bell.wait();
    p.reserve(1, 0);
    p.commit();
    p.publish();
    await notified;
    assert.equal(c.stats().lateWakeups, 1, 'a notified wake-up is not late');
    c.peek();
    c.release();
    c.releaseBatch();

    await bell.wait(); // times out with nothing there: not late either
    assert.equal(c.stats().lateWakeups, 1);
    bell.close();
  });

  test('the default fallback is a safety net, not a poll', () => {
    const { c } = pair(256);
    // An idle tier server must not wake for its rings: at most once a minute per wait.
    assert.ok(new Doorbell(c).timeoutMs >= 60_000);
  });

  test('waitForSpace resolves when the consumer releases', async () => {
    const { p, c } = pair(256);
    while (p.reserve(1, 100) >= 0) p.commit();
    p.publish();
    const bell = new Doorbell(p, { timeoutMs: 10_000 });
    let done = false;
    const w = bell.waitForSpace(100).then(() => (done = true));
    await immediate();
    assert.equal(done, false);
    assert.equal(Atomics.load(p.ctl, Slot.producerWaiting), 1);
    c.peek();
    c.release();
    c.releaseBatch();
    await w;
    assert.ok(p.reserve(1, 100) >= 0);
    bell.close();
  });
});
