// Single-thread tests of Channel (src/shm/channel.ts): both sides of one descriptor in one thread
// (drain budgets, the pump and its hold). outbox.test.ts covers the outbox under overflow;
// channel/threads.test.ts runs the two sides in two real threads.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as immediate } from 'node:timers/promises';
import { Channel, createChannelDescriptor } from '../../src/shm/channel.js';
import { Slot } from '../../src/shm/layout.js';

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

describe('Channel quiet records (issue 11 goal 3: a doorbell per burst of connects, not per connect)', () => {
  test('commitQuiet records are published without waking a sleeping peer; commit or wakePeer wakes it', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 1024 });
    const main = new Channel(desc, 'main', { timeoutMs: 60_000 });
    const worker = new Channel(desc, 'worker');
    const notifies = (): number => worker.tx.ctl[Slot.dataNotifies]!;
    let woken = false;
    const sleeping = main.rxBell.wait().then(() => {
      woken = true;
    });
    const send = (value: number, quiet: boolean): void => {
      const off = worker.reserve(7, 4);
      worker.view.setUint32(off, value, true);
      if (quiet) worker.commitQuiet();
      else worker.commit();
    };
    send(1, true);
    send(2, true);
    worker.publish();
    assert.equal(main.rx.readable(), true, 'published: visible to the peer');
    assert.equal(notifies(), 0, 'but the sleeping peer was not woken');
    assert.equal(worker.quietUnrung, true);
    await immediate();
    assert.equal(woken, false);
    worker.wakePeer();
    assert.equal(worker.quietUnrung, false);
    await sleeping;
    assert.equal(notifies(), 1);
    const seen: number[] = [];
    main.drain((_k, view, off) => seen.push(view.getUint32(off, true)), 10);
    assert.deepEqual(seen, [1, 2]);

    // A quiet record published with an ordinary one rings as before.
    const again = main.rxBell.wait();
    send(3, true);
    send(4, false);
    worker.publish();
    assert.equal(notifies(), 2);
    assert.equal(worker.quietUnrung, false);
    await again;
    seen.length = 0;
    main.drain((_k, view, off) => seen.push(view.getUint32(off, true)), 10);
    assert.deepEqual(seen, [3, 4]);
    main.close();
    worker.close();
  });
});

describe('Channel outbox wake-ups', () => {
  test('records that waited in the outbox wake a sleeping peer when a later publish() moves them into the ring', async () => {
    const desc = createChannelDescriptor({ toMainBytes: 1024, toWorkerBytes: 1024 });
    const main = new Channel(desc, 'main');
    // A long fallback: only a real wake-up resolves the wait within the test.
    const worker = new Channel(desc, 'worker', { timeoutMs: 60_000 });
    const send = (value: number): void => {
      const off = main.reserve(7, 64);
      main.view.setUint32(off, value, true);
      main.commit();
    };
    let sent = 0;
    while (main.outboxLength === 0) send(sent++); // the ring is full; the last one waits outside
    main.publish(); // publishes what is in the ring; the outbox record cannot go yet
    assert.equal(main.outboxLength, 1);
    const seen: number[] = [];
    const take = (_k: number, view: DataView, off: number): void => {
      seen.push(view.getUint32(off, true));
    };
    worker.drain(take, 1_000_000); // the peer empties the ring and goes to sleep
    let woken = false;
    const sleeping = worker.rxBell.wait().then(() => {
      woken = true;
    });
    main.publish(); // another turn of the producer: the outbox record goes into the ring
    assert.equal(main.outboxLength, 0);
    assert.equal(worker.rx.readable(), true);
    await Promise.race([sleeping, new Promise((r) => setTimeout(r, 5_000))]);
    assert.equal(woken, true, 'the sleeping peer was woken for the record that left the outbox');
    worker.drain(take, 1_000_000);
    assert.deepEqual(seen, Array.from({ length: sent }, (_, i) => i));
    main.close();
    worker.close();
  });
});
