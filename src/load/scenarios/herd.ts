// herd: N sessions drop their connections at the same instant (every worker at one wall-clock
// time) and reconnect at once (or after --down-ms, spread by --jitter-ms), each resuming its
// session with its id and password. Measures the time until all are back (and the reconnect-time
// percentiles from the drop), how many sessions were lost (the server said expired), failed to
// come back in time, or came back as another session.
// Lean client (the default): every connected socket is reset (RST) at the drop and its session
// re-attached with a ConnectRequest carrying its id and password, at most --concurrency per worker
// in flight; an attempt refused, closed by the server (a connection throttle sheds that way) or
// unanswered for leanReattachAttemptMs (2 s) is retried after a short jittered backoff, never a session
// timeout. The server's and the load client's CPU over the herd are reported (server: --server-pid
// or the process listening on the loopback port).

import type { HerdResult } from '../protocol.js';
import { nowMs } from '../protocol.js';
import type { CommonOptions, Scenario, Values } from '../types.js';
import { procClockTicksPerS } from '../limits.js';
import { closeSessions, count, lastCounter, mergeErrors, msList, num, openSessions, pct, rate, sampleCost, serverPid, sessionHelp, sessionOptions } from './common.js';

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
      --wait S            how long the sessions get to come back (default: the session timeout)
  lean client: --concurrency also bounds the re-attaches in flight per worker; a re-attach refused,
  shed (closed before its answer) or unanswered for 2 s is retried after 5-250 ms (jittered)`,
  options: { ...sessionOptions, 'down-ms': { type: 'string' }, 'jitter-ms': { type: 'string' }, wait: { type: 'string' } },
  lean: true,
  latencyMetrics: ['reconnect', 'connect'],
  rateCounters: ['resumed', 'lost', 'reconnectFailed'],
  sessions: (v) => num(v, 'sessions', 1000, 1, 1_000_000),
  validate: (v, common) => void parse(v, common),
  async run(ctx) {
    const { n, r, concurrency, downMs, jitterMs, waitS } = parse(ctx.values, ctx.common);
    const { pool, progress } = ctx;
    const open = await openSessions(ctx, n, r, concurrency);
    progress.phase('herd', (last, p) => `back ${count(p.counter('resumed'))}/${count(open.opened)}  ${rate(lastCounter(last, 'resumed'), 'sess')}  lost ${count(p.counter('lost'))}  failed ${count(p.counter('reconnectFailed'))}  retries ${count(p.counter('connectRetries'))}`);
    // Every worker drops at the same wall-clock instant, far enough ahead for the command to arrive.
    const atMs = nowMs() + 300;
    const pid = ctx.common.client === 'lean' ? serverPid(ctx) : null;
    const a = sampleCost(ctx, pid);
    const results = await pool.all<HerdResult>(() => ({ kind: 'herd', atMs, downMs, jitterMs, timeoutMs: Math.round(waitS * 1000), concurrency }), ctx.left());
    const b = sampleCost(ctx, pid);
    const h = { dropped: 0, resumed: 0, expired: 0, failed: 0, changedId: 0, retries: 0, retryReasons: {} as Record<string, number>, errors: {} as Record<string, number> };
    for (const x of results) {
      h.dropped += x.dropped;
      h.resumed += x.resumed;
      h.expired += x.expired;
      h.failed += x.failed;
      h.changedId += x.changedId;
      h.retries += x.retries ?? 0;
      mergeErrors(h.retryReasons, x.retryReasons ?? {});
      mergeErrors(h.errors, x.errors ?? {});
    }
    const back = pool.total('reconnect').summaryMs();
    // Each session's time back is counted from its worker's drop (every worker drops at atMs).
    const allBackMs = h.resumed === h.dropped ? back.max : null;
    // CPU spent (ms) from just before the drop until every worker had its sessions back or gave up.
    const cpuMs = (x: number | null, y: number | null): number | null => (x === null || y === null ? null : ((y - x) * 1000) / procClockTicksPerS);
    const herdCpu = { windowMs: Math.round(b.at - a.at), serverCpuMs: cpuMs(a.serverTicks, b.serverTicks), clientCpuMs: cpuMs(a.clientTicks, b.clientTicks) };
    progress.note(`herd: ${count(h.resumed)}/${count(h.dropped)} back${allBackMs !== null ? `, all within ${allBackMs} ms` : ''}; reconnect ${pct(back)}; ${h.expired} lost, ${h.failed} failed`);
    await closeSessions(ctx, 0, concurrency);
    const problems: string[] = [];
    if (open.failed > 0) problems.push(`${open.failed} of ${n} connects failed`);
    if (h.expired > 0) problems.push(`${h.expired} sessions lost (expired)`);
    if (h.failed > 0) problems.push(`${h.failed} sessions not back within ${waitS} s`);
    if (h.changedId > 0) problems.push(`${h.changedId} sessions came back with another session id`);
    if (Object.keys(h.errors).length > 0) problems.push(`errors: ${JSON.stringify(h.errors)}`);
    return {
      options: { sessions: n, rate: r, concurrency, downMs, jitterMs, wait: waitS },
      summary: { open, herd: { ...h, allBackMs, reconnectMs: back, cpu: herdCpu, serverPids: pid } },
      figures: [
        ['sessions dropped', count(h.dropped)],
        ['resumed / lost / failed', `${count(h.resumed)} / ${count(h.expired)} / ${count(h.failed)}`],
        ['all back after', allBackMs === null ? 'not all came back' : `${allBackMs} ms`],
        ['reconnect p50 / p99 / max', `${msList(back.p50, back.p99, back.max)}`],
        ['reconnect rate', rate(back.max > 0 ? h.resumed / (back.max / 1000) : 0, 'sess')],
        ...(ctx.common.client === 'lean'
          ? ([
              ['connect retries', h.retries === 0 ? '0' : `${count(h.retries)} ${JSON.stringify(h.retryReasons)}`],
              ['CPU during the herd', `server ${herdCpu.serverCpuMs === null ? '-' : `${Math.round(herdCpu.serverCpuMs)} ms`}, load client ${herdCpu.clientCpuMs === null ? '-' : `${Math.round(herdCpu.clientCpuMs)} ms`} in ${herdCpu.windowMs} ms`],
            ] as Array<[string, string]>)
          : []),
      ],
      problems,
    };
  },
};
