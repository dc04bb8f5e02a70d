// Write latency while a large snapshot is written, against write latency without one.
//
//   node dist/bench/snapshot-latency.bench.js        (ZKTS_BENCH_ZNODES, default 1,000,000)
//
// 1. A zkts server (fsync on) is filled with N znodes by pipelined creates.
// 2. It is restarted: recovery replays the log, and the server takes its start-up snapshot of the
//    whole tree (as ZooKeeperServer does after loading) while it serves.
// 3. A setData load (8 connections × 16 in flight) runs at once, and keeps running after the
//    snapshot has finished; each request's latency is recorded with the time it started, and
//    mntr's zk_snapshot_in_progress is polled every 50 ms to know which requests overlapped the
//    snapshot. The report gives p50/p99/max for requests during the snapshot and after it.

import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type ZkClient } from '../src/client/index.js';
import { fourLetter, startServer } from '../test/integration/harness/server.js';

const port = 25300;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function connect(cs: string): Promise<ZkClient> {
  const c = createClient(cs, { sessionTimeoutMs: 30000 });
  await c.waitConnected(30000);
  return c;
}

async function fill(cs: string, znodes: number): Promise<void> {
  const c = await connect(cs);
  await c.create('/snap');
  const data = Buffer.alloc(32, 1);
  let next = 0;
  const inFlight = 512;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < znodes) {
        const i = next++;
        await c.create(`/snap/n${i}`, data);
      }
    }),
  );
  await c.close();
}

async function snapshotInProgress(): Promise<boolean> {
  const text = await fourLetter(port, 'mntr');
  return /zk_snapshot_in_progress\t1/.test(text);
}

export async function run(): Promise<void> {
  const znodes = Number(process.env['ZKTS_BENCH_ZNODES'] ?? 1_000_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'zkts-snapbench-'));
  const extra = { snapCount: '100000000', '4lw.commands.whitelist': '*' };
  try {
    let server = await startServer('zkts', { port, dataDir, extra, startTimeoutMs: 120000 });
    const t0 = Date.now();
    await fill(server.connectString, znodes);
    console.log(`filled ${znodes} znodes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await server.stop();

    const t1 = Date.now();
    server = await startServer('zkts', { port, dataDir, extra, startTimeoutMs: 300000 });
    console.log(`restarted (recovery replayed the log) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(server.connectString)));
    const samples: { startMs: number; latencyMs: number }[] = [];
    const snapshotWindows: { from: number; to: number }[] = [];
    let running = true;
    let open: number | null = null;
    const poller = (async () => {
      while (running) {
        const now = Date.now();
        const busy = await snapshotInProgress().catch(() => false);
        if (busy && open === null) open = now;
        if (!busy && open !== null) {
          snapshotWindows.push({ from: open, to: now });
          open = null;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const loadMs = Number(process.env['ZKTS_BENCH_LOAD_MS'] ?? 20000);
    const end = Date.now() + loadMs;
    const data = Buffer.alloc(32, 2);
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: 16 }, async (_, k) => {
          while (Date.now() < end) {
            const startMs = performance.now();
            const wall = Date.now();
            await c.setData(`/snap/n${(k * 7919 + samples.length) % znodes}`, data);
            samples.push({ startMs: wall, latencyMs: performance.now() - startMs });
          }
        }),
      ),
    );
    running = false;
    await poller;
    if (open !== null) snapshotWindows.push({ from: open, to: Date.now() });
    const during: number[] = [];
    const without: number[] = [];
    for (const s of samples) {
      const inSnap = snapshotWindows.some((w) => s.startMs >= w.from && s.startMs <= w.to);
      (inSnap ? during : without).push(s.latencyMs);
    }
    during.sort((a, b) => a - b);
    without.sort((a, b) => a - b);
    const row = (name: string, xs: number[]) => ({
      requests: name,
      count: xs.length,
      'p50 ms': percentile(xs, 50).toFixed(2),
      'p99 ms': percentile(xs, 99).toFixed(2),
      'max ms': (xs.at(-1) ?? NaN).toFixed(2),
    });
    console.log(`snapshot windows: ${snapshotWindows.map((w) => `${w.to - w.from} ms`).join(', ') || 'none seen'}`);
    console.table([row('during the snapshot', during), row('without a snapshot', without)]);
    if (during.length > 0 && without.length > 0) {
      console.log(`p99 ratio during/without: ${(percentile(during, 99) / percentile(without, 99)).toFixed(2)}`);
    }
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
