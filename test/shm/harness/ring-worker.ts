// Helper for channel/threads.test.ts: the record stream both threads produce and verify, and the
// worker side of the test (runs only when started as a worker with `workerData.ringTest`).

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Channel, type ChannelDescriptor } from '../../../src/shm/channel.js';

export const Kind = {
  data: 1,
  /** payload: u32 number of data records sent */
  end: 2,
  /** payload: u32 seq, f64 send time (echoed verbatim as pong) */
  ping: 3,
  pong: 4,
  /** main → worker: close the channel and exit */
  quit: 5,
} as const;

/** Payload size of data record `seq`: mostly small, some medium, a few large (wrap-heavy). */
export function recordSize(seq: number): number {
  if (seq % 4099 === 4098) return 4096 + ((seq * 2654435761) >>> 0) % 20000;
  if (seq % 97 === 96) return 256 + (seq % 1200);
  return 4 + ((seq * 7) % 61);
}

/** Every 13th record is reserved larger and shrunk on commit, to exercise commit(payloadBytes). */
export function reserveSlack(seq: number): number {
  return seq % 13 === 5 ? 24 : 0;
}

export function writeRecord(bytes: Uint8Array, view: DataView, off: number, seq: number, size: number): void {
  view.setUint32(off, seq, true);
  const b = (seq * 31) & 255;
  for (let i = 4; i < size; i++) bytes[off + i] = (b + i) & 255;
}

/** Verifies a data stream in order; cheap, no allocation per record. */
export class StreamChecker {
  expected = 0;
  errors = 0;
  firstError = '';
  payloadBytes = 0;
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  check(view: DataView, off: number, size: number): void {
    const seq = this.expected++;
    this.payloadBytes += size;
    if (size !== recordSize(seq)) return this.#fail(`seq ${seq}: size ${size} != ${recordSize(seq)}`);
    const got = view.getUint32(off, true);
    if (got !== seq) return this.#fail(`seq ${seq}: got seq ${got}`);
    const bytes = this.#bytes;
    const b = (seq * 31) & 255;
    for (let i = 4; i < size; i++) {
      if (bytes[off + i] !== ((b + i) & 255)) return this.#fail(`seq ${seq}: payload byte ${i} differs`);
    }
  }

  #fail(msg: string): void {
    if (this.errors++ === 0) this.firstError = msg;
  }
}

/** Outbox records a producer lets pile up before it waits for `writable()`. */
export const outboxRecordsMax = 64;

/**
 * Send `total` data records then an `end` record, in chunks of `chunk` per macrotask, waiting
 * for the outbox to empty when it holds more than `outboxRecordsMax` records.
 */
export function startProducer(ch: Channel, total: number, chunk: number, done: () => void): void {
  let seq = 0;
  const step = (): void => {
    if (ch.closed) return;
    let k = 0;
    while (seq < total && k < chunk && ch.outboxLength <= outboxRecordsMax) {
      const size = recordSize(seq);
      const slack = reserveSlack(seq);
      const off = ch.reserve(Kind.data, size + slack);
      writeRecord(ch.bytes, ch.view, off, seq, size);
      if (slack === 0) ch.commit();
      else ch.commit(size);
      seq++;
      k++;
    }
    ch.publish();
    if (seq >= total) {
      const off = ch.reserve(Kind.end, 4);
      ch.view.setUint32(off, total, true);
      ch.commit();
      ch.publish();
      done();
      return;
    }
    if (ch.outboxLength > outboxRecordsMax) {
      void ch.writable().then(step);
    } else {
      setImmediate(step);
    }
  };
  setImmediate(step);
}

interface RingTestData {
  ringTest: true;
  desc: ChannelDescriptor;
  total: number;
  chunk: number;
}

function isRingTestData(d: unknown): d is RingTestData {
  return typeof d === 'object' && d !== null && (d as { ringTest?: unknown }).ringTest === true;
}

if (!isMainThread && isRingTestData(workerData)) {
  const { desc, total, chunk } = workerData;
  const port = parentPort!;
  const ch = new Channel(desc, 'worker');
  const checker = new StreamChecker(ch.rx.bytes);
  let sentAll = false;
  const onRecord = (kind: number, view: DataView, off: number, size: number): void => {
    switch (kind) {
      case Kind.data:
        checker.check(view, off, size);
        break;
      case Kind.end:
        port.postMessage({
          type: 'received',
          announced: view.getUint32(off, true),
          received: checker.expected,
          payloadBytes: checker.payloadBytes,
          errors: checker.errors,
          firstError: checker.firstError,
        });
        break;
      case Kind.ping: {
        const seq = view.getUint32(off, true);
        const t = view.getFloat64(off + 8, true);
        const o = ch.reserve(Kind.pong, 16);
        ch.view.setUint32(o, seq, true);
        ch.view.setFloat64(o + 8, t, true);
        ch.commit(); // published by the pump after this batch
        break;
      }
      case Kind.quit:
        ch.close();
        break;
      default:
        port.postMessage({ type: 'error', message: `unexpected kind ${kind}` });
    }
  };
  ch.start(onRecord).then(
    () => port.postMessage({ type: 'closed', sentAll, stats: { tx: ch.tx.stats(), rx: ch.rx.stats() } }),
    (e: unknown) => port.postMessage({ type: 'error', message: String(e) }),
  );
  startProducer(ch, total, chunk, () => {
    sentAll = true;
  });
}
