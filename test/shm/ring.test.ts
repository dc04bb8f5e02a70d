// Single-thread tests of ByteRing and the ring layout. The producer and the consumer are two
// ByteRing objects over one SharedArrayBuffer, as they would be in two threads (Doorbell and
// Channel have their own files beside this one; channel/threads.test.ts runs two real threads).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Slot, maxPayloadBytes, recordFootprintBytes, ringHeaderBytes } from '../../src/shm/layout.js';
import { ByteRing } from '../../src/shm/ring.js';
import { mulberry32 as prng } from '../harness/prng.js';
import { checkPattern, fillPattern, pair } from './harness/rings.js';

describe('layout', () => {
  test('footprint and limits', () => {
    assert.equal(recordFootprintBytes(0), 8);
    assert.equal(recordFootprintBytes(1), 16);
    assert.equal(recordFootprintBytes(8), 16);
    assert.equal(recordFootprintBytes(9), 24);
    assert.equal(maxPayloadBytes(1024), 504);
    assert.equal(ringHeaderBytes % 64, 0);
  });
});

describe('ByteRing', () => {
  test('create validates capacity; attach validates the buffer', () => {
    assert.throws(() => ByteRing.create(1000), RangeError);
    assert.throws(() => ByteRing.create(32), RangeError);
    assert.throws(() => ByteRing.create(2 ** 31), RangeError);
    assert.throws(() => ByteRing.attach(new SharedArrayBuffer(4096)), TypeError);
    const r = ByteRing.create(1024);
    assert.equal(r.capacityBytes, 1024);
    assert.equal(r.maxPayloadBytes, 504);
    assert.equal(r.sab.byteLength, ringHeaderBytes + 1024);
    assert.equal(ByteRing.attach(r.sab).capacityBytes, 1024);
  });

  test('fill, full returns -1, drain in order, reuse', () => {
    const { p, c } = pair(1024);
    let n = 0;
    for (;;) {
      const off = p.reserve(7, 8); // footprint 16
      if (off < 0) break;
      assert.equal(off % 8, 0, 'payload is 8-aligned');
      p.view.setUint32(off, n, true);
      p.view.setUint32(off + 4, ~n, true);
      p.commit();
      n++;
    }
    assert.equal(n, 1024 / 16);
    assert.equal(p.reserve(7, 0), -1, 'even an empty record does not fit');
    assert.equal(c.peek(), -1, 'nothing visible before publish');
    assert.ok(p.publish());
    assert.equal(p.publish(), false, 'nothing new to publish');
    for (let i = 0; i < n; i++) {
      const off = c.peek();
      assert.ok(off >= 0);
      assert.equal(c.kind, 7);
      assert.equal(c.payloadBytes, 8);
      assert.equal(c.view.getUint32(off, true), i);
      assert.equal(c.view.getInt32(off + 4, true), ~i);
      c.release();
    }
    assert.equal(c.peek(), -1);
    assert.equal(p.reserve(7, 8), -1, 'released bytes are not free before releaseBatch');
    assert.ok(c.releaseBatch());
    assert.equal(c.releaseBatch(), false);
    assert.ok(p.reserve(7, 8) >= 0, 'free again after releaseBatch');
    p.commit();
    p.publish();
    assert.ok(c.peek() >= 0);
  });

  test('peek is idempotent until release; release needs a peek', () => {
    const { p, c } = pair(256);
    p.reserve(1, 4);
    p.commit();
    p.reserve(2, 4);
    p.commit();
    p.publish();
    const a = c.peek();
    assert.equal(c.peek(), a);
    assert.equal(c.kind, 1);
    c.release();
    assert.throws(() => c.release());
    c.peek();
    assert.equal(c.kind, 2);
    c.release();
    c.releaseBatch();
  });

  test('kind is a full u32; empty payloads', () => {
    const { p, c } = pair(256);
    for (const k of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      assert.ok(p.reserve(k, 0) >= 0);
      p.commit();
    }
    p.publish();
    for (const k of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      assert.ok(c.peek() >= 0);
      assert.equal(c.kind, k);
      assert.equal(c.payloadBytes, 0);
      c.release();
    }
    assert.throws(() => p.reserve(-1, 0), RangeError);
    assert.throws(() => p.reserve(2 ** 32, 0), RangeError);
  });

  test('oversize and invalid sizes throw RangeError; max size always fits an empty ring', () => {
    const { p, c } = pair(1024);
    assert.throws(() => p.reserve(1, 505), /split the payload or cap it/);
    assert.throws(() => p.reserve(1, -1), RangeError);
    assert.throws(() => p.reserve(1, 1.5), RangeError);
    // An empty ring accepts a max-size record whatever the position of head/tail.
    for (let step = 0; step < 1024 / 8; step++) {
      const off = p.reserve(1, 504);
      assert.ok(off >= 0, `max record refused at step ${step}`);
      assert.ok(off + 504 <= 1024);
      p.commit();
      p.publish();
      assert.ok(c.peek() >= 0);
      assert.equal(c.payloadBytes, 504);
      c.release();
      // Move the position by one 8-byte record.
      p.reserve(2, 0);
      p.commit();
      p.publish();
      c.peek();
      c.release();
      c.releaseBatch();
    }
  });

  test('commit(payloadBytes) shrinks; abort and a re-reserve drop a reservation', () => {
    const { p, c } = pair(1024);
    const off = p.reserve(1, 100);
    fillPattern(p, off, 10, 1);
    p.commit(10);
    assert.throws(() => p.commit(), /without a successful reserve/);
    p.reserve(2, 50);
    p.abort();
    assert.throws(() => p.commit());
    p.reserve(3, 50); // abandoned by the next reserve
    const off2 = p.reserve(4, 3);
    fillPattern(p, off2, 3, 4);
    p.commit();
    const off3 = p.reserve(5, 20);
    assert.throws(() => p.commit(21), RangeError);
    p.reserve(5, 20);
    fillPattern(p, off3, 0, 5);
    p.commit(0);
    p.publish();
    assert.equal(p.unpublishedBytes, 0);
    const got: [number, number][] = [];
    for (let o = c.peek(); o >= 0; o = c.peek()) {
      got.push([c.kind, c.payloadBytes]);
      if (c.kind === 1) checkPattern(c.bytes, o, 10, 1);
      if (c.kind === 4) checkPattern(c.bytes, o, 3, 4);
      c.release();
    }
    assert.deepEqual(got, [
      [1, 10],
      [4, 3],
      [5, 0],
    ]);
    // Shrunk records free their unused bytes: 16 + 16 + 8 bytes were used.
    c.releaseBatch();
    assert.equal(p.stats().usedBytes, 0);
  });

  test('wrap-around with random sizes and random batching keeps order and bytes', () => {
    for (const seed of [1, 2, 3]) {
      const rand = prng(seed);
      const { p, c } = pair(1024);
      const total = 40_000;
      const sizes: number[] = [];
      let sent = 0;
      let got = 0;
      let wraps = 0;
      let lastOff = -1;
      while (got < total) {
        // Produce a random batch.
        const batch = 1 + Math.floor(rand() * 20);
        for (let i = 0; i < batch && sent < total; i++) {
          const size = rand() < 0.1 ? Math.floor(rand() * 505) : Math.floor(rand() * 64);
          const off = p.reserve(sent & 0xffff, size);
          if (off < 0) break;
          fillPattern(p, off, size, sent);
          p.commit();
          sizes.push(size);
          sent++;
        }
        p.publish();
        // Consume a random batch.
        const take = Math.floor(rand() * 25);
        for (let i = 0; i < take; i++) {
          const off = c.peek();
          if (off < 0) break;
          if (off < lastOff) wraps++;
          lastOff = off;
          assert.equal(c.kind, got & 0xffff);
          assert.equal(c.payloadBytes, sizes[got]);
          checkPattern(c.bytes, off, c.payloadBytes, got);
          c.release();
          got++;
        }
        if (rand() < 0.7) c.releaseBatch();
        if (got === sent && sent < total && rand() < 0.01) c.releaseBatch();
      }
      c.releaseBatch();
      assert.equal(got, total);
      assert.ok(wraps > 100, `only ${wraps} wraps`);
      assert.equal(c.peek(), -1);
    }
  });

  test('positions survive int32 overflow (free-running counters)', () => {
    const { p, c } = pair(64);
    // Move both positions near 2^31 and 2^32 by rewriting the header before any use.
    for (const start of [0x7fffffc0, -64, -8]) {
      Atomics.store(p.ctl, Slot.head, start);
      Atomics.store(p.ctl, Slot.tail, start);
      const p2 = ByteRing.attach(p.sab);
      const c2 = ByteRing.attach(c.sab);
      for (let i = 0; i < 100; i++) {
        const off = p2.reserve(i, 12);
        assert.ok(off >= 0);
        p2.view.setUint32(off, i, true);
        p2.commit();
        p2.publish();
        const o = c2.peek();
        assert.ok(o >= 0);
        assert.equal(c2.view.getUint32(o, true), i);
        c2.release();
        c2.releaseBatch();
      }
    }
  });

  test('batching: one head/tail store per batch', () => {
    const { p, c } = pair(4096);
    for (let b = 0; b < 10; b++) {
      for (let i = 0; i < 50; i++) {
        p.reserve(1, 8);
        p.commit();
      }
      p.publish();
      while (c.peek() >= 0) c.release();
      c.releaseBatch();
    }
    const s = p.stats();
    assert.equal(s.publishedBatches, 10);
    assert.equal(s.releasedBatches, 10);
    assert.equal(s.usedBytes, 0);
  });

  test('close is sticky and visible to both sides', () => {
    const { p, c } = pair(64);
    assert.equal(c.closed, false);
    c.close();
    assert.ok(p.closed);
    assert.ok(p.stats().closed);
  });
});
