// watch: N sessions set a data watch (exists with a watcher) on one znode; one setData; how long
// until the first and 50 / 99 / 100% of the sessions got their notification (arrival wall-clock time in each
// worker minus the moment the setData was sent, on the same machine's clock), and how many never did.
// With lean watchers (in this process) it also reports the CPU this process and the server's
// process tree (when its /proc is readable: --server-pid, or a server on loopback) spent from the
// setData to the last notification, so a run shows whether the measuring side kept up.

import { createClient } from '../../client/index.js';
import { ZkError } from '../../client/errors.js';
import { Err } from '../../common/zk.js';
import { Histogram } from '../histogram.js';
import { openLeanWatchers } from '../lean-watch.js';
import { machineBusyTicks, treeCpuNs } from '../proc.js';
import { poolShutdownGraceMs, procClockTicksPerS } from '../limits.js';
import { nowMs, type WatchArmResult, type WatchWaitResult } from '../protocol.js';
import type { Chart, Scenario, Values } from '../types.js';
import { UsageError, closeSessions, count, ms, num, openSessions, pct, serverPid, sessionHelp, sessionOptions, str, msList } from './common.js';

function at(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** CPU time (ns) of the servers' process trees; null when any is unreadable or none is known. */
function serverCpuNs(pids: number[] | null): number | null {
  if (pids === null) return null;
  let total = 0;
  for (const p of pids) {
    const t = treeCpuNs(p);
    if (t === null) return null;
    total += t;
  }
  return total;
}

/** Lean watchers in this process: --client lean, or its older spelling --lean. */
function leanWatchers(v: Values): boolean {
  return v['lean'] === true || v['client'] === 'lean';
}

function parse(v: Values) {
  const path = str(v, 'path', '/zkts-load-watch');
  if (!path.startsWith('/') || path === '/' || path.endsWith('/')) throw new UsageError(`--path: '${path}' is not a znode path`);
  return {
    n: num(v, 'sessions', 1000, 1, 1_000_000),
    r: num(v, 'rate', 0, 0, 1_000_000, true),
    concurrency: num(v, 'concurrency', 256, 1, 100_000),
    path,
    waitS: num(v, 'wait', 30, 0.1, 3600, true),
  };
}

export const watchScenario: Scenario = {
  name: 'watch',
  summary: 'N sessions watch one znode; one change; time until 50/99/100% of the notifications',
  help: `${sessionHelp.replace('%SESSIONS%', '1000')}
      --path P            the watched znode (default /zkts-load-watch; created if missing)
      --wait S            how long to wait for the notifications (default 30)
      --client lean       raw-socket watchers in this process (src/load/lean-watch.ts), not a
                          full client per session in the worker processes (--lean: the same)`,
  options: { ...sessionOptions, path: { type: 'string' }, wait: { type: 'string' }, lean: { type: 'boolean' } },
  // The full client by default; --client lean (or --lean) runs lean watchers in this process.
  lean: false,
  leanInProcess: true,
  latencyMetrics: ['connect'],
  rateCounters: ['notified'],
  sessions: (v) => (leanWatchers(v) ? 0 : num(v, 'sessions', 1000, 1, 1_000_000)),
  validate: (v) => {
    if (v['lean'] === true && v['client'] === 'full') throw new UsageError('--lean and --client full: choose one');
    parse(v);
  },
  async run(ctx) {
    const { n, r, concurrency, path, waitS } = parse(ctx.values);
    const { pool, progress } = ctx;

    const writer = createClient(ctx.common.connect, { sessionTimeoutMs: 30000 });
    try {
      await writer.waitConnected(Math.min(30000, ctx.left()));
      await writer.create(path).catch((e: unknown) => {
        if (!(e instanceof ZkError && e.code === Err.nodeExists)) throw e;
      });
      // Found before the watchers' sockets exist (the lookup reads /proc/net/tcp).
      const pids = leanWatchers(ctx.values) ? serverPid(ctx) : null;
      const lean = leanWatchers(ctx.values) ? await openLeanWatchers(ctx, n, concurrency) : null;
      const open = lean?.open ?? (await openSessions(ctx, n, r, concurrency));
      progress.phase('arm', () => `setting ${count(open.opened)} watches on ${path}`);
      const armed = lean !== null ? [await lean.lean.arm(path, Math.min(60000, ctx.left()))] : await pool.all<WatchArmResult>(() => ({ kind: 'watchArm', path, timeoutMs: Math.min(60000, ctx.left()) }), ctx.left());
      let nArmed = 0;
      let armFailed = 0;
      for (const a of armed) {
        nArmed += a.armed;
        armFailed += a.failed;
      }
      progress.phase('wait', (_l, p) => `notified ${count(p.counter('notified'))}/${count(nArmed)}`);
      const serverNs0 = serverCpuNs(pids);
      const busy0 = machineBusyTicks();
      const load0 = process.cpuUsage();
      const t0 = nowMs();
      await writer.setData(path, `change at ${t0}`);
      const setDataMs = nowMs() - t0;
      const waited = lean !== null ? [await lean.lean.wait(nArmed, Math.min(waitS * 1000, ctx.left()))] : await pool.all<WatchWaitResult>(() => ({ kind: 'watchWait', timeoutMs: Math.min(waitS * 1000, ctx.left()) }), ctx.left() + 1000);
      const loadUs = process.cpuUsage(load0);
      const serverNs1 = serverCpuNs(pids);
      const busy1 = machineBusyTicks();
      const loadCpuMs = Math.round((loadUs.user + loadUs.system) / 1000);
      const serverCpuMs = serverNs0 === null || serverNs1 === null ? null : Math.round((serverNs1 - serverNs0) / 1e5) / 10;
      const cpu = lean === null ? null : {
        windowMs: Math.round(nowMs() - t0),
        loadCpuMs,
        serverCpuMs,
        // Everything else the machine ran in the window (other processes, the kernel's own work):
        // a round with much of it measured the machine's load as much as the server.
        otherCpuMs: busy0 === null || busy1 === null || serverCpuMs === null ? null : Math.max(0, Math.round(((busy1 - busy0) * 1000) / procClockTicksPerS - serverCpuMs - loadCpuMs)),
      };
      const delays: number[] = [];
      let unexpected = 0;
      for (const w of waited) {
        for (const a of w.arrivals) delays.push(Math.max(0, a - t0));
        unexpected += w.unexpected;
      }
      delays.sort((a, b) => a - b);
      const hist = new Histogram();
      for (const d of delays) hist.recordMs(d);
      const missed = nArmed - delays.length;
      const round = (x: number): number => Math.round(x * 1000) / 1000;
      const t0First = round(delays[0] ?? 0);
      const t50 = round(at(delays, 50));
      const t99 = round(at(delays, 99));
      const t100 = round(at(delays, 100));
      progress.note(`watch: ${count(delays.length)}/${count(nArmed)} notified; 50% after ${ms(t50)}, 99% after ${ms(t99)}, 100% after ${ms(t100)}${missed > 0 ? `; ${missed} missed` : ''}`);
      await (lean !== null ? lean.lean.closeAll(poolShutdownGraceMs) : closeSessions(ctx, 0, concurrency));

      // Cumulative share notified over time, at most 300 points.
      const points: Array<[number, number]> = [[0, 0]];
      const step = Math.max(1, Math.floor(delays.length / 300));
      for (let i = step - 1; i < delays.length; i += step) points.push([round(delays[i]!), round(((i + 1) / nArmed) * 100)]);
      if (delays.length > 0 && points[points.length - 1]![0] !== round(delays[delays.length - 1]!)) {
        points.push([round(delays[delays.length - 1]!), round((delays.length / nArmed) * 100)]);
      }
      const charts: Chart[] = [{ title: 'Sessions notified after the change', xLabel: 'ms after setData was sent', yLabel: '% of watching sessions', series: [{ name: 'notified', points }] }];
      const problems: string[] = [];
      if (open.failed > 0) problems.push(`${open.failed} of ${n} connects failed`);
      if (armFailed > 0) problems.push(`${armFailed} watches could not be set`);
      if (missed > 0) problems.push(`${missed} of ${nArmed} sessions were not notified within ${waitS} s`);
      if (unexpected > 0) problems.push(`${unexpected} unexpected watch events`);
      return {
        options: { sessions: n, rate: r, concurrency, path, wait: waitS },
        summary: {
          sessions: open.opened,
          armed: nArmed,
          armFailed,
          notified: delays.length,
          missed,
          unexpected,
          setDataMs: round(setDataMs),
          timeToPercentMs: { first: t0First, p50: t50, p90: round(at(delays, 90)), p99: t99, p100: t100 },
          notificationDelayMs: hist.summaryMs(),
          cpu,
          open,
        },
        figures: [
          ['sessions watching', `${count(nArmed)} / ${count(n)}`],
          ['notified / missed', `${count(delays.length)} / ${count(missed)}`],
          ['time to the first / 50% / 99% / 100%', `${msList(t0First, t50, t99, t100)}`],
          ['setData round trip', ms(setDataMs)],
          ...(cpu === null ? [] : [['CPU, setData to the last notification', `load client ${cpu.loadCpuMs} ms, server ${cpu.serverCpuMs === null ? '-' : `${cpu.serverCpuMs} ms`}, the rest of the machine ${cpu.otherCpuMs === null ? '-' : `${cpu.otherCpuMs} ms`} in ${cpu.windowMs} ms`] as [string, string]]),
          ['connect', pct(open.latencyMs)],
        ],
        problems,
        charts,
      };
    } finally {
      await writer.close();
    }
  },
};
