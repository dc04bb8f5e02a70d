// herd: N sessions drop their connections at the same instant (every worker at one wall-clock
// time) and reconnect at once (or after --down-ms, spread by --jitter-ms), each resuming its
// session with its id and password. Measures the time until all are back (and the reconnect-time
// percentiles from the drop), how many sessions were lost (the server said expired), failed to
// come back in time, or came back as another session.

import type { HerdResult } from '../protocol.js';
import { nowMs } from '../protocol.js';
import type { CommonOptions, Scenario, Values } from '../types.js';
import { closeSessions, count, lastCounter, num, openSessions, pct, rate, sessionHelp, sessionOptions, msList } from './common.js';

function parse(v: Values, common: CommonOptions) {
  return {
    n: num(v, 'sessions', 1000, 1, 1_000_000),
    r: num(v, 'rate', 0, 0, 1_000_000, true),
    concurrency: num(v, 'concurrency', 256, 1, 100_000),
    downMs: num(v, 'down-ms', 0, 0, 3_600_000),
    jitterMs: num(v, 'jitter-ms', 0, 0, 3_600_000),
    waitS: num(v, 'wait', common.sessionTimeoutMs / 1000, 0.1, 3600, true),
  };
}

export const herdScenario: Scenario = {
  name: 'herd',
  summary: 'N sessions drop at once and reconnect resuming their session; time until all are back, sessions lost',
  help: `${sessionHelp.replace('%SESSIONS%', '1000')}
      --down-ms MS        how long the sessions stay disconnected (default 0)
      --jitter-ms MS      spread the reconnects uniformly over this long (default 0: all at once)
      --wait S            how long the sessions get to come back (default: the session timeout)`,
  options: { ...sessionOptions, 'down-ms': { type: 'string' }, 'jitter-ms': { type: 'string' }, wait: { type: 'string' } },
  latencyMetrics: ['reconnect', 'connect'],
  rateCounters: ['resumed', 'lost', 'reconnectFailed'],
  sessions: (v) => num(v, 'sessions', 1000, 1, 1_000_000),
  validate: (v, common) => void parse(v, common),
  async run(ctx) {
    const { n, r, concurrency, downMs, jitterMs, waitS } = parse(ctx.values, ctx.common);
    const { pool, progress } = ctx;
    const open = await openSessions(ctx, n, r, concurrency);
    progress.phase('herd', (last, p) => `back ${count(p.counter('resumed'))}/${count(open.opened)}  ${rate(lastCounter(last, 'resumed'), 'sess')}  lost ${count(p.counter('lost'))}  failed ${count(p.counter('reconnectFailed'))}`);
    // Every worker drops at the same wall-clock instant, far enough ahead for the command to arrive.
    const atMs = nowMs() + 300;
    const results = await pool.all<HerdResult>(() => ({ kind: 'herd', atMs, downMs, jitterMs, timeoutMs: Math.round(waitS * 1000) }), ctx.left());
    const h = { dropped: 0, resumed: 0, expired: 0, failed: 0, changedId: 0 };
    for (const x of results) {
      h.dropped += x.dropped;
      h.resumed += x.resumed;
      h.expired += x.expired;
      h.failed += x.failed;
      h.changedId += x.changedId;
    }
    const back = pool.total('reconnect').summaryMs();
    const allBackMs = h.resumed === h.dropped ? back.max : null;
    progress.note(`herd: ${count(h.resumed)}/${count(h.dropped)} back${allBackMs !== null ? `, all within ${allBackMs} ms` : ''}; reconnect ${pct(back)}; ${h.expired} lost, ${h.failed} failed`);
    await closeSessions(ctx, 0, concurrency);
    const problems: string[] = [];
    if (open.failed > 0) problems.push(`${open.failed} of ${n} connects failed`);
    if (h.expired > 0) problems.push(`${h.expired} sessions lost (expired)`);
    if (h.failed > 0) problems.push(`${h.failed} sessions not back within ${waitS} s`);
    if (h.changedId > 0) problems.push(`${h.changedId} sessions came back with another session id`);
    return {
      options: { sessions: n, rate: r, concurrency, downMs, jitterMs, wait: waitS },
      summary: { open, herd: { ...h, allBackMs, reconnectMs: back } },
      figures: [
        ['sessions dropped', count(h.dropped)],
        ['resumed / lost / failed', `${count(h.resumed)} / ${count(h.expired)} / ${count(h.failed)}`],
        ['all back after', allBackMs === null ? 'not all came back' : `${allBackMs} ms`],
        ['reconnect p50 / p99 / max', `${msList(back.p50, back.p99, back.max)}`],
        ['reconnect rate', rate(back.max > 0 ? h.resumed / (back.max / 1000) : 0, 'sess')],
      ],
      problems,
    };
  },
};
