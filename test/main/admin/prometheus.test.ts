// The exporter's scrape (src/main/admin/prometheus.ts) over fake sources: how mntr rows become
// ZooKeeper's names or zkts_*, summaries from the shared-memory histograms, one row read for
// scrapes that come together, and a scrape that still answers when the rows do not come.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrometheusExporter, type PrometheusSources } from '../../../src/main/admin/prometheus.js';
import { createLogger } from '../../../src/main/logger.js';
import { createChannelDescriptor } from '../../../src/shm/channel.js';
import { connThrottleDefaults, createConnThrottle } from '../../../src/shm/connthrottle.js';
import { createIpCountTable } from '../../../src/shm/ipcount.js';
import { MetricsGauge, MetricsHistogram, MetricsReader, MetricsWriter, createMetricsBuffer } from '../../../src/shm/metrics.js';
import { ByteRing } from '../../../src/shm/ring.js';

type Rows = [string, string | number][];

const mainBuffers = new WeakMap<PrometheusSources, SharedArrayBuffer>();
function mainBuffer(src: PrometheusSources): SharedArrayBuffer {
  return mainBuffers.get(src)!;
}

function sources(monitorRows: () => Promise<Rows>): { src: PrometheusSources; workers: MetricsWriter[] } {
  const buffer = createMetricsBuffer(2);
  const main = createMetricsBuffer(1);
  const d = createChannelDescriptor({ toMainBytes: 1 << 16, toWorkerBytes: 1 << 16 });
  const src: PrometheusSources = {
    monitorRows,
    workers: new MetricsReader(buffer, { nowMs: 0 }),
    main: new MetricsReader(main, { nowMs: 0 }),
    rings: [0, 1].map(() => ({ toMain: ByteRing.attach(d.toMain), toWorker: ByteRing.attach(d.toWorker) })),
    connThrottle: createConnThrottle(connThrottleDefaults, 0),
    ipCounts: createIpCountTable(16),
    now: () => 0,
  };
  mainBuffers.set(src, main);
  return { src, workers: [new MetricsWriter(buffer, 0), new MetricsWriter(buffer, 1)] };
}

const rows: Rows = [
  ['zk_version', '3.8.0-zkts'],
  ['zk_server_state', 'follower'],
  ['zk_avg_latency', '1.5'],
  ['zk_znode_count', 12],
  ['zk_packets_received', 40],
  ['zk_zxid', '0x1f'],
  ['zk_fsync_count', 3],
  ['zk_connection_rejected', 2],
];

function lines(text: string): string[] {
  return text.split('\n');
}

describe('PrometheusExporter', () => {
  const logger = createLogger('silent', 'test');

  it("names mntr rows as ZooKeeper does (no prefix) or zkts_*, with ZooKeeper's types; strings left out", async () => {
    const { src } = sources(async () => rows);
    const e = await PrometheusExporter.create(src, { exportProcessInfo: false, logger });
    const text = await e.scrape();
    e.close();
    const l = lines(text);
    for (const want of [
      '# HELP znode_count znode_count',
      '# TYPE znode_count gauge',
      'znode_count 12',
      '# TYPE packets_received gauge',
      '# TYPE connection_rejected counter',
      'connection_rejected 2',
      '# TYPE zkts_fsync_count gauge',
      'zkts_fsync_count 3',
      'zkts_zxid 31',
      'zkts_server_state{state="follower"} 1',
    ]) {
      assert.ok(l.includes(want), `has ${JSON.stringify(want)}`);
    }
    assert.ok(!/version/.test(text), 'no string rows');
    // The workers' figures come from shared memory, not from the rows (nothing published: 0).
    assert.ok(l.includes('packets_received 0') && l.includes('avg_latency 0'), 'worker figures from the shm rows');
    assert.ok(!l.includes('packets_received 40') && !l.includes('avg_latency 1.5'));
    assert.ok(!/^process_/m.test(text), 'exportJvmInfo=false: no process figures');
  });

  it("exports the workers' histograms as summaries (ms, quantiles 0.5/0.9/0.99), and their gauges", async () => {
    const { src, workers } = sources(async () => rows);
    const e = await PrometheusExporter.create(src, { exportProcessInfo: true, logger });
    for (let i = 0; i < 90; i++) workers[0]!.record(MetricsHistogram.updateLatencyUs, 2000);
    for (let i = 0; i < 10; i++) workers[1]!.record(MetricsHistogram.updateLatencyUs, 40_000);
    workers[1]!.setGauge(MetricsGauge.sessionsLocal, 5);
    const l = lines(await e.scrape());
    e.close();
    assert.ok(l.includes('# TYPE updatelatency summary'));
    const q = (name: string): number => Number(l.find((x) => x.startsWith(`${name} `))!.split(' ')[1]);
    assert.ok(Math.abs(q('updatelatency{quantile="0.5"}') - 2) <= 0.25, 'the median write: 2 ms');
    assert.ok(Math.abs(q('updatelatency{quantile="0.99"}') - 40) <= 5, 'p99: 40 ms');
    assert.equal(q('updatelatency_count'), 100);
    assert.equal(q('updatelatency_sum'), 90 * 2 + 10 * 40);
    assert.ok(l.includes('readlatency_count 0'));
    assert.ok(l.includes('zkts_sessions{worker="1",kind="local"} 5'));
    assert.ok(l.some((x) => x.startsWith('zkts_worker_event_loop_delay_ms_count{worker="1"} ')));
    assert.ok(l.some((x) => x.startsWith('process_cpu_user_seconds_total ')), "Node's process figures");
  });

  it("ZooKeeper's ServerStats gauges combine the workers' shm rows as mntr's sumCounts does; BASIC summaries have the median only", async () => {
    const { src, workers } = sources(async () => rows);
    const e = await PrometheusExporter.create(src, { exportProcessInfo: false, logger });
    const [a, b] = workers as [MetricsWriter, MetricsWriter];
    a.setGauge(MetricsGauge.packetsReceived, 2 ** 33); // past 2^31: gauges are float64
    b.setGauge(MetricsGauge.packetsReceived, 7);
    a.setGauge(MetricsGauge.connections, 2);
    b.setGauge(MetricsGauge.connections, 3);
    a.setGauge(MetricsGauge.watches, 4);
    a.setGauge(MetricsGauge.latencyMinMs, 0); // a worker with no request yet: its min is not counted
    a.setGauge(MetricsGauge.latencyCount, 0);
    b.setGauge(MetricsGauge.latencyMinMs, 3);
    b.setGauge(MetricsGauge.latencyMaxMs, 9);
    b.setGauge(MetricsGauge.latencyTotalMs, 12);
    b.setGauge(MetricsGauge.latencyCount, 2);
    a.setGauge(MetricsGauge.responseSizeMin, -1);
    a.setGauge(MetricsGauge.responseSizeMax, -1);
    a.setGauge(MetricsGauge.responseSizeLast, -1);
    b.setGauge(MetricsGauge.responseSizeMin, 16);
    b.setGauge(MetricsGauge.responseSizeMax, 120);
    b.setGauge(MetricsGauge.responseSizeLast, 40);
    b.setGauge(MetricsGauge.authFailed, 1);
    const main = new MetricsWriter(mainBuffer(src), 0);
    main.record(MetricsHistogram.fsyncUs, 4000);
    main.record(MetricsHistogram.electionUs, 250_000);
    const l = lines(await e.scrape());
    e.close();
    for (const want of [
      `packets_received ${2 ** 33 + 7}`,
      'num_alive_connections 5',
      'watch_count 4',
      'min_latency 3',
      'max_latency 9',
      'avg_latency 6',
      'min_client_response_size 16',
      'max_client_response_size 120',
      'last_client_response_size 40',
      'auth_failed_count 1',
      '# TYPE fsynctime summary',
      'fsynctime_count 1',
      'fsynctime_sum 4',
      'election_time_count 1',
      'election_time_sum 250',
      'snapshottime_count 0',
    ]) {
      assert.ok(l.includes(want), `has ${JSON.stringify(want)}`);
    }
    assert.ok(l.some((x) => x.startsWith('fsynctime{quantile="0.5"} ')));
    assert.ok(!l.some((x) => x.startsWith('fsynctime{quantile="0.9"}')), 'a BASIC summary: the median only');
    assert.equal(l.filter((x) => x === '# TYPE packets_received gauge').length, 1);
    assert.ok(!l.some((x) => x.startsWith('# TYPE proposal_latency')), 'standalone: no Zab summaries');
    // An ensemble member: Zab's summaries (ADVANCED: three quantiles) from the main row.
    main.record(MetricsHistogram.quorumAckLatencyUs, 3000);
    const z = await PrometheusExporter.create({ ...src, ensemble: true }, { exportProcessInfo: false, logger });
    const zl = lines(await z.scrape());
    z.close();
    for (const n of ['proposal_latency', 'quorum_ack_latency', 'commit_propagation_latency']) assert.ok(zl.includes(`# TYPE ${n} summary`), n);
    assert.ok(zl.includes('quorum_ack_latency_count 1') && zl.includes('quorum_ack_latency_sum 3'));
    assert.ok(zl.some((x) => x.startsWith('quorum_ack_latency{quantile="0.99"} ')));
  });

  it('scrapes that come together read the rows once', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { src } = sources(async () => {
      calls++;
      await gate;
      return rows;
    });
    const e = await PrometheusExporter.create(src, { exportProcessInfo: false, logger });
    const scrapes = [e.scrape(), e.scrape(), e.scrape()];
    release();
    const texts = await Promise.all(scrapes);
    assert.equal(calls, 1);
    assert.ok(texts.every((t) => t.includes('znode_count 12')));
    await e.scrape();
    assert.equal(calls, 2, 'a later scrape reads them again');
    e.close();
  });

  it('rows that never come, or fail: the scrape answers with the last rows and counts it', async () => {
    let mode: 'ok' | 'hang' | 'fail' = 'ok';
    const { src } = sources(async () => {
      if (mode === 'hang') return new Promise<Rows>(() => {});
      if (mode === 'fail') throw new Error('boom');
      return rows;
    });
    const e = await PrometheusExporter.create(src, { exportProcessInfo: false, logger, rowsTimeoutMs: 50 });
    await e.scrape();
    mode = 'hang';
    let text = await e.scrape();
    assert.ok(text.includes('znode_count 12'), 'the last rows');
    assert.ok(text.includes('zkts_scrape_rows_failed_total 1'));
    mode = 'fail';
    text = await e.scrape();
    assert.ok(text.includes('znode_count 12'));
    assert.ok(text.includes('zkts_scrape_rows_failed_total 2'));
    e.close();
  });
});
