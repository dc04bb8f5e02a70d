// Read / write throughput of a ZooKeeper-compatible server, driven by the zkts client.
//
//   const r = await runThroughput({ connectString: '127.0.0.1:2181', connections: 8,
//     pipelineDepth: 32, durationMs: 5000, op: 'read', znodes: 100, dataBytes: 100 });
//
// `connections` sessions, each with `pipelineDepth` requests always in flight (a closed loop: a
// reply starts the next request). Reads are getData, writes setData (any version) of the same
// size, on znodes picked at random under `root`. The first `warmupMs` are not counted (JIT and
// server caches). Latency: a log-linear histogram (64 sub-buckets per power of two of
// microseconds: ≤1.6% error), like HdrHistogram, so recording costs no allocation.

import { performance } from 'node:perf_hooks';
import { createClient, type ZkClient } from '../src/client/index.js';
import { Err } from '../src/common/zk.js';
import { ZkError } from '../src/client/errors.js';

export type ThroughputOp = 'read' | 'write' | 'mixed';

export interface ThroughputOptions {
  connectString: string;
  connections: number;
  pipelineDepth: number;
  /** Measured time, after the warm-up. */
  durationMs: number;
  op: ThroughputOp;
  /** znodes read / written, created under `root` if missing. */
  znodes: number;
  dataBytes: number;
  /** Default min(1000, durationMs / 5). */
  warmupMs?: number;
  /** 'mixed' only: share of reads, default 0.9. */
  readRatio?: number;
  /** Default '/zkts-bench'. */
  root?: string;
  /** Default 30000. */
  sessionTimeoutMs?: number;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface ThroughputResult {
  op: ThroughputOp;
  connections: number;
  pipelineDepth: number;
  /** Measured wall time. */
  durationMs: number;
  /** Requests answered within the measured time. */
  ops: number;
  /** Requests that failed (any ZkError) within the measured time. */
  errors: number;
  opsPerSec: number;
  /** Milliseconds. */
  latencyMs: LatencySummary;
}

/** Log-linear latency histogram over microseconds. */
export class LatencyHistogram {
  private static readonly SUB_BITS = 6;
  private static readonly SUB = 1 << LatencyHistogram.SUB_BITS;
  private readonly counts = new Float64Array(LatencyHistogram.SUB * 40);
  private n = 0;
  private sum = 0;
  private maxUs = 0;

  recordUs(us: number): void {
    const v = us < 0 ? 0 : Math.round(us);
    this.counts[this.index(v)]! += 1;
    this.n++;
    this.sum += v;
    if (v > this.maxUs) this.maxUs = v;
  }

  get count(): number {
    return this.n;
  }

  private index(v: number): number {
    const SUB = LatencyHistogram.SUB;
    if (v < 2 * SUB) return v;
    const shift = 31 - Math.clz32(v) - LatencyHistogram.SUB_BITS;
    const i = shift * SUB + (v >>> shift);
    return Math.min(i, this.counts.length - 1);
  }

  /** The middle of bucket i, in microseconds. */
  private valueOf(i: number): number {
    const SUB = LatencyHistogram.SUB;
    if (i < 2 * SUB) return i;
    const shift = Math.floor(i / SUB) - 1;
    const mantissa = i - shift * SUB;
    return (mantissa + 0.5) * 2 ** shift;
  }

  percentileUs(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.valueOf(i), this.maxUs);
    }
    return this.maxUs;
  }

  summaryMs(): LatencySummary {
    return {
      p50: this.percentileUs(50) / 1000,
      p99: this.percentileUs(99) / 1000,
      p999: this.percentileUs(99.9) / 1000,
      max: this.maxUs / 1000,
      mean: this.n === 0 ? 0 : this.sum / this.n / 1000,
    };
  }
}

/** Creates root and its znodes (those missing) with `dataBytes` of data each. */
async function prepare(client: ZkClient, root: string, znodes: number, data: Buffer): Promise<string[]> {
  const ignoreExists = (e: unknown): void => {
    if (!(e instanceof ZkError && e.code === Err.nodeExists)) throw e;
  };
  for (let i = root.indexOf('/', 1); ; i = root.indexOf('/', i + 1)) {
    await client.create(i < 0 ? root : root.slice(0, i)).catch(ignoreExists);
    if (i < 0) break;
  }
  const paths: string[] = [];
  const ps: Promise<unknown>[] = [];
  for (let i = 0; i < znodes; i++) {
    const p = `${root}/n${i}`;
    paths.push(p);
    ps.push(client.create(p, data).catch(ignoreExists));
    ps.push(client.setData(p, data));
  }
  await Promise.all(ps);
  return paths;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  if (o.connections < 1 || o.pipelineDepth < 1 || o.znodes < 1 || o.durationMs <= 0) {
    throw new RangeError('connections, pipelineDepth, znodes and durationMs must be positive');
  }
  const root = o.root ?? '/zkts-bench';
  const warmupMs = o.warmupMs ?? Math.min(1000, o.durationMs / 5);
  const readRatio = o.op === 'read' ? 1 : o.op === 'write' ? 0 : (o.readRatio ?? 0.9);
  const payload = Buffer.alloc(o.dataBytes, 0x61);
  const options = { sessionTimeoutMs: o.sessionTimeoutMs ?? 30000 };

  const clients: ZkClient[] = [];
  try {
    for (let i = 0; i < o.connections; i++) clients.push(createClient(o.connectString, options));
    await Promise.all(clients.map((c) => c.waitConnected(30000)));
    const paths = await prepare(clients[0] as ZkClient, root, o.znodes, payload);

    const hist = new LatencyHistogram();
    let measuring = false;
    let stopped = false;
    let ops = 0;
    let errors = 0;

    const slot = async (c: ZkClient): Promise<void> => {
      while (!stopped) {
        const path = paths[(Math.random() * paths.length) | 0] as string;
        const read = readRatio === 1 || (readRatio > 0 && Math.random() < readRatio);
        const t0 = performance.now();
        try {
          if (read) await c.getData(path);
          else await c.setData(path, payload);
          if (measuring) {
            hist.recordUs((performance.now() - t0) * 1000);
            ops++;
          }
        } catch (e) {
          if (measuring) errors++;
          if (!(e instanceof ZkError)) throw e;
          if (c.state === 'closed' || c.state === 'expired' || c.state === 'authFailed') return;
          if (e.code === Err.connectionLoss) await sleep(10);
        }
      }
    };

    const loops: Promise<void>[] = [];
    for (const c of clients) for (let d = 0; d < o.pipelineDepth; d++) loops.push(slot(c));
    await sleep(warmupMs);
    measuring = true;
    const start = performance.now();
    await sleep(o.durationMs);
    measuring = false;
    const elapsed = performance.now() - start;
    stopped = true;
    await Promise.all(loops);

    return {
      op: o.op,
      connections: o.connections,
      pipelineDepth: o.pipelineDepth,
      durationMs: elapsed,
      ops,
      errors,
      opsPerSec: ops / (elapsed / 1000),
      latencyMs: hist.summaryMs(),
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
