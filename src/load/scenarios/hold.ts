// hold: keep N sessions alive for D seconds.
// Measures: disconnects and expirations during the hold, sessions still connected at the end,
// heartbeat round trips (see below), and the server's memory per session when its PID is known
// (--server-pid: VmRSS of the process tree before opening and after the hold).
//
// Heartbeats: the zkts client sends its pings internally and does not expose their round trip, so
// each session sends a one-for-one replacement instead: exists(<probe path>) every ping interval
// (timeout / 3, as the client would ping), which also suppresses the client's own pings (they are
// sent only when nothing else was). --no-probe leaves the client's pings alone (no round trips).

import { treeRss } from '../proc.js';
import type { HoldResult } from '../protocol.js';
import type { CommonOptions, Scenario, Values } from '../types.js';
import { UsageError, closeSessions, count, lastP99, mergeErrors, num, openSessions, pct, sessionHelp, sessionOptions, str, msList } from './common.js';

function parse(v: Values, common: CommonOptions) {
  const probe = v['no-probe'] !== true;
  const probePath = str(v, 'probe-path', '/');
  if (!probePath.startsWith('/')) throw new UsageError(`--probe-path: '${probePath}' is not a znode path`);
  return {
    n: num(v, 'sessions', 1000, 1, 1_000_000),
    r: num(v, 'rate', 0, 0, 1_000_000, true),
    concurrency: num(v, 'concurrency', 256, 1, 100_000),
    durationS: num(v, 'duration', 30, 0.1, 86_400, true),
    probe,
    probeIntervalMs: probe ? num(v, 'probe-interval', Math.max(100, Math.floor(common.sessionTimeoutMs / 3)), 10, 600_000) : 0,
    probePath,
  };
}

export const holdScenario: Scenario = {
  name: 'hold',
  summary: 'keep N sessions alive for D seconds (expirations, disconnects, heartbeat RTT, server memory per session)',
  help: `${sessionHelp.replace('%SESSIONS%', '1000')}
  -d, --duration S        seconds to hold the sessions (default 30)
      --probe-interval MS heartbeat period per session (default: session timeout / 3, the client's ping period)
      --probe-path P      the znode the heartbeat reads with exists() (default /)
      --no-probe          no heartbeats: the client's own pings keep the sessions (no round trips measured)`,
  options: { ...sessionOptions, duration: { type: 'string', short: 'd' }, 'probe-interval': { type: 'string' }, 'probe-path': { type: 'string' }, 'no-probe': { type: 'boolean' } },
  latencyMetrics: ['probe', 'connect'],
  rateCounters: ['disconnects', 'expirations', 'probeErrors'],
  sessions: (v) => num(v, 'sessions', 1000, 1, 1_000_000),
  validate: (v, common) => void parse(v, common),
  async run(ctx) {
    const { n, r, concurrency, durationS, probe, probeIntervalMs, probePath } = parse(ctx.values, ctx.common);
    const pid = ctx.common.serverPid;
    const rssBefore = pid === null ? null : treeRss(pid);
    if (pid !== null && rssBefore === null) ctx.warn(`cannot read /proc/${pid}/status: no server memory figures`);

    const open = await openSessions(ctx, n, r, concurrency);
    const rssAfterOpen = pid === null ? null : treeRss(pid);
    const { pool, progress } = ctx;
    progress.phase('hold', (last, p) => `connected ${count(p.connectedNow())}/${count(open.opened)}  disconnects ${count(p.counter('disconnects'))}  expired ${count(p.counter('expirations'))}  rtt p99 ${lastP99(last, 'probe')}`);
    const results = await pool.all<HoldResult>(() => ({ kind: 'hold', durationMs: Math.round(durationS * 1000), probeIntervalMs, probePath }), ctx.left());
    const rssAfterHold = pid === null ? null : treeRss(pid);
    const h = { connectedAtEnd: 0, disconnects: 0, expirations: 0, probes: 0, probeErrors: 0, disconnectReasons: {} as Record<string, number> };
    for (const x of results) {
      mergeErrors(h.disconnectReasons, x.disconnectReasons ?? {});
      h.connectedAtEnd += x.connectedAtEnd;
      h.disconnects += x.disconnects;
      h.expirations += x.expirations;
      h.probes += x.probes;
      h.probeErrors += x.probeErrors;
    }
    const rtt = pool.total('probe').summaryMs();
    progress.note(`hold: ${count(h.connectedAtEnd)}/${count(open.opened)} connected after ${durationS} s, ${h.disconnects} disconnects, ${h.expirations} expirations${probe ? `, heartbeat ${pct(rtt)}` : ''}`);
    const close = await closeSessions(ctx, 0, concurrency);

    let memory: Record<string, number> | null = null;
    if (rssBefore !== null && rssAfterHold !== null) {
      memory = {
        rssBeforeBytes: rssBefore,
        rssAfterOpenBytes: rssAfterOpen ?? 0,
        rssAfterHoldBytes: rssAfterHold,
        bytesPerSession: open.opened > 0 ? Math.round((rssAfterHold - rssBefore) / open.opened) : 0,
      };
    }
    const problems: string[] = [];
    if (open.failed > 0) problems.push(`${open.failed} of ${n} connects failed: ${JSON.stringify(open.errors)}`);
    if (h.expirations > 0) problems.push(`${h.expirations} sessions expired during the hold`);
    if (h.disconnects > 0) problems.push(`${h.disconnects} disconnects during the hold: ${JSON.stringify(h.disconnectReasons)}`);
    if (h.connectedAtEnd !== open.opened) problems.push(`${open.opened - h.connectedAtEnd} sessions not connected at the end of the hold`);
    const figures: Array<[string, string]> = [
      ['sessions held', `${count(h.connectedAtEnd)} / ${count(n)}`],
      ['hold', `${durationS} s`],
      ['disconnects / expirations', `${h.disconnects} / ${h.expirations}`],
    ];
    if (probe) figures.push(['heartbeat RTT p50 / p99 / max', `${msList(rtt.p50, rtt.p99, rtt.max)} (${count(h.probes)} probes, ${h.probeErrors} errors)`]);
    if (memory !== null) {
      const per = memory['bytesPerSession']!;
      const span = `${(rssBefore! / 1048576).toFixed(0)} → ${(rssAfterOpen! / 1048576).toFixed(0)} → ${(rssAfterHold! / 1048576).toFixed(0)} MiB before / after open / after hold`;
      figures.push(['server RSS per session', per > 0 ? `${(per / 1024).toFixed(1)} KiB (${span})` : `not measurable: RSS fell (garbage collection; use more sessions) (${span})`]);
      if (per <= 0) ctx.warn('the server RSS fell during the run: bytes per session is not meaningful at this session count');
    }
    figures.push(['open rate', `${Math.round(open.sessionsPerSec)} sess/s`]);
    return {
      options: { sessions: n, rate: r, concurrency, duration: durationS, probeIntervalMs, probePath },
      summary: { open, hold: { ...h, heartbeatRttMs: probe ? rtt : null }, memory, close },
      figures,
      problems,
    };
  },
};
