// The Prometheus exporter (metricsProvider.*, issue 12): GET /metrics in the text exposition
// format, through prom-client with a registry of its own.
//
// Names are ZooKeeper's, with no prefix, so existing dashboards work: the gauges ZooKeeperServer,
// Leader and QuorumPeer register (znode_count, watch_count, num_alive_connections,
// packets_received, outstanding_requests, ...), ServerMetrics' counters (connection_request_count,
// connection_rejected), and its latency summaries readlatency and updatelatency (milliseconds,
// quantiles 0.5/0.9/0.99 as PrometheusMetricsProvider's ADVANCED summaries). ZooKeeper 3.8's
// provider is on Prometheus simpleclient 0.9, which writes counters without a `_total` suffix;
// so does this. Its HELP text is the metric's name, as there.
//
// zkts's own figures sit beside them as zkts_*: the mntr rows that are not ZooKeeper metrics, and
// what only zkts has (per worker: sessions, ring depth and stalls, event-loop delay; fan-out per
// event; a learner's touch lag to the leader; connect admission). Worker figures come from
// shared memory (src/shm/metrics.ts), never from a message per scrape: the workers publish the
// ServerStats figures mntr sums (packets, connections, outstanding, the latency trio, watches,
// response sizes, refused auths) there about once a second. The main thread's mntr rows come
// from FourLetterWords.mainRows(), and its timings (fsynctime, snapshottime, election_time:
// ZooKeeper's BASIC summaries, the median only) from its own row.
//
// With metricsProvider.exportJvmInfo=true (the default), Node's process figures (prom-client's
// default metrics: process_*, nodejs_*) stand in for the JVM's.

import type { Metric, Registry as RegistryType } from 'prom-client';
import type { ByteRing } from '../../shm/ring.js';
import type { ConnThrottle } from '../../shm/connthrottle.js';
import type { IpCountTable } from '../../shm/ipcount.js';
import { MetricsGauge, MetricsHistogram, type MetricsReader } from '../../shm/metrics.js';
import type { HttpApp, HttpEngineChoice, HttpReply } from '../../http/app.js';
import { metricsFoldIntervalMs } from '../../shm/limits.js';
import type { MetricsProviderConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { startMainHttpApp } from './http.js';
import { metricsPath, metricsRowsTimeoutMs, prometheusBasicQuantiles, prometheusQuantiles } from '../limits.js';

/** ZooKeeper 3.8's registerGauge names (ZooKeeperServer, Leader, QuorumPeer ...). */
const zkGauges = new Set([
  'approximate_data_size',
  'auth_failed_count',
  'avg_latency',
  'connection_drop_probability',
  'ephemerals_count',
  'global_sessions',
  'last_client_response_size',
  'last_proposal_size',
  'leader_uptime',
  'learners',
  'local_sessions',
  'max_client_response_size',
  'max_file_descriptor_count',
  'max_latency',
  'max_proposal_size',
  'min_client_response_size',
  'min_latency',
  'min_proposal_size',
  'non_mtls_local_conn_count',
  'non_mtls_remote_conn_count',
  'num_alive_connections',
  'open_file_descriptor_count',
  'outstanding_requests',
  'outstanding_tls_handshake',
  'packets_received',
  'packets_sent',
  'pending_syncs',
  'quorum_size',
  'synced_followers',
  'synced_non_voting_followers',
  'synced_observers',
  'uptime',
  'watch_count',
  'znode_count',
]);

/** ServerMetrics' counters that mntr rows carry. */
const zkCounters = new Set(['connection_request_count', 'connection_rejected', 'proposal_count', 'commit_count']);

/** ZooKeeper gauges summed (or combined) over the workers' shared-memory rows, read here at each
 *  scrape, never asked for by message; a row of the same name from mntr is ignored. */
const fromWorkerRows = new Set([
  'packets_received',
  'packets_sent',
  'num_alive_connections',
  'outstanding_requests',
  'avg_latency',
  'min_latency',
  'max_latency',
  'watch_count',
  'last_client_response_size',
  'min_client_response_size',
  'max_client_response_size',
  'auth_failed_count',
]);

type MetricType = 'gauge' | 'counter' | 'summary';
interface Sample {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

export interface PrometheusSources {
  /** The main thread's mntr rows (zk_ prefixed), FourLetterWords.mainRows(); rows of the
   *  figures the workers publish in shared memory are ignored. */
  monitorRows(): Promise<[string, string | number][]>;
  /** The workers' figures in shared memory. */
  workers: MetricsReader;
  /** The main thread's own figures (touch lag), one row of the same layout. */
  main: MetricsReader;
  /** Each worker's channel rings, by worker index. */
  rings: readonly { toMain: ByteRing; toWorker: ByteRing }[];
  connThrottle: ConnThrottle;
  ipCounts: IpCountTable;
  /** Monotonic milliseconds. */
  now(): number;
  /** An ensemble member (the Zab summaries are exported); absent: standalone. */
  ensemble?: boolean;
}

export class PrometheusExporter {
  readonly registry: RegistryType;
  readonly #src: PrometheusSources;
  /** The last scrape's mntr rows, by metric name. */
  #rows = new Map<string, number>();
  #serverState = '';
  readonly #known = new Set<string>();
  readonly #logger: Logger;
  readonly #rowsTimeoutMs: number;
  #refreshing: Promise<void> | null = null;
  /** Scrapes whose mntr rows failed or came late. */
  #rowsFailed = 0;
  /** The readers of each summary name (one per worker for per-worker summaries). */
  readonly #reads = new Map<string, (() => Sample[])[]>();

  readonly #foldTimer: NodeJS.Timeout;

  private constructor(registry: RegistryType, src: PrometheusSources, logger: Logger, rowsTimeoutMs: number) {
    this.registry = registry;
    this.#src = src;
    this.#logger = logger;
    this.#rowsTimeoutMs = rowsTimeoutMs;
    // The workers' wrapping counters are folded often enough that none wraps twice unseen,
    // scraped or not.
    this.#foldTimer = setInterval(() => this.#fold(), metricsFoldIntervalMs);
    this.#foldTimer.unref();
  }

  /** Loads prom-client (only when the exporter is configured: a server without it pays nothing). */
  static async create(
    src: PrometheusSources,
    o: { exportProcessInfo: boolean; logger: Logger; rowsTimeoutMs?: number },
  ): Promise<PrometheusExporter> {
    const prom = await import('prom-client');
    const e = new PrometheusExporter(new prom.Registry(), src, o.logger, o.rowsTimeoutMs ?? metricsRowsTimeoutMs);
    if (o.exportProcessInfo) prom.collectDefaultMetrics({ register: e.registry });
    e.#registerOwn();
    return e;
  }

  mount(app: HttpApp): void {
    app.get(metricsPath, () => this.reply());
  }

  /** Stop folding the workers' counters. */
  close(): void {
    clearInterval(this.#foldTimer);
  }

  async reply(): Promise<HttpReply> {
    return { status: 200, body: await this.scrape(), contentType: this.registry.contentType };
  }

  /** The exposition text of one scrape. */
  async scrape(): Promise<string> {
    this.#fold();
    // Scrapes that come together share one read of the mntr rows (one stats message per worker).
    this.#refreshing ??= this.#refreshRows().finally(() => {
      this.#refreshing = null;
    });
    await this.#refreshing;
    return this.registry.metrics();
  }

  #fold(): void {
    const now = this.#src.now();
    this.#src.workers.fold(now);
    this.#src.main.fold(now);
  }

  /** The mntr rows; when they do not come in time (a worker that does not answer) or fail, the
   *  last ones stay, with a warning and zkts_scrape_rows_failed_total. */
  async #refreshRows(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.#rowsTimeoutMs);
    });
    let got: [string, string | number][] | null;
    let err: unknown;
    try {
      got = await Promise.race([this.#src.monitorRows(), late]);
    } catch (e) {
      err = e;
      got = null;
    } finally {
      clearTimeout(timer);
    }
    if (got === null) {
      // The first failure and every 100th after it: a stuck worker would otherwise log per scrape.
      if (this.#rowsFailed++ % 100 === 0) {
        const why = err === undefined ? `not in ${this.#rowsTimeoutMs} ms` : 'failed';
        this.#logger.warn({ err, failures: this.#rowsFailed }, `metrics: the mntr rows ${why}; the last ones are served`);
      }
      return;
    }
    const rows = new Map<string, number>();
    for (const [key, raw] of got) {
      const k = key.startsWith('zk_') ? key.slice(3) : key;
      if (k === 'server_state') this.#serverState = String(raw);
      const v = numberOf(raw);
      if (v === null) continue;
      if (fromWorkerRows.has(k)) continue;
      const name = zkGauges.has(k) || zkCounters.has(k) ? k : `zkts_${k}`;
      rows.set(name, v);
      if (!this.#known.has(name)) {
        this.#known.add(name);
        const type: MetricType = zkCounters.has(k) ? 'counter' : 'gauge';
        this.#add(name, type, () => {
          const value = this.#rows.get(name);
          return value === undefined ? [] : [{ value }];
        });
      }
    }
    this.#rows = rows;
  }

  #registerOwn(): void {
    const src = this.#src;
    const w = src.workers;
    const workers = Array.from({ length: w.workerCount }, (_, i) => i);
    this.#summary('readlatency', w, MetricsHistogram.readLatencyUs, 1 / 1000, -1);
    this.#summary('updatelatency', w, MetricsHistogram.updateLatencyUs, 1 / 1000, -1);
    this.#summary('fsynctime', src.main, MetricsHistogram.fsyncUs, 1 / 1000, -1, prometheusBasicQuantiles);
    this.#summary('snapshottime', src.main, MetricsHistogram.snapshotUs, 1 / 1000, -1, prometheusBasicQuantiles);
    this.#summary('election_time', src.main, MetricsHistogram.electionUs, 1 / 1000, -1, prometheusBasicQuantiles);
    // Zab's (ADVANCED summaries), on an ensemble member only: a standalone server has no quorum.
    if (src.ensemble) {
      this.#summary('proposal_latency', src.main, MetricsHistogram.proposalLatencyUs, 1 / 1000, -1);
      this.#summary('quorum_ack_latency', src.main, MetricsHistogram.quorumAckLatencyUs, 1 / 1000, -1);
      this.#summary('commit_propagation_latency', src.main, MetricsHistogram.commitPropagationLatencyUs, 1 / 1000, -1);
    }
    // ZooKeeperServer's gauges from ServerStats, over the workers' rows.
    const sum = (g: MetricsGauge) => (): Sample[] => [{ value: w.gaugeSum(g) }];
    this.#add('packets_received', 'gauge', sum(MetricsGauge.packetsReceived));
    this.#add('packets_sent', 'gauge', sum(MetricsGauge.packetsSent));
    this.#add('num_alive_connections', 'gauge', sum(MetricsGauge.connections));
    this.#add('outstanding_requests', 'gauge', sum(MetricsGauge.outstandingRequests));
    this.#add('watch_count', 'gauge', sum(MetricsGauge.watches));
    this.#add('auth_failed_count', 'gauge', sum(MetricsGauge.authFailed));
    this.#add('avg_latency', 'gauge', () => [{ value: w.serverStats().avgLatencyMs }]);
    this.#add('min_latency', 'gauge', () => [{ value: w.serverStats().minLatencyMs }]);
    this.#add('max_latency', 'gauge', () => [{ value: w.serverStats().maxLatencyMs }]);
    this.#add('last_client_response_size', 'gauge', () => [{ value: w.serverStats().responseSizeLast }]);
    this.#add('min_client_response_size', 'gauge', () => [{ value: w.serverStats().responseSizeMin }]);
    this.#add('max_client_response_size', 'gauge', () => [{ value: w.serverStats().responseSizeMax }]);
    this.#add('zkts_scrape_rows_failed_total', 'counter', () => [{ value: this.#rowsFailed }]);
    this.#add('zkts_server_state', 'gauge', () => (this.#serverState === '' ? [] : [{ value: 1, labels: { state: this.#serverState } }]));
    this.#add('zkts_sessions', 'gauge', () =>
      workers.flatMap((i) => [
        { value: w.gauge(i, MetricsGauge.sessionsGlobal), labels: { worker: i, kind: 'global' } },
        { value: w.gauge(i, MetricsGauge.sessionsLocal), labels: { worker: i, kind: 'local' } },
      ]),
    );
    this.#add('zkts_connections', 'gauge', () => workers.map((i) => ({ value: w.gauge(i, MetricsGauge.connections), labels: { worker: i } })));
    this.#add('zkts_watches', 'gauge', () => workers.map((i) => ({ value: w.gauge(i, MetricsGauge.watches), labels: { worker: i } })));
    const perRing = (f: (r: ByteRing) => number): (() => Sample[]) => () =>
      src.rings.flatMap((r, i) => [
        { value: f(r.toMain), labels: { worker: i, ring: 'to_main' } },
        { value: f(r.toWorker), labels: { worker: i, ring: 'to_worker' } },
      ]);
    this.#add('zkts_ring_used_bytes', 'gauge', perRing((r) => r.stats().usedBytes));
    this.#add('zkts_ring_capacity_bytes', 'gauge', perRing((r) => r.capacityBytes));
    this.#add('zkts_ring_full_total', 'counter', perRing((r) => r.stats().fullCount));
    this.#add('zkts_ring_overflow_total', 'counter', perRing((r) => r.stats().overflowCount));
    this.#add('zkts_ring_late_wakeups_total', 'counter', perRing((r) => r.stats().lateWakeups));
    for (const i of workers) this.#summary('zkts_worker_event_loop_delay_ms', w, MetricsHistogram.tickDelayUs, 1 / 1000, i);
    this.#summary('zkts_fanout_sessions', w, MetricsHistogram.fanoutSessions, 1, -1);
    this.#summary('zkts_touch_lag_ms', src.main, MetricsHistogram.touchLagUs, 1 / 1000, -1);
    const t = src.connThrottle;
    this.#add('zkts_connect_admitted_total', 'counter', () => [{ value: t.letThrough }]);
    this.#add('zkts_connect_throttled_total', 'counter', () => [{ value: t.rejected }]);
    this.#add('zkts_connect_throttle_tokens', 'gauge', () => [{ value: t.tokens }]);
    this.#add('zkts_connect_drop_probability', 'gauge', () => [{ value: t.dropChance }]);
    this.#add('zkts_client_addresses', 'gauge', () => [{ value: src.ipCounts.addresses }]);
    this.#add('zkts_client_addresses_refused_total', 'counter', () => [{ value: src.ipCounts.refusedFull }]);
  }

  /** A summary of histogram h of `from` scaled by `scale` (µs to ms); worker -1 = all rows summed,
   *  else one worker's, labelled (several calls with one name add to one metric). */
  #summary(
    name: string,
    from: MetricsReader,
    h: MetricsHistogram,
    scale: number,
    worker: number,
    qs: readonly number[] = prometheusQuantiles,
  ): void {
    const read = (): Sample[] => {
      const s = from.summary(h, worker, qs);
      const labels: Record<string, string | number> = worker < 0 ? {} : { worker };
      return [
        ...qs.map((q, i) => ({ value: s.quantiles[i]! * scale, labels: { ...labels, quantile: q } })),
        { metricName: `${name}_sum`, value: s.sum * scale, labels },
        { metricName: `${name}_count`, value: s.count, labels },
      ];
    };
    const existing = this.#reads.get(name);
    if (existing !== undefined) existing.push(read);
    else {
      const reads = [read];
      this.#reads.set(name, reads);
      this.#add(name, 'summary', () => reads.flatMap((r) => r()));
    }
  }

  /** A metric whose values are read at scrape time; prom-client writes the exposition. */
  #add(name: string, type: MetricType, read: () => Sample[]): void {
    const metric = {
      name,
      help: name,
      type,
      aggregator: 'sum',
      get: () => ({ name, help: name, type, aggregator: 'sum', values: read() }),
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }
}

/** The exporter on metricsProvider.httpHost:httpPort; null (logged) when it cannot listen. */
export async function startPrometheus(o: {
  cfg: MetricsProviderConfig;
  engine: HttpEngineChoice;
  logger: Logger;
  sources: PrometheusSources;
}): Promise<{ readonly port: number; close(): Promise<void> } | null> {
  const exporter = await PrometheusExporter.create(o.sources, { exportProcessInfo: o.cfg.exportProcessInfo, logger: o.logger });
  const started = await startMainHttpApp({
    what: 'metrics',
    engine: o.engine,
    host: o.cfg.host,
    port: o.cfg.port,
    logger: o.logger,
    mount: (app) => exporter.mount(app),
  });
  if (started === null) {
    exporter.close();
    return null;
  }
  return {
    port: started.port,
    async close() {
      exporter.close();
      await started.app.close();
    },
  };
}

/** A row's value as a number: numbers, decimal strings ('0.5'), hex zxids ('0x1a'); else null. */
function numberOf(raw: string | number): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : null;
  if (/^0x[0-9a-f]+$/i.test(raw)) return Number(raw);
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return null;
}
