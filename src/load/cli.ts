// `zkts load <scenario> [options]`: the load-test harness, against zkts or any ZooKeeper.
//
// The parent process parses the options, forks the worker processes (which hold the sessions),
// sends them their share of each phase, shows one live progress line a second on stderr, then
// prints the key figures on stdout and writes the JSON result (--out) and the HTML report (--html).
// Every phase is bounded (counts, per-phase timeouts, and --timeout for the whole run).
//
// Exit status: 0 ok; 1 the run failed (error, timeout, interrupted); 2 bad usage; 3 the run
// completed but found problems (connect failures, expirations, lost sessions, missed events).

import os from 'node:os';
import { parseArgs } from 'node:util';
import { WorkerPool } from './pool.js';
import {
  poolShutdownGraceMs,
  poolShutdownGraceMsOnError,
  runTimeoutSDefault,
  runTimeoutSMax,
  sessionsPerWorkerByLoad,
  sessionsPerWorkerDefault,
  sessionsPerWorkerMax,
  sessionTimeoutMsDefault,
  sessionTimeoutMsMax,
  sessionTimeoutMsMin,
  sourceAddrsMax,
  workersMax,
} from './limits.js';
import { Progress } from './progress.js';
import { buildSeries, standardCharts, writeJson } from './report/json.js';
import { writeHtml } from './report/html.js';
import { UsageError, flag, num, str } from './scenarios/common.js';
import { connectScenario } from './scenarios/connect.js';
import { herdScenario } from './scenarios/herd.js';
import { holdScenario } from './scenarios/hold.js';
import { mixedScenario, readScenario, writeScenario } from './scenarios/throughput.js';
import { watchScenario } from './scenarios/watch.js';
import type { CommonOptions, LoadResult, OptionsConfig, Scenario, ScenarioContext, ScenarioOutcome, Values } from './types.js';

export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map(
  [connectScenario, holdScenario, readScenario, writeScenario, mixedScenario, watchScenario, herdScenario].map((s) => [s.name, s]),
);


const COMMON_OPTIONS: OptionsConfig = {
  connect: { type: 'string', short: 'c' },
  workers: { type: 'string', short: 'w' },
  'per-worker': { type: 'string' },
  'source-addrs': { type: 'string' },
  'session-timeout': { type: 'string' },
  'local-session': { type: 'boolean' },
  timeout: { type: 'string' },
  out: { type: 'string', short: 'o' },
  html: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'server-pid': { type: 'string' },
  label: { type: 'string' },
  client: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP = `common options:
  -c, --connect HOSTS     connect string of the server under test (default 127.0.0.1:2181)
  -w, --workers N         worker processes holding the sessions (default: from the load and the CPUs)
      --per-worker N      sessions per worker process at most (default ${sessionsPerWorkerDefault}; a process may open ~19,900 files here)
      --source-addrs LIST local addresses to spread sessions over: 127.0.0.2-127.0.0.254, or a,b,c
                          (needed only past ~28,000 sessions to one server address: each bound socket
                          costs the kernel a search for a free port, which halves the connect rate)
      --session-timeout MS  requested session timeout (default 30000)
      --local-session     ask for local sessions (zkts)
      --timeout S         hard limit on the whole run (default 600); the run stops, partial results are kept
  -o, --out FILE          write the JSON result
      --html FILE         write a self-contained HTML report (inline SVG charts)
      --server-pid PID    a local server's PID: its memory (VmRSS of the process tree) goes into the result
      --label TEXT        a name for this run in the reports
      --client lean|full  what holds the sessions: lean (raw sockets: ConnectRequest, pings,
                          closeSession, re-attach; every reply checked; the default for connect,
                          hold and herd; for watch, lean watchers in this process) or full (the
                          zkts client; read, write, mixed, watch)
  -q, --quiet             no progress line on stderr
  -h, --help              this help`;

export function generalUsage(): string {
  const width = Math.max(...[...SCENARIOS.keys()].map((k) => k.length));
  return `usage: zkts load <scenario> [options]

Load-tests zkts or any ZooKeeper server (connect string): sessions spread over several worker
processes (at most 19,000 each) and over the servers of the connect string, a progress line a
second on stderr, key figures on stdout, JSON (--out) and HTML (--html).
connect, hold and herd run on the lean client (raw sockets, every reply checked, as cheap per
session as a bare node:net server) unless --client full; the others on the zkts client (watch
takes --client lean too: lean watchers in this process).

scenarios:
${[...SCENARIOS.values()].map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n')}

zkts load <scenario> --help   the scenario's options

${COMMON_HELP}

exit status: 0 ok, 1 the run failed, 2 bad usage, 3 the run found problems
`;
}

export function scenarioUsage(s: Scenario): string {
  return `usage: zkts load ${s.name} [options]

${s.summary}

${s.name} options:
${s.help}

${COMMON_HELP}
`;
}

/** "127.0.0.2-127.0.0.254" (the last octet varies) or "a,b,c" (each may be a range). */
export function parseSourceAddrs(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^(\d+\.\d+\.\d+\.)(\d+)-(?:\d+\.\d+\.\d+\.)?(\d+)$/.exec(part);
    if (m !== null) {
      const lo = Number(m[2]);
      const hi = Number(m[3]);
      if (lo > hi || hi > 255) throw new UsageError(`--source-addrs: bad range '${part}'`);
      for (let i = lo; i <= hi; i++) out.push(`${m[1]}${i}`);
    } else if (/^[0-9a-fA-F:.]+$/.test(part)) out.push(part);
    else throw new UsageError(`--source-addrs: '${part}' is not an address or a range`);
  }
  if (out.length > sourceAddrsMax) throw new UsageError('--source-addrs: too many addresses');
  return out;
}

function parseCommon(v: Values, s: Scenario): CommonOptions {
  const pid = v['server-pid'];
  // watch's --lean is the older spelling of its --client lean
  const client = str(v, 'client', s.lean || (s.leanInProcess === true && v['lean'] === true) ? 'lean' : 'full');
  if (client !== 'lean' && client !== 'full') throw new UsageError(`--client: '${client}' is not lean or full`);
  if (client === 'lean' && !s.lean && s.leanInProcess !== true) throw new UsageError(`--client lean: the ${s.name} scenario needs the full client`);
  return {
    client,
    connect: str(v, 'connect', '127.0.0.1:2181'),
    workers: v['workers'] === undefined ? null : num(v, 'workers', 1, 1, workersMax),
    sourceAddrs: typeof v['source-addrs'] === 'string' ? parseSourceAddrs(v['source-addrs']) : [],
    sessionTimeoutMs: num(v, 'session-timeout', sessionTimeoutMsDefault, sessionTimeoutMsMin, sessionTimeoutMsMax),
    localSession: flag(v, 'local-session'),
    timeoutS: num(v, 'timeout', runTimeoutSDefault, 1, runTimeoutSMax, true),
    out: typeof v['out'] === 'string' ? v['out'] : null,
    html: typeof v['html'] === 'string' ? v['html'] : null,
    quiet: flag(v, 'quiet'),
    serverPid: pid === undefined ? null : num(v, 'server-pid', 0, 1, 2 ** 31),
    label: typeof v['label'] === 'string' ? v['label'] : null,
  };
}

function chooseWorkers(common: CommonOptions, sessions: number, perWorker: number): number {
  const needed = Math.ceil(sessions / perWorker);
  if (common.workers !== null) {
    if (common.workers < needed) throw new UsageError(`--workers ${common.workers}: ${sessions} sessions need at least ${needed} workers at ${perWorker} per worker`);
    return Math.min(common.workers, Math.max(1, sessions));
  }
  const cpus = os.availableParallelism();
  const byLoad = Math.ceil(sessions / sessionsPerWorkerByLoad);
  return Math.min(workersMax, Math.max(needed, Math.min(Math.max(1, Math.floor(cpus / 2)), byLoad)));
}

export interface LoadRun {
  code: number;
  result: LoadResult | null;
}

/** Runs one scenario; returns the exit status and the result (also written to --out / --html). */
export async function runLoad(argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void } = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}): Promise<LoadRun> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout)(generalUsage());
    return { code: name === undefined ? 2 : 0, result: null };
  }
  const scenario = SCENARIOS.get(name);
  if (scenario === undefined) {
    io.stderr(`zkts load: unknown scenario '${name}'\n\n${generalUsage()}`);
    return { code: 2, result: null };
  }
  let values: Values;
  let common: CommonOptions;
  let workers: number;
  try {
    values = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...scenario.options }, strict: true, allowPositionals: false }).values as Values;
    if (values['help'] === true) {
      io.stdout(scenarioUsage(scenario));
      return { code: 0, result: null };
    }
    common = parseCommon(values, scenario);
    scenario.validate(values, common);
    workers = chooseWorkers(common, scenario.sessions(values), num(values, 'per-worker', sessionsPerWorkerDefault, 1, sessionsPerWorkerMax));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr(`zkts load ${name}: ${msg}\n(zkts load ${name} --help for the options)\n`);
    return { code: 2, result: null };
  }

  const startedAt = new Date();
  const t0 = performance.now();
  const warnings: string[] = [];
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.start({
      workers,
      connectString: common.connect,
      sourceAddrs: common.sourceAddrs,
      sessionTimeoutMs: common.sessionTimeoutMs,
      localSession: common.localSession,
      client: common.client,
    });
  } catch (e) {
    io.stderr(`zkts load ${name}: cannot start the worker processes: ${(e as Error).message}\n`);
    return { code: 1, result: null };
  }
  const progress = new Progress(pool, name, common.quiet);
  const deadline = t0 + common.timeoutS * 1000;
  const ctx: ScenarioContext = {
    common,
    values,
    pool,
    progress,
    deadline,
    warn: (m) => {
      if (!warnings.includes(m)) {
        warnings.push(m);
        progress.note(`warning: ${m}`);
      }
    },
    left: () => Math.max(1, deadline - performance.now()),
  };
  progress.phase('start', () => '');
  progress.start();
  if (!common.quiet) io.stderr(`zkts load ${name}: ${common.connect}, ${workers} worker process(es), ${common.client} client\n`);

  let outcome: ScenarioOutcome | null = null;
  let error: string | undefined;
  let interrupted = false;
  let stopTimer: NodeJS.Timeout | undefined;
  let onSignal: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    stopTimer = setTimeout(() => reject(new Error(`the run exceeded --timeout ${common.timeoutS} s and was stopped`)), common.timeoutS * 1000);
    onSignal = (): void => {
      interrupted = true;
      reject(new Error('interrupted'));
    };
    process.once('SIGINT', onSignal);
  });
  stop.catch(() => undefined);
  try {
    outcome = await Promise.race([scenario.run(ctx), stop]);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(stopTimer);
    if (onSignal !== undefined) process.off('SIGINT', onSignal);
  }
  progress.stop();
  const workerRss = pool.workerRss();
  await pool.shutdown(error === undefined ? poolShutdownGraceMs : poolShutdownGraceMsOnError, error !== undefined);

  const series = buildSeries(pool);
  const result: LoadResult = {
    tool: 'zkts load',
    formatVersion: 1,
    scenario: name,
    label: common.label,
    target: common.connect,
    startedAt: startedAt.toISOString(),
    wallS: Math.round(performance.now() - t0) / 1000,
    ok: error === undefined && (outcome?.problems.length ?? 1) === 0,
    problems: outcome?.problems ?? [],
    options: { ...(outcome?.options ?? {}), connect: common.connect, client: common.client, workers, sessionTimeoutMs: common.sessionTimeoutMs, localSession: common.localSession, sourceAddrs: common.sourceAddrs.length, timeoutS: common.timeoutS },
    environment: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.availableParallelism(), workers, workerPids: pool.pids, workerRssBytes: workerRss },
    summary: outcome?.summary ?? {},
    figures: outcome?.figures ?? [],
    series,
    charts: [...standardCharts(series, scenario), ...(outcome?.charts ?? [])],
    warnings,
  };
  if (error !== undefined) result.error = error;

  const width = Math.max(0, ...result.figures.map(([k]) => k.length));
  let text = `\n${name} against ${common.connect}${common.label !== null ? ` (${common.label})` : ''}: ${error !== undefined ? `FAILED: ${error}` : result.ok ? 'ok' : 'PROBLEMS'}\n`;
  for (const [k, v] of result.figures) text += `  ${k.padEnd(width)}  ${v}\n`;
  for (const p of result.problems) text += `  problem: ${p}\n`;
  for (const w of warnings) text += `  warning: ${w}\n`;
  io.stdout(text);
  try {
    if (common.out !== null) writeJson(common.out, result);
    if (common.html !== null) writeHtml(common.html, result);
  } catch (e) {
    io.stderr(`zkts load ${name}: cannot write the report: ${(e as Error).message}\n`);
    return { code: 1, result };
  }
  if (common.out !== null || common.html !== null) io.stderr(`wrote ${[common.out, common.html].filter((x) => x !== null).join(', ')}\n`);
  return { code: interrupted ? 130 : error !== undefined ? 1 : result.ok ? 0 : 3, result };
}

/** `zkts load ...`: returns the exit status. */
export async function loadCommand(argv: string[]): Promise<number> {
  return (await runLoad(argv)).code;
}
