// ExpiryQueue (src/common/expiry-queue.ts): buckets by expiry, touches, expiring whole buckets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiryQueue } from '../../src/common/expiry-queue.js';

describe('ExpiryQueue', () => {
  it('buckets by expiry rounded up to the interval and expires whole buckets', () => {
    const q = new ExpiryQueue(100, 0);
    assert.equal(q.update(1, 0, 250), 300);
    assert.equal(q.update(2, 10, 250), 300);
    assert.equal(q.update(3, 60, 250), 400);
    const out: number[] = [];
    assert.equal(q.poll(299, (id) => out.push(id)), 0);
    assert.equal(q.poll(300, (id) => out.push(id)), 2);
    assert.deepEqual(out.sort(), [1, 2]);
    assert.equal(q.size, 1);
    assert.equal(q.poll(1000, (id) => out.push(id)), 1);
    assert.equal(q.size, 0);
  });

  it('moves a touched id to its new bucket and ignores touches within the same bucket', () => {
    const q = new ExpiryQueue(100, 0);
    q.update(5, 0, 250);
    assert.equal(q.update(5, 20, 250), 300, 'same bucket');
    assert.equal(q.update(5, 120, 250), 400);
    const out: number[] = [];
    q.poll(300, (id) => out.push(id));
    assert.equal(out.length, 0);
    q.poll(400, (id) => out.push(id));
    assert.deepEqual(out, [5]);
  });

  it('lets the expire callback remove or re-queue other ids, and grows', () => {
    const q = new ExpiryQueue(10, 0, 2);
    for (let id = 0; id < 100; id++) q.update(id, 0, 5);
    const expired: number[] = [];
    q.poll(10, (id) => {
      expired.push(id);
      q.remove(id - 1); // the next one in the bucket (newest first) leaves before its turn
      if (id === 99) q.update(200, 10, 50);
    });
    assert.equal(expired.length, 50);
    assert.ok(expired.every((id) => id % 2 === 1));
    assert.equal(q.size, 1);
    assert.equal(q.expiryOf(200), 70);
    q.remove(12345); // never queued: a no-op
  });

  it('expires exactly what a plain model says under random touches, shorter timeouts and removals', () => {
    // The queue lists ids lazily (a later expiry moves nothing until the old bucket falls due; an
    // earlier one leaves a stale entry behind): checked against a map of id -> bucket.
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const q = new ExpiryQueue(100, 0, 4);
    const model = new Map<number, number>();
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      now += rand(40);
      const id = rand(64);
      const op = rand(10);
      if (op < 6) {
        const t = q.update(id, now, 100 + rand(1500));
        model.set(id, t);
      } else if (op < 7) {
        q.remove(id);
        model.delete(id);
      } else {
        const got: number[] = [];
        q.poll(now, (x) => got.push(x));
        const want = [...model].filter(([, t]) => t <= now).map(([x]) => x);
        for (const x of want) model.delete(x);
        assert.deepEqual(got.sort((a, b) => a - b), want.sort((a, b) => a - b), `step ${step}`);
      }
      assert.equal(q.size, model.size);
      assert.equal(q.expiryOf(id), model.get(id) ?? 0);
    }
  });
});
