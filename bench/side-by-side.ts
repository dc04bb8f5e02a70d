// One command, two servers, the same load: starts Apache ZooKeeper 3.8 (the Debian package, JVM
// as in production: jvmProfile 'bench') and zkts with the same zoo.cfg, runs the same `zkts load`
// scenarios against each in turn, and prints a table of figures and ratios (zkts / Apache).
//
//   node dist/bench/side-by-side.js [--scenarios connect,hold,read,write,watch] [--sessions 2000]
//        [--hold 20] [--duration 10] [--watchers 1000] [--watch-client lean|full] [--rounds 1]
//        [--warmup N] [--only zkts|apache] [--out DIR]
//
// Ports 25200 (Apache) and 25210 (zkts). With --out DIR each run's JSON and HTML land in DIR.
//
// The watch scenario's watchers are lean raw-socket sessions by default (`zkts load watch
// --lean`, src/load/lean-watch.ts): with a full client per session the load client spent as much
// CPU reading the 10,000 notifications as the server spent writing them, on the same 2 cores.
// --watch-client full runs the full client. --rounds N runs each scenario N times on each server,
// alternating zkts and Apache (and which goes first), and the table shows the median of each
// figure; under it, every round's figures with the ratio of each pair (the two runs of one round
// are next to each other in time, so their ratio moves less with the machine's load than either
// figure), and the spread (min–max). --warmup N first runs N rounds on each server that are not
// counted: by default 1 for the watch scenario, whose one event per round is over before the JIT
// of either server has compiled its path (and zkts would otherwise pay its first round's
// compiles twice over the median of few rounds), 0 for the others. The machine's load average is
// printed with the table: compare figures only from runs on an equally quiet machine.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from '../src/load/cli.js';
import type { LoadResult } from '../src/load/types.js';
import { startServer, type ServerHandle, type ServerKind } from '../test/integration/harness/server.js';

const PORTS: Record<ServerKind, number> = { apache: 25200, zkts: 25210 };
/** --rounds at most: each round of each scenario runs once on each server. */
const sideBySideRoundsMax = 15;
/** --warmup at most. */
const sideBySideWarmupRoundsMax = 3;
/** Scenarios warmed up by default (one round on each server, not counted). */
const warmedByDefault = new Set(['watch']);

interface Row {
  label: string;
  /** 'higher' is better, or 'lower' */
  better: 'higher' | 'lower';
  get: (r: LoadResult) => number | null;
}

// biome-ignore lint/suspicious/noExplicitAny: loosely read JSON summaries
type Any = Record<string, any>;
const s = (r: LoadResult): Any => r.summary as Any;
const n = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

const ROWS: Record<string, Row[]> = {
  connect: [
    { label: 'sessions opened /s', better: 'higher', get: (r) => n(s(r)['open']?.sessionsPerSec) },
    { label: 'connect p50 ms', better: 'lower', get: (r) => n(s(r)['open']?.latencyMs?.p50) },
    { label: 'connect p99 ms', better: 'lower', get: (r) => n(s(r)['open']?.latencyMs?.p99) },
    { label: 'connect failures', better: 'lower', get: (r) => n(s(r)['open']?.failed) },
    { label: 'sessions closed /s', better: 'higher', get: (r) => n(s(r)['close']?.sessionsPerSec) },
    { label: 'close p99 ms', better: 'lower', get: (r) => n(s(r)['close']?.latencyMs?.p99) },
  ],
  hold: [
    { label: 'sessions held at the end', better: 'higher', get: (r) => n(s(r)['hold']?.connectedAtEnd) },
    { label: 'disconnects + expirations', better: 'lower', get: (r) => (n(s(r)['hold']?.disconnects) ?? 0) + (n(s(r)['hold']?.expirations) ?? 0) },
    { label: 'heartbeat RTT p50 ms', better: 'lower', get: (r) => n(s(r)['hold']?.heartbeatRttMs?.p50) },
    { label: 'heartbeat RTT p99 ms', better: 'lower', get: (r) => n(s(r)['hold']?.heartbeatRttMs?.p99) },
    { label: 'server RSS KiB / session', better: 'lower', get: (r) => { const b = n(s(r)['memory']?.bytesPerSession); return b === null ? null : b / 1024; } },
    { label: 'server RSS MiB at the end', better: 'lower', get: (r) => { const b = n(s(r)['memory']?.rssAfterHoldBytes); return b === null ? null : b / 1048576; } },
  ],
  read: [
    { label: 'read ops /s', better: 'higher', get: (r) => n(s(r)['opsPerSec']) },
    { label: 'read p50 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.read?.p50) },
    { label: 'read p99 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.read?.p99) },
    { label: 'read p99.9 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.read?.p999) },
  ],
  write: [
    { label: 'write ops /s', better: 'higher', get: (r) => n(s(r)['opsPerSec']) },
    { label: 'write p50 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.write?.p50) },
    { label: 'write p99 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.write?.p99) },
    { label: 'write p99.9 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.write?.p999) },
  ],
  mixed: [
    { label: 'mixed ops /s', better: 'higher', get: (r) => n(s(r)['opsPerSec']) },
    { label: 'mixed read p99 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.read?.p99) },
    { label: 'mixed write p99 ms', better: 'lower', get: (r) => n(s(r)['latencyMs']?.write?.p99) },
  ],
  watch: [
    { label: 'watch: first notified ms', better: 'lower', get: (r) => n(s(r)['timeToPercentMs']?.first) },
    { label: 'watch: 50% notified ms', better: 'lower', get: (r) => n(s(r)['timeToPercentMs']?.p50) },
    { label: 'watch: 99% notified ms', better: 'lower', get: (r) => n(s(r)['timeToPercentMs']?.p99) },
    { label: 'watch: 100% notified ms', better: 'lower', get: (r) => n(s(r)['timeToPercentMs']?.p100) },
    { label: 'watch: missed', better: 'lower', get: (r) => n(s(r)['missed']) },
    { label: 'watch: server CPU ms', better: 'lower', get: (r) => n(s(r)['cpu']?.serverCpuMs) },
    {
      label: 'watch: server CPU µs / notification',
      better: 'lower',
      get: (r) => {
        const cpu = n(s(r)['cpu']?.serverCpuMs);
        const notified = n(s(r)['notified']);
        return cpu === null || notified === null || notified === 0 ? null : (cpu * 1000) / notified;
      },
    },
    { label: 'watch: load client CPU ms', better: 'lower', get: (r) => n(s(r)['cpu']?.loadCpuMs) },
    { label: 'watch: rest of the machine CPU ms', better: 'lower', get: (r) => n(s(r)['cpu']?.otherCpuMs) },
  ],
  herd: [
    { label: 'herd: all back ms', better: 'lower', get: (r) => n(s(r)['herd']?.allBackMs) },
    { label: 'herd: reconnect p99 ms', better: 'lower', get: (r) => n(s(r)['herd']?.reconnectMs?.p99) },
    { label: 'herd: sessions lost', better: 'lower', get: (r) => n(s(r)['herd']?.expired) },
  ],
};

interface RunOptions {
  sessions: number;
  hold: number;
  duration: number;
  watchers: number;
  watchClient: 'lean' | 'full';
}

function scenarioArgs(name: string, o: RunOptions, pid: number): string[] {
  switch (name) {
    case 'connect':
      return ['-n', String(o.sessions)];
    case 'hold':
      return ['-n', String(o.sessions), '-d', String(o.hold), '--server-pid', String(pid)];
    case 'read':
    case 'write':
    case 'mixed':
      return ['-C', '8', '-p', '32', '-k', '100', '-S', '100', '-d', String(o.duration), '--warmup', '2'];
    case 'watch':
      return ['-n', String(o.watchers), ...(o.watchClient === 'lean' ? ['--lean'] : [])];
    case 'herd':
      return ['-n', String(o.sessions)];
    default:
      throw new Error(`unknown scenario '${name}'`);
  }
}

/** The median of the figures that exist (null when none does). */
function median(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

function fmtRatio(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(2)}×`;
}

/** 'min–max' of the figures that exist ('-' when none does). */
function spread(xs: Array<number | null>, ratio = false): string {
  const v = xs.filter((x): x is number => x !== null);
  if (v.length === 0) return '-';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return ratio ? `${fmtRatio(lo)}–${fmtRatio(hi)}` : `${fmt(lo)}–${fmt(hi)}`;
}

function fmt(v: number | null): string {
  if (v === null) return '-';
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string', default: 'connect,hold,read,write,watch' },
      sessions: { type: 'string', default: '2000' },
      hold: { type: 'string', default: '20' },
      duration: { type: 'string', default: '10' },
      watchers: { type: 'string', default: '1000' },
      'watch-client': { type: 'string', default: 'lean' },
      rounds: { type: 'string', default: '1' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write('usage: node dist/bench/side-by-side.js [--scenarios connect,hold,read,write,watch] [--sessions 2000] [--hold 20] [--duration 10] [--watchers 1000] [--watch-client lean|full] [--rounds 1] [--warmup N (default 1 for watch, else 0)] [--only zkts|apache] [--out DIR] [--quiet]\n');
    return 0;
  }
  const scenarios = values.scenarios.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const sc of scenarios) if (ROWS[sc] === undefined) throw new Error(`unknown scenario '${sc}'`);
  const watchClient = values['watch-client'];
  if (watchClient !== 'lean' && watchClient !== 'full') throw new Error(`--watch-client: 'lean' or 'full', not '${watchClient}'`);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > sideBySideRoundsMax) throw new Error(`--rounds: 1..${sideBySideRoundsMax}`);
  const warmupOf = (sc: string): number => (values.warmup === undefined ? (warmedByDefault.has(sc) ? 1 : 0) : Number(values.warmup));
  if (values.warmup !== undefined) {
    const w = Number(values.warmup);
    if (!Number.isInteger(w) || w < 0 || w > sideBySideWarmupRoundsMax) throw new Error(`--warmup: 0..${sideBySideWarmupRoundsMax}`);
  }
  const load0 = os.loadavg();
  const o: RunOptions = { sessions: Number(values.sessions), hold: Number(values.hold), duration: Number(values.duration), watchers: Number(values.watchers), watchClient };
  const kinds: ServerKind[] = values.only === 'zkts' ? ['zkts'] : values.only === 'apache' ? ['apache'] : ['zkts', 'apache'];
  if (values.out !== undefined) fs.mkdirSync(values.out, { recursive: true });

  const cfg = { maxClientCnxns: 0, jvmProfile: 'bench' as const, startTimeoutMs: 60000 };
  const servers = new Map<ServerKind, ServerHandle>();
  /** `${scenario}/${kind}` → each round's result. */
  const results = new Map<string, Array<LoadResult | null>>();
  try {
    for (const k of kinds) servers.set(k, await startServer(k, { port: PORTS[k], ...cfg }));
    for (const sc of scenarios) {
      const warmup = warmupOf(sc);
      for (let round = -warmup; round < rounds; round++) {
        // Alternate which server goes first, so neither always runs right after the other.
        const order = round % 2 === 0 ? kinds : [...kinds].reverse();
        for (const k of order) {
          const srv = servers.get(k) as ServerHandle;
          const args = [sc, '-c', srv.connectString, '--label', k, ...scenarioArgs(sc, o, srv.pid)];
          if (values.quiet) args.push('--quiet');
          const tag = round < 0 ? `${sc}-${k}-warmup${round + warmup + 1}` : rounds > 1 ? `${sc}-${k}-${round + 1}` : `${sc}-${k}`;
          if (values.out !== undefined) args.push('--out', path.join(values.out, `${tag}.json`), '--html', path.join(values.out, `${tag}.html`));
          const which = round < 0 ? `, warm-up round ${round + warmup + 1} of ${warmup} (not counted)` : rounds > 1 ? `, round ${round + 1} of ${rounds}` : '';
          process.stderr.write(`\n=== ${sc} on ${k} (${srv.connectString})${which} ===\n`);
          const r = await runLoad(args);
          if (round < 0) {
            if (r.result === null || !r.result.ok) process.stderr.write(`warm-up round on ${k}: ${r.result === null ? 'no result' : r.result.error ?? r.result.problems.join('; ')}\n`);
            continue;
          }
          const list = results.get(`${sc}/${k}`) ?? [];
          list.push(r.result);
          results.set(`${sc}/${k}`, list);
        }
      }
    }
  } finally {
    for (const srv of servers.values()) await srv.stop();
  }

  const lines: string[][] = [['figure', ...kinds, ...(kinds.length === 2 ? ['zkts / apache'] : [])]];
  for (const sc of scenarios) {
    for (const row of ROWS[sc] as Row[]) {
      const each = kinds.map((k) => (results.get(`${sc}/${k}`) ?? []).map((r) => (r === null ? null : row.get(r))));
      const vals = each.map(median);
      let ratio = '';
      if (kinds.length === 2) {
        const [a, b] = vals;
        ratio = a !== null && a !== undefined && b !== null && b !== undefined && b !== 0 ? `${(a / b).toFixed(2)}×${row.better === 'higher' ? ' (↑ better)' : ' (↓ better)'}` : '-';
      }
      lines.push([row.label, ...vals.map(fmt), ...(kinds.length === 2 ? [ratio] : [])]);
      if (rounds > 1) {
        // Each round's pair of runs, and the ratio within each pair.
        const pairs = kinds.length === 2 ? each[0]!.map((a, i) => { const b = each[1]![i]; return a !== null && b !== null && b !== undefined && b !== 0 ? a / b : null; }) : [];
        const pairText = pairs.length > 0 ? `${pairs.map((x) => (x === null ? '-' : x.toFixed(2))).join(' ')} (median ${fmtRatio(median(pairs))})` : '';
        lines.push([`  (rounds)`, ...each.map((xs) => xs.map(fmt).join(' ')), ...(kinds.length === 2 ? [pairText] : [])]);
        lines.push([`  (min–max)`, ...each.map((xs) => spread(xs)), ...(kinds.length === 2 ? [spread(pairs, true)] : [])]);
      }
    }
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const text = lines.map((l, j) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + (j === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : '')).join('\n');
  const medianOf = rounds > 1 ? `, median of ${rounds} rounds` : '';
  const warmups = scenarios.map((sc) => `${sc} ${warmupOf(sc)}`).join(', ');
  const load1 = os.loadavg();
  const loads = `load average ${load0.map((x) => x.toFixed(2)).join(' ')} at the start, ${load1.map((x) => x.toFixed(2)).join(' ')} at the end`;
  process.stdout.write(`\nside by side (${o.sessions} sessions, hold ${o.hold} s, ${o.duration} s of reads / writes, ${o.watchers} ${o.watchClient} watchers${medianOf}; warm-up rounds: ${warmups}; ${loads})\n${text}\n`);
  const problems = [...results.entries()].flatMap(([key, list]) => list.map((r): [string, LoadResult | null] => [key, r])).filter(([, r]) => r === null || !r.ok);
  for (const [key, r] of problems) process.stdout.write(`  ${key}: ${r === null ? 'no result' : r.error ?? r.problems.join('; ')}\n`);
  return problems.length === 0 ? 0 : 3;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`side-by-side: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
