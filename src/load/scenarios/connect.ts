// connect: open N sessions at a target (or the highest) rate, then close them all.
// Measures: sessions/s, connect latency (createClient → 'connected') percentiles, failures by
// kind; then the close rate and close latency (close() → closeSession answered).

import type { Scenario, Values } from '../types.js';
import { closeSessions, count, num, openSessions, rate, sessionHelp, sessionOptions, msList } from './common.js';

function parse(v: Values) {
  return {
    n: num(v, 'sessions', 1000, 1, 1_000_000),
    r: num(v, 'rate', 0, 0, 1_000_000, true),
    concurrency: num(v, 'concurrency', 256, 1, 100_000),
    holdS: num(v, 'hold', 0, 0, 3600, true),
    closeRate: num(v, 'close-rate', 0, 0, 1_000_000, true),
  };
}

export const connectScenario: Scenario = {
  name: 'connect',
  summary: 'open N sessions at a target or maximum rate, then close them (sessions/s, connect latency, failures, close rate)',
  help: `${sessionHelp.replace('%SESSIONS%', '1000')}
      --hold S            seconds to keep the sessions open between opening and closing (default 0)
      --close-rate R      sessions closed per second (default 0: as fast as possible)`,
  options: { ...sessionOptions, hold: { type: 'string' }, 'close-rate': { type: 'string' } },
  lean: true,
  latencyMetrics: ['connect', 'close'],
  rateCounters: ['connected', 'closed', 'connectFailed'],
  sessions: (v) => num(v, 'sessions', 1000, 1, 1_000_000),
  validate: (v) => void parse(v),
  async run(ctx) {
    const { n, r, concurrency, holdS, closeRate } = parse(ctx.values);
    const open = await openSessions(ctx, n, r, concurrency);
    if (holdS > 0) {
      ctx.progress.phase('hold', (_l, p) => `connected ${count(p.connectedNow())}`);
      const end = performance.now() + holdS * 1000;
      while (performance.now() < end && performance.now() < ctx.deadline) await new Promise((res) => setTimeout(res, Math.min(200, end - performance.now())));
    }
    const close = await closeSessions(ctx, closeRate, concurrency);
    const problems: string[] = [];
    if (open.failed > 0) problems.push(`${open.failed} of ${n} connects failed: ${JSON.stringify(open.errors)}`);
    if (close.closed !== open.opened) problems.push(`${open.opened} sessions opened but ${close.closed} closed`);
    if (close.timedOut > 0) problems.push(`${close.timedOut} closes timed out`);
    return {
      options: { sessions: n, rate: r, concurrency, hold: holdS, closeRate },
      summary: { open, close },
      figures: [
        ['sessions opened', `${count(open.opened)} / ${count(n)}`],
        ['connect failures', count(open.failed)],
        ['open rate', rate(open.sessionsPerSec, 'sess')],
        ['connect p50 / p99 / max', `${msList(open.latencyMs.p50, open.latencyMs.p99, open.latencyMs.max)}`],
        ['close rate', rate(close.sessionsPerSec, 'sess')],
        ['close p50 / p99 / max', `${msList(close.latencyMs.p50, close.latencyMs.p99, close.latencyMs.max)}`],
      ],
      problems,
    };
  },
};
