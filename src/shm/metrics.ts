// Worker figures for the Prometheus exporter (issue 12), in shared memory (and the same rows for
// the main thread's own few): each session worker
// writes its own row, the main thread reads every row when it is scraped. No message per scrape
// and no allocation per request: a request's latency is two plain Int32 increments in this
// worker's row.
//
//   buffer = workerCount rows of `metricsRowCells` Int32 cells (whole cache lines each):
//     [gauges: MetricsGauge.count float64s][histogram 0][histogram 1] ... (MetricsHistogram)
//   histogram = metricsBuckets bucket counts + 1 sum cell (the sum of the recorded values)
//
// One writer per row (its worker), so the writer needs no Atomics: an aligned Int32 store is
// tear-free, and so is an aligned 8-byte one on the 64-bit platforms Node runs on (x64, arm64:
// V8 writes a Float64Array element with one 8-byte move), which is why the gauges, some of which
// are counts that outgrow 2^31 (packets), are float64. Counts and sums are u32 that wrap; the reader (main thread) folds the change since
// its last look into float64 totals, and looks often enough (metricsFoldIntervalMs, and each
// scrape) that no cell wraps twice in between.
//
// Buckets are log-linear: values 0..3 have a bucket each, and each power of two above has four
// (2^e, 1.25·2^e, 1.5·2^e, 1.75·2^e), so a quantile read from them is within 12.5% of the true
// value. Quantiles are taken over a sliding window (metricsWindowMs .. 2x that), as a
// Prometheus summary's are; _sum and _count are totals since start.

import { assert } from '../common/assert.js';
import { metricsWindowMs } from './limits.js';

/** Gauges a worker sets on its tick (plain values, last write wins): its own figures, and the
 *  ServerStats figures mntr sums over the workers, so that the exporter reads them here. */
export const MetricsGauge = {
  sessionsGlobal: 0,
  sessionsLocal: 1,
  /** Alive client connections (num_alive_connections). */
  connections: 2,
  /** ZooKeeper's watch count (watch_count). */
  watches: 3,
  /** ServerStats since start or srst: packets in and out. */
  packetsReceived: 4,
  packetsSent: 5,
  /** Requests of this worker's sessions in flight (outstanding_requests). */
  outstandingRequests: 6,
  /** Request latency (whole ms): min (0 before any), max, total and count, for min/avg/max. */
  latencyMinMs: 7,
  latencyMaxMs: 8,
  latencyTotalMs: 9,
  latencyCount: 10,
  /** Client response sizes in bytes (ServerStats.clientResponseStats; -1 before any). */
  responseSizeLast: 11,
  responseSizeMin: 12,
  responseSizeMax: 13,
  /** Authentications this worker refused (AuthFailed). */
  authFailed: 14,
  /** Connections refused at accept by maxClientCnxns (or a full address table). */
  connectionsRefused: 15,
  count: 16,
} as const;
export type MetricsGauge = Exclude<(typeof MetricsGauge)[keyof typeof MetricsGauge], 16>;
/** Int32 cells the gauges take (each is a float64). */
const gaugeCells = MetricsGauge.count * 2;

/** Histograms a worker records into (values are non-negative integers: µs, or a count). */
export const MetricsHistogram = {
  /** Reads and pings, arrival to answer (ZooKeeper's readlatency), µs. */
  readLatencyUs: 0,
  /** Writes, arrival to answer (ZooKeeper's updatelatency), µs. */
  updateLatencyUs: 1,
  /** Sessions one watch event record reached in this worker. */
  fanoutSessions: 2,
  /** How late the worker's tick ran: event-loop delay, µs. */
  tickDelayUs: 3,
  /** The main thread's row only: a learner's TOUCH to the leader, the age of its oldest touch
   *  (how long a client's activity took to reach the leader's session timers), µs. */
  touchLagUs: 4,
  /** The main thread's row only: each fsync of the txn log (ZooKeeper's fsynctime), µs. */
  fsyncUs: 5,
  /** The main thread's row only: taking a snapshot, walk and write (snapshottime), µs. */
  snapshotUs: 6,
  /** The main thread's row only: from LOOKING to a role (election_time), µs. */
  electionUs: 7,
  /** The main thread's row, a follower: a PROPOSAL's age when it arrives, by the leader's wall
   *  clock in its txn header (proposal_latency), µs. */
  proposalLatencyUs: 8,
  /** The main thread's row, the leader: a proposal's age when it commits (quorum_ack_latency), µs. */
  quorumAckLatencyUs: 9,
  /** The main thread's row, a learner: a txn's age when it commits here (commit_propagation_latency), µs. */
  commitPropagationLatencyUs: 10,
  count: 11,
} as const;
export type MetricsHistogram = Exclude<(typeof MetricsHistogram)[keyof typeof MetricsHistogram], 11>;

/** Buckets of one histogram: 4 exact (0..3), then 4 per power of two up to 2^32. */
export const metricsBuckets = 4 + 30 * 4;
const histogramCells = metricsBuckets + 1;
const cacheLineCells = 16;
/** Int32 cells of one worker's row, rounded up to whole cache lines (no false sharing). */
export const metricsRowCells =
  Math.ceil((gaugeCells + MetricsHistogram.count * histogramCells) / cacheLineCells) * cacheLineCells;
const u32Max = 0xffff_ffff;

/** The bucket of value v (clamped to [0, 2^32 - 1], fractions dropped). */
export function bucketOf(v: number): number {
  if (!(v >= 1)) return 0; // also NaN
  const x = v >= u32Max ? u32Max : v >>> 0;
  if (x < 4) return x;
  const e = 31 - Math.clz32(x);
  return 4 + ((e - 2) << 2) + ((x >>> (e - 2)) & 3);
}

/** The smallest value of bucket i. */
export function bucketLower(i: number): number {
  if (i < 4) return i;
  const e = ((i - 4) >>> 2) + 2;
  return (4 + ((i - 4) & 3)) * 2 ** (e - 2);
}

/** One past the largest value of bucket i. */
export function bucketUpper(i: number): number {
  if (i < 4) return i + 1;
  return bucketLower(i) + 2 ** (((i - 4) >>> 2) + 2 - 2);
}

/**
 * The q-quantiles (each in [0, 1]) of the values counted in `buckets`, interpolated inside the
 * bucket the rank falls in; NaN when nothing was counted (as an empty Prometheus summary).
 */
export function quantilesOf(buckets: ArrayLike<number>, qs: readonly number[]): number[] {
  let total = 0;
  for (let i = 0; i < metricsBuckets; i++) total += buckets[i]!;
  return qs.map((q) => {
    if (total === 0) return Number.NaN;
    const rank = q * total;
    let below = 0;
    for (let i = 0; i < metricsBuckets; i++) {
      const c = buckets[i]!;
      if (c > 0 && below + c >= rank) {
        const lower = bucketLower(i);
        if (i < 4) return lower; // exact values
        return lower + ((rank - below) / c) * (bucketUpper(i) - lower);
      }
      below += c;
    }
    return bucketLower(metricsBuckets - 1);
  });
}

/** The shared memory for `workerCount` workers (main thread, before the workers start). */
export function createMetricsBuffer(workerCount: number): SharedArrayBuffer {
  assert(Number.isInteger(workerCount) && workerCount >= 1, 'metrics: at least one worker');
  return new SharedArrayBuffer(workerCount * metricsRowCells * 4);
}

/** The writer of one row: a worker's own, or the main thread's (a buffer of one row). */
export class MetricsWriter {
  readonly #cells: Int32Array;
  readonly #gauges: Float64Array;

  constructor(buffer: SharedArrayBuffer, workerIndex: number) {
    const rows = buffer.byteLength / (metricsRowCells * 4);
    assert(Number.isInteger(rows) && workerIndex >= 0 && workerIndex < rows, 'metrics: row out of range');
    this.#cells = new Int32Array(buffer, workerIndex * metricsRowCells * 4, metricsRowCells);
    this.#gauges = new Float64Array(buffer, workerIndex * metricsRowCells * 4, MetricsGauge.count);
  }

  setGauge(g: MetricsGauge, value: number): void {
    this.#gauges[g] = value;
  }

  /** Count value v (an integer >= 0; clamped) in histogram h. */
  record(h: MetricsHistogram, v: number): void {
    const cells = this.#cells;
    const base = gaugeCells + h * histogramCells;
    const x = !(v >= 0) ? 0 : v >= u32Max ? u32Max : v >>> 0;
    const at = base + bucketOf(x);
    cells[at] = (cells[at]! + 1) | 0;
    const sumAt = base + metricsBuckets;
    cells[sumAt] = (cells[sumAt]! + x) | 0;
  }
}

/** A summary as the exporter shows it: windowed quantiles, totals since start. */
export interface SummaryFigures {
  quantiles: number[];
  sum: number;
  count: number;
}

/** The main thread's side: every row, folded into float64 totals. */
export class MetricsReader {
  readonly workerCount: number;
  readonly #cells: Int32Array;
  readonly #gauges: Float64Array;
  /** Raw u32 of each histogram cell at the last fold. */
  readonly #last: Uint32Array;
  /** Totals since start of each histogram cell (same index as #last). */
  readonly #totals: Float64Array;
  /** The window's start: totals at the older of the two last rotations. */
  #windowStart: Float64Array;
  #windowNext: Float64Array;
  #rotatedAtMs: number;
  readonly #windowMs: number;

  constructor(buffer: SharedArrayBuffer, o: { nowMs: number; windowMs?: number }) {
    this.#cells = new Int32Array(buffer);
    this.#gauges = new Float64Array(buffer);
    this.workerCount = this.#cells.length / metricsRowCells;
    assert(Number.isInteger(this.workerCount) && this.workerCount >= 1, 'metrics: buffer is whole rows');
    const n = this.#cells.length;
    this.#last = new Uint32Array(n);
    this.#totals = new Float64Array(n);
    this.#windowStart = new Float64Array(n);
    this.#windowNext = new Float64Array(n);
    this.#rotatedAtMs = o.nowMs;
    this.#windowMs = o.windowMs ?? metricsWindowMs;
  }

  /** Fold what changed since the last fold into the totals; rotate the window when due. */
  fold(nowMs: number): void {
    const cells = this.#cells;
    const last = this.#last;
    const totals = this.#totals;
    for (let w = 0; w < this.workerCount; w++) {
      const from = w * metricsRowCells + gaugeCells;
      const to = from + MetricsHistogram.count * histogramCells;
      for (let i = from; i < to; i++) {
        const raw = cells[i]! >>> 0;
        totals[i]! += (raw - last[i]!) >>> 0;
        last[i] = raw;
      }
    }
    if (nowMs - this.#rotatedAtMs >= this.#windowMs) {
      const older = this.#windowStart;
      this.#windowStart = this.#windowNext;
      older.set(totals);
      this.#windowNext = older;
      this.#rotatedAtMs = nowMs;
    }
  }

  gauge(worker: number, g: MetricsGauge): number {
    return this.#gauges[(worker * metricsRowCells) / 2 + g]!;
  }

  /** Gauge g summed over every row. */
  gaugeSum(g: MetricsGauge): number {
    let n = 0;
    for (let w = 0; w < this.workerCount; w++) n += this.gauge(w, g);
    return n;
  }

  /** ServerStats' latency and response-size figures over every row, as sumCounts (mntr) and
   *  BufferStats combine them: min over the rows that have one, max, and the average. */
  serverStats(): { minLatencyMs: number; maxLatencyMs: number; avgLatencyMs: number; responseSizeMin: number; responseSizeMax: number; responseSizeLast: number } {
    let minLatencyMs = Infinity;
    let maxLatencyMs = 0;
    let total = 0;
    let count = 0;
    let sizeMin = -1;
    let sizeMax = -1;
    let sizeLast = -1;
    for (let w = 0; w < this.workerCount; w++) {
      const n = this.gauge(w, MetricsGauge.latencyCount);
      if (n > 0) minLatencyMs = Math.min(minLatencyMs, this.gauge(w, MetricsGauge.latencyMinMs));
      maxLatencyMs = Math.max(maxLatencyMs, this.gauge(w, MetricsGauge.latencyMaxMs));
      total += this.gauge(w, MetricsGauge.latencyTotalMs);
      count += n;
      const lo = this.gauge(w, MetricsGauge.responseSizeMin);
      if (lo >= 0 && (sizeMin < 0 || lo < sizeMin)) sizeMin = lo;
      sizeMax = Math.max(sizeMax, this.gauge(w, MetricsGauge.responseSizeMax));
      // The last response of the server: the highest worker's that has one (rows do not say which
      // came last; mntr takes the same one).
      const last = this.gauge(w, MetricsGauge.responseSizeLast);
      if (last >= 0) sizeLast = last;
    }
    return {
      minLatencyMs: minLatencyMs === Infinity ? 0 : minLatencyMs,
      maxLatencyMs,
      avgLatencyMs: count === 0 ? 0 : total / count,
      responseSizeMin: sizeMin,
      responseSizeMax: sizeMax,
      responseSizeLast: sizeLast,
    };
  }

  /** Histogram h of one worker, or of all (worker = -1), with the q-quantiles of the window.
   *  Call fold() first. */
  summary(h: MetricsHistogram, worker: number, qs: readonly number[]): SummaryFigures {
    const windowed = new Float64Array(metricsBuckets);
    let sum = 0;
    let count = 0;
    const from = Math.max(worker, 0);
    const to = worker < 0 ? this.workerCount : worker + 1;
    for (let w = from; w < to; w++) {
      const base = w * metricsRowCells + gaugeCells + h * histogramCells;
      for (let b = 0; b < metricsBuckets; b++) {
        const total = this.#totals[base + b]!;
        count += total;
        windowed[b]! += total - this.#windowStart[base + b]!;
      }
      sum += this.#totals[base + metricsBuckets]!;
    }
    return { quantiles: quantilesOf(windowed, qs), sum, count };
  }
}

assert(bucketOf(u32Max) === metricsBuckets - 1, 'the last bucket holds 2^32 - 1');
assert(bucketLower(bucketOf(1000)) <= 1000 && 1000 < bucketUpper(bucketOf(1000)), 'buckets cover their values');
assert(metricsRowCells % cacheLineCells === 0, 'metrics rows are whole cache lines');
assert(gaugeCells % 2 === 0 && metricsRowCells % 2 === 0, 'the float64 gauges are 8-byte aligned in every row');
