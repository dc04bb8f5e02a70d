// Idle RSS: what a zkts server process costs before any client connects, next to the plain-Node
// floor (issue 11, goal 2: a lean observer process, at most 60 MB before any session).
//
//   node dist/bench/idle-rss.js [options]          (npm run bench:idle-rss -- [options])
//
// Starts, on ports 25400..25499 only, with nothing connected:
//   - the floor: `node -e` with one node:net server listening on a TCP port, nothing else;
//   - a zkts standalone with the default config, one with the tier profile (TIER_KEYS: sessions
//     on the main thread, sessionWorkers=0), and one with the tier profile but one session
//     worker thread (sessionWorkers=1, the tier profile before issue 11's third round);
//   - a local ensemble of 3 voters + 2 observers (bench/ensemble-cluster.ts), the first observer
//     with the default config, the second with the tier profile.
// Waits until each serves (the floor: a TCP connect; zkts: srvr answers with its Mode), lets it
// settle (20 s by default: V8 grows each isolate's young generation while the modules load and
// shrinks it back only after some idle seconds, so an earlier sample reads 5-10 MB high), then
// samples /proc/PID/status (VmRSS, RssAnon, Threads) of every process --samples times and
// prints the median of each. On Node 20 a zkts server with several session workers runs as
// a launcher process plus the server process (src/main/launcher.ts); both are counted, and the
// total is what the host pays. --sessions N also holds N idle sessions (a raw ConnectRequest
// each, from this process) on each standalone and observer and samples again: RSS per session.
//
// --requests N sends N getData round trips (32 in flight, one session, the zkts client) to each
// zkts server after the idle sample, and samples again: what traffic leaves resident (the
// channel rings' pages, which become resident as their cursors wrap).
//
// Every wait is bounded; every process started here is stopped by PID (SIGTERM, then SIGKILL)
// in a finally block and on exit / SIGINT / SIGTERM.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { portInUse, repoRoot } from '../test/integration/harness/server.js';
import { Ensemble, killOnExit, modeOf } from './ensemble-cluster.js';
import { createClient } from '../src/client/index.js';

const PORT_FLOOR = 25400;
const PORT_STANDALONE = 25410;
const PORT_STANDALONE_TIER = 25420;
const PORT_STANDALONE_ONE_WORKER = 25490;
/** --sessions at most: this process holds every session's socket, on up to 7 servers (the
 *  floor's included), under the 20,000 open files a process may have here. */
const SESSIONS_PER_SERVER_MAX = 2500;
/** Members at 25430 + 10 * i: voters 25430..25450, observers 25460 and 25470. */
const PORT_ENSEMBLE = 25430;

/** The tier profile: zoo.cfg keys for an observer that holds many idle sessions (README). */
export const TIER_KEYS: Record<string, string> = { sessionWorkers: '0', youngGenerationFixed: 'true' };
/** The tier profile with one session worker thread instead of none, for comparison. */
const TIER_ONE_WORKER_KEYS: Record<string, string> = { ...TIER_KEYS, sessionWorkers: '1' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options {
  samples: number;
  intervalMs: number;
  settleMs: number;
  startTimeoutMs: number;
  sessions: number;
  requests: number;
  ensemble: boolean;
  dir: string;
  /** The directory was made here: removed after a run that succeeded. */
  dirMade: boolean;
}

const usage = `usage: node dist/bench/idle-rss.js [options]
  --samples N        RSS samples per process (default 10)
  --interval-ms MS   between samples (default 1000)
  --settle-ms MS     after every process serves, before sampling (default 20000)
  --sessions N       also hold N idle sessions on each zkts server and sample again (default 0,
                     at most 2500: this process holds them all)
  --requests N       also send N getData round trips to each zkts server (after the idle
                     sample, before --sessions) and sample again (default 0)
  --no-ensemble      only the floor and the standalones
  --dir DIR          working directory, kept (default: a new one under the OS temp dir, removed
                     after a run that succeeded)
`;

function parse(argv: string[]): Options | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      samples: { type: 'string' },
      'interval-ms': { type: 'string' },
      'settle-ms': { type: 'string' },
      sessions: { type: 'string' },
      requests: { type: 'string' },
      'no-ensemble': { type: 'boolean' },
      dir: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (v.help === true) return null;
  const int = (s: string | undefined, d: number, min: number, max: number, name: string): number => {
    if (s === undefined) return d;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
  return {
    samples: int(v.samples, 10, 1, 100, 'samples'),
    intervalMs: int(v['interval-ms'], 1000, 10, 60_000, 'interval-ms'),
    settleMs: int(v['settle-ms'], 20_000, 0, 600_000, 'settle-ms'),
    startTimeoutMs: 60_000,
    sessions: int(v.sessions, 0, 0, SESSIONS_PER_SERVER_MAX, 'sessions'),
    requests: int(v.requests, 0, 0, 10_000_000, 'requests'),
    ensemble: v['no-ensemble'] !== true,
    dir: v.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-idle-rss-')),
    dirMade: v.dir === undefined,
  };
}

interface ProcSample {
  rssKiB: number;
  anonKiB: number;
  threads: number;
}

function readStatus(pid: number): ProcSample | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), anonKiB: field('RssAnon'), threads: field('Threads') };
  } catch {
    return null;
  }
}

/** The spawned process's children (on Node 20, a zkts launcher's child is the server). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const p of text.split(/\s+/)) if (p !== '') kids.push(Number(p));
    }
  } catch {
    // gone
  }
  return kids;
}

/** One measured process: `pid` is what was spawned; the server is its child when it has one. */
interface Subject {
  name: string;
  pid: number;
  port: number;
  zkts: boolean;
}

interface Row {
  name: string;
  serverMiB: number;
  anonMiB: number;
  launcherMiB: number;
  totalMiB: number;
  threads: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
}

async function sample(subject: Subject, o: Options): Promise<Row> {
  const server: ProcSample[] = [];
  const launcher: ProcSample[] = [];
  for (let i = 0; i < o.samples; i++) {
    if (i > 0) await sleep(o.intervalMs);
    const kids = childrenOf(subject.pid);
    const top = readStatus(subject.pid);
    if (top === null) throw new Error(`${subject.name}: process ${subject.pid} is gone`);
    const child = kids.length === 1 ? readStatus(kids[0]!) : null;
    if (child !== null) {
      server.push(child);
      launcher.push(top);
    } else {
      server.push(top);
    }
  }
  const serverMiB = median(server.map((s) => s.rssKiB)) / 1024;
  const launcherMiB = launcher.length === 0 ? 0 : median(launcher.map((s) => s.rssKiB)) / 1024;
  return {
    name: subject.name,
    serverMiB,
    anonMiB: median(server.map((s) => s.anonKiB)) / 1024,
    launcherMiB,
    totalMiB: serverMiB + launcherMiB,
    threads: median(server.map((s) => s.threads)),
  };
}

const spawned: ChildProcess[] = [];

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  for (const p of [...childrenOf(pid), pid]) {
    try {
      process.kill(p, signal);
    } catch {
      // gone already
    }
  }
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kids = child.pid === undefined ? [] : childrenOf(child.pid);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
  clearTimeout(timer);
  if (late) killTree(child, 'SIGKILL');
  for (const p of kids) {
    try {
      process.kill(p, 'SIGKILL'); // a launcher's server dies with it; make sure
    } catch {
      // gone already
    }
  }
}

async function waitUntil(what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function startFloor(o: Options): Promise<Subject> {
  if (await portInUse(PORT_FLOOR)) throw new Error(`port ${PORT_FLOOR} is already in use`);
  const code = `require('node:net').createServer(() => {}).listen(${PORT_FLOOR}, '127.0.0.1')`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  spawned.push(child);
  await waitUntil('floor', o.startTimeoutMs, () => portInUse(PORT_FLOOR));
  return { name: 'floor: node -e net.createServer().listen', pid: child.pid!, port: PORT_FLOOR, zkts: false };
}

async function startStandalone(o: Options, name: string, port: number, keys: Record<string, string>): Promise<Subject> {
  if (await portInUse(port)) throw new Error(`port ${port} is already in use`);
  const dir = path.join(o.dir, `standalone-${port}`);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const cfg: Record<string, string> = {
    tickTime: '2000',
    dataDir: path.join(dir, 'data'),
    clientPort: String(port),
    clientPortAddress: '127.0.0.1',
    maxClientCnxns: '0',
    '4lw.commands.whitelist': '*',
    'admin.enableServer': 'false',
    ...keys,
  };
  const configPath = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(configPath, Object.entries(cfg).map(([k, v]) => `${k}=${v}\n`).join(''));
  const log = fs.openSync(path.join(dir, 'server.log'), 'a');
  const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'zkts.js'), 'server', configPath], {
    cwd: dir,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  spawned.push(child);
  await waitUntil(name, o.startTimeoutMs, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}); log ${dir}/server.log`);
    return (await modeOf(port)) === 'standalone';
  });
  return { name, pid: child.pid!, port, zkts: true };
}

/** A raw ConnectRequest (protocol 0, timeout 30 s, no password), length-prefixed. */
function connectFrame(): Buffer {
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  body.writeInt32BE(30_000, 12);
  body.writeInt32BE(16, 24);
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** Opens n sessions on port, 64 handshakes in flight; resolves with the sockets once all are
 *  answered (bounded). */
async function holdSessions(port: number, n: number, timeoutMs: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const frame = connectFrame();
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      sockets.push(s);
      s.setNoDelay(true);
      const t = setTimeout(() => reject(new Error(`session handshake on ${port}: no answer`)), timeoutMs);
      s.once('connect', () => s.write(frame));
      s.once('data', () => {
        clearTimeout(t);
        resolve();
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, n) }, lane));
  return sockets;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function table(rows: Row[], floor: Row): string {
  const head = ['process', 'server MB', 'anon MB', 'threads', 'launcher MB', 'total MB', 'total/floor'];
  const body = rows.map((r) => [
    r.name,
    fmt(r.serverMiB),
    fmt(r.anonMiB),
    String(r.threads),
    r.launcherMiB === 0 ? '-' : fmt(r.launcherMiB),
    fmt(r.totalMiB),
    fmt(r.totalMiB / floor.totalMiB, 2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (o === null) {
    process.stdout.write(usage);
    return 0;
  }
  let ensemble: Ensemble | null = null;
  killOnExit(() => {
    for (const c of spawned) killTree(c, 'SIGKILL');
    if (ensemble !== null) for (const m of ensemble.members) for (const p of m.processTree()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
  const held: net.Socket[] = [];
  let ok = false;
  try {
    console.log(`# idle RSS (MB = MiB), node ${process.version}, ${os.availableParallelism()} cores, ` +
      `load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; tier profile: ` +
      Object.entries(TIER_KEYS).map(([k, v]) => `${k}=${v}`).join(' '));
    const subjects: Subject[] = [await startFloor(o)];
    subjects.push(await startStandalone(o, 'zkts standalone, default config', PORT_STANDALONE, {}));
    subjects.push(await startStandalone(o, 'zkts standalone, tier profile', PORT_STANDALONE_TIER, TIER_KEYS));
    subjects.push(await startStandalone(o, 'zkts standalone, tier profile, sessionWorkers=1', PORT_STANDALONE_ONE_WORKER, TIER_ONE_WORKER_KEYS));
    if (o.ensemble) {
      ensemble = await Ensemble.start({
        kind: 'zkts',
        voters: 3,
        observers: 2,
        basePort: PORT_ENSEMBLE,
        dir: path.join(o.dir, 'ensemble'),
        tickTime: 2000,
        perMember: (spec) => (spec.id === 5 ? TIER_KEYS : {}),
        startTimeoutMs: o.startTimeoutMs,
      });
      const [obsDefault, obsTier] = ensemble.observers;
      subjects.push({ name: 'zkts observer of 3 voters, default config', pid: obsDefault!.pid, port: obsDefault!.spec.clientPort, zkts: true });
      subjects.push({ name: 'zkts observer of 3 voters, tier profile', pid: obsTier!.pid, port: obsTier!.spec.clientPort, zkts: true });
      const leader = await ensemble.leader();
      if (leader !== null) subjects.push({ name: 'zkts leader (for reference), default config', pid: leader.pid, port: leader.spec.clientPort, zkts: true });
    }
    await sleep(o.settleMs);
    const rows: Row[] = [];
    for (const s of subjects) rows.push(await sample(s, o));
    console.log(table(rows, rows[0]!));
    if (o.requests > 0) {
      console.log(`\n# after ${o.requests} getData round trips on each zkts server (one session, 32 in flight)`);
      for (const s of subjects) if (s.zkts) await roundTrips(s.port, o.requests, o.startTimeoutMs);
      await sleep(o.settleMs);
      const after: Row[] = [];
      for (const s of subjects) after.push(await sample(s, o));
      console.log(table(after, after[0]!));
    }
    if (o.sessions > 0) {
      console.log(`\n# with ${o.sessions} idle sessions held on each zkts server (floor: as many idle sockets)`);
      const after: Row[] = [];
      for (const s of subjects) {
        held.push(...(s.zkts ? await holdSessions(s.port, o.sessions, o.startTimeoutMs) : await openSockets(s.port, o.sessions)));
      }
      await sleep(o.settleMs);
      for (const s of subjects) after.push(await sample(s, o));
      console.log(table(after, after[0]!));
      console.log('\nper session, KiB (server process RSS growth / sessions):');
      for (let i = 0; i < rows.length; i++) {
        console.log(`  ${rows[i]!.name}: ${fmt(((after[i]!.serverMiB - rows[i]!.serverMiB) * 1024) / o.sessions, 2)}`);
      }
    }
    console.log(`\nload after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    ok = true;
    return 0;
  } finally {
    for (const s of held) s.destroy();
    await Promise.all(spawned.map((c) => stopChild(c)));
    if (ensemble !== null) await ensemble.stop();
    if (ok && o.dirMade) fs.rmSync(o.dir, { recursive: true, force: true });
    else console.log(`files under ${o.dir}`);
  }
}

/** n getData round trips of a 100-byte node on one session, 32 in flight; bounded by timeoutMs
 *  per request (the client's own) and the session's close. */
async function roundTrips(port: number, n: number, timeoutMs: number): Promise<void> {
  const zk = createClient(`127.0.0.1:${port}`, { sessionTimeoutMs: 30_000 });
  try {
    await zk.waitConnected(timeoutMs);
    const node = `/idle-rss-${process.pid}`;
    await zk.create(node, 'x'.repeat(100)).catch(() => {}); // an observer's write goes to the leader
    let left = n;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (left-- > 0) await zk.getData(node);
      }),
    );
  } finally {
    await zk.close();
  }
}

/** The floor gets plain idle sockets (it speaks no protocol). */
async function openSockets(port: number, n: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1' });
    out.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    },
  );
}
