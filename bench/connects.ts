// npm run bench:connects — local-session connects/s at one server against the plain-Node floor
// and Apache ZooKeeper, alternated round by round in one run (issue 11, goal 3).
//
// Each round starts each server fresh (floor: src/load/floor-server.ts; zkts: standalone,
// localSessionsEnabled=true; apache: 3.8 with local sessions, when installed), waits 1 s, opens S
// sessions with the lean raw-socket client (src/load/lean-client.ts; C connects in flight; every
// ConnectResponse checked), closes them and stops the server. It reports per server the median
// sessions opened/s over the rounds and the server's CPU per connect (utime+stime of its process
// tree over the ramp, /proc), which a busy machine disturbs less than the rate does.
//
// --warmup W (10000): before the measured ramp, W sessions are opened and closed (closeSession)
// on the same server, so that the ramp measures a server whose JIT has compiled its connect path,
// as a long-running server's has, not the first seconds of a fresh process; each server gets the
// same warm-up. On a fresh process most of the extra CPU per connect is V8 compiling (TurboFan
// on its platform threads: zkts compiles Node's net and stream code once per session worker, and
// its own code besides). --warmup 0 measures the cold start.
//
// Options: --sessions S (10000) --rounds R (3) --in-flight C (64) --servers floor,zkts,apache
// --cpu-prof DIR (the servers run with --cpu-prof into DIR; Node servers only)
// --zkts-cfg key=value[,key=value] (extra zoo.cfg keys for zkts, e.g. sessionWorkers=1)
// --threads (each server thread's user and system CPU per connect, after each ramp)
// --base DIR: 'base' in --servers is the zkts of another built checkout (an A/B in one run);
// --base-cfg key=value[,...]: its extra zoo.cfg keys (--base . compares two configurations).
// --zkts-node-flags / --base-node-flags 'FLAGS': node and V8 flags for that server's processes
// (e.g. '--single-threaded-gc'), to try a flag against the same build in one run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { LeanSessions } from '../src/load/lean-client.js';
import { treeCpuTicks, treePids } from '../src/load/proc.js';
import { startServer } from '../test/integration/harness/server.js';
import { startFloorProcess } from './floor-process.js';

type Kind = 'floor' | 'zkts' | 'base' | 'apache';
const kinds: readonly Kind[] = ['floor', 'zkts', 'base', 'apache'];
const ports: Record<Kind, number> = { floor: 25700, zkts: 25710, base: 25730, apache: 25720 };
const clockTicksPerS = 100; // getconf CLK_TCK on Linux
const apacheJar = '/usr/share/java/zookeeper.jar';
const sourceAddrs = Array.from({ length: 8 }, (_, k) => `127.0.0.${k + 2}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  pid: number;
  stop(): Promise<void>;
}

/** A node to start servers with that writes a CPU profile per thread into `dir` (--cpu-prof is
 *  not allowed in NODE_OPTIONS; zkts's launcher passes its execArgv on to the server). */
function profilingNode(dir: string): string {
  const wrapper = path.join(dir, 'node-cpu-prof.sh');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' --cpu-prof --cpu-prof-dir='${dir}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/** A node that runs with `flags` (and a CPU profile into `prof` when set), as a wrapper script
 *  in a temporary folder; the same node when there is nothing to add. */
function nodeWith(kind: Kind, flags: string, prof: string): string | undefined {
  if (flags === '') return prof === '' ? undefined : profilingNode(prof);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-connects-'));
  const profArgs = prof === '' ? '' : ` --cpu-prof --cpu-prof-dir='${prof}'`;
  const wrapper = path.join(dir, `node-${kind}.sh`);
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' ${flags}${profArgs} "$@"\n`, { mode: 0o755 });
  return wrapper;
}

/** --zkts-node-flags / --base-node-flags. */
const nodeFlags: Record<Kind, string> = { floor: '', zkts: '', base: '', apache: '' };

/** zoo.cfg keys for 'base' (--base-cfg; --base may be this checkout, to compare two configs). */
let baseCfg: Record<string, string> = {};

function parseCfg(option: string, list: string): Record<string, string> {
  const cfg: Record<string, string> = {};
  for (const kv of list.split(',').filter((s) => s !== '')) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`${option}: '${kv}' is not key=value`);
    cfg[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return cfg;
}

/** --threads: print each server thread's user and system CPU per connect after each ramp. */
let showThreads = false;

/** Another checkout's built harness (--base DIR): its zkts, for an A/B in one run. */
let baseStart: typeof startServer | null = null;

async function startKind(kind: Kind, cfg: Record<string, string>, prof: string): Promise<Running> {
  const port = ports[kind];
  if (kind === 'floor') return startFloorProcess(port, prof === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]);
  const start = kind === 'base' ? baseStart : startServer;
  if (start === null) throw new Error('--servers base needs --base DIR');
  const nodeBinary = kind === 'apache' ? undefined : nodeWith(kind, nodeFlags[kind], prof);
  const h = await start(kind === 'apache' ? 'apache' : 'zkts', {
    port,
    maxClientCnxns: 0,
    maxSessionTimeout: 30_000,
    extra: { localSessionsEnabled: 'true', ...(kind === 'apache' ? {} : kind === 'base' ? baseCfg : cfg) },
    startTimeoutMs: 60_000,
    jvmProfile: 'bench',
    ...(nodeBinary !== undefined ? { nodeBinary } : {}),
  });
  return { pid: h.pid, stop: () => h.stop(10_000) };
}

/** utime and stime ticks of every thread of `pid`'s process tree, by "pid/tid comm". */
function threadTicks(pid: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const p of treePids(pid)) {
    let tids: string[] = [];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${p}/task/${tid}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const comm = stat.slice(stat.indexOf('(') + 1, close);
        const f = stat.slice(close + 2).split(' ');
        out.set(`${p}/${tid} ${comm}`, [Number(f[11]), Number(f[12])]);
      } catch {
        // the thread ended
      }
    }
  }
  return out;
}

/** Per-thread user/system µs per connect over the ramp, busiest first (threads under 1 µs left out). */
function threadReport(before: Map<string, [number, number]>, after: Map<string, [number, number]>, opened: number): string {
  const rows: Array<[string, number, number]> = [];
  for (const [k, [u1, s1]] of after) {
    const [u0, s0] = before.get(k) ?? [0, 0];
    const us = (t: number): number => (t * 1e6) / clockTicksPerS / opened;
    rows.push([k, us(u1 - u0), us(s1 - s0)]);
  }
  return rows
    .filter((r) => r[1] + r[2] >= 1)
    .sort((a, b) => b[1] + b[2] - (a[1] + a[2]))
    .map(([k, u, sy]) => `      ${k}: user ${u.toFixed(0)} µs, system ${sy.toFixed(0)} µs per connect`)
    .join('\n');
}

interface Round {
  kind: Kind;
  opened: number;
  failed: number;
  perS: number;
  serverCpuUsPerConnect: number;
}

/** Opens `count` sessions and ends them with closeSession (then their sockets): the JIT warm-up. */
async function warmUp(port: number, count: number, inFlight: number): Promise<void> {
  if (count === 0) return;
  const client = new LeanSessions(count, { host: '127.0.0.1', port, sourceAddrs, sessionTimeoutMs: 30_000 });
  const open = await client.open(count, inFlight, 15_000);
  if (open.failed > 0) throw new Error(`warm-up: ${open.failed} of ${count} connects failed`);
  await client.closeSessions(inFlight, 15_000);
  await client.closeAll(5_000);
}

async function round(kind: Kind, sessions: number, inFlight: number, cfg: Record<string, string>, prof: string, warmup: number): Promise<Round> {
  const server = await startKind(kind, cfg, prof);
  try {
    await sleep(1_000);
    await warmUp(ports[kind], warmup, inFlight);
    await sleep(1_000);
    const client = new LeanSessions(sessions, { host: '127.0.0.1', port: ports[kind], sourceAddrs, sessionTimeoutMs: 30_000 });
    const threads0 = threadTicks(server.pid);
    const cpu0 = treeCpuTicks(server.pid) ?? 0;
    const open = await client.open(sessions, inFlight, 15_000);
    const cpu1 = treeCpuTicks(server.pid) ?? 0;
    if (showThreads && open.opened > 0) process.stderr.write(`${threadReport(threads0, threadTicks(server.pid), open.opened)}\n`);
    await client.closeAll(5_000);
    return {
      kind,
      opened: open.opened,
      failed: open.failed,
      perS: open.opened / (open.elapsedMs / 1_000),
      serverCpuUsPerConnect: open.opened > 0 ? ((cpu1 - cpu0) * 1e6) / clockTicksPerS / open.opened : NaN,
    };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[(s.length - 1) >> 1]!;
};

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      sessions: { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '10000' },
      'in-flight': { type: 'string', default: '64' },
      servers: { type: 'string', default: 'floor,zkts,apache' },
      'cpu-prof': { type: 'string', default: '' },
      'zkts-cfg': { type: 'string', default: '' },
      base: { type: 'string', default: '' },
      'base-cfg': { type: 'string', default: '' },
      threads: { type: 'boolean', default: false },
      'zkts-node-flags': { type: 'string', default: '' },
      'base-node-flags': { type: 'string', default: '' },
    },
    strict: true,
  });
  const sessions = Number(v.sessions);
  const rounds = Number(v.rounds);
  const inFlight = Number(v['in-flight']);
  const warmup = Number(v.warmup);
  if (!Number.isInteger(warmup) || warmup < 0 || warmup > 19_000) throw new Error('--warmup must be 0..19000');
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 19_000) throw new Error('--sessions must be 1..19000');
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('--rounds must be 1..20');
  if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 1024) throw new Error('--in-flight must be 1..1024');
  const servers = v.servers.split(',').filter((s) => s !== '') as Kind[];
  for (const s of servers) if (!kinds.includes(s)) throw new Error(`--servers: unknown server '${s}'`);
  const cfg = parseCfg('--zkts-cfg', v['zkts-cfg']);
  baseCfg = parseCfg('--base-cfg', v['base-cfg']);
  showThreads = v.threads;
  nodeFlags.zkts = v['zkts-node-flags'];
  nodeFlags.base = v['base-node-flags'];
  if (v.base !== '') {
    const harness = path.resolve(v.base, 'dist', 'test', 'integration', 'harness', 'server.js');
    baseStart = ((await import(pathToFileURL(harness).href)) as { startServer: typeof startServer }).startServer;
  }
  const prof = v['cpu-prof'] === '' ? '' : path.resolve(v['cpu-prof']);
  if (prof !== '') fs.mkdirSync(prof, { recursive: true });
  const load = (): string => `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs`;
  process.stderr.write(`connects: ${sessions} sessions × ${rounds} rounds, ${inFlight} in flight, warm-up ${warmup}; ${load()}\n`);
  const all: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const kind of servers) {
      if (kind === 'apache' && !fs.existsSync(apacheJar)) continue;
      const x = await round(kind, sessions, inFlight, cfg, prof, warmup);
      process.stderr.write(`  round ${r + 1} ${kind}: ${x.perS.toFixed(0)}/s, ${x.serverCpuUsPerConnect.toFixed(1)} µs server CPU per connect (${x.opened} opened, ${x.failed} failed)\n`);
      all.push(x);
    }
  }
  const by = (k: Kind, f: (x: Round) => number): number => median(all.filter((x) => x.kind === k).map(f));
  const floorRate = by('floor', (x) => x.perS);
  const apacheRate = by('apache', (x) => x.perS);
  const lines = ['| server | opened/s (median) | server CPU µs/connect | ÷ floor | ÷ apache |', '| --- | --- | --- | --- | --- |'];
  for (const k of servers) {
    const rate = by(k, (x) => x.perS);
    lines.push(`| ${k} | ${rate.toFixed(0)} | ${by(k, (x) => x.serverCpuUsPerConnect).toFixed(1)} | ${(rate / floorRate).toFixed(2)}× | ${(rate / apacheRate).toFixed(2)}× |`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\nNode ${process.version}; ${load()} at the end\n`);
  if (all.some((x) => x.failed > 0)) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`connects: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
