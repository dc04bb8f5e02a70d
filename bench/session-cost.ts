// npm run bench:session-cost — what a held session and a ping cost a server, against the
// plain-Node floor measured in the same run (issue 11, goals 1 and 4).
//
// For each server, one at a time, in a fresh child process of this script (so the load client's
// own RSS and CPU are its alone):
//   floor   src/load/floor-server.ts: accepts, parses frames, answers ConnectRequest and pings
//   zkts    standalone, localSessionsEnabled=true (test/integration/harness/server.ts)
//   zkts-tier  the same with the tier profile of an observer host (bench/idle-rss.ts TIER_KEYS:
//           sessions on the main thread), what each observer of bench:observer-tier runs
//   apache  Apache ZooKeeper 3.8 (Debian package), a one-member ensemble with local sessions,
//           JVM as in production (skipped when /usr/share/java/zookeeper.jar is not there)
// the child
//   1. starts the server (ports 25600, 25610, 25620) and reads its RSS before any session
//      (VmRSS of the server process and its descendants: zkts on Node 20 is a launcher + server);
//   2. opens S sessions with the lean raw-socket client (src/load/lean-client.ts), C connects in
//      flight, and times it (sessions opened/s);
//   3. pings every session every P ms, lets one interval pass, then over a steady window reads
//      the server's utime+stime (/proc/<pid>/stat, all threads, all its processes) at the start
//      and end and counts the pings answered: server CPU µs per ping; RSS per held session =
//      (RSS held - RSS before) / sessions held; ping RTT p50/p99; the same two costs for the load
//      client itself (process.cpuUsage, process RSS); and what the rest of the machine used in
//      the window (/proc/stat busy ticks less the server's and the client's), so a run on a busy
//      machine says so;
//   4. closes every socket and stops the server by its PID.
// The parent prints one table with the ratios to the floor. Every reply is checked by the lean
// client (xid, err, handshake fields); errors and disconnects are counted and printed.
//
// Options: --sessions S (10000, at most 19000: one process, 20,000 open files) --ping-ms P (2000)
// --window-s W (30) --in-flight C (64) --servers floor,zkts,zkts-tier,apache --session-timeout-ms (30000)
// --source-addrs 127.0.0.2-127.0.0.9 (the client's local addresses) --json FILE
// --zkts-keys k=v,k=v (more zoo.cfg keys for zkts and zkts-tier, e.g. sessionWorkers=0)
// --zkts-node-options '...' (NODE_OPTIONS for the zkts server processes only, e.g. --max-semi-space-size=2).

import { spawn, } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { LeanSessions } from '../src/load/lean-client.js';
import { leanConnectsInFlightMax, leanSessionsMax } from '../src/load/limits.js';
import { treeCpuTicks, treePids, treeRss } from '../src/load/proc.js';
import { startServer, type ServerHandle } from '../test/integration/harness/server.js';
import { TIER_KEYS } from './idle-rss.js';
import { startFloorProcess } from './floor-process.js';

type Kind = 'floor' | 'zkts' | 'zkts-tier' | 'apache';
const kinds: readonly Kind[] = ['floor', 'zkts', 'zkts-tier', 'apache'];
const ports: Record<Kind, number> = { floor: 25600, zkts: 25610, apache: 25620, 'zkts-tier': 25630 };
const clockTicksPerS = 100; // getconf CLK_TCK on Linux
const apacheJar = '/usr/share/java/zookeeper.jar';

interface Opts {
  sessions: number;
  pingMs: number;
  windowS: number;
  inFlight: number;
  sessionTimeoutMs: number;
  servers: Kind[];
  sourceAddrs: string[];
  json: string | null;
  zktsKeys: Record<string, string>;
  zktsNodeOptions: string;
}

interface RunResult {
  kind: Kind;
  error: string | null;
  sessions: number;
  opened: number;
  openFailed: number;
  openPerS: number;
  serverProcs: number;
  serverRssBeforeBytes: number;
  serverRssHeldBytes: number;
  serverCpuUsPerPing: number;
  clientRssBeforeBytes: number;
  clientRssHeldBytes: number;
  clientCpuUsPerPing: number;
  windowMs: number;
  /** CPU the rest of the machine used in the window (not the server, not this client), in cores. */
  outsideCores: number;
  pingsAnswered: number;
  pingsLate: number;
  disconnects: number;
  protocolErrors: number;
  errors: Record<string, number>;
  rttP50Ms: number;
  rttP99Ms: number;
}

function parseOpts(argv: string[]): Opts & { child: Kind | null } {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      child: { type: 'string' },
      sessions: { type: 'string', default: '10000' },
      'ping-ms': { type: 'string', default: '2000' },
      'window-s': { type: 'string', default: '30' },
      'in-flight': { type: 'string', default: '64' },
      'session-timeout-ms': { type: 'string', default: '30000' },
      servers: { type: 'string', default: kinds.join(',') },
      'source-addrs': { type: 'string', default: '127.0.0.2-127.0.0.9' },
      json: { type: 'string' },
      'zkts-keys': { type: 'string', default: '' },
      'zkts-node-options': { type: 'string', default: '' },
    },
    strict: true,
  });
  const int = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, not '${raw}'`);
    return n;
  };
  const servers = v.servers.split(',').filter((s) => s !== '');
  for (const s of servers) if (!kinds.includes(s as Kind)) throw new Error(`--servers: unknown server '${s}' (${kinds.join(', ')})`);
  if (v.child !== undefined && !kinds.includes(v.child as Kind)) throw new Error(`--child: unknown server '${v.child}'`);
  return {
    child: (v.child as Kind | undefined) ?? null,
    sessions: int('sessions', v.sessions, 1, leanSessionsMax),
    pingMs: int('ping-ms', v['ping-ms'], 100, 60_000),
    windowS: int('window-s', v['window-s'], 1, 600),
    inFlight: int('in-flight', v['in-flight'], 1, leanConnectsInFlightMax),
    sessionTimeoutMs: int('session-timeout-ms', v['session-timeout-ms'], 4_000, 120_000),
    servers: servers as Kind[],
    sourceAddrs: sourceRange(v['source-addrs']),
    json: v.json ?? null,
    zktsNodeOptions: v['zkts-node-options'],
    zktsKeys: Object.fromEntries(v['zkts-keys'].split(',').filter((kv) => kv !== '').map((kv) => kv.split('=', 2) as [string, string])),
  };
}

/** '127.0.0.2-127.0.0.9' (last octet range), 'a,b,c', or '' for the kernel's choice. */
function sourceRange(s: string): string[] {
  if (s === '') return [];
  const m = /^(\d+\.\d+\.\d+\.)(\d+)-\1(\d+)$/.exec(s);
  if (m === null) return s.split(',');
  const lo = Number(m[2]);
  const hi = Number(m[3]);
  if (!(lo <= hi && hi <= 255)) throw new Error(`--source-addrs: bad range '${s}'`);
  return Array.from({ length: hi - lo + 1 }, (_, k) => `${m[1]}${lo + k}`);
}

/** Busy clock ticks of the whole machine so far (/proc/stat: all but idle and iowait), or 0. */
function machineBusyTicks(): number {
  try {
    const f = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return total - (f[3] ?? 0) - (f[4] ?? 0);
  } catch {
    return 0;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- a server under test ------------------------------------------------------------------------

interface Running {
  pid: number;
  stop(): Promise<void>;
}

async function startKind(kind: Kind, o: Opts): Promise<Running> {
  const port = ports[kind];
  if (kind === 'floor') return startFloorProcess(port);
  const tier = kind === 'zkts-tier';
  const zkts = kind === 'zkts' || tier;
  const saved = process.env['NODE_OPTIONS'];
  if (zkts && o.zktsNodeOptions !== '') process.env['NODE_OPTIONS'] = `${saved ?? ''} ${o.zktsNodeOptions}`.trim();
  let h: ServerHandle;
  try {
    h = await startServer(tier ? 'zkts' : kind, {
      port,
      maxClientCnxns: 0,
      maxSessionTimeout: o.sessionTimeoutMs,
      extra: { localSessionsEnabled: 'true', ...(tier ? TIER_KEYS : {}), ...(zkts ? o.zktsKeys : {}) },
      startTimeoutMs: 60_000,
      jvmProfile: 'bench',
    });
  } finally {
    if (saved === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = saved;
  }
  return { pid: h.pid, stop: () => h.stop(10_000) };
}

// ---- one run (in the child) ---------------------------------------------------------------------

async function runOne(kind: Kind, o: Opts): Promise<RunResult> {
  const server = await startKind(kind, o);
  try {
    await sleep(1_000); // let start-up work (JIT, first GC) settle before the baseline
    const serverRssBefore = treeRss(server.pid) ?? 0;
    const client = new LeanSessions(o.sessions, {
      host: '127.0.0.1',
      port: ports[kind],
      sourceAddrs: o.sourceAddrs,
      sessionTimeoutMs: o.sessionTimeoutMs,
    });
    const clientRssBefore = process.memoryUsage.rss();
    const open = await client.open(o.sessions, o.inFlight, 15_000);
    process.stderr.write(`  ${kind}: ${open.opened} sessions opened in ${Math.round(open.elapsedMs)} ms (${open.failed} failed)\n`);
    client.startPings(o.pingMs);
    await sleep(o.pingMs + 1_000); // every session has pinged once: steady state
    const c0 = { ...client.counters };
    const server0 = treeCpuTicks(server.pid) ?? 0;
    const client0 = process.cpuUsage();
    const busy0 = machineBusyTicks();
    const t0 = performance.now();
    client.rtt.reset();
    client.recording = true;
    await sleep(o.windowS * 1_000);
    const server1 = treeCpuTicks(server.pid) ?? 0;
    const client1 = process.cpuUsage(client0);
    const busy1 = machineBusyTicks();
    const windowMs = performance.now() - t0;
    client.recording = false;
    const c1 = { ...client.counters };
    const serverRssHeld = treeRss(server.pid) ?? 0;
    const clientRssHeld = process.memoryUsage.rss();
    const serverProcs = treePids(server.pid).length;
    const held = client.connected;
    await client.closeAll(5_000);
    const pings = c1.pingsAnswered - c0.pingsAnswered;
    const rtt = client.rtt.summaryMs();
    return {
      kind,
      error: null,
      sessions: o.sessions,
      opened: open.opened,
      openFailed: open.failed,
      openPerS: open.opened / (open.elapsedMs / 1_000),
      serverProcs,
      serverRssBeforeBytes: serverRssBefore,
      serverRssHeldBytes: serverRssHeld,
      serverCpuUsPerPing: pings > 0 ? ((server1 - server0) * 1e6) / clockTicksPerS / pings : NaN,
      clientRssBeforeBytes: clientRssBefore,
      clientRssHeldBytes: clientRssHeld,
      clientCpuUsPerPing: pings > 0 ? (client1.user + client1.system) / pings : NaN,
      windowMs,
      outsideCores: Math.max(0, (busy1 - busy0) / clockTicksPerS - (server1 - server0) / clockTicksPerS - (client1.user + client1.system) / 1e6) / (windowMs / 1_000),
      pingsAnswered: pings,
      pingsLate: c1.pingsLate - c0.pingsLate,
      disconnects: c1.disconnects,
      protocolErrors: c1.protocolErrors,
      errors: Object.fromEntries(client.errors),
      rttP50Ms: rtt.p50,
      rttP99Ms: rtt.p99,
      ...(held !== open.opened ? { error: `${open.opened - held} of ${open.opened} sessions lost during the hold` } : {}),
    };
  } finally {
    await server.stop();
  }
}

// ---- the parent: one child per server, then the table -------------------------------------------

function runChild(kind: Kind, argv: string[], o: Opts): Promise<RunResult> {
  const self = fileURLToPath(import.meta.url);
  const limitMs = 120_000 + o.windowS * 1_000 + o.pingMs * 2 + o.sessions * 5;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [self, ...argv, '--child', kind], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line !== undefined) return resolve(JSON.parse(line.slice('RESULT '.length)) as RunResult);
      resolve({ kind, error: `child exited (${signal ?? code}) without a result: ${out.slice(-500)}` } as RunResult);
    });
  });
}

const kib = (b: number): number => b / 1024;
const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function table(results: RunResult[], o: Opts): string {
  const by = new Map(results.filter((r) => r.error === null || r.opened > 0).map((r) => [r.kind, r]));
  const floor = by.get('floor');
  const cols = o.servers;
  const rows: Array<[string, (r: RunResult) => number, number]> = [
    ['server CPU per ping, µs (user+system)', (r) => r.serverCpuUsPerPing, 1],
    ['server RSS per held session, KiB', (r) => kib(r.serverRssHeldBytes - r.serverRssBeforeBytes) / r.opened, 2],
    ['server RSS before any session, MB', (r) => r.serverRssBeforeBytes / 1e6, 1],
    ['sessions opened/s (ramp, in flight ' + o.inFlight + ')', (r) => r.openPerS, 0],
    ['ping RTT p50, ms', (r) => r.rttP50Ms, 2],
    ['ping RTT p99, ms', (r) => r.rttP99Ms, 2],
    ['load client CPU per ping, µs', (r) => r.clientCpuUsPerPing, 1],
    ['load client RSS per held session, KiB', (r) => kib(r.clientRssHeldBytes - r.clientRssBeforeBytes) / r.opened, 2],
  ];
  const ratioCols = cols.filter((k) => k !== 'floor' && floor !== undefined);
  const head = ['figure', ...cols, ...ratioCols.map((k) => `${k}/floor`)];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const [name, f, d] of rows) {
    const cells = cols.map((k) => {
      const r = by.get(k);
      return r === undefined ? 'n/a' : fmt(f(r), d);
    });
    const ratios = ratioCols.map((k) => {
      const r = by.get(k);
      return r === undefined || floor === undefined ? 'n/a' : `${fmt(f(r) / f(floor), 2)}×`;
    });
    lines.push(`| ${[name, ...cells, ...ratios].join(' | ')} |`);
  }
  // The load client against the floor server: goal 4 asks ≤ 1.1× in RSS and ≤ 1.15× in CPU.
  if (floor !== undefined) {
    lines.push(
      '',
      `load client / floor server (floor run): CPU per ping ${fmt(floor.clientCpuUsPerPing / floor.serverCpuUsPerPing, 2)}×, ` +
        `RSS per session ${fmt((floor.clientRssHeldBytes - floor.clientRssBeforeBytes) / (floor.serverRssHeldBytes - floor.serverRssBeforeBytes), 2)}×`,
    );
  }
  lines.push('');
  for (const r of results) {
    lines.push(
      `${r.kind}: ${r.opened ?? 0}/${r.sessions ?? o.sessions} opened (${r.openFailed ?? 0} failed), ${r.pingsAnswered ?? 0} pings answered in ` +
        `${fmt((r.windowMs ?? 0) / 1000, 1)} s (${r.pingsLate ?? 0} late), ${r.disconnects ?? 0} disconnects, ${r.protocolErrors ?? 0} protocol errors, ` +
        `${r.serverProcs ?? 0} server process(es), outside CPU in the window ${fmt(r.outsideCores ?? NaN, 2)} cores` +
        (r.errors !== undefined && Object.keys(r.errors).length > 0 ? `, errors ${JSON.stringify(r.errors)}` : '') +
        (r.error !== null ? `; FAILED: ${r.error}` : ''),
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOpts(argv);
  if (o.child !== null) {
    const r = await runOne(o.child, o).catch((e: unknown) => ({ kind: o.child, error: (e as Error).message }) as RunResult);
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
    return;
  }
  const load = (): string => `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs`;
  process.stderr.write(
    `session-cost: ${o.sessions} sessions, a ping every ${o.pingMs} ms, ${o.windowS} s window, ${o.inFlight} connects in flight; zkts keys: ${JSON.stringify(o.zktsKeys)}, NODE_OPTIONS '${o.zktsNodeOptions}'; ${load()}\n`,
  );
  const results: RunResult[] = [];
  for (const kind of o.servers) {
    if (kind === 'apache' && !fs.existsSync(apacheJar)) {
      process.stderr.write(`  apache: skipped (${apacheJar} not found)\n`);
      continue;
    }
    const childArgv = argv.filter((a, i) => a !== '--json' && argv[i - 1] !== '--json');
    results.push(await runChild(kind, childArgv, o));
  }
  process.stdout.write(`\n${table(results, o)}\n\nNode ${process.version}; ${load()} at the end\n`);
  if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ opts: o, loadavg: os.loadavg(), results }, null, 2));
  if (results.some((r) => r.error !== null)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`session-cost: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
