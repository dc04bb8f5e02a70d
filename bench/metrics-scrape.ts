// What a Prometheus scrape waits for (issue 12 item 2): /metrics reads the workers' figures from
// shared memory (src/shm/metrics.ts), while mntr (the AdminServer's /commands/monitor, what the
// exporter called for every scrape before) posts a stats message to each worker and waits for
// every answer. Both are timed on one zkts server in the same run, idle and while `zkts load
// read` keeps its workers busy, alternating one request of each so both see the same load.
//
//   node dist/bench/metrics-scrape.js [--workers N] [--scrapes N] [--load-s S]   (npm run bench:metrics-scrape)
//
// Ports 25600..25609: the server's client port, its metrics port (+3) and AdminServer (+4).
// Run it under `flock /work/wt/bench.lock` (benchmarks never run two at once). The load runs in
// its own process, bounded by --load-s (and the load tool's --timeout); everything is stopped in
// a finally block.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { repoRoot, startServer } from '../test/integration/harness/server.js';

const PORT = 25600;

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    scrapes: { type: 'string', default: '300' },
    'load-s': { type: 'string', default: '20' },
  },
});
const workers = Number(values.workers);
const scrapes = Number(values.scrapes);
const loadS = Number(values['load-s']);
if (!Number.isInteger(workers) || workers < 1 || workers > 16) throw new Error('--workers: 1..16');
if (!Number.isInteger(scrapes) || scrapes < 10 || scrapes > 10_000) throw new Error('--scrapes: 10..10000');
if (!Number.isInteger(loadS) || loadS < 5 || loadS > 120) throw new Error('--load-s: 5..120');

const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });

function get(port: number, p: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`GET ${p}: ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

interface Figures {
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function figures(ms: number[]): Figures {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { meanMs: s.reduce((a, b) => a + b, 0) / s.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: s[s.length - 1]! };
}

/** `n` of each, alternating (metrics, monitor), until n each or the deadline. */
async function alternate(n: number, deadlineMs: number): Promise<{ metrics: number[]; monitor: number[] }> {
  const metrics: number[] = [];
  const monitor: number[] = [];
  while (metrics.length < n && performance.now() < deadlineMs) {
    metrics.push(await get(PORT + 3, '/metrics'));
    monitor.push(await get(PORT + 4, '/commands/monitor'));
  }
  return { metrics, monitor };
}

function row(phase: string, what: string, ms: number[]): Record<string, string | number> {
  const f = figures(ms);
  return { phase, what, n: ms.length, 'mean ms': f.meanMs.toFixed(2), 'p50 ms': f.p50Ms.toFixed(2), 'p99 ms': f.p99Ms.toFixed(2), 'max ms': f.maxMs.toFixed(2) };
}

const server = await startServer('zkts', {
  port: PORT,
  extra: {
    sessionWorkers: String(workers),
    'metricsProvider.className': 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    'metricsProvider.httpHost': '127.0.0.1',
    'metricsProvider.httpPort': String(PORT + 3),
    'admin.enableServer': 'true',
    'admin.serverAddress': '127.0.0.1',
    'admin.serverPort': String(PORT + 4),
  },
});
let load: ReturnType<typeof spawn> | null = null;
try {
  // Both HTTP faces start after the client port: wait for them (bounded).
  for (const deadline = performance.now() + 30_000; ; ) {
    try {
      await get(PORT + 3, '/metrics');
      await get(PORT + 4, '/commands/ruok');
      break;
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await alternate(30, performance.now() + 30_000); // warm-up
  const idle = await alternate(scrapes, performance.now() + 60_000);
  load = spawn(
    process.execPath,
    [path.join(repoRoot(), 'bin', 'zkts.js'), 'load', 'read', '-c', `127.0.0.1:${PORT}`, '--duration', String(loadS), '--timeout', String(loadS + 30)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let loadErr = '';
  load.stderr!.on('data', (b: Buffer) => {
    loadErr = (loadErr + b.toString()).slice(-2000);
  });
  await new Promise((r) => setTimeout(r, 3000)); // the load's sessions connect
  const busy = await alternate(scrapes, performance.now() + (loadS - 5) * 1000);
  if (busy.metrics.length < 10) throw new Error(`too few scrapes under load; load stderr: ${loadErr}`);
  console.log(`metrics-scrape bench (node ${process.version}, ${workers} session workers; the same server, one request of each in turn)`);
  console.table([
    row('idle', '/metrics (shm)', idle.metrics),
    row('idle', 'monitor (a message per worker)', idle.monitor),
    row('zkts load read', '/metrics (shm)', busy.metrics),
    row('zkts load read', 'monitor (a message per worker)', busy.monitor),
  ]);
  const ratio = (a: number[], b: number[], q: 'p50Ms' | 'p99Ms'): string => (figures(b)[q] / figures(a)[q]).toFixed(2);
  console.log(`monitor / metrics, idle: p50 ${ratio(idle.metrics, idle.monitor, 'p50Ms')}x, p99 ${ratio(idle.metrics, idle.monitor, 'p99Ms')}x`);
  console.log(`monitor / metrics, under load: p50 ${ratio(busy.metrics, busy.monitor, 'p50Ms')}x, p99 ${ratio(busy.metrics, busy.monitor, 'p99Ms')}x`);
} finally {
  if (load !== null && load.exitCode === null) {
    const exited = new Promise((r) => load!.once('exit', r));
    load.kill('SIGTERM');
    await exited;
  }
  await server.stop();
  agent.destroy();
}
