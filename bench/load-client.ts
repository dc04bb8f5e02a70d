// npm run bench:load-client — what `zkts load hold` itself costs per held session and per ping,
// beside what the plain-Node floor server it drives pays, in the same run (issue 11, goal 4: the
// load client must cost ≤ 1.1× the floor's RSS per session and ≤ 1.15× its CPU per ping).
//
// One run:
//   1. starts the floor server (src/load/floor-server.ts) in a child process on port 25500;
//   2. runs `zkts load hold` as a real CLI process against it: S sessions in one worker process,
//      C connects in flight, pings every P ms, held W s, --server-pid the floor, --out a JSON file;
//   3. reads the hold's cost figures from that JSON: both sides are measured by the CLI the same
//      way over the same window, from /proc (utime+stime of the floor's process and of the load
//      worker process over the hold, divided by the pings answered; VmRSS after the hold less
//      VmRSS before any session, divided by the sessions held);
//   4. prints both sides and the ratios to the floor, with the machine's load before and after
//      (the figures are only as quiet as the machine: 2 cores shared here).
// (The full client, `--client full`, cannot be measured this way: its heartbeat is an exists()
// request, which the floor does not answer.)
//
// Options: --sessions S (10000, at most 19000: one worker process) --ping-ms P (2000) --window-s W
// (30) --in-flight C (256) --session-timeout-ms (30000) --json FILE

import { spawn, } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { leanSessionsMax } from '../src/load/limits.js';
import type { SessionCost } from '../src/load/scenarios/common.js';
import type { LoadResult } from '../src/load/types.js';
import { startFloorProcess } from './floor-process.js';

const port = 25500;
const goal = { cpu: 1.15, rss: 1.1 } as const;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..', '..');

interface Opts {
  sessions: number;
  pingMs: number;
  windowS: number;
  inFlight: number;
  sessionTimeoutMs: number;
  json: string | null;
}

function parseOpts(argv: string[]): Opts {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      sessions: { type: 'string', default: '10000' },
      'ping-ms': { type: 'string', default: '2000' },
      'window-s': { type: 'string', default: '30' },
      'in-flight': { type: 'string', default: '256' },
      'session-timeout-ms': { type: 'string', default: '30000' },
      json: { type: 'string' },
    },
    strict: true,
  });
  const int = (name: string, raw: string, min: number, max: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}, not '${raw}'`);
    return n;
  };
  return {
    sessions: int('sessions', v.sessions, 1, leanSessionsMax),
    pingMs: int('ping-ms', v['ping-ms'], 100, 60_000),
    windowS: int('window-s', v['window-s'], 1, 240),
    inFlight: int('in-flight', v['in-flight'], 1, 1024),
    sessionTimeoutMs: int('session-timeout-ms', v['session-timeout-ms'], 4_000, 120_000),
    json: v.json ?? null,
  };
}

/** Runs `zkts load hold` as a CLI process; resolves with its JSON result. */
async function hold(o: Opts, floorPid: number, client: 'lean' | 'full'): Promise<LoadResult> {
  const out = path.join(os.tmpdir(), `zkts-bench-load-client-${process.pid}-${client}.json`);
  const args = [
    path.join(root, 'bin', 'zkts.js'),
    'load',
    'hold',
    '-c',
    `127.0.0.1:${port}`,
    '-n',
    String(o.sessions),
    '-w',
    '1',
    '-d',
    String(o.windowS),
    '--probe-interval',
    String(o.pingMs),
    '--session-timeout',
    String(o.sessionTimeoutMs),
    '--concurrency',
    String(o.inFlight),
    '--server-pid',
    String(floorPid),
    '--client',
    client,
    '--quiet',
    '--out',
    out,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0 && code !== 3) throw new Error(`zkts load hold exited ${code}:\n${stdout}`);
  const result = JSON.parse(fs.readFileSync(out, 'utf8')) as LoadResult;
  fs.rmSync(out, { force: true });
  if (code === 3) console.log(`# zkts load hold (${client}) found problems: ${result.problems.join('; ')}`);
  return result;
}

const f1 = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toFixed(1));
const kib = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : (x / 1024).toFixed(2));
const ratio = (a: number | null | undefined, b: number | null | undefined): string => (a == null || b == null || b <= 0 ? '-' : `${(a / b).toFixed(2)}×`);

async function main(): Promise<void> {
  const o = parseOpts(process.argv.slice(2));
  console.log(`# bench:load-client  ${o.sessions} sessions, a ping every ${o.pingMs} ms each, ${o.windowS} s window, ${o.inFlight} connects in flight`);
  console.log(`# load before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (${os.availableParallelism()} cores)`);
  const rows: Array<{ client: string; cost: SessionCost; held: number; rttP99Ms: number; openPerS: number }> = [];
  for (const client of ['lean'] as const) {
    const floor = await startFloorProcess(port);
    try {
      const r = await hold(o, floor.pid, client);
      const s = r.summary as { cost: SessionCost | null; hold: { connectedAtEnd: number; heartbeatRttMs: { p99: number } | null }; open: { sessionsPerSec: number } };
      if (s.cost === null) throw new Error(`no cost figures in the ${client} run`);
      rows.push({ client, cost: s.cost, held: s.hold.connectedAtEnd, rttP99Ms: s.hold.heartbeatRttMs?.p99 ?? Number.NaN, openPerS: s.open.sessionsPerSec });
    } finally {
      await floor.stop();
    }
  }
  const w = 34;
  console.log(`${''.padEnd(w)} ${'CPU µs/ping'.padStart(12)} ${'RSS KiB/session'.padStart(16)}`);
  for (const r of rows) {
    console.log(`${`floor server (driven by ${r.client})`.padEnd(w)} ${f1(r.cost.serverCpuUsPerPing).padStart(12)} ${kib(r.cost.serverRssPerSessionBytes).padStart(16)}`);
    console.log(`${`zkts load hold --client ${r.client}`.padEnd(w)} ${f1(r.cost.clientCpuUsPerPing).padStart(12)} ${kib(r.cost.clientRssPerSessionBytes).padStart(16)}`);
    console.log(
      `${'  ratio to the floor'.padEnd(w)} ${ratio(r.cost.clientCpuUsPerPing, r.cost.serverCpuUsPerPing).padStart(12)} ${ratio(r.cost.clientRssPerSessionBytes, r.cost.serverRssPerSessionBytes).padStart(16)}` +
        (r.client === 'lean' ? `   (goal ≤ ${goal.cpu}× CPU, ≤ ${goal.rss}× RSS)` : ''),
    );
    console.log(`${'  held / pings / window / RTT p99 / open'.padEnd(w)} ${r.held} / ${r.cost.pings} / ${r.cost.windowMs} ms / ${r.rttP99Ms.toFixed(2)} ms / ${Math.round(r.openPerS)} sess/s`);
  }
  console.log(`# load after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (o.json !== null) fs.writeFileSync(o.json, `${JSON.stringify({ options: o, rows, loadAfter: os.loadavg() }, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
