// Helpers the scenarios share: option values, opening and closing sessions over the pool,
// formatting.

import type { LatencySummaryMs } from '../histogram.js';
import { procClockTicksPerS } from '../limits.js';
import { listeningPid, processCpuTicks, processRss, treeCpuTicks, treeRss } from '../proc.js';
import type { Second } from '../pool.js';
import { shares } from '../pool.js';
import type { CloseResult, OpenResult } from '../protocol.js';
import type { ScenarioContext, Values } from '../types.js';

export class UsageError extends Error {}

/** A numeric option: integer unless `real`, within [min, max], `def` when absent. */
export function num(values: Values, name: string, def: number, min: number, max: number, real = false): number {
  const raw = values[name];
  if (raw === undefined || typeof raw === 'boolean') return def;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (!real && !Number.isInteger(v))) {
    throw new UsageError(`--${name}: '${raw}' is not ${real ? 'a number' : 'an integer'}`);
  }
  if (v < min || v > max) throw new UsageError(`--${name}: ${v} is outside [${min}, ${max}]`);
  return v;
}

export function str(values: Values, name: string, def: string): string {
  const raw = values[name];
  return typeof raw === 'string' ? raw : def;
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

export const ms = (x: number): string => `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x)} ms`;
export const rate = (x: number, unit: string): string => `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)} ${unit}/s`;
export const count = (x: number): string => x.toLocaleString('en-US');
export const pct = (l: LatencySummaryMs): string => `p50 ${ms(l.p50)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}`;

export function mergeErrors(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

export function lastCounter(s: Second | null, name: string): number {
  return s?.counters.get(name) ?? 0;
}

export function lastP99(s: Second | null, metric: string): string {
  const h = s?.hists.get(metric);
  return h === undefined || h.count === 0 ? '-' : ms(h.percentileUs(99) / 1000);
}

export interface OpenPhase {
  requested: number;
  opened: number;
  failed: number;
  errors: Record<string, number>;
  wallMs: number;
  sessionsPerSec: number;
  latencyMs: LatencySummaryMs;
}

/** Opens `n` sessions over the pool at `ratePerSec` in all (0: as fast as possible). */
export async function openSessions(ctx: ScenarioContext, n: number, ratePerSec: number, concurrency: number, label = 'open'): Promise<OpenPhase> {
  const { pool, progress } = ctx;
  progress.phase(label, (last, p) => {
    const done = p.counter('connected');
    return `sessions ${count(done)}/${count(n)}  ${rate(lastCounter(last, 'connected'), 'sess')}  connect p99 ${lastP99(last, 'connect')}  failed ${count(p.counter('connectFailed'))}`;
  });
  const parts = shares(n, pool.size);
  const offsets = parts.map((_, i) => parts.slice(0, i).reduce((a, b) => a + b, 0));
  const perSessionTimeout = Math.min(ctx.common.sessionTimeoutMs * 2, 60000);
  const t0 = performance.now();
  const results = await pool.all<OpenResult>(
    (i) => ({
      kind: 'open',
      count: parts[i] ?? 0,
      ratePerSec: ratePerSec > 0 ? (ratePerSec * (parts[i] ?? 0)) / n : 0,
      concurrency,
      timeoutMs: perSessionTimeout,
      offset: offsets[i] ?? 0,
    }),
    ctx.left(),
  );
  const wallMs = performance.now() - t0;
  const errors: Record<string, number> = {};
  let opened = 0;
  let failed = 0;
  let honoured: boolean | null = null;
  for (const r of results) {
    opened += r.opened;
    failed += r.failed;
    mergeErrors(errors, r.errors);
    if (r.sourceAddrsHonoured !== null) honoured = honoured === false ? false : r.sourceAddrsHonoured;
  }
  if (honoured === false) {
    ctx.warn('--source-addrs had no effect: the zkts client cannot bind a local address (it needs a ClientOptions.localAddress); sessions used the default source address');
  }
  const latencyMs = pool.total('connect').summaryMs();
  const phase = { requested: n, opened, failed, errors, wallMs: Math.round(wallMs), sessionsPerSec: opened / (wallMs / 1000), latencyMs };
  progress.note(`${label}: ${count(opened)}/${count(n)} sessions in ${(wallMs / 1000).toFixed(2)} s (${rate(phase.sessionsPerSec, 'sess')}), connect ${pct(latencyMs)}${failed > 0 ? `, ${count(failed)} failed` : ''}`);
  return phase;
}

export interface ClosePhase {
  closed: number;
  timedOut: number;
  wallMs: number;
  sessionsPerSec: number;
  latencyMs: LatencySummaryMs;
}

export async function closeSessions(ctx: ScenarioContext, ratePerSec: number, concurrency: number): Promise<ClosePhase> {
  const { pool, progress } = ctx;
  const before = pool.counter('closed');
  progress.phase('close', (last, p) => `closed ${count(p.counter('closed') - before)}  ${rate(lastCounter(last, 'closed'), 'sess')}  close p99 ${lastP99(last, 'close')}`);
  const t0 = performance.now();
  const results = await pool.all<CloseResult>(() => ({ kind: 'close', ratePerSec: ratePerSec / pool.size, concurrency, timeoutMs: 5000 }), ctx.left());
  const wallMs = performance.now() - t0;
  let closed = 0;
  let timedOut = 0;
  for (const r of results) {
    closed += r.closed;
    timedOut += r.timedOut;
  }
  const latencyMs = pool.total('close').summaryMs();
  const phase = { closed, timedOut, wallMs: Math.round(wallMs), sessionsPerSec: closed / (wallMs / 1000), latencyMs };
  progress.note(`close: ${count(closed)} sessions in ${(wallMs / 1000).toFixed(2)} s (${rate(phase.sessionsPerSec, 'sess')}), close ${pct(latencyMs)}${timedOut > 0 ? `, ${timedOut} timed out` : ''}`);
  return phase;
}

export const sessionOptions = {
  sessions: { type: 'string', short: 'n' },
  rate: { type: 'string', short: 'r' },
  concurrency: { type: 'string' },
} as const;

export const sessionHelp = `  -n, --sessions N        sessions to open (default %SESSIONS%)
  -r, --rate R            sessions opened per second, all workers together (default 0: as fast as possible)
      --concurrency N     connects in flight per worker at most (default 256)`;

/** "0.51 / 3.89 / 8.10 ms": several latencies in milliseconds, rounded for reading. */
export function msList(...xs: number[]): string {
  return `${xs.map((x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : String(Math.round(x)))).join(' / ')} ms`;
}

/** The servers' PIDs: --server-pid, else (every host of the connect string on loopback) the
 *  processes listening on their ports, found through /proc; null when neither. */
export function serverPid(ctx: ScenarioContext): number[] | null {
  if (ctx.common.serverPid !== null) return [ctx.common.serverPid];
  const hosts = (ctx.common.connect.split('/')[0] ?? '').split(',');
  const pids: number[] = [];
  for (const h of hosts) {
    const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::(\d+))?$/.exec(h);
    const pid = m === null ? null : listeningPid(m[2] !== undefined ? Number(m[2]) : 2181);
    if (pid === null) return null;
    if (!pids.includes(pid)) pids.push(pid);
  }
  ctx.progress.note(`server: pid ${pids.join(', ')} (listening on ${ctx.common.connect}; --server-pid to name another)`);
  return pids;
}

/** CPU (ticks) and RSS (bytes) of the server's process tree and of this run's worker processes
 *  at one instant; a side is null when its /proc cannot be read. */
export interface CostSample {
  at: number;
  serverTicks: number | null;
  serverRss: number | null;
  clientTicks: number | null;
  clientRss: number | null;
}

/** Sums f over pids; null if any is unreadable. */
function sum(pids: readonly number[], f: (pid: number) => number | null): number | null {
  let total = 0;
  for (const p of pids) {
    const v = f(p);
    if (v === null) return null;
    total += v;
  }
  return total;
}

export function sampleCost(ctx: ScenarioContext, pids: readonly number[] | null): CostSample {
  let clientTicks: number | null = 0;
  let clientRss: number | null = 0;
  for (const p of ctx.pool.pids) {
    const t = processCpuTicks(p);
    const r = processRss(p);
    clientTicks = t === null || clientTicks === null ? null : clientTicks + t;
    clientRss = r === null || clientRss === null ? null : clientRss + r;
  }
  return { at: performance.now(), serverTicks: pids === null ? null : sum(pids, treeCpuTicks), serverRss: pids === null ? null : sum(pids, treeRss), clientTicks, clientRss };
}

/** What a held session and an answered ping cost the server and this client: CPU µs per ping
 *  over the window [a, b] in which `pings` were answered, RSS per session from `before` (no
 *  sessions) to b (`sessions` held). Null where not readable. */
export interface SessionCost {
  windowMs: number;
  pings: number;
  serverCpuUsPerPing: number | null;
  serverRssPerSessionBytes: number | null;
  clientCpuUsPerPing: number | null;
  clientRssPerSessionBytes: number | null;
}

export function sessionCost(before: CostSample, a: CostSample, b: CostSample, pings: number, sessions: number): SessionCost {
  const usPerTick = 1e6 / procClockTicksPerS;
  const cpu = (x: number | null, y: number | null): number | null => (x === null || y === null || pings <= 0 ? null : ((y - x) * usPerTick) / pings);
  const rss = (x: number | null, y: number | null): number | null => (x === null || y === null || sessions <= 0 ? null : Math.round((y - x) / sessions));
  return {
    windowMs: Math.round(b.at - a.at),
    pings,
    serverCpuUsPerPing: cpu(a.serverTicks, b.serverTicks),
    serverRssPerSessionBytes: rss(before.serverRss, b.serverRss),
    clientCpuUsPerPing: cpu(a.clientTicks, b.clientTicks),
    clientRssPerSessionBytes: rss(before.clientRss, b.clientRss),
  };
}

/** "12.3 µs / ping, 5.6 KiB / session" (or "-" for what could not be read). */
export function costText(cpuUs: number | null, rssBytes: number | null): string {
  return `${cpuUs === null ? '-' : cpuUs.toFixed(1)} µs CPU / ping, ${rssBytes === null ? '-' : (rssBytes / 1024).toFixed(2)} KiB RSS / session`;
}
