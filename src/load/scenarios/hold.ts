// hold: keep N sessions alive for D seconds.
// Measures: disconnects and expirations during the hold, sessions still connected at the end,
// heartbeat round trips (see below), and when the server's /proc is readable (--server-pid, or
// found as the process listening on the target's loopback port) its CPU per ping and RSS per held
// session, beside the same two figures for this run's own worker processes (lean client).
//
// Heartbeats, lean client (the default): real pings, each session one every --probe-interval
// (default: session timeout / 3, as the Java and zkts clients ping when idle); every reply is
// checked (xid -2, err 0, 16 bytes); the round trips are the RTT histogram. A session the server
// closes counts as a disconnect (the lean client does not reconnect during a hold).
// Heartbeats, full client (--client full): the zkts client sends its pings internally and does
// not expose their round trip, so each session sends a one-for-one replacement instead:
// exists(<probe path>) every ping interval, which also suppresses the client's own pings (they
// are sent only when nothing else was). --no-probe leaves the client's pings alone.

import type { HoldResult } from '../protocol.js';
import type { CommonOptions, Scenario, Values } from '../types.js';
import { UsageError, closeSessions, costText, count, lastP99, mergeErrors, msList, num, openSessions, pct, sampleCost, serverPid, sessionCost, sessionHelp, sessionOptions, str } from './common.js';

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
  summary: 'keep N sessions alive for D seconds (expirations, disconnects, ping RTT, server and client CPU per ping and RSS per session)',
  help: `${sessionHelp.replace('%SESSIONS%', '1000')}
  -d, --duration S        seconds to hold the sessions (default 30)
      --probe-interval MS heartbeat period per session (default: session timeout / 3, the client's ping period)
      --probe-path P      full client: the znode the heartbeat reads with exists() (default /)
      --no-probe          full client: no heartbeats, the client's own pings keep the sessions (no round trips)
  lean client: the heartbeat is a ping, every reply checked; with --server-pid (or a server found
  listening on the loopback port) the server's CPU per ping and RSS per session are reported beside
  this run's own (its worker processes)`,
  options: { ...sessionOptions, duration: { type: 'string', short: 'd' }, 'probe-interval': { type: 'string' }, 'probe-path': { type: 'string' }, 'no-probe': { type: 'boolean' } },
  lean: true,
  latencyMetrics: ['probe', 'connect'],
  rateCounters: ['disconnects', 'expirations', 'probeErrors'],
  sessions: (v) => num(v, 'sessions', 1000, 1, 1_000_000),
  validate: (v, common) => void parse(v, common),
  async run(ctx) {
    const { n, r, concurrency, durationS, probe, probeIntervalMs, probePath } = parse(ctx.values, ctx.common);
    const lean = ctx.common.client === 'lean';
    const pids = serverPid(ctx);
    const before = sampleCost(ctx, pids);
    const rssBefore = before.serverRss;
    if (pids !== null && rssBefore === null) ctx.warn(`cannot read /proc/${pids.join(',')}/status: no server memory figures`);

    const open = await openSessions(ctx, n, r, concurrency);
    const rssAfterOpen = sampleCost(ctx, pids).serverRss;
    const { pool, progress } = ctx;
    progress.phase('hold', (last, p) => `connected ${count(p.connectedNow())}/${count(open.opened)}  disconnects ${count(p.counter('disconnects'))}  expired ${count(p.counter('expirations') + p.counter('lost'))}  rtt p99 ${lastP99(last, 'probe')}`);
    const a = sampleCost(ctx, pids);
    const results = await pool.all<HoldResult>(() => ({ kind: 'hold', durationMs: Math.round(durationS * 1000), probeIntervalMs, probePath }), ctx.left());
    const b = sampleCost(ctx, pids);
    const rssAfterHold = b.serverRss;
    const h = { connectedAtEnd: 0, disconnects: 0, expirations: 0, probes: 0, probeErrors: 0, pingsLate: 0, protocolErrors: 0, disconnectReasons: {} as Record<string, number>, errors: {} as Record<string, number> };
    for (const x of results) {
      mergeErrors(h.disconnectReasons, x.disconnectReasons ?? {});
      mergeErrors(h.errors, x.errors ?? {});
      h.connectedAtEnd += x.connectedAtEnd;
      h.disconnects += x.disconnects;
      h.expirations += x.expirations;
      h.probes += x.probes;
      h.probeErrors += x.probeErrors;
      h.pingsLate += x.pingsLate ?? 0;
      h.protocolErrors += x.protocolErrors ?? 0;
    }
    const rtt = pool.total('probe').summaryMs();
    const cost = lean || probe ? sessionCost(before, a, b, h.probes, h.connectedAtEnd) : null;
    progress.note(`hold: ${count(h.connectedAtEnd)}/${count(open.opened)} connected after ${durationS} s, ${h.disconnects} disconnects, ${h.expirations} expirations${probe || lean ? `, ${lean ? 'ping' : 'heartbeat'} ${pct(rtt)}` : ''}`);
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
    if (h.protocolErrors > 0) problems.push(`${h.protocolErrors} replies failed the protocol checks: ${JSON.stringify(h.errors)}`);
    if (h.connectedAtEnd !== open.opened) problems.push(`${open.opened - h.connectedAtEnd} sessions not connected at the end of the hold`);
    const figures: Array<[string, string]> = [
      ['sessions held', `${count(h.connectedAtEnd)} / ${count(n)}`],
      ['hold', `${durationS} s`],
      ['disconnects / expirations', `${h.disconnects} / ${h.expirations}`],
    ];
    if (lean) {
      figures.push(['ping RTT p50 / p99 / max', `${msList(rtt.p50, rtt.p99, rtt.max)} (${count(h.probes)} pings, ${count(h.pingsLate)} late)`]);
      figures.push(['protocol errors', h.protocolErrors === 0 ? '0' : `${h.protocolErrors} ${JSON.stringify(h.errors)}`]);
    } else if (probe) figures.push(['heartbeat RTT p50 / p99 / max', `${msList(rtt.p50, rtt.p99, rtt.max)} (${count(h.probes)} probes, ${h.probeErrors} errors)`]);
    if (memory !== null) {
      const per = memory['bytesPerSession']!;
      const span = `${(rssBefore! / 1048576).toFixed(0)} → ${(rssAfterOpen! / 1048576).toFixed(0)} → ${(rssAfterHold! / 1048576).toFixed(0)} MiB before / after open / after hold`;
      figures.push(['server RSS per session', per > 0 ? `${(per / 1024).toFixed(1)} KiB (${span})` : `not measurable: RSS fell (garbage collection; use more sessions) (${span})`]);
      if (per <= 0) ctx.warn('the server RSS fell during the run: bytes per session is not meaningful at this session count');
    }
    if (cost !== null) {
      // The full client's heartbeat is an exists() request, not a ping: its CPU is per heartbeat.
      const per = (t: string): string => (lean ? t : t.replace('/ ping', '/ heartbeat'));
      if (pids !== null) figures.push(['server cost', per(costText(cost.serverCpuUsPerPing, cost.serverRssPerSessionBytes))]);
      figures.push(['load client cost', per(costText(cost.clientCpuUsPerPing, cost.clientRssPerSessionBytes))]);
    }
    figures.push(['open rate', `${Math.round(open.sessionsPerSec)} sess/s`]);
    return {
      options: { sessions: n, rate: r, concurrency, duration: durationS, probeIntervalMs, probePath },
      summary: { open, hold: { ...h, heartbeatRttMs: probe || lean ? rtt : null }, memory, cost, serverPids: pids, close },
      figures,
      problems,
    };
  },
};
