// Micro-benchmark: what the Prometheus exporter costs (issue 12). On the hot path, a worker
// counts each answered request in a shared-memory histogram (src/shm/metrics.ts) beside the
// ServerStats latency it already keeps; off it, the main thread folds every worker's row and
// writes the exposition once per scrape.
//
//   npm run bench:metrics            (or: node dist/bench/metrics.bench.js after `npx tsc -b`)
//
// Tasks:
//   Latency.add x100K            the worker's existing per-request latency bookkeeping (baseline)
//   MetricsWriter.record x100K   the exporter's per-request cost: a bucket and a sum, in shm
//   both x100K                   what a request pays now
//   fold 16 workers              the main thread's read of 16 rows (every 10 s and per scrape)
//   scrape (16 workers)          a whole /metrics body: fold, rows, summaries, prom-client text

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { PrometheusExporter } from '../src/main/admin/prometheus.js';
import { createLogger } from '../src/main/logger.js';
import { createChannelDescriptor } from '../src/shm/channel.js';
import { connThrottleDefaults, createConnThrottle } from '../src/shm/connthrottle.js';
import { createIpCountTable } from '../src/shm/ipcount.js';
import { MetricsHistogram, MetricsReader, MetricsWriter, createMetricsBuffer } from '../src/shm/metrics.js';
import { ByteRing } from '../src/shm/ring.js';
import { Latency } from '../src/workers/stats.js';

const requests = 100_000;
const workers = 16;

export async function run(): Promise<void> {
  const buffer = createMetricsBuffer(workers);
  const writer = new MetricsWriter(buffer, 0);
  const latency = new Latency();
  const reader = new MetricsReader(buffer, { nowMs: 0 });
  // Latencies of 0.1..10 ms, as a request's would be (µs for the histogram, whole ms for ServerStats).
  const us = Float64Array.from({ length: 1024 }, (_, i) => 100 + ((i * 7919) % 9900));
  const rows: [string, string | number][] = Array.from({ length: 40 }, (_, i) => [`zk_row_${i}`, i]);
  const d = createChannelDescriptor({ toMainBytes: 1 << 16, toWorkerBytes: 1 << 16 });
  const exporter = await PrometheusExporter.create(
    {
      monitorRows: async () => rows,
      workers: reader,
      main: new MetricsReader(createMetricsBuffer(1), { nowMs: 0 }),
      rings: Array.from({ length: workers }, () => ({ toMain: ByteRing.attach(d.toMain), toWorker: ByteRing.attach(d.toWorker) })),
      connThrottle: createConnThrottle(connThrottleDefaults, 0),
      ipCounts: createIpCountTable(16),
      now: () => 0,
    },
    { exportProcessInfo: false, logger: createLogger('silent', 'bench') },
  );
  let bytes = 0;

  const bench = new Bench({ name: 'metrics', time: 500 });
  bench.add(`Latency.add x${requests}`, () => {
    for (let i = 0; i < requests; i++) latency.add(Math.floor(us[i & 1023]! / 1000));
  });
  bench.add(`MetricsWriter.record x${requests}`, () => {
    for (let i = 0; i < requests; i++) writer.record(MetricsHistogram.readLatencyUs, us[i & 1023]!);
  });
  bench.add(`both x${requests}`, () => {
    for (let i = 0; i < requests; i++) {
      const v = us[i & 1023]!;
      latency.add(Math.floor(v / 1000));
      writer.record(MetricsHistogram.readLatencyUs, v);
    }
  });
  bench.add(`fold ${workers} workers`, () => reader.fold(0));
  bench.add(`scrape (${workers} workers)`, async () => {
    bytes = (await exporter.scrape()).length;
  });
  await bench.run();
  exporter.close();

  console.log(`metrics bench (node ${process.version}); a scrape is ${bytes} bytes`);
  console.table(
    bench.tasks.map((t) => {
      const r = t.result;
      const mean = 'latency' in r ? r.latency.mean : 0;
      const rme = 'latency' in r ? r.latency.rme : 0;
      const perRequest = t.name.includes(`x${requests}`);
      return {
        task: t.name,
        'ms/iteration': mean.toFixed(3),
        'ns/request': perRequest ? ((mean * 1e6) / requests).toFixed(1) : '',
        '±%': rme.toFixed(1),
      };
    }),
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
