// Micro-benchmark: records/s through a ByteRing vs. one postMessage per record.
//
//   node dist/bench/ring.bench.js          (after `npx tsc -b`)
//
// Tasks (each iteration moves `batchRecords` small records of 16 payload bytes):
//   ring 1 thread     reserve/write/commit ×1000, publish, peek/read/release ×1000, releaseBatch
//   ring 2 threads    main → worker through a Channel, the worker acks each 1000 with one record
//   postMessage       main → worker, one object per record, the worker acks each 1000 with one message
//   ring 2 threads streaming: 100 batches of 1000 published back to back, one ack at the end
//
// The file starts itself as the worker (workerData.zktsRingBench says which side to play).

import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { Channel, createChannelDescriptor, type ChannelDescriptor } from '../src/shm/channel.js';
import { ByteRing } from '../src/shm/ring.js';

const batchRecords = 1000;
const streamBatches = 100;
const payloadBytes = 16;
const kindData = 1;
const kindAck = 2;

interface BenchWorkerData {
  zktsRingBench: 'ring' | 'post';
  desc?: ChannelDescriptor;
}

function isBenchWorkerData(d: unknown): d is BenchWorkerData {
  return typeof d === 'object' && d !== null && 'zktsRingBench' in d;
}

// ------------------------------------------------------------------ worker side

function ringWorker(desc: ChannelDescriptor): void {
  const ch = new Channel(desc, 'worker');
  let count = 0;
  let sum = 0;
  void ch.start((kind, view, off) => {
    if (kind !== kindData) return;
    sum = (sum + view.getUint32(off, true)) | 0;
    if (++count % batchRecords === 0) {
      const o = ch.reserve(kindAck, 8);
      ch.view.setUint32(o, count, true);
      ch.view.setInt32(o + 4, sum, true);
      ch.commit(); // the pump publishes after the batch
    }
  });
}

function postWorker(): void {
  const port = parentPort!;
  let count = 0;
  let sum = 0;
  port.on('message', (m: { kind: number; seq: number; session: number; xid: number }) => {
    sum = (sum + m.seq) | 0;
    if (++count % batchRecords === 0) port.postMessage(count);
  });
}

// ------------------------------------------------------------------ main side

interface Row {
  task: string;
  recordsPerOp: number;
  opsPerSec: number;
  recordsPerSec: number;
  rme: number;
}

export async function run(): Promise<void> {
  const bench = new Bench({ name: 'ring', time: 1000, warmupTime: 200 });

  // 1. One thread: producer and consumer objects over one ring.
  const p = ByteRing.create(1 << 16);
  const c = ByteRing.attach(p.sab);
  let checksum = 0;
  bench.add(`ring 1 thread: ${batchRecords} × ${payloadBytes} B`, () => {
    const pv = p.view;
    for (let i = 0; i < batchRecords; i++) {
      const off = p.reserve(kindData, payloadBytes);
      pv.setUint32(off, i, true);
      pv.setUint32(off + 4, 7, true);
      pv.setFloat64(off + 8, 1.5, true);
      p.commit();
    }
    p.publish();
    const cv = c.view;
    for (let off = c.peek(); off >= 0; off = c.peek()) {
      checksum = (checksum + cv.getUint32(off, true) + c.kind) | 0;
      c.release();
    }
    c.releaseBatch();
  });

  // 2. Two threads through a Channel.
  const desc = createChannelDescriptor();
  const ringW = new Worker(new URL(import.meta.url), { workerData: { zktsRingBench: 'ring', desc } });
  const ch = new Channel(desc, 'main');
  let acked = 0;
  let ackWaiter: (() => void) | undefined;
  let ackTarget = 0;
  void ch.start((kind, view, off) => {
    if (kind !== kindAck) return;
    acked = view.getUint32(off, true);
    if (acked >= ackTarget && ackWaiter !== undefined) {
      const w = ackWaiter;
      ackWaiter = undefined;
      w();
    }
  });
  let sent = 0;
  const sendBatch = (): void => {
    for (let i = 0; i < batchRecords; i++) {
      const off = ch.reserve(kindData, payloadBytes);
      const view = ch.view; // the ring's view, or scratch if the ring is full
      view.setUint32(off, sent++, true);
      view.setUint32(off + 4, 7, true);
      view.setFloat64(off + 8, 1.5, true);
      ch.commit();
    }
    ch.publish();
  };
  const untilAcked = (target: number): Promise<void> => {
    if (acked >= target) return Promise.resolve();
    ackTarget = target;
    return new Promise<void>((r) => (ackWaiter = r));
  };
  bench.add(`ring 2 threads: ${batchRecords} × ${payloadBytes} B + 1 ack`, async () => {
    sendBatch();
    await untilAcked(sent);
  });
  bench.add(`ring 2 threads streaming: ${streamBatches} × ${batchRecords} × ${payloadBytes} B + 1 ack`, async () => {
    for (let b = 0; b < streamBatches; b++) sendBatch();
    await untilAcked(sent);
  });

  // 3. Two threads, one postMessage per record.
  const postW = new Worker(new URL(import.meta.url), { workerData: { zktsRingBench: 'post' } });
  let postAcked = 0;
  let postWaiter: (() => void) | undefined;
  postW.on('message', (n: number) => {
    postAcked = n;
    const w = postWaiter;
    postWaiter = undefined;
    w?.();
  });
  let postSent = 0;
  bench.add(`postMessage 2 threads: ${batchRecords} objects + 1 ack`, async () => {
    for (let i = 0; i < batchRecords; i++) {
      postW.postMessage({ kind: kindData, seq: postSent++, session: 7, xid: i });
    }
    if (postAcked < postSent) await new Promise<void>((r) => (postWaiter = r));
  });

  await bench.run();

  const perOp = [batchRecords, batchRecords, batchRecords * streamBatches, batchRecords];
  const rows: Row[] = bench.tasks.map((t, i) => {
    const r = t.result;
    const opsPerSec = 'throughput' in r ? r.throughput.mean : 0;
    const rme = 'throughput' in r ? r.throughput.rme : 0;
    const recordsPerOp = perOp[i] ?? 1;
    return { task: t.name, recordsPerOp, opsPerSec, recordsPerSec: opsPerSec * recordsPerOp, rme };
  });
  console.log(`ring bench (node ${process.version}); checksum ${checksum}`);
  console.table(
    rows.map((r) => ({
      task: r.task,
      'ops/s': Math.round(r.opsPerSec),
      'records/s': `${(r.recordsPerSec / 1e6).toFixed(2)} M`,
      '±%': r.rme.toFixed(1),
    })),
  );

  ch.close();
  await Promise.all([
    new Promise((r) => ringW.once('exit', r)),
    postW.terminate(),
  ]);
}

// ------------------------------------------------------------------ entry

if (!isMainThread && isBenchWorkerData(workerData)) {
  if (workerData.zktsRingBench === 'ring') ringWorker(workerData.desc!);
  else postWorker();
} else if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
