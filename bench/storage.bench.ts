// Storage benchmarks: the txn log's group commit and the fuzzy snapshot's cost to the main thread.
//
//   node dist/bench/storage.bench.js          (after `npx tsc -b`; ZKTS_BENCH_DIR picks the disk,
//                                             default the OS temp dir; ZKTS_BENCH_QUICK=1 skips 1M)
//
//   append+flush, batch B        one iteration = B appends (a ~100-byte setData txn each) and one
//                                flush awaited until durable: one write + one fdatasync.
//   append+flush, 64 callers     64 concurrent iterations of batch 1: flushes that arrive while an
//                                fsync runs are coalesced into the next (group commit).
//   txns/s                       txns made durable per second of the measured phase.
//   snapshot N nodes (sliced)    a fuzzy snapshot of a tree of N small znodes (16-byte data), while
//                                a setData is applied on every event-loop turn; reported with the
//                                main thread's longest stall (perf_hooks.monitorEventLoopDelay),
//                                the longest walk slice and the writes applied during it.
//   snapshot N nodes (unsliced)  the same walk in one slice: what the stall would be without
//                                slicing (the write still runs in the worker).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { openAclUnsafe } from '../src/common/acl.js';
import { ZkDatabase } from '../src/main/pipeline/database.js';
import { ensureVersionDirs, versionDir } from '../src/main/storage/layout.js';
import { Snapshotter, type SnapshotInfo } from '../src/main/storage/snapshot.js';
import { TxnLog } from '../src/main/storage/txnlog.js';
import type { PreparedTxn } from '../src/main/pipeline/prep.js';

const benchRoot = process.env.ZKTS_BENCH_DIR ?? tmpdir();
const quick = process.env.ZKTS_BENCH_QUICK === '1';

function tempDir(): string {
  const dir = mkdtempSync(join(benchRoot, 'zkts-bench-'));
  ensureVersionDirs(dir, dir);
  return dir;
}

// ---- group commit --------------------------------------------------------------------------

const payload = new Uint8Array(100).fill(0x61);
function setDataTxn(zxid: number): PreparedTxn {
  return {
    hdr: { clientId: 0x1000001n, cxid: zxid & 0x7fffffff, zxid, time: 1_700_000_000_000, type: 5 },
    txn: { type: 5, path: '/zkts/bench/node-000001', data: payload, version: zxid & 0xffff },
  };
}

class LogRig {
  readonly dir = tempDir();
  readonly log = new TxnLog({
    dir: versionDir(this.dir),
    onFatal: (e) => {
      throw e;
    },
  });
  private zxid = 0;
  private startTxns = 0;
  private startMs = 0;
  /** txns/s over the last measured phase (tinybench's run phase comes after its warmup). */
  txnsPerSec = 0;

  constructor(readonly batchSize: number) {}

  /** B appends and a flush, resolved when durable. */
  batch(): Promise<void> {
    for (let i = 0; i < this.batchSize; i++) this.log.append(setDataTxn(++this.zxid));
    return new Promise((resolve) => this.log.flush(resolve));
  }

  readonly hooks = {
    beforeAll: (): void => {
      this.startTxns = this.log.stats.txns;
      this.startMs = performance.now();
    },
    afterAll: (): void => {
      const seconds = (performance.now() - this.startMs) / 1000;
      this.txnsPerSec = (this.log.stats.txns - this.startTxns) / seconds;
    },
  };

  async close(): Promise<void> {
    await this.log.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function benchGroupCommit(): Promise<void> {
  const rigs = new Map<string, LogRig>();
  const bench = new Bench({ name: 'txn log: append + group commit (fdatasync)', time: 2000 });
  for (const size of [1, 10, 100]) {
    const rig = new LogRig(size);
    const name = `append+flush, batch ${size}`;
    rigs.set(name, rig);
    bench.add(name, () => rig.batch(), rig.hooks);
  }
  await bench.run();
  // 64 callers each asking for a flush of their own txn: group commit coalesces them.
  const concurrent = new Bench({
    name: 'txn log: 64 concurrent callers, batch 1 each',
    time: 2000,
    iterations: 0,
    concurrency: 'task',
    threshold: 64,
  });
  const shared = new LogRig(1);
  rigs.set('append+flush, 64 callers', shared);
  concurrent.add('append+flush, 64 callers', () => shared.batch(), shared.hooks);
  await concurrent.run();
  console.log(bench.name);
  console.table(bench.table());
  console.log(concurrent.name);
  console.table(concurrent.table());
  const rows = [];
  for (const [name, rig] of rigs) {
    const s = rig.log.stats;
    rows.push({
      task: name,
      'txns/s': Math.round(rig.txnsPerSec),
      'txns per fdatasync': (s.txns / Math.max(1, s.fsyncs)).toFixed(1),
      'fsync ms avg': (s.fsyncMsTotal / Math.max(1, s.fsyncs)).toFixed(3),
      'fsync ms max': s.fsyncMsMax.toFixed(1),
    });
    await rig.close();
  }
  console.log('txn log throughput (txns durable per second)');
  console.table(rows);
}

// ---- snapshots -----------------------------------------------------------------------------

/** A tree of `count` small znodes, 1000 per parent, built straight on the DataTree. */
function bigTree(count: number): ZkDatabase {
  const db = new ZkDatabase({ extendedTypesEnabled: false });
  const tree = db.tree;
  const data = new Uint8Array(16).fill(0x62);
  let zxid = 0;
  tree.createNode('/bench', null, openAclUnsafe, 0n, -1, ++zxid, 1, null);
  for (let g = 0; g * 1000 < count; g++) {
    const parent = `/bench/g${g}`;
    tree.createNode(parent, null, openAclUnsafe, 0n, -1, ++zxid, 1, null);
    for (let i = 0; i < 1000 && g * 1000 + i < count; i++) {
      tree.createNode(`${parent}/n${i}`, data, openAclUnsafe, 0n, -1, ++zxid, 1, null);
    }
  }
  db.lastZxid = zxid;
  db.resetPipeline(zxid);
  return db;
}

interface SnapshotRun {
  info: SnapshotInfo;
  stallMsMax: number;
  stallMsP99: number;
  writesDuring: number;
}

/** One snapshot while a setData lands on every turn; the event loop's delay is recorded. */
async function snapshotOnce(db: ZkDatabase, snapshots: Snapshotter): Promise<SnapshotRun> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let writes = 0;
  let running = true;
  const writer = (): void => {
    if (!running) return;
    const path = `/bench/g0/n${writes % 1000}`;
    db.tree.setData(path, payload, writes, ++db.lastZxid, 2, null);
    writes++;
    setImmediate(writer);
  };
  histogram.enable();
  setImmediate(writer);
  // Let the histogram take its first sample: a stall before it would go unrecorded.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const info = await snapshots.take(db, new Map([[0x1000001n, 30_000]]));
  running = false;
  histogram.disable();
  return {
    info,
    stallMsMax: histogram.max / 1e6,
    stallMsP99: histogram.percentile(99) / 1e6,
    writesDuring: writes,
  };
}

async function benchSnapshots(): Promise<void> {
  const sizes = quick ? [100_000] : [100_000, 1_000_000];
  const rows: Record<string, string | number>[] = [];
  const bench = new Bench({
    name: 'fuzzy snapshot',
    time: 0,
    iterations: 2,
    warmupIterations: 1,
    warmupTime: 0,
  });
  const dir = tempDir();
  for (const size of sizes) {
    const db = bigTree(size);
    for (const mode of ['sliced', 'unsliced'] as const) {
      const snapshots = new Snapshotter({
        dir: versionDir(dir),
        ...(mode === 'unsliced' ? { sliceNodes: Number.MAX_SAFE_INTEGER, sliceMs: 1e9 } : {}),
      });
      const runs: SnapshotRun[] = [];
      const name = `snapshot ${size.toLocaleString('en-US')} nodes (${mode})`;
      // Warmup runs are dropped: the first snapshot also pays for JIT and the worker's start.
      bench.add(name, async () => void runs.push(await snapshotOnce(db, snapshots)), {
        beforeAll: () => void runs.splice(0),
      });
      await bench.run();
      await snapshots.close();
      console.log(bench.name);
      console.table(bench.table());
      bench.remove(name);
      if (runs.length > 0) rows.push(row(size, mode, runs));
      rmSync(join(versionDir(dir), `snapshot.${db.lastZxid.toString(16)}`), { force: true });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log('fuzzy snapshot (times in ms; stall = main-thread event-loop delay)');
  console.table(rows);
}

function row(size: number, mode: string, runs: SnapshotRun[]): Record<string, string | number> {
  const total = (r: SnapshotRun): number => r.info.walkMs + r.info.writeMs;
  const best = runs.reduce((a, b) => (total(a) <= total(b) ? a : b));
  const worstStall = Math.max(...runs.map((r) => r.stallMsMax));
  return {
    nodes: size,
    mode,
    'MB': (best.info.bytes / 1e6).toFixed(1),
    'walk ms': best.info.walkMs.toFixed(0),
    'worker write ms': best.info.writeMs.toFixed(0),
    'longest slice ms': best.info.sliceMsMax.toFixed(1),
    'stall max ms': worstStall.toFixed(1),
    'stall p99 ms': best.stallMsP99.toFixed(1),
    'writes during': best.writesDuring,
  };
}

export async function run(): Promise<void> {
  console.log(`storage bench on ${benchRoot}`);
  await benchGroupCommit();
  await benchSnapshots();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
