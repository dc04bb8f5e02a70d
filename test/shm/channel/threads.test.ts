// Two real threads over one Channel: both stream ~1.5M variable-size records at each other
// (sequence numbers and payload bytes verified on arrival, small rings so wrap-around, full
// rings, the outbox and space waits all happen constantly), then a ping-pong latency check,
// then an orderly close from the worker side. Every wait has a timeout: the test cannot hang.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Channel, createChannelDescriptor } from '../../../src/shm/channel.js';
import { Kind, StreamChecker, startProducer } from '../harness/ring-worker.js';

const workerUrl = new URL('../harness/ring-worker.js', import.meta.url);
const recordsEachWay = 1_500_000;
const pingPongRounds = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

interface Received {
  type: 'received';
  announced: number;
  received: number;
  payloadBytes: number;
  errors: number;
  firstError: string;
}

test('two threads stream records both ways, ping-pong, and close', { timeout: 30_000 }, async (t) => {
  const desc = createChannelDescriptor({ toMainBytes: 1 << 16, toWorkerBytes: 1 << 16 });
  const worker = new Worker(workerUrl, {
    workerData: { ringTest: true, desc, total: recordsEachWay, chunk: 4096 },
  });
  t.after(() => worker.terminate());

  const workerErrors: string[] = [];
  let resolveReceived!: (m: Received) => void;
  const receivedByWorker = new Promise<Received>((r) => (resolveReceived = r));
  let resolveWorkerClosed!: () => void;
  const workerClosed = new Promise<void>((r) => (resolveWorkerClosed = r));
  const exited = new Promise<number>((r) => worker.once('exit', r));
  worker.on('error', (e) => workerErrors.push(String(e)));
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'received') resolveReceived(m as Received);
    else if (m.type === 'closed') resolveWorkerClosed();
    else workerErrors.push(m.message ?? JSON.stringify(m));
  });

  const ch = new Channel(desc, 'main');
  const checker = new StreamChecker(ch.rx.bytes);
  let announced = -1;
  let resolveEnd!: () => void;
  const endFromWorker = new Promise<void>((r) => (resolveEnd = r));

  // Ping-pong state (used after the streams are done).
  const rtts = new Float64Array(pingPongRounds);
  let pongs = 0;
  let resolvePongs!: () => void;
  const allPongs = new Promise<void>((r) => (resolvePongs = r));
  const sendPing = (seq: number): void => {
    const off = ch.reserve(Kind.ping, 16);
    ch.view.setUint32(off, seq, true);
    ch.view.setFloat64(off + 8, performance.now(), true);
    ch.commit();
    ch.publish();
  };

  const pump = ch.start((kind, view, off, size) => {
    switch (kind) {
      case Kind.data:
        checker.check(view, off, size);
        break;
      case Kind.end:
        announced = view.getUint32(off, true);
        resolveEnd();
        break;
      case Kind.pong: {
        const seq = view.getUint32(off, true);
        assert.equal(seq, pongs, 'pongs arrive in order');
        rtts[pongs++] = performance.now() - view.getFloat64(off + 8, true);
        if (pongs < pingPongRounds) sendPing(pongs);
        else resolvePongs();
        break;
      }
      default:
        assert.fail(`unexpected kind ${kind}`);
    }
  });

  const t0 = performance.now();
  let sentAll = false;
  startProducer(ch, recordsEachWay, 4096, () => (sentAll = true));

  const [byWorker] = await withTimeout(
    Promise.all([receivedByWorker, endFromWorker]),
    20_000,
    'streams in both directions',
  );
  const streamMs = performance.now() - t0;
  assert.deepEqual(workerErrors, []);
  assert.ok(sentAll);
  assert.equal(byWorker.errors, 0, byWorker.firstError);
  assert.equal(byWorker.received, recordsEachWay);
  assert.equal(byWorker.announced, recordsEachWay);
  assert.equal(checker.errors, 0, checker.firstError);
  assert.equal(checker.expected, recordsEachWay);
  assert.equal(announced, recordsEachWay);
  const rate = (2 * recordsEachWay) / (streamMs / 1000);
  t.diagnostic(
    `streamed ${recordsEachWay} records each way (${((checker.payloadBytes + byWorker.payloadBytes) / 2 ** 20).toFixed(1)} MiB payload) ` +
      `in ${streamMs.toFixed(0)} ms: ${(rate / 1e6).toFixed(2)} M records/s total; ` +
      `main→worker ring: ${JSON.stringify(ch.tx.stats())}; worker→main ring: ${JSON.stringify(ch.rx.stats())}`,
  );
  // The small rings must have been full at times: the overflow paths were exercised.
  assert.ok(ch.tx.stats().fullCount + ch.rx.stats().fullCount > 0, 'rings were never full');

  // Ping-pong: one record each way per round trip, the consumer asleep each time.
  sendPing(0);
  await withTimeout(allPongs, 10_000, 'ping-pong');
  const sorted = Array.from(rtts).sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length * 0.5)]!;
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  t.diagnostic(`ping-pong round trip over ${pingPongRounds} rounds: p50 ${(p50 * 1000).toFixed(0)} µs, p99 ${(p99 * 1000).toFixed(0)} µs`);
  assert.ok(p50 < 5, `ping-pong p50 ${p50} ms is not a wake-up but a timeout fallback`);

  // Orderly close: the worker closes, our pump ends, the worker thread exits by itself.
  const q = ch.reserve(Kind.quit, 0);
  assert.ok(q >= 0);
  ch.commit();
  ch.publish();
  await withTimeout(pump, 5_000, 'main pump ends after the worker closed');
  await withTimeout(workerClosed, 5_000, 'worker reports closed');
  assert.equal(await withTimeout(exited, 5_000, 'worker exits by itself'), 0);
  assert.ok(ch.closed);
  ch.close();
  assert.deepEqual(workerErrors, []);
});
