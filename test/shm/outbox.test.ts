// Tests of the outbox (src/shm/outbox.ts) through a Channel whose tx ring is full: order kept under
// overflow, the flush when space returns, writable().

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import { Channel, createChannelDescriptor } from '../../src/shm/channel.js';
import { fragmentKind, recordBytesMax } from '../../src/shm/limits.js';
import { mulberry32 as prng } from '../harness/prng.js';
import { checkPattern } from './harness/rings.js';

describe('Channel outbox', () => {
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
});
