// Observer tier: how many client sessions a zkts ensemble of 3 voters + K observers holds on this
// machine, what that costs each member, and whether a leader SIGKILL drops any of them.
//
//   node dist/bench/observer-tier.js [options]          (npm run bench:observer-tier -- [options])
//
// 1. Starts 3 voters + K observers (bench/ensemble-cluster.ts: one `node bin/zkts.js server` per
//    member, own zoo.cfg / dataDir / myid, ports 27000..27999 only) with maxClientCnxns=0,
//    maxSessionTimeout=30000 and the session mode:
//      --sessions global  ZooKeeper's sessions (default): createSession is a transaction through
//                         the leader, every member keeps the session table, learners batch their
//                         touches to the leader, the leader expires them;
//      --sessions local   localSessionsEnabled=true: sessions live only on the observer's session
//                         worker, the leader never hears of them.
// 2. Runs one `zkts load hold` child process per observer (only that observer in its connect
//    string, its own range of loopback source addresses), N sessions each held D seconds, with
//    a heartbeat (exists /) per session every timeout / 3. A server process may open 20,000 files
//    here, so N <= 19,800 per observer.
// 3. --kill-leader-at S: SIGKILLs the leader (server process and launcher) S seconds after every
//    observer has opened its sessions; the killed voter is not restarted. zkts's promise: no
//    client is dropped (observers keep their connections, the new leader re-arms global
//    sessions), so disconnects and expirations across the kill should be 0.
// 4. Samples every member's server process (on Node 20 the launcher's child; /proc/PID/status
//    VmRSS, VmHWM, /proc/PID/stat utime+stime, open fds) and the load clients, at fixed points
//    (before the open, when every observer holds its sessions, around the kill, at the end of the
//    hold) and every --sample-interval seconds; polls the leader's mntr (zk_global_sessions,
//    zk_learners, zk_synced_observers) and the observers' mntr. Prints a table, writes JSON.
//
// Every wait is bounded; every process started here (ensemble members, load children and their
// worker processes) is stopped by PID in a finally block and on exit / SIGINT / SIGTERM.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/integration/harness/server.js';
import { Ensemble, killEnsemblesNow, killOnExit, mntr, type Member } from './ensemble-cluster.js';
import { TIER_KEYS } from './idle-rss.js';

// biome-ignore lint/suspicious/noExplicitAny: loosely read JSON summaries
type Any = Record<string, any>;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
// The tier's own block: 100 members at 10 ports each, clear of the test suites (21000..25999
// with ZKTS_TEST_PORT_SHIFT, 26000..26099 for the quorum transport test) and of the other
// benchmarks (25300..25799).
const PORT_MIN = 27000;
const PORT_MAX = 27999;
/** Loopback source addresses for the load children: 127.0.0.2 .. 127.0.0.254. */
const SOURCE_ADDRS = 253;
/** Source addresses per observer unless --addrs-per-observer says otherwise. */
const ADDRS_PER_OBSERVER_MAX = 19;
const MAX_PER_OBSERVER = 19_800;
const MiB = 1048576;

export interface Options {
  observers: number;
  sessions: 'local' | 'global';
  perObserver: number;
  duration: number;
  killLeaderAt: number | null;
  workers: number | null;
  rate: number;
  concurrency: number;
  sessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  probeIntervalMs: number | null;
  noProbe: boolean;
  addrsPerObserver: number;
  basePort: number;
  tickTime: number;
  sessionWorkers: number | null;
  logLevel: string | null;
  startTimeoutS: number;
  childTimeoutS: number;
  sampleIntervalS: number;
  json: string | null;
  dir: string;
  keep: boolean;
  label: string | null;
  /** followers feed the observers (observerMasterPort), as the tier is meant to run */
  observerMasters: boolean;
  /** the observers run the tier profile (README: sessionWorkers=1, youngGenerationFixed) */
  tierProfile: boolean;
}

const USAGE = `usage: node dist/bench/observer-tier.js [options]

  -k, --observers K        observers (default 4); the ensemble is 3 voters + K observers
      --sessions MODE      global (default: ZooKeeper sessions through the leader) or local
                           (localSessionsEnabled=true on every member)
  -n, --per-observer N     sessions per observer (default 5000, at most ${MAX_PER_OBSERVER}: 20,000 files per process)
  -d, --duration S         seconds each load child holds its sessions (default 60)
      --kill-leader-at S   SIGKILL the leader S seconds after every observer holds its sessions
  -w, --workers W          load worker processes per observer (default: ceil(N / 19000))
  -r, --rate R             sessions opened per second per observer (default 0: as fast as possible)
      --concurrency N      connects in flight per load worker (default 256)
      --session-timeout MS requested session timeout (default 30000)
      --max-session-timeout MS  maxSessionTimeout in zoo.cfg (default 30000)
      --probe-interval MS  heartbeat period per session (default: timeout / 3)
      --no-probe           no heartbeats (the client's own pings keep the sessions)
      --leader-feeds       observers learn from the leader (default: from the followers,
                           observerMasterPort set on every member)
      --no-tier-profile    observers with zkts's default config (default: the tier profile,
                           ${Object.entries(TIER_KEYS).map(([k, v]) => `${k}=${v}`).join(' ')}; --session-workers wins)
      --addrs-per-observer A  loopback source addresses per observer (default 19, fewer when
                           K × 19 > 253: 127.0.0.2-127.0.0.20 for the first, 127.0.0.21-127.0.0.39 ...)
      --base-port P        client port of member 1 (default ${PORT_MIN}; member i: P+10i, quorum +1,
                           election +2; everything must stay within ${PORT_MIN}..${PORT_MAX})
      --tick-time MS       tickTime (default 2000)
      --session-workers N  zkts sessionWorkers per member (default: zkts's, the number of cores)
      --log-level L        zkts logLevel of every member (default: zkts's, warn); logs in <dir>/ensemble/member<N>/server.log
      --start-timeout S    seconds for the ensemble to become healthy (default 90)
      --child-timeout S    hard limit per load child (default: duration + 420)
      --sample-interval S  periodic /proc and mntr sampling (default 5)
      --json FILE          the result (default <dir>/observer-tier.json)
      --dir DIR            working directory (default: a new one under ${os.tmpdir()})
      --keep               keep the directory even when everything went well
      --label TEXT         a name for this run
  -h, --help               this text
`;

class UsageError extends Error {}

export function parseOptions(argv: string[]): Options | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      observers: { type: 'string', short: 'k' },
      sessions: { type: 'string' },
      'per-observer': { type: 'string', short: 'n' },
      duration: { type: 'string', short: 'd' },
      'kill-leader-at': { type: 'string' },
      workers: { type: 'string', short: 'w' },
      rate: { type: 'string', short: 'r' },
      concurrency: { type: 'string' },
      'session-timeout': { type: 'string' },
      'max-session-timeout': { type: 'string' },
      'probe-interval': { type: 'string' },
      'no-probe': { type: 'boolean' },
      'leader-feeds': { type: 'boolean' },
      'no-tier-profile': { type: 'boolean' },
      'addrs-per-observer': { type: 'string' },
      'base-port': { type: 'string' },
      'tick-time': { type: 'string' },
      'session-workers': { type: 'string' },
      'log-level': { type: 'string' },
      'start-timeout': { type: 'string' },
      'child-timeout': { type: 'string' },
      'sample-interval': { type: 'string' },
      json: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean' },
      label: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help === true) return 'help';
  const n = (name: string, raw: string | undefined, def: number, min: number, max: number, real = false): number => {
    if (raw === undefined) return def;
    const x = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(x) || (!real && !Number.isInteger(x))) throw new UsageError(`--${name}: '${raw}' is not a number`);
    if (x < min || x > max) throw new UsageError(`--${name}: ${x} is outside [${min}, ${max}]`);
    return x;
  };
  const mode = v.sessions ?? 'global';
  if (mode !== 'local' && mode !== 'global') throw new UsageError(`--sessions: '${mode}' is neither local nor global`);
  const duration = n('duration', v.duration, 60, 1, 3600, true);
  const o: Options = {
    observers: n('observers', v.observers, 4, 1, 96),
    sessions: mode,
    perObserver: n('per-observer', v['per-observer'], 5000, 1, MAX_PER_OBSERVER),
    duration,
    killLeaderAt: v['kill-leader-at'] === undefined ? null : n('kill-leader-at', v['kill-leader-at'], 0, 0, 3600, true),
    workers: v.workers === undefined ? null : n('workers', v.workers, 1, 1, 16),
    rate: n('rate', v.rate, 0, 0, 1_000_000, true),
    concurrency: n('concurrency', v.concurrency, 256, 1, 100_000),
    sessionTimeoutMs: n('session-timeout', v['session-timeout'], 30000, 100, 3_600_000),
    maxSessionTimeoutMs: n('max-session-timeout', v['max-session-timeout'], 30000, 100, 3_600_000),
    probeIntervalMs: v['probe-interval'] === undefined ? null : n('probe-interval', v['probe-interval'], 0, 10, 600_000),
    noProbe: v['no-probe'] === true,
    addrsPerObserver: 0, // set below, from the observer count
    basePort: n('base-port', v['base-port'], PORT_MIN, PORT_MIN, PORT_MAX),
    tickTime: n('tick-time', v['tick-time'], 2000, 10, 60_000),
    sessionWorkers: v['session-workers'] === undefined ? null : n('session-workers', v['session-workers'], 1, 1, 32),
    logLevel: v['log-level'] ?? null,
    startTimeoutS: n('start-timeout', v['start-timeout'], 90, 5, 600),
    childTimeoutS: n('child-timeout', v['child-timeout'], Math.ceil(duration + 420), 10, 7200),
    sampleIntervalS: n('sample-interval', v['sample-interval'], 5, 0.5, 600, true),
    json: v.json ?? null,
    dir: v.dir ?? '',
    keep: v.keep === true,
    label: v.label ?? null,
    observerMasters: v['leader-feeds'] !== true,
    tierProfile: v['no-tier-profile'] !== true,
  };
  o.addrsPerObserver = n('addrs-per-observer', v['addrs-per-observer'], Math.max(1, Math.min(ADDRS_PER_OBSERVER_MAX, Math.floor(SOURCE_ADDRS / o.observers))), 1, SOURCE_ADDRS);
  const members = 3 + o.observers;
  const lastPort = o.basePort + 10 * (members - 1) + 2;
  if (lastPort > PORT_MAX) throw new UsageError(`${members} members from --base-port ${o.basePort} need ports up to ${lastPort} (> ${PORT_MAX})`);
  if (o.addrsPerObserver * o.observers > SOURCE_ADDRS) throw new UsageError(`${o.observers} observers × ${o.addrsPerObserver} source addresses do not fit in 127.0.0.2..127.0.0.254`);
  if (o.killLeaderAt !== null && o.killLeaderAt >= o.duration) throw new UsageError(`--kill-leader-at ${o.killLeaderAt} must be below --duration ${o.duration}`);
  if (o.workers !== null && Math.ceil(o.perObserver / o.workers) > 19_000) throw new UsageError(`--workers ${o.workers}: at most 19,000 sessions per load worker`);
  return o;
}

// ---- /proc sampling ----

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
} catch {
  // keep 100
}

export interface ProcSample {
  pid: number;
  rssBytes: number | null;
  hwmBytes: number | null;
  cpuTicks: number | null;
  threads: number | null;
  fds: number | null;
}

function readProc(pid: number): ProcSample {
  const s: ProcSample = { pid, rssBytes: null, hwmBytes: null, cpuTicks: null, threads: null, fds: null };
  if (pid <= 0) return s;
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(st);
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(st);
    const thr = /^Threads:\s+(\d+)/m.exec(st);
    if (rss !== null) s.rssBytes = Number(rss[1]) * 1024;
    if (hwm !== null) s.hwmBytes = Number(hwm[1]) * 1024;
    if (thr !== null) s.threads = Number(thr[1]);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after "(comm)": state is field 3; utime 14, stime 15 (1-based)
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    s.cpuTicks = Number(rest[11]) + Number(rest[12]);
  } catch {
    return s;
  }
  try {
    s.fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // not ours to read, or gone
  }
  return s;
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const p of text.split(/\s+/)) if (p !== '') out.push(Number(p));
    }
  } catch {
    // gone
  }
  return out;
}

/** pid and all its descendants (bounded walk), the root first. */
function treePids(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 64) {
    const p = queue.shift() as number;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...childPids(p));
  }
  return out;
}

interface CpuStat {
  total: number;
  idle: number;
  steal: number;
  softirq: number;
  system: number;
}

function machineCpu(): CpuStat | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    return { total, idle: (f[3] ?? 0) + (f[4] ?? 0), steal: f[7] ?? 0, softirq: f[6] ?? 0, system: f[2] ?? 0 };
  } catch {
    return null;
  }
}

/** The server process of a member: on Node 20 the launcher's child, else the launcher itself. */
function serverPid(m: Member): number {
  const kids = childPids(m.pid);
  return kids.length > 0 ? kids[0]! : m.pid;
}

interface Snapshot {
  name: string;
  at: number; // performance.now()
  iso: string;
  members: Record<number, ProcSample>; // by member id
  /** load children: summed over each child's process tree */
  loads: Array<{ pids: number[]; rssBytes: number; cpuTicks: number }>;
  machine: CpuStat | null;
  loadavg: number[];
  /** utime+stime by PID of the processes not started here */
  others: Map<number, number>;
}

// ---- processes started here ----

const loadChildren: ChildProcess[] = [];
const ensembles: Ensemble[] = [];

function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

function killLoadTree(c: ChildProcess, sig: NodeJS.Signals): void {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const tree = treePids(c.pid);
  // workers first, then the load parent
  for (const p of tree.slice(1).reverse()) safeKill(p, sig);
  safeKill(c.pid, sig);
}

function killEverythingNow(): void {
  for (const c of loadChildren) killLoadTree(c, 'SIGKILL');
  killEnsemblesNow(ensembles);
}


// ---- the run ----

interface LoadChild {
  index: number;
  observer: Member;
  sourceAddrs: string;
  args: string[];
  json: string;
  log: string;
  child: ChildProcess;
  openDoneAt: number | null;
  openLine: string | null;
  holdDoneAt: number | null;
  holdLine: string | null;
  exitedAt: number | null;
  exit: string | null;
  notes: string[];
  exitPromise: Promise<void>;
}

interface MntrPoint {
  t: number; // s since the load children started
  leaderId: number | null;
  global: number | null;
  learners: number | null;
  syncedObservers: number | null;
  syncedFollowers: number | null;
  observers: Array<{ id: number; conns: number | null; global: number | null; local: number | null; state: string | null }>;
}

const numOf = (m: Map<string, string>, k: string): number | null => {
  const v = m.get(k);
  if (v === undefined) return null;
  const x = Number(v);
  return Number.isFinite(x) ? x : null;
};

function startLoadChild(index: number, obs: Member, o: Options, dir: string): LoadChild {
  const lo = 2 + index * o.addrsPerObserver;
  const hi = lo + o.addrsPerObserver - 1;
  const sourceAddrs = lo === hi ? `127.0.0.${lo}` : `127.0.0.${lo}-127.0.0.${hi}`;
  // The lean load client holds up to 19,000 sessions per worker process (20,000 files each).
  const workers = o.workers ?? Math.max(1, Math.ceil(o.perObserver / 19_000));
  const json = path.join(dir, `load-observer${obs.spec.id}.json`);
  const log = path.join(dir, `load-observer${obs.spec.id}.log`);
  const args = [
    path.join(repoRoot(), 'bin', 'zkts.js'),
    'load',
    'hold',
    '-c',
    `127.0.0.1:${obs.spec.clientPort}`,
    '-n',
    String(o.perObserver),
    '-d',
    String(o.duration),
    '-w',
    String(workers),
    '--per-worker',
    String(Math.ceil(o.perObserver / workers)),
    '--source-addrs',
    sourceAddrs,
    '--server-pid',
    String(obs.pid),
    '--session-timeout',
    String(o.sessionTimeoutMs),
    '--concurrency',
    String(o.concurrency),
    '--timeout',
    String(o.childTimeoutS),
    '--label',
    `observer ${obs.spec.id} (${o.sessions})`,
    '-o',
    json,
  ];
  if (o.rate > 0) args.push('-r', String(o.rate));
  if (o.noProbe) args.push('--no-probe');
  else if (o.probeIntervalMs !== null) args.push('--probe-interval', String(o.probeIntervalMs));
  const logFd = fs.openSync(log, 'a');
  fs.writeSync(logFd, `$ node ${args.join(' ')}\n`);
  const child = spawn(process.execPath, args, { cwd: repoRoot(), stdio: ['ignore', logFd, 'pipe'], env: process.env });
  fs.closeSync(logFd);
  loadChildren.push(child);
  const lc: LoadChild = {
    index,
    observer: obs,
    sourceAddrs,
    args,
    json,
    log,
    child,
    openDoneAt: null,
    openLine: null,
    holdDoneAt: null,
    holdLine: null,
    exitedAt: null,
    exit: null,
    notes: [],
    exitPromise: Promise.resolve(),
  };
  let buf = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    fs.appendFileSync(log, d);
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r/g, '');
      buf = buf.slice(nl + 1);
      if (line.startsWith('open: ') && lc.openDoneAt === null) {
        lc.openDoneAt = performance.now();
        lc.openLine = line;
      } else if (line.startsWith('hold: ') && lc.holdDoneAt === null) {
        lc.holdDoneAt = performance.now();
        lc.holdLine = line;
      } else if (!line.startsWith('[') && line.trim() !== '' && lc.notes.length < 50) {
        lc.notes.push(line);
      }
    }
  });
  lc.exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      lc.exitedAt = performance.now();
      lc.exit = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
      resolve();
    });
    child.once('error', (e) => {
      lc.exitedAt = performance.now();
      lc.exit = `spawn error ${e.message}`;
      resolve();
    });
  });
  return lc;
}

async function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(stepMs);
  }
  return true;
}

const cpuPct = (a: ProcSample | undefined, b: ProcSample | undefined, dtMs: number): number | null =>
  a?.cpuTicks == null || b?.cpuTicks == null || dtMs <= 0 ? null : Math.round(((b.cpuTicks - a.cpuTicks) / CLK_TCK / (dtMs / 1000)) * 1000) / 10;

interface MachinePct {
  /** busy share of all CPUs (100 = every CPU busy) */
  busyPct: number | null;
  stealPct: number | null;
  softirqPct: number | null;
  systemPct: number | null;
  /** CPU of the processes started here (ensemble members, load children), % of one CPU */
  oursCpuPct: number | null;
  /** CPU of every other process alive at both samples and of their reaped children, % of one CPU */
  othersCpuPct: number | null;
  /** busy CPU neither accounts for (kernel threads' softirq, processes whose parent also went), % of one CPU */
  unattributedCpuPct: number | null;
}

function machinePct(a: Snapshot, b: Snapshot): MachinePct {
  const none = { busyPct: null, stealPct: null, softirqPct: null, systemPct: null, oursCpuPct: null, othersCpuPct: null, unattributedCpuPct: null };
  if (a.machine === null || b.machine === null) return none;
  const dt = b.machine.total - a.machine.total;
  if (dt <= 0) return none;
  const pct = (x: number): number => Math.round((x / dt) * 1000) / 10;
  // members and load children alive at both ends (one that exited in between is not counted)
  let oursTicks = 0;
  for (const [id, m] of Object.entries(b.members)) {
    const before = a.members[Number(id)];
    if (m.cpuTicks !== null && before?.cpuTicks != null && m.cpuTicks >= before.cpuTicks) oursTicks += m.cpuTicks - before.cpuTicks;
  }
  b.loads.forEach((l, i) => {
    const before = a.loads[i];
    // a load child started in the interval counts whole; one that exited in it is not counted
    const from = before === undefined || before.pids.length === 0 ? 0 : before.cpuTicks;
    if (l.pids.length > 0 && l.cpuTicks >= from) oursTicks += l.cpuTicks - from;
  });
  const wallS = (b.at - a.at) / 1000;
  let others = 0;
  for (const [pid, t] of b.others) {
    const before = a.others.get(pid);
    if (before !== undefined && t >= before) others += t - before;
  }
  const busyPct = pct(dt - (b.machine.idle - a.machine.idle));
  const oursCpuPct = Math.round((oursTicks / CLK_TCK / wallS) * 1000) / 10;
  const othersCpuPct = Math.round((others / CLK_TCK / wallS) * 1000) / 10;
  return {
    busyPct,
    unattributedCpuPct: Math.round((busyPct * os.availableParallelism() - oursCpuPct - othersCpuPct) * 10) / 10,
    stealPct: pct(b.machine.steal - a.machine.steal),
    softirqPct: pct(b.machine.softirq - a.machine.softirq),
    systemPct: pct(b.machine.system - a.machine.system),
    oursCpuPct,
    othersCpuPct,
  };
}

/** utime+stime of every process on the machine that is not in `ours`. */
function otherProcesses(ours: Set<number>): Map<number, number> {
  const out = new Map<number, number>();
  let names: string[] = [];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const pid = Number(n);
    // ours, and our parent chain (its cutime would count our own exited children)
    if (ours.has(pid) || pid === process.pid || pid === process.ppid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, and cutime + cstime: the CPU of its children that exited and were reaped
      // (other people's short test processes live less than a sampling interval)
      out.set(pid, Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]));
    } catch {
      // gone
    }
    if (out.size > 5000) break;
  }
  return out;
}

export async function run(o: Options): Promise<Any> {
  killOnExit(killEverythingNow);
  const dir = o.dir !== '' ? path.resolve(o.dir) : fs.mkdtempSync(path.join(os.tmpdir(), `zkts-observer-tier-${o.sessions}-`));
  fs.mkdirSync(dir, { recursive: true });
  const jsonPath = o.json ?? path.join(dir, 'observer-tier.json');
  const problems: string[] = [];
  const snapshots: Snapshot[] = [];
  const mntrSeries: MntrPoint[] = [];
  const children: LoadChild[] = [];
  let e: Ensemble | null = null;
  const result: Any = {
    bench: 'observer-tier',
    label: o.label,
    startedAt: new Date().toISOString(),
    options: o,
    dir,
    environment: {
      node: process.version,
      cpus: os.availableParallelism(),
      memTotalBytes: os.totalmem(),
      loadavgAtStart: os.loadavg(),
      clkTck: CLK_TCK,
      openFilesLimit: (() => {
        try {
          return /Max open files\s+(\S+)\s+(\S+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.slice(1, 3) ?? null;
        } catch {
          return null;
        }
      })(),
    },
    problems,
  };
  process.stderr.write(`observer-tier: ${o.sessions} sessions, 3 voters + ${o.observers} observers fed by ${o.observerMasters ? 'the followers' : 'the leader'}, ${o.perObserver} sessions per observer for ${o.duration} s${o.killLeaderAt !== null ? `, leader SIGKILL at +${o.killLeaderAt} s` : ''}; dir ${dir}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);

  let memberPids = new Map<number, number>();
  const snap = (name: string): Snapshot => {
    const s: Snapshot = {
      name,
      at: performance.now(),
      iso: new Date().toISOString(),
      members: {},
      loads: [],
      machine: machineCpu(),
      loadavg: os.loadavg(),
      others: new Map(),
    };
    const ours = new Set<number>();
    if (e !== null) for (const m of e.members) for (const p of m.processTree()) ours.add(p);
    for (const [id, pid] of memberPids) s.members[id] = readProc(pid);
    for (const c of children) {
      const pids = c.child.pid === undefined || c.exitedAt !== null ? [] : treePids(c.child.pid);
      let rss = 0;
      let cpu = 0;
      for (const p of pids) {
        const x = readProc(p);
        rss += x.rssBytes ?? 0;
        cpu += x.cpuTicks ?? 0;
      }
      s.loads.push({ pids, rssBytes: rss, cpuTicks: cpu });
      for (const p of pids) ours.add(p);
    }
    s.others = otherProcesses(ours);
    snapshots.push(s);
    return s;
  };

  let stopSampling = false;
  let sampler: Promise<void> = Promise.resolve();
  let leaderId: number | null = null;
  let t0 = performance.now();
  try {
    const tStart = performance.now();
    const extra: Record<string, string> = {
      maxSessionTimeout: String(o.maxSessionTimeoutMs),
      localSessionsEnabled: o.sessions === 'local' ? 'true' : 'false',
    };
    const zktsOnly: Record<string, string> = {};
    if (o.sessionWorkers !== null) zktsOnly['sessionWorkers'] = String(o.sessionWorkers);
    if (o.logLevel !== null) zktsOnly['logLevel'] = o.logLevel;
    // zkts carries observer-master traffic on its quorum mesh; the key only has to be set (and
    // is a port of this block that no member listens on).
    if (o.observerMasters) zktsOnly['observerMasterPort'] = String(PORT_MAX);
    const ens = await Ensemble.start({
      kind: 'zkts',
      voters: 3,
      observers: o.observers,
      basePort: o.basePort,
      dir: path.join(dir, 'ensemble'),
      tickTime: o.tickTime,
      extra,
      zktsOnly,
      perMember: (spec) => (o.tierProfile && spec.role === 'observer' ? { ...TIER_KEYS, ...(o.sessionWorkers !== null ? { sessionWorkers: String(o.sessionWorkers) } : {}) } : {}),
      startTimeoutMs: o.startTimeoutS * 1000,
    });
    e = ens;
    ensembles.push(ens);
    const leader0 = await ens.waitHealthy(o.startTimeoutS * 1000);
    leaderId = leader0.spec.id;
    result.ensembleStartMs = Math.round(performance.now() - tStart);
    // the real server PIDs (launcher's child on Node 20)
    await waitUntil(() => ens.members.every((m) => childPids(m.pid).length > 0 || Number(process.versions.node.split('.')[0]) >= 23), 5000);
    memberPids = new Map(ens.members.map((m) => [m.spec.id, serverPid(m)]));
    result.members = ens.members.map((m) => ({
      id: m.spec.id,
      role: m.spec.role,
      clientPort: m.spec.clientPort,
      launcherPid: m.pid,
      serverPid: memberPids.get(m.spec.id),
      dir: m.spec.dir,
      leaderAtStart: m.spec.id === leaderId,
    }));
    process.stderr.write(
      `observer-tier: ensemble healthy in ${(result.ensembleStartMs / 1000).toFixed(1)} s: ${ens.members
        .map((m) => `${m.spec.id}:${m.spec.clientPort} pid ${memberPids.get(m.spec.id)}${m.spec.id === leaderId ? ' (leader)' : m.spec.role === 'observer' ? ' (observer)' : ''}`)
        .join(', ')}\n`,
    );
    const lm0 = await mntr(leader0.spec.clientPort, 3000);
    result.leaderMntrBefore = Object.fromEntries(lm0);
    await sleep(1000); // let the fresh processes settle before the baseline
    snap('baseline');

    // the load children
    t0 = performance.now();
    for (let i = 0; i < ens.observers.length; i++) children.push(startLoadChild(i, ens.observers[i]!, o, dir));
    for (const c of children) process.stderr.write(`observer-tier: observer ${c.observer.spec.id}: node ${c.args.slice(1).join(' ')}\n`);

    // periodic sampling: /proc of every member and load child, the leader's and observers' mntr
    const sampleOnce = async (): Promise<void> => {
      snap('periodic');
      const modesNow = await ens.modes();
      const ldr = ens.members.find((_, j) => modesNow[j] === 'leader') ?? null;
      const lm = ldr === null ? new Map<string, string>() : await mntr(ldr.spec.clientPort, 3000);
      const obs = await Promise.all(
        ens.observers.map(async (m) => {
          const mm = m.exited ? new Map<string, string>() : await mntr(m.spec.clientPort, 3000);
          return { id: m.spec.id, conns: numOf(mm, 'zk_num_alive_connections'), global: numOf(mm, 'zk_global_sessions'), local: numOf(mm, 'zk_local_sessions'), state: mm.get('zk_server_state') ?? null };
        }),
      );
      mntrSeries.push({
        t: Math.round((performance.now() - t0) / 100) / 10,
        leaderId: ldr?.spec.id ?? null,
        global: numOf(lm, 'zk_global_sessions'),
        learners: numOf(lm, 'zk_learners'),
        syncedObservers: numOf(lm, 'zk_synced_observers'),
        syncedFollowers: numOf(lm, 'zk_synced_followers'),
        observers: obs,
      });
      const last = mntrSeries[mntrSeries.length - 1]!;
      process.stderr.write(
        `observer-tier: +${last.t}s leader ${last.leaderId ?? '-'} global ${last.global ?? '-'} learners ${last.learners ?? '-'} | ${obs.map((x) => `obs${x.id} conns ${x.conns ?? '-'}`).join(' ')} | load ${os.loadavg()[0]!.toFixed(2)}\n`,
      );
    };
    const hardEnd = t0 + (o.childTimeoutS + 60) * 1000;
    sampler = (async () => {
      let n = 0;
      while (!stopSampling && performance.now() < hardEnd && n < 100_000) {
        n++;
        try {
          await sampleOnce();
        } catch (err) {
          process.stderr.write(`observer-tier: sampling failed: ${(err as Error).message}\n`);
        }
        const next = performance.now() + o.sampleIntervalS * 1000;
        while (!stopSampling && performance.now() < next) await sleep(100);
      }
    })();

    // every observer holds its sessions (or its load child has gone)
    const allOpen = await waitUntil(() => children.every((c) => c.openDoneAt !== null || c.exitedAt !== null), o.childTimeoutS * 1000, 50);
    if (!allOpen) problems.push('not every load child finished opening within the child timeout');
    const holdStart = snap('holdStart');
    const holdStartMs = Math.round(holdStart.at - t0);
    process.stderr.write(`observer-tier: every observer holds its sessions at +${(holdStartMs / 1000).toFixed(1)} s\n`);
    const obsMntrAtHold = await Promise.all(ens.observers.map((m) => mntr(m.spec.clientPort, 5000)));
    result.observerMntrAtHold = ens.observers.map((m, i) => ({
      id: m.spec.id,
      zk_num_alive_connections: numOf(obsMntrAtHold[i]!, 'zk_num_alive_connections'),
      zk_global_sessions: numOf(obsMntrAtHold[i]!, 'zk_global_sessions'),
      zk_local_sessions: numOf(obsMntrAtHold[i]!, 'zk_local_sessions'),
      zk_open_file_descriptor_count: numOf(obsMntrAtHold[i]!, 'zk_open_file_descriptor_count'),
    }));
    const lmHold = await mntr(leader0.spec.clientPort, 5000);
    result.leaderMntrAtHold = Object.fromEntries(lmHold);
    const holdEndsBy = (): boolean => children.some((c) => c.holdDoneAt !== null) || children.every((c) => c.exitedAt !== null);

    // the leader kill
    if (o.killLeaderAt !== null) {
      const killAt = holdStart.at + o.killLeaderAt * 1000;
      await waitUntil(() => performance.now() >= killAt || holdEndsBy(), o.killLeaderAt * 1000 + 1000, 50);
      if (holdEndsBy()) {
        problems.push(`a hold ended before the leader kill at +${o.killLeaderAt} s (opens too uneven: raise --duration)`);
      } else {
        const ldr = await ens.leader();
        if (ldr === null) problems.push('no single leader at the kill time: not killed');
        else {
          const pre = snap('preKill');
          const kill: Any = { leaderId: ldr.spec.id, pids: ldr.processTree(), atHoldS: Math.round((pre.at - holdStart.at) / 100) / 10, at: new Date().toISOString() };
          const tk = performance.now();
          await ldr.kill();
          kill.killMs = Math.round(performance.now() - tk);
          // the next leader (bounded), then every live member serving again
          let newLeader: Member | null = null;
          const timeline: string[] = [];
          const last = new Map<number, string>();
          const bound = tk + 60_000;
          for (let i = 0; i < 100_000 && performance.now() < bound; i++) {
            const modesNow = await ens.modes();
            const ms = Math.round(performance.now() - tk);
            ens.members.forEach((m, j) => {
              const mode = modesNow[j] ?? '-';
              if (last.get(m.spec.id) !== mode) {
                last.set(m.spec.id, mode);
                timeline.push(`${ms}ms ${m.spec.id}=${mode}`);
              }
            });
            const ls = ens.members.filter((m, j) => m !== ldr && modesNow[j] === 'leader');
            if (newLeader === null && ls.length === 1) {
              newLeader = ls[0]!;
              kill.newLeaderId = newLeader.spec.id;
              kill.newLeaderMs = ms;
            }
            const settled = ens.members.every((m, j) => m === ldr || (m.spec.role === 'observer' ? modesNow[j] === 'observer' : modesNow[j] === 'leader' || modesNow[j] === 'follower'));
            if (newLeader !== null && settled) {
              kill.settledMs = ms;
              break;
            }
            await sleep(50);
          }
          kill.timeline = timeline;
          if (newLeader === null) problems.push('no new leader within 60 s of the kill');
          else {
            leaderId = newLeader.spec.id;
            // the new leader's session table and learners some seconds later
            await sleep(Math.min(5000, Math.max(0, holdStart.at + o.duration * 1000 - performance.now() - 2000)));
            kill.newLeaderMntr = Object.fromEntries(await mntr(newLeader.spec.clientPort, 5000));
          }
          snap('postElection');
          result.kill = kill;
          process.stderr.write(
            `observer-tier: killed leader ${kill.leaderId} (pids ${kill.pids.join(',')}) at hold +${kill.atHoldS} s; new leader ${kill.newLeaderId ?? 'none'} after ${kill.newLeaderMs ?? '-'} ms; timeline ${timeline.join(', ')}\n`,
          );
        }
      }
    }

    // the end of the hold: the first load child that reports its hold done
    await waitUntil(holdEndsBy, o.childTimeoutS * 1000, 50);
    const holdEnd = snap('holdEnd');
    const lmEnd = leaderId === null ? new Map<string, string>() : await mntr(ens.members.find((m) => m.spec.id === leaderId)!.spec.clientPort, 5000);
    result.leaderMntrAtHoldEnd = Object.fromEntries(lmEnd);

    // the children close their sessions and exit (bounded), then the ensemble stops
    const left = Math.max(1000, hardEnd - performance.now());
    await Promise.race([Promise.all(children.map((c) => c.exitPromise)), sleep(left)]);
    for (const c of children) if (c.exitedAt === null) {
      problems.push(`load child for observer ${c.observer.spec.id} did not exit in time: killed`);
      killLoadTree(c.child, 'SIGKILL');
    }
    await Promise.race([Promise.all(children.map((c) => c.exitPromise)), sleep(5000)]);
    snap('afterClose');
    stopSampling = true;
    await sampler;

    // members that died on their own
    for (const m of ens.members) {
      if (m.exited && !(result.kill?.leaderId === m.spec.id)) problems.push(`member ${m.spec.id} exited on its own (${m.exitDescription}); log ${m.spec.logPath}:\n${m.logTail(2000)}`);
    }

    // ---- figures ----
    const base = snapshots.find((s) => s.name === 'baseline')!;
    const preKill = snapshots.find((s) => s.name === 'preKill');
    const postElection = snapshots.find((s) => s.name === 'postElection');
    const holdS = (holdEnd.at - holdStart.at) / 1000;
    const openS = (holdStart.at - base.at) / 1000;
    const perObserver: Any[] = [];
    let totalOpened = 0;
    let totalDisc = 0;
    let totalExp = 0;
    let totalDiscAll = 0;
    let totalExpAll = 0;
    let totalFailed = 0;
    let connectedAtEnd = 0;
    for (const c of children) {
      let lr: Any | null = null;
      try {
        lr = JSON.parse(fs.readFileSync(c.json, 'utf8')) as Any;
      } catch {
        problems.push(`load child for observer ${c.observer.spec.id} wrote no JSON (${c.exit ?? 'running'}); log ${c.log}: ${c.notes.slice(-5).join(' | ')}`);
      }
      const s = (lr?.summary ?? {}) as Any;
      const seriesSum = (k: string): number => ((lr?.series ?? []) as Any[]).reduce((a, r) => a + (Number(r?.counters?.[k]) || 0), 0);
      const id = c.observer.spec.id;
      const b = base.members[id];
      const h = holdStart.members[id];
      const en = holdEnd.members[id];
      const opened = Number(s.open?.opened ?? 0);
      totalOpened += opened;
      totalFailed += Number(s.open?.failed ?? 0);
      totalDisc += Number(s.hold?.disconnects ?? 0);
      totalExp += Number(s.hold?.expirations ?? 0);
      totalDiscAll += seriesSum('disconnects');
      totalExpAll += seriesSum('expirations');
      connectedAtEnd += Number(s.hold?.connectedAtEnd ?? 0);
      const li = children.indexOf(c);
      perObserver.push({
        id,
        serverPid: memberPids.get(id),
        sourceAddrs: c.sourceAddrs,
        exit: c.exit,
        ok: lr?.ok ?? false,
        problems: lr?.problems ?? [],
        error: lr?.error,
        requested: o.perObserver,
        opened,
        failed: Number(s.open?.failed ?? 0),
        openErrors: s.open?.errors ?? {},
        openWallMs: s.open?.wallMs ?? null,
        openRate: s.open?.sessionsPerSec ?? null,
        connectLatencyMs: s.open?.latencyMs ?? null,
        connectedAtEnd: s.hold?.connectedAtEnd ?? null,
        holdDisconnects: s.hold?.disconnects ?? null,
        holdExpirations: s.hold?.expirations ?? null,
        disconnectReasons: s.hold?.disconnectReasons ?? null,
        runDisconnects: seriesSum('disconnects'),
        runExpirations: seriesSum('expirations'),
        probes: s.hold?.probes ?? null,
        probeErrors: s.hold?.probeErrors ?? null,
        heartbeatRttMs: s.hold?.heartbeatRttMs ?? null,
        close: s.close ?? null,
        loadMemory: s.memory ?? null,
        rssBaseBytes: b?.rssBytes ?? null,
        rssHoldBytes: h?.rssBytes ?? null,
        rssEndBytes: en?.rssBytes ?? null,
        hwmBytes: en?.hwmBytes ?? null,
        rssPerSessionBytes: b?.rssBytes != null && h?.rssBytes != null && opened > 0 ? Math.round((h.rssBytes - b.rssBytes) / opened) : null,
        fdsAtHold: h?.fds ?? null,
        threads: h?.threads ?? null,
        cpuPctOpen: cpuPct(b, h, holdStart.at - base.at),
        cpuPctHold: cpuPct(h, en, holdEnd.at - holdStart.at),
        loadClientCpuPctOpen: holdStart.loads[li] === undefined ? null : Math.round((holdStart.loads[li]!.cpuTicks / CLK_TCK / openS) * 1000) / 10,
        loadClientCpuPctHold: holdStart.loads[li] && holdEnd.loads[li] ? Math.round((((holdEnd.loads[li]!.cpuTicks - holdStart.loads[li]!.cpuTicks) / CLK_TCK) / holdS) * 1000) / 10 : null,
        loadClientRssBytes: holdEnd.loads[li]?.rssBytes ?? null,
        loadChildLog: c.log,
        loadChildJson: c.json,
      });
      if (lr?.ok !== true) problems.push(`observer ${id}: ${lr?.error ?? ''} ${(lr?.problems ?? []).join('; ')}`.trim());
    }
    const voters: Any[] = (ens.voters as Member[]).map((m) => {
      const id = m.spec.id;
      const b = base.members[id];
      const h = holdStart.members[id];
      const en = holdEnd.members[id];
      const killed = result.kill?.leaderId === id;
      const out: Any = {
        id,
        serverPid: memberPids.get(id),
        roleAtStart: id === result.members.find((x: Any) => x.leaderAtStart)?.id ? 'leader' : 'follower',
        roleAtEnd: killed ? 'killed' : id === leaderId ? 'leader' : 'follower',
        rssBaseBytes: b?.rssBytes ?? null,
        rssHoldBytes: h?.rssBytes ?? null,
        rssEndBytes: killed ? (preKill?.members[id]?.rssBytes ?? null) : (en?.rssBytes ?? null),
        hwmBytes: killed ? (preKill?.members[id]?.hwmBytes ?? null) : (en?.hwmBytes ?? null),
        rssPerGlobalSessionBytes: o.sessions === 'global' && b?.rssBytes != null && h?.rssBytes != null && totalOpened > 0 ? Math.round((h.rssBytes - b.rssBytes) / totalOpened) : null,
        cpuPctOpen: cpuPct(b, h, holdStart.at - base.at),
        cpuPctHold: killed ? cpuPct(h, preKill?.members[id], (preKill?.at ?? 0) - holdStart.at) : cpuPct(h, en, holdEnd.at - holdStart.at),
      };
      if (preKill !== undefined && postElection !== undefined && !killed) {
        out.cpuPctHoldBeforeKill = cpuPct(h, preKill.members[id], preKill.at - holdStart.at);
        out.cpuPctHoldAfterElection = cpuPct(postElection.members[id], en, holdEnd.at - postElection.at);
      }
      return out;
    });
    const mOpen = machinePct(base, holdStart);
    const mHold = machinePct(holdStart, holdEnd);
    const afterClose = snapshots.find((s) => s.name === 'afterClose');
    const mClose = afterClose === undefined ? null : machinePct(holdEnd, afterClose);
    const gl = mntrSeries.map((x) => x.global).filter((x): x is number => x !== null);
    result.figures = {
      sessionsRequested: o.perObserver * o.observers,
      sessionsOpened: totalOpened,
      connectFailures: totalFailed,
      connectedAtEnd,
      openWallS: Math.round(openS * 10) / 10,
      openRateTotal: Math.round(totalOpened / openS),
      holdCommonS: Math.round(holdS * 10) / 10,
      holdDisconnects: totalDisc,
      holdExpirations: totalExp,
      runDisconnects: totalDiscAll,
      runExpirations: totalExpAll,
      heartbeatRttP50MaxMs: Math.max(0, ...perObserver.map((p) => Number(p.heartbeatRttMs?.p50 ?? 0))),
      heartbeatRttP99MaxMs: Math.max(0, ...perObserver.map((p) => Number(p.heartbeatRttMs?.p99 ?? 0))),
      heartbeatRttMaxMs: Math.max(0, ...perObserver.map((p) => Number(p.heartbeatRttMs?.max ?? 0))),
      leaderGlobalSessionsMax: gl.length > 0 ? Math.max(...gl) : null,
      leaderGlobalSessionsAtHold: numOf(lmHold, 'zk_global_sessions'),
      leaderLearnersAtHold: numOf(lmHold, 'zk_learners'),
      leaderSyncedObserversAtHold: numOf(lmHold, 'zk_synced_observers'),
      leaderGlobalSessionsAtHoldEnd: numOf(lmEnd, 'zk_global_sessions'),
      leaderLearnersAtHoldEnd: numOf(lmEnd, 'zk_learners'),
      machineOpen: mOpen,
      machineHold: mHold,
      machineClose: mClose,
      closeWallS: afterClose === undefined ? null : Math.round((afterClose.at - holdEnd.at) / 100) / 10,
      loadavgAtHoldStart: holdStart.loadavg,
      loadavgAtHoldEnd: holdEnd.loadavg,
    };
    result.observers = perObserver;
    result.voters = voters;
    result.mntrSeries = mntrSeries;
    result.snapshots = snapshots.map((s, i) => ({
      name: s.name,
      tS: Math.round((s.at - t0) / 100) / 10,
      iso: s.iso,
      loadavg: s.loadavg,
      /** the machine since the previous snapshot: busy share, and who used it (ours / others) */
      machineSincePrev: i > 0 ? machinePct(snapshots[i - 1]!, s) : null,
      members: s.members,
      loads: s.loads.map((l) => ({ rssBytes: l.rssBytes, cpuTicks: l.cpuTicks, pids: l.pids.length })),
    }));
    if (totalExpAll > 0) problems.push(`${totalExpAll} session expirations`);
    if (totalDiscAll > 0) problems.push(`${totalDiscAll} disconnects`);
    if (totalFailed > 0) problems.push(`${totalFailed} connects failed`);
    return result;
  } catch (err) {
    problems.push(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    result.error = err instanceof Error ? err.message : String(err);
    return result;
  } finally {
    stopSampling = true;
    for (const c of children) if (c.exitedAt === null) killLoadTree(c.child, 'SIGKILL');
    await Promise.race([Promise.all(children.map((c) => c.exitPromise)), sleep(5000)]);
    await sampler.catch(() => undefined);
    if (e !== null) {
      // the members' logs: warnings and errors worth reading
      result.memberLogExcerpts = Object.fromEntries(
        e.members.map((m) => {
          const lines = m.logTail(200_000).split('\n').filter((l) => /"level":(4|5|6)0|error|warn|FATAL/i.test(l));
          return [m.spec.id, { lines: lines.length, last: lines.slice(-8).map((l) => l.slice(0, 400)) }];
        }),
      );
      await e.stop();
    }
    result.ok = problems.length === 0;
    result.finishedAt = new Date().toISOString();
    result.loadavgAtEnd = os.loadavg();
    fs.writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
    result.jsonPath = jsonPath;
    if (result.ok && !o.keep) {
      // keep the load JSONs and logs next to the result; drop the member directories
      try {
        fs.rmSync(path.join(dir, 'ensemble'), { recursive: true, force: true });
      } catch {
        // leave it
      }
    }
  }
}

// ---- the table ----

const mib = (b: number | null | undefined): string => (b == null ? '-' : (b / MiB).toFixed(0));
const f1 = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '-' : x.toFixed(1));
const f2 = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const int = (x: number | null | undefined): string => (x == null || !Number.isFinite(x) ? '-' : Math.round(x).toLocaleString('en-US'));

export function renderTable(r: Any): string {
  const rows: string[][] = [['member', 'role', 'sessions', 'open/s', 'disc', 'exp', 'hb p50 ms', 'hb p99 ms', 'RSS base→hold→end MiB', 'KiB/sess', 'CPU% open', 'CPU% hold', 'fds']];
  for (const p of (r.observers ?? []) as Any[]) {
    rows.push([
      String(p.id),
      'observer',
      `${int(p.opened)}/${int(p.requested)}`,
      int(p.openRate),
      int(p.runDisconnects),
      int(p.runExpirations),
      f2(p.heartbeatRttMs?.p50),
      f2(p.heartbeatRttMs?.p99),
      `${mib(p.rssBaseBytes)}→${mib(p.rssHoldBytes)}→${mib(p.rssEndBytes)}`,
      p.rssPerSessionBytes == null ? '-' : f2(p.rssPerSessionBytes / 1024),
      f1(p.cpuPctOpen),
      f1(p.cpuPctHold),
      int(p.fdsAtHold),
    ]);
  }
  for (const v of (r.voters ?? []) as Any[]) {
    rows.push([
      String(v.id),
      v.roleAtStart === v.roleAtEnd ? v.roleAtStart : `${v.roleAtStart}→${v.roleAtEnd}`,
      '',
      '',
      '',
      '',
      '',
      '',
      `${mib(v.rssBaseBytes)}→${mib(v.rssHoldBytes)}→${mib(v.rssEndBytes)}`,
      v.rssPerGlobalSessionBytes == null ? '-' : f2(v.rssPerGlobalSessionBytes / 1024),
      f1(v.cpuPctOpen),
      v.cpuPctHoldAfterElection !== undefined ? `${f1(v.cpuPctHoldBeforeKill)}|${f1(v.cpuPctHoldAfterElection)}` : f1(v.cpuPctHold),
      '',
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  let out = rows.map((row) => row.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n') + '\n';
  const f = (r.figures ?? {}) as Any;
  const o = r.options as Options;
  out += `\nsessions (${o.sessions}): ${int(f.sessionsOpened)} opened of ${int(f.sessionsRequested)} (${int(f.connectFailures)} failed), ${int(f.connectedAtEnd)} connected at the end of the hold\n`;
  out += `open: ${f1(f.openWallS)} s for all observers, ${int(f.openRateTotal)} sessions/s in all\n`;
  out += `hold (common window): ${f1(f.holdCommonS)} s; disconnects ${int(f.runDisconnects)}, expirations ${int(f.runExpirations)} (hold phase only: ${int(f.holdDisconnects)} / ${int(f.holdExpirations)})\n`;
  out += `heartbeat RTT (worst observer): p50 ${f2(f.heartbeatRttP50MaxMs)} ms, p99 ${f2(f.heartbeatRttP99MaxMs)} ms, max ${f2(f.heartbeatRttMaxMs)} ms\n`;
  out += `leader mntr: zk_global_sessions at hold ${int(f.leaderGlobalSessionsAtHold)} (max seen ${int(f.leaderGlobalSessionsMax)}), at hold end ${int(f.leaderGlobalSessionsAtHoldEnd)}; zk_learners ${int(f.leaderLearnersAtHold)} (synced observers ${int(f.leaderSyncedObserversAtHold)}), at hold end ${int(f.leaderLearnersAtHoldEnd)}\n`;
  if (r.kill !== undefined) {
    const k = r.kill as Any;
    out += `leader kill: member ${k.leaderId} SIGKILLed at hold +${k.atHoldS} s; new leader ${k.newLeaderId ?? 'none'} after ${k.newLeaderMs ?? '-'} ms, all serving after ${k.settledMs ?? '-'} ms; new leader's zk_global_sessions ${k.newLeaderMntr?.zk_global_sessions ?? '-'}, learners ${k.newLeaderMntr?.zk_learners ?? '-'}\n`;
  }
  const mm = (m: Any): string =>
    `busy ${f1(m?.busyPct)}% of all CPUs (system ${f1(m?.systemPct)}%, softirq ${f1(m?.softirqPct)}%, steal ${f1(m?.stealPct)}%); this bench's processes ${f1(m?.oursCpuPct)}% of one CPU, other processes ${f1(m?.othersCpuPct)}%, unattributed ${f1(m?.unattributedCpuPct)}%`;
  out += `machine during the open: ${mm(f.machineOpen)}\n`;
  out += `machine during the hold: ${mm(f.machineHold)}\n`;
  out += `machine during the close (${f1(f.closeWallS)} s): ${mm(f.machineClose)}\n`;
  out += `machine: ${r.environment?.cpus} CPUs; load average ${(r.environment?.loadavgAtStart ?? []).map((x: number) => x.toFixed(2)).join(' ')} at start, ${((f.loadavgAtHoldEnd ?? []) as number[]).map((x) => x.toFixed(2)).join(' ')} at hold end\n`;
  const lc = ((r.observers ?? []) as Any[]).map((p) => `${f1(p.loadClientCpuPctOpen)}%/${f1(p.loadClientCpuPctHold)}%/${mib(p.loadClientRssBytes)} MiB`);
  out += `load clients (per observer's load child: CPU% open / CPU% hold / RSS): ${lc.join(', ')}\n`;
  for (const p of (r.observers ?? []) as Any[]) {
    if (p.disconnectReasons !== null && Object.keys(p.disconnectReasons ?? {}).length > 0) out += `observer ${p.id} disconnect reasons (hold): ${JSON.stringify(p.disconnectReasons)}\n`;
  }
  for (const p of (r.problems ?? []) as string[]) out += `problem: ${p.split('\n')[0]}\n`;
  out += `${r.ok ? 'ok' : 'PROBLEMS'}; JSON ${r.jsonPath ?? '-'}; dir ${r.dir}\n`;
  return out;
}

async function main(argv: string[]): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`observer-tier: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const r = await run(o);
  process.stdout.write('\n' + renderTable(r));
  return r.ok ? 0 : 3;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`observer-tier: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      killEverythingNow();
      process.exit(1);
    },
  );
}
