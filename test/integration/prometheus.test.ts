// The Prometheus exporter (issue 12, item 2): metricsProvider.* as ZooKeeper's
// PrometheusMetricsProvider reads them, /metrics in the text exposition format with ZooKeeper's
// names beside zkts_*, on both HTTP engines; and a real Prometheus (Debian package) that scrapes
// zkts and answers queries about it through its HTTP API.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { eventually } from './harness/ensemble.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';

const PROMETHEUS = '/usr/bin/prometheus';
const providerClass = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';

/** Server i: client port base + 10i, its metrics port +3; Prometheus on the block's +95. */
const clientPort = (i: number): number => suitePort(SUITE_PORTS.prometheus, i);
const metricsPort = (i: number): number => clientPort(i) + 3;
const prometheusPort = (): number => suitePort(SUITE_PORTS.prometheus, 9) + 5;

function startExporting(i: number, extra: Record<string, string> = {}, dataDir?: string): Promise<ServerHandle> {
  return startServer('zkts', {
    port: clientPort(i),
    ...(dataDir === undefined ? {} : { dataDir }),
    tickTime: 200,
    extra: {
      'metricsProvider.className': providerClass,
      'metricsProvider.httpHost': '127.0.0.1',
      'metricsProvider.httpPort': String(metricsPort(i)),
      sessionWorkers: '2',
      ...extra,
    },
  });
}

async function scrape(port: number): Promise<{ text: string; contentType: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return { text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
}

interface Exposition {
  types: Map<string, string>;
  /** 'name{labels}' → value */
  samples: Map<string, number>;
}

/** The text format, checked line by line (HELP, TYPE, samples; blank lines between). */
function parse(text: string): Exposition {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|summary|histogram|untyped)$/.exec(line);
    if (t !== null) {
      assert.ok(!types.has(t[1]!), `one TYPE line for ${t[1]}`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(s !== null, `a sample line: ${JSON.stringify(line)}`);
    const v = /^nan$/i.test(s[2]!) ? Number.NaN : Number(s[2]);
    assert.ok(!Number.isNaN(v) || /^nan$/i.test(s[2]!), `a number: ${line}`);
    samples.set(s[1]!, v);
  }
  return { types, samples };
}

function sample(e: Exposition, key: string): number {
  const v = e.samples.get(key);
  assert.ok(v !== undefined, `exposition has ${key}`);
  return v;
}

/** Sum of every sample of `name` whose labels include all of `labels` ('k="v"' strings). */
function sumOf(e: Exposition, name: string, ...labels: string[]): number {
  let n = 0;
  for (const [k, v] of e.samples) {
    const m = /^([^{]+)(?:\{(.*)\})?$/.exec(k)!;
    if (m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (labels.every((l) => have.includes(l))) n += v;
  }
  return n;
}

async function connect(port: number): Promise<ZkClient> {
  const c = createClient(`127.0.0.1:${port}`, { sessionTimeoutMs: 4000 });
  await c.waitConnected(10_000);
  return c;
}

describe('the Prometheus exporter', () => {
  const servers: ServerHandle[] = [];

  before(async () => {
    servers.push(await startExporting(0)); // httpEngine auto: uWebSockets.js where it loads
    servers.push(await startExporting(1, { httpEngine: 'node', 'metricsProvider.exportJvmInfo': 'false' }));
  });

  after(async () => {
    for (const s of servers) await s.stop();
  });

  for (const [i, engine] of [
    [0, 'auto'],
    [1, 'node'],
  ] as const) {
    test(`/metrics (httpEngine=${engine}): ZooKeeper's names and types, summaries with quantiles, zkts_* beside`, async () => {
      const zk = await connect(clientPort(i));
      try {
        for (let n = 0; n < 5; n++) await zk.create(`/m${n}`, 'x');
        await zk.getData('/m0', () => {});
        await zk.setData('/m0', 'y'); // fires the watch: one event fanned out to one session
        await zk.getData('/m1');
        const { contentType } = await scrape(metricsPort(i));
        assert.match(contentType, /^text\/plain; version=0\.0\.4/);
        // The workers publish their figures about once a second.
        let e = await eventually('the workers to publish the traffic', async () => {
          const x = parse((await scrape(metricsPort(i))).text);
          return (x.samples.get('packets_received') ?? 0) >= 8 && (x.samples.get('num_alive_connections') ?? 0) >= 1 ? x : undefined;
        });
        for (const g of ['znode_count', 'watch_count', 'num_alive_connections', 'packets_received', 'packets_sent',
          'outstanding_requests', 'ephemerals_count', 'approximate_data_size', 'global_sessions', 'local_sessions',
          'avg_latency', 'max_latency', 'min_latency', 'uptime', 'open_file_descriptor_count']) {
          assert.equal(e.types.get(g), 'gauge', `${g} is a gauge`);
        }
        // simpleclient 0.9 (ZooKeeper 3.8's): counters keep their names, no _total.
        assert.equal(e.types.get('connection_request_count'), 'counter');
        assert.equal(e.types.get('connection_rejected'), 'counter');
        assert.ok(sample(e, 'znode_count') >= 5 + 2, 'the five nodes, / and /zookeeper');
        assert.ok(sample(e, 'num_alive_connections') >= 1);
        assert.ok(sample(e, 'packets_received') >= 8);
        for (const s of ['readlatency', 'updatelatency']) {
          assert.equal(e.types.get(s), 'summary');
          for (const q of ['0.5', '0.9', '0.99']) assert.ok(e.samples.has(`${s}{quantile="${q}"}`), `${s} quantile ${q}`);
          assert.ok(e.samples.has(`${s}_sum`));
        }
        assert.ok(sample(e, 'updatelatency_count') >= 6, 'five creates and a setData');
        assert.ok(sample(e, 'readlatency_count') >= 2, 'two getData');
        assert.ok(sample(e, 'updatelatency{quantile="0.5"}') > 0, 'a write takes a positive time (ms)');
        assert.ok(!e.types.has('zk_znode_count') && !e.types.has('zkts_znode_count'), 'no prefix on ZooKeeper names');
        // zkts's own: gauges the workers publish about once a second.
        e = await eventually('the workers to publish their session gauges', async () => {
          const x = parse((await scrape(metricsPort(i))).text);
          return sumOf(x, 'zkts_sessions', 'kind="global"') === 1 ? x : undefined;
        });
        assert.equal(e.types.get('zkts_sessions'), 'gauge');
        assert.ok(e.samples.has('zkts_sessions{worker="1",kind="local"}'), 'a row per worker and kind');
        assert.equal(sumOf(e, 'zkts_connections'), 1);
        assert.equal(e.types.get('zkts_ring_used_bytes'), 'gauge');
        assert.equal(e.types.get('zkts_ring_full_total'), 'counter');
        assert.equal(sumOf(e, 'zkts_ring_capacity_bytes', 'ring="to_main"') > 0, true);
        assert.equal(e.types.get('zkts_worker_event_loop_delay_ms'), 'summary');
        assert.ok(e.samples.has('zkts_worker_event_loop_delay_ms{worker="0",quantile="0.99"}'));
        assert.ok(sumOf(e, 'zkts_worker_event_loop_delay_ms_count') > 0, 'the worker ticks are measured');
        assert.equal(sample(e, 'zkts_fanout_sessions_count'), 1, 'one watch event reached its one session');
        assert.equal(sample(e, 'zkts_fanout_sessions_sum'), 1);
        assert.ok(sample(e, 'zkts_connect_admitted_total') >= 1);
        assert.equal(sample(e, 'zkts_server_state{state="standalone"}'), 1);
        // Node's process figures in place of the JVM's, unless exportJvmInfo=false.
        assert.equal(e.types.has('process_cpu_user_seconds_total'), i === 0);
        assert.equal(e.types.has('nodejs_heap_size_total_bytes'), i === 0);
      } finally {
        await zk.close();
      }
    });
  }

  test('bad requests to the metrics port get an HTTP error or a closed connection; the server goes on', async () => {
    const port = metricsPort(0);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nothing`)).status, 404);
    // Garbage instead of HTTP: that connection ends, nothing else does.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.end('\x00\x01 not http at all\r\n\r\n'));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.setTimeout(10_000, () => reject(new Error('the metrics port kept a garbage connection open')));
      s.resume();
    });
    assert.ok(sample(parse((await scrape(port)).text), 'znode_count') >= 2);
    const zk = await connect(clientPort(0));
    await zk.exists('/');
    await zk.close();
  });

  test('a metrics port already taken: logged, and the server serves clients without it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(metricsPort(2), '127.0.0.1', () => r()));
    try {
      const s = await startExporting(2, { logLevel: 'warn' });
      servers.push(s);
      const zk = await connect(clientPort(2));
      await zk.create('/still-serving', '');
      await zk.close();
      await eventually('the warning', async () => (/Problem starting metrics/.test(s.logs()) ? true : undefined));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});

/**
 * What existing ZooKeeper dashboards and alert rules query, as data. Sources:
 * - apache/zookeeper, zookeeper-docs/src/main/resources/markdown/zookeeperMonitor.md, "Alerting
 *   with Prometheus" (rules/zk.yml; now zookeeper-website/.../admin-ops/monitor-and-audit-logs.mdx);
 * - grafana/jsonnet-libs, zookeeper-observ-lib/signals/{zookeeper,latency,cluster}.libsonnet, the
 *   `prometheus` source of Grafana's ZooKeeper overview dashboard.
 * (Grafana.com dashboard 10465, which the ZooKeeper docs link, could not be fetched from here.)
 * `expr` is the query with its threshold taken off; `names` the metrics it reads, with
 * ZooKeeper's type; `on`: which servers export it (all, ensemble members, the leader).
 */
const dashboardQueries: readonly { expr: string; names: readonly [string, 'gauge' | 'counter' | 'summary'][]; on: 'all' | 'ensemble' | 'leader'; source: string }[] = [
  { expr: 'znode_count', names: [['znode_count', 'gauge']], on: 'all', source: 'zk.yml, grafana' },
  { expr: 'num_alive_connections', names: [['num_alive_connections', 'gauge']], on: 'all', source: 'zk.yml, grafana' },
  { expr: 'approximate_data_size /1024 /1024', names: [['approximate_data_size', 'gauge']], on: 'all', source: 'zk.yml' },
  { expr: 'watch_count', names: [['watch_count', 'gauge']], on: 'all', source: 'zk.yml, grafana' },
  { expr: 'increase(election_time_count[5m])', names: [['election_time', 'summary']], on: 'all', source: 'zk.yml' },
  { expr: 'open_file_descriptor_count', names: [['open_file_descriptor_count', 'gauge']], on: 'all', source: 'zk.yml' },
  { expr: 'rate(fsynctime_sum[1m])', names: [['fsynctime', 'summary']], on: 'all', source: 'zk.yml' },
  { expr: 'rate(snapshottime_sum[5m])', names: [['snapshottime', 'summary']], on: 'all', source: 'zk.yml' },
  { expr: 'avg_latency', names: [['avg_latency', 'gauge']], on: 'all', source: 'zk.yml, grafana' },
  { expr: 'outstanding_requests', names: [['outstanding_requests', 'gauge']], on: 'all', source: 'grafana' },
  { expr: 'min_latency', names: [['min_latency', 'gauge']], on: 'all', source: 'grafana' },
  { expr: 'max_latency', names: [['max_latency', 'gauge']], on: 'all', source: 'grafana' },
  { expr: 'quorum_size', names: [['quorum_size', 'gauge']], on: 'ensemble', source: 'grafana' },
  {
    expr: 'clamp_max(leader_uptime, 1) or clamp_max(num_alive_connections, 0)',
    names: [['leader_uptime', 'gauge']],
    on: 'leader',
    source: 'grafana (role)',
  },
];
/** Queried by zk.yml, not exported by zkts (README, Metrics): there is no JVM. */
const dashboardNotExported = ['jvm_memory_bytes_used', 'jvm_memory_bytes_max'];
/** ZooKeeperServer's and the Leader's other gauges that zkts exports under ZooKeeper's names. */
const otherZkNames: readonly [string, 'gauge' | 'counter' | 'summary', 'all' | 'ensemble' | 'voter' | 'leader'][] = [
  ['packets_received', 'gauge', 'all'],
  ['packets_sent', 'gauge', 'all'],
  ['ephemerals_count', 'gauge', 'all'],
  ['uptime', 'gauge', 'all'],
  ['global_sessions', 'gauge', 'all'],
  ['local_sessions', 'gauge', 'all'],
  ['max_file_descriptor_count', 'gauge', 'all'],
  ['last_client_response_size', 'gauge', 'all'],
  ['max_client_response_size', 'gauge', 'all'],
  ['min_client_response_size', 'gauge', 'all'],
  ['auth_failed_count', 'gauge', 'all'],
  ['connection_request_count', 'counter', 'all'],
  ['connection_rejected', 'counter', 'all'],
  ['connection_drop_probability', 'gauge', 'all'],
  ['readlatency', 'summary', 'all'],
  ['updatelatency', 'summary', 'all'],
  ['proposal_count', 'counter', 'ensemble'],
  ['commit_count', 'counter', 'ensemble'],
  ['proposal_latency', 'summary', 'ensemble'],
  ['quorum_ack_latency', 'summary', 'ensemble'],
  ['commit_propagation_latency', 'summary', 'ensemble'],
  ['learners', 'gauge', 'leader'],
  ['synced_followers', 'gauge', 'leader'],
  ['synced_observers', 'gauge', 'voter'],
  ['pending_syncs', 'gauge', 'leader'],
];

/** Every claimed name on this server (role: standalone, leader, follower, observer) is in the
 *  scrape with ZooKeeper's type; the ensemble's are absent on a standalone server, the leader's
 *  on the others. Summaries: the quantile lines (the median at least), _sum and _count. */
function checkZkNames(e: Exposition, role: string): void {
  const all = [...dashboardQueries.flatMap((q) => q.names.map(([n, t]) => [n, t, q.on] as const)), ...otherZkNames];
  for (const [name, type, on] of all) {
    const expected =
      on === 'all' ||
      (on === 'ensemble' && role !== 'standalone') ||
      (on === 'voter' && (role === 'leader' || role === 'follower')) ||
      (on === 'leader' && role === 'leader');
    if (!expected) {
      assert.ok(!e.types.has(name), `${name} is not exported by a ${role} (ZooKeeper registers it only on ${on})`);
      continue;
    }
    assert.equal(e.types.get(name), type, `${name}: a ${type} on a ${role}`);
    if (type === 'summary') {
      assert.ok(e.samples.has(`${name}{quantile="0.5"}`), `${name} median`);
      assert.ok(e.samples.has(`${name}_sum`) && e.samples.has(`${name}_count`), `${name}_sum and _count`);
    } else {
      assert.ok(e.samples.has(name), `${name} has a value`);
    }
  }
  for (const name of dashboardNotExported) assert.ok(!e.types.has(name), `${name} is not exported`);
}

/** Server 8: a standalone server with its AdminServer (client port + 4) and a tickTime that lets
 *  a session go 10 s between pings, so that the server is quiet while mntr and /metrics are read. */
const adminPort = (i: number): number => clientPort(i) + 4;

describe("ZooKeeper's dashboards and alert rules, and mntr's figures on /metrics", () => {
  let server: ServerHandle;

  before(async () => {
    server = await startServer('zkts', {
      port: clientPort(8),
      tickTime: 2000,
      maxClientCnxns: 3,
      extra: {
        'metricsProvider.className': providerClass,
        'metricsProvider.httpHost': '127.0.0.1',
        'metricsProvider.httpPort': String(metricsPort(8)),
        'admin.enableServer': 'true',
        'admin.serverAddress': '127.0.0.1',
        'admin.serverPort': String(adminPort(8)),
        sessionWorkers: '2',
      },
    });
  });

  after(async () => {
    await server?.stop();
  });

  async function monitor(): Promise<Record<string, unknown>> {
    const res = await fetch(`http://127.0.0.1:${adminPort(8)}/commands/monitor`);
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  test("after creates, reads, a watch and a refused auth, every claimed name is in a scrape, with ZooKeeper's type", async () => {
    const zk = await connect(clientPort(8));
    try {
      for (let n = 0; n < 4; n++) await zk.create(`/dash-${n}`, 'x'.repeat(100 * n));
      await zk.getData('/dash-3');
      await zk.getData('/dash-1', () => {});
      const bad = await connect(clientPort(8));
      // No provider for the scheme: AuthFailed and the connection closes (auth_failed_count).
      await assert.rejects(bad.addAuth('no-such-scheme', 'x'));
      await bad.close().catch(() => {});
      const e = await eventually('the workers to publish their figures', async () => {
        const x = parse((await scrape(metricsPort(8))).text);
        // Each worker publishes on its own tick: wait until the one that served the reads has.
        const sized = (x.samples.get('max_client_response_size') ?? -1) >= 300;
        return sized && x.samples.get('auth_failed_count') === 1 && x.samples.get('watch_count') === 1 ? x : undefined;
      });
      checkZkNames(e, 'standalone');
      assert.ok(sample(e, 'fsynctime_count') >= 4, 'each create was fsynced');
      assert.ok(sample(e, 'min_client_response_size') >= 16, 'a reply header is 16 bytes, every packet has one');
      assert.ok(sample(e, 'min_client_response_size') < 300, 'the creates\' replies are smaller than the getData of 300 bytes');
      assert.equal(sample(e, 'election_time_count'), 0, 'no election on a standalone server');
    } finally {
      await zk.close();
    }
  });

  test('on a quiet server, /metrics shows the figures mntr shows (the workers\' from shared memory)', async () => {
    // maxClientCnxns=3: a fourth connection from this address is refused (connection_rejected).
    const zk = await connect(clientPort(8));
    const sockets: net.Socket[] = [];
    try {
      const z = createClient(`127.0.0.1:${clientPort(8)}`, { sessionTimeoutMs: 30_000 });
      await z.waitConnected(10_000);
      await z.exists('/dash-0', () => {});
      await zk.close();
      for (let n = 0; n < 3; n++) {
        const s = net.connect(clientPort(8), '127.0.0.1');
        s.on('error', () => {});
        sockets.push(s);
        await new Promise<void>((r) => s.once('connect', () => r()));
      }
      await eventually('the refused connection in connection_rejected', async () => {
        const m = await monitor();
        return Number(m['connection_rejected']) >= 1 ? true : undefined;
      });
      for (const s of sockets) s.destroy();
      const names = [
        'packets_received', 'packets_sent', 'num_alive_connections', 'outstanding_requests', 'min_latency', 'max_latency',
        'avg_latency', 'watch_count', 'last_client_response_size', 'min_client_response_size', 'max_client_response_size',
        'auth_failed_count', 'connection_rejected', 'connection_request_count', 'znode_count', 'ephemerals_count',
        'approximate_data_size', 'global_sessions', 'local_sessions',
      ];
      let last = '';
      await eventually('/metrics to agree with mntr on a quiet server', async () => {
        const m = await monitor();
        const e = parse((await scrape(metricsPort(8))).text);
        const differ = names.filter((n) => {
          const v = e.samples.get(n);
          const want = Number(m[n]);
          return v === undefined || !(n === 'avg_latency' ? Math.abs(v - want) < 1e-3 : v === want);
        });
        last = differ.map((n) => `${n}: mntr ${String(m[n])}, /metrics ${e.samples.get(n)}`).join('; ');
        return differ.length === 0 && Number(m['num_alive_connections']) === 1 && Number(m['watch_count']) === 1 ? true : undefined;
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; last difference: ${last}`);
      });
      const e = parse((await scrape(metricsPort(8))).text);
      assert.ok(sample(e, 'connection_rejected') >= 1);
      assert.ok(sample(e, 'packets_received') > 0 && sample(e, 'packets_sent') > 0);
      // srst (ServerStats.reset): packets, latency and the response sizes start again, on both faces.
      assert.equal(await fourLetter(clientPort(8), 'srst'), 'Server stats reset.\n');
      await eventually('/metrics to show the reset', async () => {
        const x = parse((await scrape(metricsPort(8))).text);
        const m = await monitor();
        const reset = (x.samples.get('packets_received') ?? Infinity) < sample(e, 'packets_received') && (x.samples.get('max_client_response_size') ?? 300) < 300;
        return reset && Number(m['max_client_response_size']) < 300 ? true : undefined;
      });
      await z.close();
    } finally {
      for (const s of sockets) s.destroy();
      await zk.close().catch(() => {});
    }
  });

  test('4lw conf prints serverId 0 on a standalone server', async () => {
    assert.match(await fourLetter(clientPort(8), 'conf'), /^serverId=0$/m);
  });
});

/** Members 1-3 vote, member 4 observes; server i = 4..7 of the block. */
async function startEnsemble(dirs: string[]): Promise<ServerHandle[]> {
  const members = [4, 5, 6, 7];
  const cfg: Record<string, string> = {};
  members.forEach((i, k) => {
    const p = clientPort(i);
    cfg[`server.${k + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${k === 3 ? ':observer' : ''}`;
  });
  const out: ServerHandle[] = [];
  for (const [k, i] of members.entries()) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-prometheus-ens-'));
    dirs.push(dataDir);
    fs.writeFileSync(path.join(dataDir, 'myid'), `${k + 1}\n`);
    out.push(await startExporting(i, k === 3 ? { ...cfg, peerType: 'observer' } : cfg, dataDir));
  }
  return out;
}

describe('a real Prometheus scraping zkts', { skip: fs.existsSync(PROMETHEUS) ? false : `${PROMETHEUS} is not installed` }, () => {
  let server: ServerHandle;
  let ensemble: ServerHandle[] = [];
  const dirs: string[] = [];
  let prometheus: ChildProcess;
  let dir: string;
  let prometheusLog = '';
  const api = (): string => `http://127.0.0.1:${prometheusPort()}/api/v1`;

  before(async () => {
    server = await startExporting(3);
    ensemble = await startEnsemble(dirs);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-prometheus-'));
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: zkts',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${metricsPort(3)}']`,
        '  - job_name: ensemble',
        '    static_configs:',
        `      - targets: [${[4, 5, 6, 7].map((i) => `'127.0.0.1:${metricsPort(i)}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort()}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (b: Buffer): void => {
      prometheusLog = (prometheusLog + b.toString()).slice(-65536);
    };
    prometheus.stdout!.on('data', keep);
    prometheus.stderr!.on('data', keep);
    await eventually('Prometheus to be ready', async () => ((await fetch(`http://127.0.0.1:${prometheusPort()}/-/ready`)).ok ? true : undefined), 60_000);
  });

  after(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once('exit', r));
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await server?.stop();
    for (const s of ensemble) await s.stop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** The value of an instant query with one series; undefined while there is none. */
  async function query(expr: string): Promise<number | undefined> {
    const res = await fetch(`${api()}/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    assert.equal(body.status, 'success', `query ${expr}`);
    const r = body.data.result;
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  }

  /** Every series of an instant query: its labels and value. */
  async function queryAll(expr: string): Promise<{ metric: Record<string, string>; value: number }[]> {
    const res = await fetch(`${api()}/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, 'success', `query ${expr}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  test('scrapes the target healthy, and queries znode_count, a summary and a zkts_* figure back', async () => {
    try {
      await eventually('the target to be up', async () => ((await query('up{job="zkts"}')) === 1 ? true : undefined), 60_000);
      const before = await eventually('znode_count to be scraped', () => query('znode_count{job="zkts"}'));
      const zk = await connect(clientPort(3));
      try {
        for (let n = 0; n < 7; n++) await zk.create(`/scraped-${n}`, 'data');
        await eventually('znode_count to grow by 7', async () => ((await query('znode_count{job="zkts"}')) === before + 7 ? true : undefined));
        await eventually('one global session in the zkts_sessions gauges', async () =>
          (await query('sum(zkts_sessions{job="zkts",kind="global"})')) === 1 ? true : undefined,
        );
        await eventually('the writes in updatelatency_count', async () => {
          const n = await query('updatelatency_count{job="zkts"}');
          return n !== undefined && n >= 7 ? true : undefined;
        });
        const p99 = await query('updatelatency{job="zkts",quantile="0.99"}');
        assert.ok(p99 !== undefined && p99 > 0, `updatelatency p99 is a positive number of ms: ${p99}`);
      } finally {
        await zk.close();
      }
      const targets = (await (await fetch(`${api()}/targets`)).json()) as {
        data: { activeTargets: { health: string; lastError: string }[] };
      };
      const health = targets.data.activeTargets.map((t) => [t.health, t.lastError]);
      assert.deepEqual(health, Array.from({ length: 5 }, () => ['up', '']), 'Prometheus parses every scrape');
    } catch (e) {
      throw new Error(`${(e as Error).message}\nprometheus log:\n${prometheusLog}`);
    }
  });

  test('a 3-voter + observer ensemble: one leader with its learners, a follower\'s touch lag', async () => {
    try {
      await eventually('four members up', async () => ((await query('count(up{job="ensemble"} == 1)')) === 4 ? true : undefined), 60_000);
      await eventually('one leader, two followers, one observer', async () => {
        const [l, f, o] = await Promise.all(['leader', 'follower', 'observer'].map((st) => query(`count(zkts_server_state{job="ensemble",state="${st}"})`)));
        return l === 1 && f === 2 && o === 1 ? true : undefined;
      });
      await eventually("the leader's learners and synced followers/observers", async () => {
        const [learners, followers, observers] = await Promise.all(
          ['learners', 'synced_followers', 'synced_observers'].map((m) => query(`${m}{job="ensemble"} * on(instance) zkts_server_state{state="leader"}`)),
        );
        return learners === 3 && followers === 2 && observers === 1 ? true : undefined;
      });
      // A client of a follower: its session's touches go to the leader once a tick.
      const states = await Promise.all([0, 1, 2, 3].map(async (k) => [k, (await scrape(metricsPort(4 + k))).text] as const));
      const k = states.find(([, t]) => t.includes('zkts_server_state{state="follower"} 1'))![0];
      const zk = await connect(clientPort(4 + k));
      try {
        await zk.create('/via-follower', 'x');
        await eventually('the follower to count a TOUCH batch', async () => {
          const e = parse((await scrape(metricsPort(4 + k))).text);
          return sample(e, 'zkts_touch_lag_ms_count') >= 1 ? e : undefined;
        });
        const e = parse((await scrape(metricsPort(4 + k))).text);
        assert.equal(e.types.get('zkts_touch_lag_ms'), 'summary');
        assert.ok(sample(e, 'updatelatency_count') >= 1, 'the forwarded write counts on the follower that answered it');
        assert.ok(sample(e, 'znode_count') >= 3);
      } finally {
        await zk.close();
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\nprometheus log:\n${prometheusLog}`);
    }
  });
  test("ZooKeeper's alert rules and Grafana's dashboard queries answer for every member, unchanged", async () => {
    try {
      await eventually('four members up', async () => ((await query('count(up{job="ensemble"} == 1)')) === 4 ? true : undefined), 60_000);
      const roles = await eventually('one leader, two followers, one observer', async () => {
        const rs = await Promise.all([0, 1, 2, 3].map(async (k) => {
          const e = parse((await scrape(metricsPort(4 + k))).text);
          return ['leader', 'follower', 'observer'].find((r) => e.samples.get(`zkts_server_state{state="${r}"}`) === 1) ?? 'looking';
        }));
        return [...rs].sort().join() === 'follower,follower,leader,observer' ? rs : undefined;
      });
      // A write through the leader: proposed, logged (fsynced) and committed on every member.
      const leader = roles.indexOf('leader');
      const zk = await connect(clientPort(4 + leader));
      try {
        await zk.create('/dashboards', 'x');
        await zk.getData('/dashboards', () => {});
      } finally {
        await zk.close();
      }
      for (const [k, role] of roles.entries()) {
        // Which Zab timings each role takes (ZooKeeper 3.8: Leader.tryToCommit, Follower.processPacket,
        // FollowerZooKeeperServer.commit and Observer).
        const timed = {
          leader: ['quorum_ack_latency_count', 'commit_count', 'proposal_count'],
          follower: ['proposal_latency_count', 'commit_propagation_latency_count'],
          observer: ['commit_propagation_latency_count'],
        }[role]!;
        const e = await eventually(`member ${k + 1}'s fsync and Zab timings`, async () => {
          const x = parse((await scrape(metricsPort(4 + k))).text);
          const ok = (x.samples.get('fsynctime_count') ?? 0) >= 1 && timed.every((n) => (x.samples.get(n) ?? 0) >= 1);
          return ok && x.types.has('learners') === (role === 'leader') ? x : undefined;
        });
        checkZkNames(e, role);
        if (role === 'observer') assert.equal(sample(e, 'proposal_latency_count'), 0, 'an observer gets INFORMs, not PROPOSALs');
        if (role !== 'leader') assert.equal(sample(e, 'quorum_ack_latency_count'), 0, 'only the leader counts quorums');
        // Leader.lead and Follower.followLeader time their election; an observer does not.
        if (role === 'observer') assert.equal(sample(e, 'election_time_count'), 0);
        else assert.ok(sample(e, 'election_time_count') >= 1 && sample(e, 'election_time_sum') > 0, `member ${k + 1} timed its election`);
        assert.equal(sample(e, 'quorum_size'), 3, 'three voters');
        // conf: the member id, then QuorumZooKeeperServer.dumpConf's lines.
        const conf = await fourLetter(clientPort(4 + k), 'conf');
        const p = clientPort(4 + k);
        const quorum = [`serverId=${k + 1}`, 'initLimit=10', 'syncLimit=5', 'electionAlg=3', `electionPort=${p + 2}`, `quorumPort=${p + 1}`];
        quorum.push(`peerType=${role === 'observer' ? 1 : 0}`, 'membership: ');
        for (const m of [0, 1, 2, 3]) quorum.push(`server.${m + 1}=127.0.0.1:${clientPort(4 + m) + 1}:${clientPort(4 + m) + 2}:${m === 3 ? 'observer' : 'participant'}`);
        quorum.push('version=0');
        assert.ok(conf.endsWith(quorum.join('\n')), `conf on member ${k + 1} (no newline after version, as ZooKeeper):\n${conf}`);
      }
      // The queries themselves, through Prometheus: a series for each member.
      for (const q of dashboardQueries) {
        const series = await eventually(`${q.expr} on the four members`, async () => {
          const r = (await queryAll(q.expr)).filter((x) => x.metric['job'] === 'ensemble');
          return r.length === 4 ? r : undefined;
        });
        if (q.on === 'leader') {
          const ones = await eventually('the role map: leader_uptime on the leader only', async () => {
            const r = (await queryAll(q.expr)).filter((x) => x.metric['job'] === 'ensemble' && x.value === 1);
            return r.length === 1 ? r : undefined;
          });
          assert.equal(ones[0]!.metric['instance'], `127.0.0.1:${metricsPort(4 + leader)}`);
        }
        assert.ok(series.every((x) => Number.isFinite(x.value)), `${q.expr}: numbers`);
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\nprometheus log:\n${prometheusLog}`);
    }
  });
});
