// Single-thread tests of ByteRing, Doorbell and Channel. The producer and the consumer are two
// ByteRing objects over one SharedArrayBuffer, as they would be in two threads.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import { Channel, createChannelDescriptor } from '../../src/shm/channel.js';
import { Doorbell } from '../../src/shm/doorbell.js';
import { fragmentKind, recordBytesMax } from '../../src/shm/limits.js';
import { Slot, maxPayloadBytes, recordFootprintBytes, ringHeaderBytes } from '../../src/shm/layout.js';
import { ByteRing } from '../../src/shm/ring.js';
import { mulberry32 as prng } from '../harness/prng.js';


function pair(capacityBytes: number): { p: ByteRing; c: ByteRing } {
  const p = ByteRing.create(capacityBytes);
  return { p, c: ByteRing.attach(p.sab) };
}

function fillPattern(r: ByteRing, off: number, n: number, seed: number): void {
  for (let i = 0; i < n; i++) r.bytes[off + i] = (seed + i * 7) & 255;
}

function checkPattern(bytes: Uint8Array, off: number, n: number, seed: number): void {
  for (let i = 0; i < n; i++) {
    if (bytes[off + i] !== ((seed + i * 7) & 255)) assert.fail(`seed ${seed}: byte ${i} differs`);
  }
}

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

describe('Channel', () => {
  test('sides see each other; drain honours the budget and releases once', () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 2048 });
    const main = new Channel(desc, 'main');
    const worker = new Channel(desc, 'worker');
    assert.equal(main.tx.capacityBytes, 2048);
    assert.equal(worker.tx.capacityBytes, 1024);
    for (let i = 0; i < 25; i++) {
      const off = worker.reserve(9, 4);
      worker.view.setUint32(off, i, true);
      worker.commit();
    }
    worker.publish();
    const seen: number[] = [];
    const h = (kind: number, view: DataView, off: number, n: number): void => {
      assert.equal(kind, 9);
      assert.equal(n, 4);
      seen.push(view.getUint32(off, true));
    };
    assert.equal(main.drain(h, 10), 10);
    assert.equal(main.drain(h, 10), 10);
    assert.equal(main.drain(h, 10), 5);
    assert.equal(main.drain(h, 10), 0);
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => i));
    assert.equal(main.rx.stats().releasedBatches, 3);
    main.close();
    worker.close();
  });

  test('a throwing handler consumes its record and the batch is still released', () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 1024 });
    const main = new Channel(desc, 'main');
    const worker = new Channel(desc, 'worker');
    for (let i = 0; i < 3; i++) worker.send(i, new Uint8Array([i]));
    worker.publish();
    assert.throws(() =>
      main.drain((kind) => {
        if (kind === 1) throw new Error('boom');
      }, 10),
    /boom/);
    const rest: number[] = [];
    main.drain((kind) => rest.push(kind), 10);
    assert.deepEqual(rest, [2]);
    assert.equal(main.rx.stats().usedBytes, 0);
    main.close();
    worker.close();
  });

  test('outbox keeps order under overflow (sync flush on publish/reserve)', () => {
    const desc = createChannelDescriptor({ toMainBytes: 256, toWorkerBytes: 256 });
    const main = new Channel(desc, 'main');
    const worker = new Channel(desc, 'worker');
    const rand = prng(7);
    const sizes: number[] = [];
    const total = 5_000;
    let got = 0;
    const h = (kind: number, view: DataView, off: number, n: number): void => {
      assert.equal(kind, got & 0xff);
      assert.equal(n, sizes[got]);
      if (n >= 4) assert.equal(view.getUint32(off, true), got);
      checkPattern(worker.rx.bytes, off + 4, Math.max(0, n - 4), got);
      got++;
    };
    let maxOutbox = 0;
    for (let i = 0; i < total; i++) {
      const n = 4 + Math.floor(rand() * 100);
      sizes.push(n);
      const off = main.reserve(i & 0xff, n);
      main.view.setUint32(off, i, true);
      for (let j = 0; j < n - 4; j++) main.bytes[off + 4 + j] = (i + j * 7) & 255;
      main.commit();
      maxOutbox = Math.max(maxOutbox, main.outboxLength);
      if (rand() < 0.3) main.publish();
      if (rand() < 0.05) worker.drain(h, Math.floor(rand() * 10));
    }
    assert.ok(maxOutbox > 100, `outbox only reached ${maxOutbox}`);
    while (got < total) {
      main.publish();
      worker.drain(h, 3);
    }
    assert.equal(main.outboxLength, 0);
    assert.equal(main.outboxBytes, 0);
    assert.ok(main.tx.stats().overflowCount > 0);
    assert.throws(() => main.reserve(1, recordBytesMax + 1), RangeError, 'over recordBytesMax throws');
    assert.throws(() => main.reserve(fragmentKind, 8), RangeError, 'the fragment kind is the channel\'s');
    main.close();
    worker.close();
  });

  test('outbox flushes by itself when space returns, and writable() resolves', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 256, toWorkerBytes: 256 });
    const main = new Channel(desc, 'main', { timeoutMs: 10_000 });
    const worker = new Channel(desc, 'worker');
    for (let i = 0; i < 100; i++) main.send(1, new Uint8Array(8).fill(i));
    main.publish();
    assert.ok(main.outboxLength > 80);
    let writable = false;
    const w = main.writable().then(() => (writable = true));
    const seen: number[] = [];
    while (seen.length < 100) {
      worker.drain((_k, view, off) => seen.push(view.getUint8(off)), 1000);
      await immediate(); // the space doorbell wakes main's flusher, which publishes
    }
    await w;
    assert.ok(writable);
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
    main.close();
    worker.close();
  });

  test('pump: start handles batches, publishes replies, stops when the peer closes', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 4096, toWorkerBytes: 4096 });
    const main = new Channel(desc, 'main');
    const worker = new Channel(desc, 'worker');
    const batches: number[] = [];
    let requests = 0;
    const pump = worker.start(
      (kind, view, off) => {
        requests++;
        const o = worker.reserve(kind + 100, 4); // reply; published after the batch
        worker.view.setUint32(o, view.getUint32(off, true) * 2, true);
        worker.commit();
      },
      { budget: 16, afterBatch: (n) => batches.push(n) },
    );
    for (let i = 0; i < 40; i++) {
      const o = main.reserve(1, 4);
      main.view.setUint32(o, i, true);
      main.commit();
    }
    main.publish();
    const replies: number[] = [];
    const mainPump = main.start((kind, view, off) => {
      assert.equal(kind, 101);
      replies.push(view.getUint32(off, true));
    });
    while (replies.length < 40) await immediate();
    assert.deepEqual(replies, Array.from({ length: 40 }, (_, i) => i * 2));
    assert.equal(requests, 40);
    assert.ok(batches.every((n) => n <= 16));
    assert.ok(batches.length >= 3);
    // Later records wake the sleeping pump through the doorbell.
    await new Promise((r) => setTimeout(r, 20));
    main.send(1, new Uint8Array(4));
    main.publish();
    while (replies.length < 41) await immediate();
    main.close();
    await pump;
    await mainPump;
    assert.ok(worker.closed);
    // Writes after close are dropped once the ring is full, never queued forever.
    for (let i = 0; i < 1000; i++) worker.send(1, new Uint8Array(16));
    assert.equal(worker.outboxLength, 0);
    assert.ok(worker.tx.stats().droppedCount > 0);
  });

  test('pump can be stopped and restarted, in either order with arriving data', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 1024 });
    const main = new Channel(desc, 'main');
    const worker = new Channel(desc, 'worker');
    const got: number[] = [];
    const h = (kind: number): void => {
      got.push(kind);
    };
    const until = async (n: number): Promise<void> => {
      for (let i = 0; got.length < n; i++) {
        assert.ok(i < 10_000, `stuck at ${got.length} of ${n}`);
        await immediate();
      }
    };
    const p1 = worker.start(h);
    assert.throws(() => worker.start(h), /already running/);
    for (const k of [1, 2, 3]) main.send(k, new Uint8Array(2));
    main.publish();
    await until(3);
    await immediate(); // let the pump go to sleep on the doorbell
    worker.stop();
    await p1;
    // Data first, then restart.
    main.send(4, new Uint8Array(2));
    main.publish();
    for (let i = 0; i < 5; i++) await immediate();
    assert.deepEqual(got, [1, 2, 3], 'a stopped pump handles nothing');
    const p2 = worker.start(h);
    await until(4);
    await immediate();
    worker.stop();
    await p2;
    // Restart first, then data.
    const p3 = worker.start(h);
    main.send(5, new Uint8Array(2));
    main.send(6, new Uint8Array(2));
    main.publish();
    await until(6);
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
    main.close();
    await p3;
  });

  test('pump rejects when the handler throws', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 1024 });
    const main = new Channel(desc, 'main');
    const worker = new Channel(desc, 'worker');
    main.send(1, new Uint8Array(1));
    main.publish();
    await assert.rejects(
      worker.start(() => {
        throw new Error('handler failed');
      }),
      /handler failed/,
    );
    main.close();
    worker.close();
  });
});

describe('Channel pump hold (back-pressure of the main thread, issue 9 item 10)', () => {
  test('holdPump stops the pump after the current record; releasePump continues in order', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 1024 });
    const main = new Channel(desc, 'main', { timeoutMs: 20 });
    const worker = new Channel(desc, 'worker', { timeoutMs: 20 });
    for (let i = 0; i < 10; i++) worker.send(i, new Uint8Array([i]));
    worker.publish();
    const seen: number[] = [];
    const pump = main.start((kind) => {
      seen.push(kind);
      if (kind === 2 || kind === 6) main.holdPump();
    });
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 60));
    await settle();
    assert.deepEqual(seen, [0, 1, 2], 'nothing handled after the hold');
    assert.ok(main.pumpHeld);
    assert.ok(main.rx.readable(), 'the records wait in the ring');
    main.releasePump();
    await settle();
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
    main.releasePump();
    await settle();
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Held while idle (no record pending): a record sent meanwhile waits for the release.
    main.holdPump();
    worker.send(10, new Uint8Array([10]));
    worker.publish();
    await settle();
    assert.equal(seen.length, 10);
    main.releasePump();
    await settle();
    assert.deepEqual(seen.slice(10), [10]);
    main.close();
    worker.close();
    await pump;
  });
});
