// Side by side: Apache ZooKeeper 3.8 and zkts under the same load from the zkts client.
//
//   node dist/bench/throughput.bench.js        (after `npx tsc -b`; also run by `npm run bench`)
//
// Each server is started by the interop harness (test/integration/harness/server.ts) with the
// same zoo.cfg, one after the other on ports 25000-25100, and gets the same runs: reads of a
// 100-byte znode, then writes of one (setData), from 8 connections × 32 requests in flight, 5 s
// each after a 1 s warm-up. The client runs in this process on the same machine, so the figures
// are for comparing the two servers here, not absolute capacity. If zkts does not start, its
// half is skipped with a message.
//
// Knobs (environment): ZKTS_BENCH_DURATION_MS, ZKTS_BENCH_WARMUP_MS, ZKTS_BENCH_CONNECTIONS,
// ZKTS_BENCH_DEPTH, ZKTS_BENCH_ZNODES, ZKTS_BENCH_DATA_BYTES, ZKTS_BENCH_OPS (e.g. "read,write,mixed"),
// ZKTS_BENCH_KINDS (e.g. "apache" or "apache,zkts"), ZKTS_BENCH_FORCE_SYNC (yes | no).

import { fileURLToPath } from 'node:url';
import { startServer, type ServerHandle, type ServerKind } from '../test/integration/harness/server.js';
import { runThroughput, type ThroughputOp, type ThroughputResult } from './throughput.js';

const PORT_BASE = 25000;

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not '${v}'`);
  return n;
}

function envList<T extends string>(name: string, dflt: T[], allowed: readonly T[]): T[] {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const items = v.split(',').map((s) => s.trim()) as T[];
  for (const i of items) if (!allowed.includes(i)) throw new Error(`${name}: unknown '${i}'`);
  return items;
}

interface KindResults {
  kind: ServerKind;
  results: Map<ThroughputOp, ThroughputResult>;
  skipped?: string;
}

function fmtOps(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
function fmtLat(r: ThroughputResult): string {
  const l = r.latencyMs;
  return `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)} / ${l.p999.toFixed(2)}`;
}

export async function run(): Promise<void> {
  const connections = envInt('ZKTS_BENCH_CONNECTIONS', 8);
  const pipelineDepth = envInt('ZKTS_BENCH_DEPTH', 32);
  const durationMs = envInt('ZKTS_BENCH_DURATION_MS', 5000);
  const warmupMs = envInt('ZKTS_BENCH_WARMUP_MS', 1000);
  const znodes = envInt('ZKTS_BENCH_ZNODES', 1);
  const dataBytes = envInt('ZKTS_BENCH_DATA_BYTES', 100);
  const ops = envList<ThroughputOp>('ZKTS_BENCH_OPS', ['read', 'write'], ['read', 'write', 'mixed']);
  const kinds = envList<ServerKind>('ZKTS_BENCH_KINDS', ['apache', 'zkts'], ['apache', 'zkts']);
  // forceSync=no: neither server fsyncs its log (ZooKeeper's zookeeper.forceSync), for comparing
  // the request paths alone; yes (default): every acknowledged write is on disk.
  const forceSync = process.env['ZKTS_BENCH_FORCE_SYNC'] === 'no' ? 'no' : 'yes';

  console.log(
    `throughput: ${connections} connections × ${pipelineDepth} in flight, ${durationMs} ms per run ` +
      `(+${warmupMs} ms warm-up), ${znodes} znode(s) of ${dataBytes} B; ops ${ops.join(', ')}; ` +
      `forceSync=${forceSync}`,
  );
  const all: KindResults[] = [];
  for (const [i, kind] of kinds.entries()) {
    const port = PORT_BASE + 10 * i;
    const entry: KindResults = { kind, results: new Map() };
    all.push(entry);
    let server: ServerHandle;
    try {
      server = await startServer(kind, {
        port,
        tickTime: 2000,
        maxClientCnxns: 0,
        startTimeoutMs: 30000,
        jvmProfile: 'bench',
        extra: { forceSync },
      });
    } catch (e) {
      const lines = (e as Error).message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('at '));
      const why = lines.length > 1 ? `${lines[0] ?? ''} … ${(lines.at(-1) ?? '').slice(0, 300)}` : (lines[0] ?? '');
      entry.skipped = `${kind} did not start: ${why}`;
      console.log(`  skipping ${kind}: ${entry.skipped}`);
      continue;
    }
    try {
      for (const op of ops) {
        const r = await runThroughput({
          connectString: server.connectString,
          connections,
          pipelineDepth,
          durationMs,
          warmupMs,
          op,
          znodes,
          dataBytes,
        });
        entry.results.set(op, r);
        console.log(
          `  ${kind.padEnd(6)} ${op.padEnd(5)} ${fmtOps(r.opsPerSec).padStart(9)} ops/s  ` +
            `p50/p99/p99.9 ${fmtLat(r)} ms  max ${r.latencyMs.max.toFixed(2)} ms  errors ${r.errors}`,
        );
      }
    } catch (e) {
      entry.skipped = `${kind} failed during the run: ${(e as Error).message}`;
      console.log(`  ${entry.skipped}`);
    } finally {
      await server.stop();
    }
  }

  const apache = all.find((k) => k.kind === 'apache');
  const zkts = all.find((k) => k.kind === 'zkts');
  const rows = ops.map((op) => {
    const a = apache?.results.get(op);
    const z = zkts?.results.get(op);
    return {
      op,
      'apache ops/s': a === undefined ? '-' : fmtOps(a.opsPerSec),
      'apache p50/p99/p99.9 ms': a === undefined ? '-' : fmtLat(a),
      'zkts ops/s': z === undefined ? '-' : fmtOps(z.opsPerSec),
      'zkts p50/p99/p99.9 ms': z === undefined ? '-' : fmtLat(z),
      'zkts/apache': a !== undefined && z !== undefined && a.opsPerSec > 0 ? (z.opsPerSec / a.opsPerSec).toFixed(2) : '-',
    };
  });
  console.table(rows);
  for (const k of all) if (k.skipped !== undefined) console.log(`note: ${k.skipped}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
