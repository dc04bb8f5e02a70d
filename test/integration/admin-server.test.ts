// The AdminServer (issue 12 item 1) against real processes over real HTTP: zkts and Apache
// ZooKeeper 3.8 (Debian's package, with Jetty) run side by side in this file and get the same
// requests after the same client activity; the JSON of every command must have the same keys,
// nested objects and value types (a map keyed by session ids, paths or times is compared by its
// values). Standalone first, then the ensemble commands (lead, obsr, voting_view, zabstate, and
// stats with the leader's proposal_stats) on a 3-voter + observer ensemble of each.
//
// Where zkts cannot have Apache's keys, the comparison says which: monitor is mntr's rows (the
// JVM metrics provider's hundreds of summaries are Apache's own; ZooKeeperServer's gauges must be
// in both), environment drops the java.* keys, system_properties shares only the OS ones.
//
// Also: the whitelist refusal (403), an unknown command, non-GET methods, HEAD, both HTTP engines
// (uws, the default on Node 20, and httpEngine=node) and Node 24 (node:http, uws has no build).
//
// Ports: SUITE_PORTS.adminServer; server i at suitePort(base, i), its admin port at +3 (Apache's
// ensemble members use +1 and +2 for quorum and election, as zkts's do).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, CreateMode, type ZkClient } from '../../src/client/index.js';
import { fourLetter, startServer, type ServerHandle, type ServerKind } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, leaderOf, memberMode } from './harness/ensemble.js';

const require = createRequire(import.meta.url);
const node24 = require.resolve('node24/bin/node');

// Debian's zookeeper.jar names Jetty in its manifest but not the servlet API: without it Apache's
// AdminServer does not start ("Unable to load jetty"). The harness reads this at each start.
process.env['ZKTS_APACHE_CLASSPATH'] ??= [
  '/etc/zookeeper/conf',
  '/usr/share/java/zookeeper.jar',
  '/usr/share/java/slf4j-simple.jar',
  '/usr/share/java/servlet-api.jar',
].join(':');

const base = SUITE_PORTS.adminServer;
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];
const dirs: string[] = [];

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  if (process.env['ZKTS_TEST_KEEP_DIRS'] !== '1') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const adminPort = (clientPort: number): number => clientPort + 3;

function adminExtra(clientPort: number, more: Record<string, string> = {}): Record<string, string> {
  return {
    'admin.enableServer': 'true',
    'admin.serverAddress': '127.0.0.1',
    'admin.serverPort': String(adminPort(clientPort)),
    ...more,
  };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One HTTP request on a fresh connection (any method, TRACE included, which fetch refuses). */
function request(port: number, path: string, method = 'GET', timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} on ${port}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(method === 'POST' || method === 'PUT' ? 'x' : undefined);
  });
}

async function command(port: number, name: string): Promise<Record<string, unknown>> {
  const r = await request(port, `/commands/${name}`);
  assert.equal(r.status, 200, `${name} on ${port}: ${r.text}`);
  assert.equal(r.headers['content-type'], 'application/json', name);
  return JSON.parse(r.text) as Record<string, unknown>;
}

/** Waits until the AdminServer on `port` answers ruok (Apache's starts after its client port). */
async function adminUp(s: ServerHandle): Promise<void> {
  await eventually(
    `the AdminServer of the ${s.kind} server on ${s.port}`,
    async () => {
      if (s.exited) throw new Error(`exited: ${s.logs().slice(-2000)}`);
      const r = await request(adminPort(s.port), '/commands/ruok', 'GET', 2000);
      return r.status === 200 ? true : undefined;
    },
    30_000,
  ).catch((e: unknown) => {
    const jetty = /Unable to load jetty[^\n]*\n[^\n]*/.exec(s.logs())?.[0];
    throw new Error(`${String(e)}${jetty === undefined ? '' : `\n${jetty}`}`);
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A key of a map keyed by data: a number (session id, time, server id) or a path. */
const dataKey = (k: string): boolean => /^-?\d+$/.test(k) || k.startsWith('/');
const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Where `z` (zkts) and `a` (Apache) differ in keys, nesting or value types. */
function shapeDiff(z: unknown, a: unknown, at: string, out: string[]): string[] {
  if (Array.isArray(z) && Array.isArray(a)) {
    if (z.length > 0 && a.length > 0) shapeDiff(z[0], a[0], `${at}[0]`, out);
    return out;
  }
  if (isObject(z) && isObject(a)) {
    const zk = Object.keys(z);
    const ak = Object.keys(a);
    if ((zk.length === 0 || zk.every(dataKey)) && (ak.length === 0 || ak.every(dataKey))) {
      // a map keyed by data: compare its values
      if (zk.length > 0 && ak.length > 0) shapeDiff(z[zk[0]!], a[ak[0]!], `${at}{*}`, out);
      return out;
    }
    for (const k of ak) if (!(k in z)) out.push(`${at}.${k}: missing in zkts`);
    for (const k of zk) if (!(k in a)) out.push(`${at}.${k}: not in Apache's`);
    for (const k of zk) if (k in a) shapeDiff(z[k], a[k], `${at}.${k}`, out);
    return out;
  }
  if (typeOf(z) !== typeOf(a)) out.push(`${at}: ${typeOf(z)} in zkts, ${typeOf(a)} in Apache's`);
  return out;
}

/** ZooKeeperServer.registerMetrics' gauges (3.8) that zkts measures: in both monitor answers. */
const serverGauges = [
  'version',
  'server_state',
  'avg_latency',
  'max_latency',
  'min_latency',
  'packets_received',
  'packets_sent',
  'num_alive_connections',
  'outstanding_requests',
  'uptime',
  'znode_count',
  'watch_count',
  'ephemerals_count',
  'approximate_data_size',
  'global_sessions',
  'local_sessions',
  'open_file_descriptor_count',
  'max_file_descriptor_count',
  'connection_drop_probability',
  'last_client_response_size',
  'max_client_response_size',
  'min_client_response_size',
  'auth_failed_count',
];
const osProperties = ['file.separator', 'line.separator', 'path.separator', 'os.arch', 'os.name', 'os.version', 'user.dir', 'user.home', 'user.name', 'user.timezone'];

/** Commands.java 3.8: every name, primary first. */
const commandNames: readonly (readonly string[])[] = [
  ['connection_stat_reset', 'crst'],
  ['configuration', 'conf', 'config'],
  ['connections', 'cons'],
  ['hash'],
  ['dirs'],
  ['dump'],
  ['environment', 'env', 'envi'],
  ['get_trace_mask', 'gtmk'],
  ['initial_configuration', 'icfg'],
  ['is_read_only', 'isro'],
  ['last_snapshot', 'lsnp'],
  ['leader', 'lead'],
  ['monitor', 'mntr'],
  ['observer_connection_stat_reset', 'orst'],
  ['ruok'],
  ['set_trace_mask', 'stmk'],
  ['server_stats', 'srvr'],
  ['stats', 'stat'],
  ['stat_reset', 'srst'],
  ['observers', 'obsr'],
  ['system_properties', 'sysp'],
  ['voting_view'],
  ['watches', 'wchc'],
  ['watches_by_path', 'wchp'],
  ['watch_summary', 'wchs'],
  ['zabstate'],
];

/** The same client activity on a server: nodes (past zxid 128, so `hash` has an entry), an
 *  ephemeral, data and exists watches; the session stays open while the commands run. */
async function activity(s: ServerHandle): Promise<void> {
  const c = createClient(s.connectString, { sessionTimeoutMs: 20_000 });
  clients.push(c);
  await c.waitConnected(20_000);
  await c.create('/adm', 'x');
  await Promise.all(Array.from({ length: 140 }, (_, i) => c.create(`/adm/n-${i}`, null)));
  await c.create('/adm/e', 'e', { mode: CreateMode.ephemeral });
  await c.getData('/adm', true);
  await c.exists('/adm/nope', true);
}

/** Every command's answer from zkts and Apache compared; the problems found. */
async function compareStandalone(zPort: number, aPort: number): Promise<string[]> {
  const problems: string[] = [];
  for (const names of commandNames) {
    const primary = names[0]!;
    const path = primary === 'set_trace_mask' ? 'set_trace_mask?traceMask=306' : primary;
    const [z, a] = [await command(zPort, path), await command(aPort, path)];
    assert.equal(z['command'], primary);
    assert.equal(a['command'], primary);
    assert.ok('error' in z && 'error' in a, `${primary}: "error" in both`);
    if (primary === 'monitor') {
      for (const k of serverGauges) {
        if (!(k in a)) problems.push(`monitor.${k}: not in Apache's (the list is out of date)`);
        if (!(k in z)) problems.push(`monitor.${k}: missing in zkts`);
      }
      continue;
    }
    if (primary === 'environment') {
      for (const k of Object.keys(a)) if (!k.startsWith('java.') && !(k in z)) problems.push(`environment.${k}: missing in zkts`);
      continue;
    }
    if (primary === 'system_properties') {
      for (const k of osProperties) if (!(k in z) || !(k in a)) problems.push(`system_properties.${k}: not in both`);
      continue;
    }
    shapeDiff(z, a, primary, problems);
  }
  // Every alias names the same command in both.
  for (const names of commandNames) {
    for (const alias of names.slice(1)) {
      const path = alias === 'stmk' ? 'stmk?traceMask=306' : alias;
      const [z, a] = [await command(zPort, path), await command(aPort, path)];
      assert.equal(z['command'], a['command'], alias);
    }
  }
  return problems;
}

describe('AdminServer, standalone: zkts and Apache ZooKeeper 3.8 in the same run', () => {
  test('every command and alias: the same JSON keys, nesting and types as Apache\'s', { timeout: 180_000 }, async () => {
    // The comparison itself sees missing keys, extra keys, nesting and types.
    assert.deepEqual(shapeDiff({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'y' } }, 'x', []), []);
    assert.equal(shapeDiff({ a: 1 }, { b: 1 }, 'x', []).length, 2);
    assert.equal(shapeDiff({ a: [{ b: 1 }] }, { a: [{ b: '1' }] }, 'x', []).length, 1);
    assert.equal(shapeDiff({ a: { '/p': [1] } }, { a: { '/q': ['1'] } }, 'x', []).length, 1);
    const aPort = suitePort(base, 0);
    const zPort = suitePort(base, 1);
    const [apache, zkts] = await Promise.all([
      startServer('apache', { port: aPort, extra: adminExtra(aPort) }),
      startServer('zkts', { port: zPort, extra: adminExtra(zPort, { logLevel: 'info' }) }),
    ]);
    servers.push(apache, zkts);
    try {
      await Promise.all([adminUp(apache), adminUp(zkts)]);
      await Promise.all([activity(apache), activity(zkts)]);
      const problems = await compareStandalone(adminPort(zPort), adminPort(aPort));
      assert.deepEqual(problems, [], `zkts's answers differ from Apache's:\n  ${problems.join('\n  ')}`);

      // Figures that follow the activity (not just keys).
      const z = adminPort(zPort);
      const dump = (await command(z, 'dump')) as { session_id_to_ephemeral_paths: Record<string, string[]> };
      assert.deepEqual(Object.values(dump.session_id_to_ephemeral_paths), [['/adm/e']]);
      const wchp = (await command(z, 'wchp')) as { path_to_session_ids: Record<string, unknown[]> };
      assert.ok('/adm' in wchp.path_to_session_ids && '/adm/nope' in wchp.path_to_session_ids);
      const hash = (await command(z, 'hash')) as { digests: { zxid: number }[] };
      assert.ok(hash.digests.length >= 1 && hash.digests.every((d) => d.zxid % 128 === 0), JSON.stringify(hash));
      const stat = (await command(z, 'stat')) as { node_count: number; connections: unknown[] };
      assert.equal(stat.connections.length, 1);
      const mntr = await fourLetter(zPort, 'mntr');
      assert.equal(stat.node_count, Number(/zk_znode_count\t(\d+)/.exec(mntr)?.[1]), 'one source for both faces');
      const monitor = await command(z, 'monitor');
      const mntrKeys = mntr.trim().split('\n').map((l) => l.split('\t')[0]!.slice(3));
      assert.deepEqual(Object.keys(monitor).filter((k) => k !== 'command' && k !== 'error'), mntrKeys, 'monitor is mntr without zk_');
      assert.equal((await command(z, 'stmk?traceMask=4095'))['tracemask'], 4095);
      assert.equal(await fourLetter(zPort, 'gtmk'), '4095', 'the 4lw gtmk reads the mask the AdminServer set');
      assert.equal(await fourLetter(aPort, 'gtmk'), '306', "Apache's 4lw gtmk prints the same way");
      await command(z, 'stmk?traceMask=306');
      const icfg = await command(z, 'icfg');
      assert.match(String(icfg['initial_configuration']), new RegExp(`admin.serverPort=${adminPort(zPort)}`));

      // The command list, as Jetty's servlet prints it: the same on both.
      const [zl, al] = [await request(z, '/commands'), await request(adminPort(aPort), '/commands')];
      assert.equal(zl.status, 200);
      assert.equal(zl.text.replace(/\r\n/g, '\n'), al.text.replace(/\r\n/g, '\n'));

      // Unknown command, methods, other paths: the same status codes as Jetty's.
      for (const [path, method] of [
        ['/commands/nope', 'GET'],
        ['/commands/ruok', 'POST'],
        ['/commands/ruok', 'PUT'],
        ['/commands/ruok', 'DELETE'],
        ['/commands/ruok', 'TRACE'],
        ['/commands/ruok', 'HEAD'],
        ['/elsewhere', 'GET'],
      ] as const) {
        const [zr, ar] = [await request(z, path, method), await request(adminPort(aPort), path, method)];
        assert.equal(zr.status, ar.status, `${method} ${path}: zkts ${zr.status}, Apache ${ar.status}`);
        if (method === 'HEAD') assert.equal(zr.text, '');
        if (path === '/commands/nope') assert.deepEqual(JSON.parse(zr.text), JSON.parse(ar.text));
      }
      assert.match(zkts.logs(), /"engine":"uws"/, 'Node 20 serves it on uWebSockets.js by default');
      assert.equal(zkts.exited, false);
    } finally {
      await Promise.all([apache.stop(), zkts.stop()]);
    }
  });

  test('httpEngine=node, a whitelist without the state-changing words: refused with 403, nothing changed', { timeout: 60_000 }, async () => {
    const port = suitePort(base, 2);
    const s = await startServer('zkts', {
      port,
      extra: adminExtra(port, { httpEngine: 'node', logLevel: 'info', '4lw.commands.whitelist': 'srvr,ruok,mntr,gtmk' }),
    });
    servers.push(s);
    try {
      await adminUp(s);
      assert.match(s.logs(), /"engine":"node"/);
      const a = adminPort(port);
      for (const name of ['dump', 'cons', 'connections', 'crst', 'connection_stat_reset', 'srst', 'orst', 'stmk?traceMask=1', 'set_trace_mask?traceMask=1']) {
        const r = await request(a, `/commands/${name}`);
        assert.equal(r.status, 403, name);
        const body = JSON.parse(r.text) as { command: string; error: string };
        assert.equal(body.error, `${name.split('?')[0]} is not executed because it is not in the whitelist.`);
        assert.ok(body.command.length > 0);
      }
      assert.equal((await command(a, 'gtmk'))['tracemask'], 306, 'the refused stmk set nothing');
      assert.equal(await fourLetter(port, 'gtmk'), '306', 'the 4lw reads the same mask');
      // Commands outside the rule answer as usual; a bad percent-encoding is a 400 and the
      // server goes on.
      assert.equal((await command(a, 'wchs'))['num_total_watches'], 0);
      assert.equal((await request(a, '/commands/%E0%A4%A')).status, 400);
      assert.equal((await request(a, '/commands/ruok', 'TRACE')).status, 403);
      assert.equal((await request(a, '/commands/ruok', 'POST')).status, 405);
      assert.equal((await request(a, '/commands/ruok', 'HEAD')).text, '');
      assert.equal((await command(a, 'ruok'))['error'], null);
      assert.equal(await fourLetter(port, 'ruok'), 'imok');
    } finally {
      await s.stop();
    }
  });

  test('Node 24: the same commands on node:http', { timeout: 60_000 }, async () => {
    const port = suitePort(base, 3);
    const s = await startServer('zkts', { port, nodeBinary: node24, extra: adminExtra(port, { logLevel: 'info' }) });
    servers.push(s);
    try {
      await adminUp(s);
      assert.match(s.logs(), /"engine":"node"/);
      const a = adminPort(port);
      for (const names of commandNames) {
        const name = names[0] === 'set_trace_mask' ? 'set_trace_mask?traceMask=306' : names[0]!;
        const body = await command(a, name);
        assert.equal(body['command'], names[0]);
      }
      assert.equal((await request(a, '/commands/ruok', 'POST')).status, 405);
    } finally {
      await s.stop();
    }
  });
});

/** A 3-voter + observer ensemble of `kind`, servers at indexes first..first+3, started together. */
async function startEnsemble(kind: ServerKind, first: number): Promise<ServerHandle[]> {
  const ports = [0, 1, 2, 3].map((i) => suitePort(base, first + i));
  const cfg: Record<string, string> = {};
  ports.forEach((p, i) => (cfg[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i === 3 ? ':observer' : ''}`));
  const members = await Promise.all(
    ports.map((port, i) => {
      const dataDir = mkdtempSync(join(tmpdir(), `zkts-admin-${kind}-`));
      dirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      const extra = adminExtra(port, { ...cfg, ...(i === 3 ? { peerType: 'observer' } : {}) });
      return startServer(kind, { port, dataDir, tickTime: 300, extra, startTimeoutMs: 90_000 });
    }),
  );
  servers.push(...members);
  return members;
}

describe('AdminServer, 3 voters + an observer: the ensemble commands of zkts and Apache', () => {
  test('lead, obsr, voting_view, zabstate and stats on the leader, a follower and the observer', { timeout: 300_000 }, async () => {
    const [zkts, apache] = await Promise.all([startEnsemble('zkts', 0), startEnsemble('apache', 4)]);
    try {
      await Promise.all([...zkts, ...apache].map((s) => adminUp(s)));
      const roles = async (members: ServerHandle[]) => {
        const leader = await leaderOf(members.slice(0, 3));
        await eventually('the observer observing', async () => ((await memberMode(members[3]!.port)) === 'observer' ? true : undefined), 60_000);
        // The leader reports the observer synced (Apache's obsr lists it once it is active).
        await eventually(
          'the observer synced on the leader',
          async () => (((await command(adminPort(leader.port), 'obsr'))['synced_observers'] as number) === 1 ? true : undefined),
          60_000,
        );
        const follower = members.slice(0, 3).find((s) => s !== leader)!;
        return { leader, follower, observer: members[3]! };
      };
      const [z, a] = await Promise.all([roles(zkts), roles(apache)]);
      // A write, so the leader has a proposal size and the members a zxid past the epoch's start.
      const writers: ZkClient[] = [];
      for (const leader of [z.leader, a.leader]) {
        const c = createClient(leader.connectString, { sessionTimeoutMs: 20_000 });
        clients.push(c);
        writers.push(c);
        await c.waitConnected(20_000);
        await c.create('/ens', 'x');
      }
      const problems: string[] = [];
      for (const role of ['leader', 'follower', 'observer'] as const) {
        for (const name of ['leader', 'observers', 'voting_view', 'zabstate', 'server_stats', 'configuration']) {
          const [zb, ab] = [await command(adminPort(z[role].port), name), await command(adminPort(a[role].port), name)];
          shapeDiff(zb, ab, `${role}:${name}`, problems);
        }
      }
      assert.deepEqual(problems, [], `zkts's ensemble answers differ from Apache's:\n  ${problems.join('\n  ')}`);

      // The figures (not just keys) of zkts's members.
      const ids = new Map(zkts.map((s, i) => [s, i + 1]));
      const leaderId = ids.get(z.leader)!;
      for (const s of zkts) {
        const lead = await command(adminPort(s.port), 'lead');
        assert.equal(lead['leader_id'], leaderId);
        assert.equal(lead['is_leader'], s === z.leader);
        assert.equal(lead['leader_ip'], '127.0.0.1');
        const zab = await command(adminPort(s.port), 'zabstate');
        assert.equal(zab['zabstate'], 'broadcast');
        assert.equal(zab['myid'], ids.get(s));
        assert.equal(zab['voting'], s !== z.observer);
        const view = (await command(adminPort(s.port), 'voting_view'))['current_config'] as Record<string, unknown>;
        assert.deepEqual(Object.keys(view), ['1', '2', '3']);
      }
      const obsr = (await command(adminPort(z.leader.port), 'obsr')) as { observers: { sid: number }[] };
      assert.deepEqual(obsr.observers.map((o) => o.sid), [4]);
      const stats = (await command(adminPort(z.leader.port), 'srvr')) as { proposal_stats: { last_buffer_size: number } };
      assert.ok(stats.proposal_stats.last_buffer_size > 0, JSON.stringify(stats.proposal_stats));

      // hash: past 128 txns of this epoch every member logs the tree digest at the same zxids,
      // and members that applied the same history show the same digests.
      const zc = writers[0]!;
      await Promise.all(Array.from({ length: 140 }, (_, i) => zc.create(`/ens/n-${i}`, null)));
      const digestsOf = async (s: ServerHandle) => ((await command(adminPort(s.port), 'hash')) as { digests: unknown[] }).digests;
      const first = await eventually(
        'a digest on the leader',
        async () => {
          const d = await digestsOf(z.leader);
          return d.length > 0 ? JSON.stringify(d[0]) : undefined;
        },
        30_000,
      );
      for (const s of zkts) {
        await eventually(`the same first digest on member ${ids.get(s)}`, async () => ((await digestsOf(s)).map((d) => JSON.stringify(d)).includes(first) ? true : undefined), 30_000);
      }
    } finally {
      await Promise.all([...zkts, ...apache].map((s) => s.stop()));
    }
  });
});
