// Every `zkts load` scenario, run small against a real zkts server: the JSON results are sane
// (counts match, nothing lost, percentiles ordered) and the HTML report is produced with charts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runLoad } from '../../src/load/cli.js';
import type { LatencySummaryMs } from '../../src/load/histogram.js';
import type { LoadResult } from '../../src/load/types.js';
import { startServer, type ServerHandle } from '../integration/harness/server.js';

let server: ServerHandle;
let dir: string;

before(async () => {
  // 23000-23008: a port still held by another run of this suite (a parallel `npm test`) is skipped.
  for (let port = 23000; ; port++) {
    try {
      server = await startServer('zkts', { port, maxClientCnxns: 0 });
      break;
    } catch (e) {
      if (port >= 23008 || !/already in use/.test((e as Error).message)) throw e;
    }
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-load-test-'));
});

after(async () => {
  await server?.stop();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

const quietIo = { stdout: (): void => undefined, stderr: (): void => undefined };

async function load(name: string, args: string[]): Promise<{ code: number; result: LoadResult; html: string }> {
  const out = path.join(dir, `${name}.json`);
  const html = path.join(dir, `${name}.html`);
  const r = await runLoad([name, '-c', server.connectString, '--quiet', '--timeout', '60', '--out', out, '--html', html, ...args], quietIo);
  const result = JSON.parse(fs.readFileSync(out, 'utf8')) as LoadResult;
  assert.deepEqual(result, JSON.parse(JSON.stringify(r.result)));
  return { code: r.code, result, html: fs.readFileSync(html, 'utf8') };
}

function ordered(l: LatencySummaryMs, what: string): void {
  assert.ok(l.count > 0, `${what}: no samples`);
  assert.ok(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${what}: ${JSON.stringify(l)}`);
  assert.ok(l.max < 30000, `${what}: max ${l.max}`);
}

function sane(r: LoadResult, html: string): void {
  assert.equal(r.error, undefined);
  assert.deepEqual(r.problems, []);
  assert.equal(r.ok, true);
  assert.ok(r.series.length > 0, 'a per-second series');
  for (const row of r.series) for (const [k, l] of Object.entries(row.latencyMs)) ordered(l, `second ${row.t} ${k}`);
  assert.ok(r.charts.length > 0);
  assert.match(html, /<svg/);
  assert.doesNotMatch(html, /NaN/);
}

test('connect: 200 sessions over 2 processes, opened and closed', async () => {
  const { code, result, html } = await load('connect', ['-n', '200', '-w', '2']);
  sane(result, html);
  assert.equal(code, 0);
  assert.equal(result.environment.workers, 2);
  assert.equal(result.environment.workerPids.length, 2);
  const s = result.summary as { open: { opened: number; failed: number; latencyMs: LatencySummaryMs; sessionsPerSec: number }; close: { closed: number; latencyMs: LatencySummaryMs } };
  assert.equal(s.open.opened, 200);
  assert.equal(s.open.failed, 0);
  assert.equal(s.open.latencyMs.count, 200);
  ordered(s.open.latencyMs, 'connect');
  assert.ok(s.open.sessionsPerSec > 0);
  assert.equal(s.close.closed, 200);
  assert.equal(s.close.latencyMs.count, 200);
  const perSecond = result.series.reduce((a, row) => a + (row.counters['connected'] ?? 0), 0);
  assert.equal(perSecond, 200, 'the per-second series adds up to the total');
});

test('connect at a target rate is paced', async () => {
  const { result } = await load('connect', ['-n', '60', '-w', '2', '--rate', '40']);
  const s = result.summary as { open: { opened: number; wallMs: number } };
  assert.equal(s.open.opened, 60);
  assert.ok(s.open.wallMs >= 1300, `60 sessions at 40/s took ${s.open.wallMs} ms`);
});

test('hold: 100 sessions for 3 s, no expirations, server memory read', async () => {
  const { code, result, html } = await load('hold', ['-n', '100', '-w', '2', '-d', '3', '--session-timeout', '6000', '--server-pid', String(server.pid)]);
  sane(result, html);
  assert.equal(code, 0);
  const s = result.summary as {
    open: { opened: number };
    hold: { connectedAtEnd: number; disconnects: number; expirations: number; probes: number; heartbeatRttMs: LatencySummaryMs };
    memory: { rssBeforeBytes: number; rssAfterHoldBytes: number; bytesPerSession: number } | null;
    close: { closed: number };
  };
  assert.equal(s.open.opened, 100);
  assert.equal(s.hold.connectedAtEnd, 100);
  assert.equal(s.hold.expirations, 0);
  assert.equal(s.hold.disconnects, 0);
  // 100 sessions × 3 s / 2 s per probe, spread: at least 100 probes.
  assert.ok(s.hold.probes >= 100, `${s.hold.probes} probes`);
  ordered(s.hold.heartbeatRttMs, 'heartbeat');
  assert.notEqual(s.memory, null);
  assert.ok(s.memory!.rssBeforeBytes > 0 && s.memory!.rssAfterHoldBytes > 0);
  assert.equal(s.close.closed, 100);
});

test('--client full: hold and herd on the zkts client still run (exists() heartbeats, resumed sessions)', async () => {
  const h = await load('hold', ['-n', '50', '-w', '1', '-d', '2', '--session-timeout', '6000', '--probe-interval', '500', '--client', 'full']);
  sane(h.result, h.html);
  assert.equal(h.code, 0);
  assert.equal(h.result.options['client'], 'full');
  const hs = h.result.summary as { hold: { connectedAtEnd: number; probes: number } };
  assert.equal(hs.hold.connectedAtEnd, 50);
  // A heartbeat every 500 ms over a 2 s hold: about 4 per session, so 50 is a floor a slow machine
  // still clears (at the default, session timeout / 3 = 2 s, it was one per session, at the edge).
  assert.ok(hs.hold.probes >= 50, `${hs.hold.probes} probes`);
  const r = await load('herd', ['-n', '50', '-w', '1', '--session-timeout', '10000', '--client', 'full']);
  sane(r.result, r.html);
  assert.equal(r.code, 0);
  const rs = r.result.summary as { herd: { dropped: number; resumed: number; expired: number } };
  assert.deepEqual([rs.herd.dropped, rs.herd.resumed, rs.herd.expired], [50, 50, 0]);
});

test('--client lean is refused where the scenario needs the full client', async () => {
  const r = await runLoad(['read', '-c', server.connectString, '--client', 'lean', '--quiet'], quietIo);
  assert.equal(r.code, 2);
});

for (const scenario of ['read', 'write', 'mixed'] as const) {
  test(`${scenario}: 2 s of pipelined requests`, async () => {
    const { code, result, html } = await load(scenario, ['-C', '4', '-p', '8', '-k', '20', '-S', '64', '-d', '2', '--warmup', '0.3', '--root', `/load-test-${scenario}`]);
    sane(result, html);
    assert.equal(code, 0);
    const s = result.summary as { ops: number; errors: number; opsPerSec: number; latencyMs: Record<string, LatencySummaryMs> };
    assert.equal(s.errors, 0);
    assert.ok(s.ops > 100, `${s.ops} ops`);
    assert.ok(s.opsPerSec > 50);
    const metrics = scenario === 'mixed' ? ['read', 'write'] : [scenario];
    let n = 0;
    for (const m of metrics) {
      ordered(s.latencyMs[m]!, m);
      n += s.latencyMs[m]!.count;
    }
    assert.equal(n, s.ops, 'every measured op is in a histogram');
    assert.match(html, /latency per second/);
  });
}

test('watch: 100 sessions notified of one change', async () => {
  const { code, result, html } = await load('watch', ['-n', '100', '-w', '2', '--path', '/load-test-watch']);
  sane(result, html);
  assert.equal(code, 0);
  const s = result.summary as { armed: number; notified: number; missed: number; timeToPercentMs: { p50: number; p99: number; p100: number } };
  assert.equal(s.armed, 100);
  assert.equal(s.notified, 100);
  assert.equal(s.missed, 0);
  assert.ok(s.timeToPercentMs.p50 <= s.timeToPercentMs.p99 && s.timeToPercentMs.p99 <= s.timeToPercentMs.p100);
  assert.ok(s.timeToPercentMs.p100 < 10000);
  assert.match(html, /Sessions notified after the change/);
});

test('herd: 100 sessions drop at once and all resume', async () => {
  const { code, result, html } = await load('herd', ['-n', '100', '-w', '2', '--session-timeout', '10000']);
  sane(result, html);
  assert.equal(code, 0);
  const s = result.summary as { herd: { dropped: number; resumed: number; expired: number; failed: number; changedId: number; allBackMs: number; reconnectMs: LatencySummaryMs } };
  assert.equal(s.herd.dropped, 100);
  assert.equal(s.herd.resumed, 100);
  assert.equal(s.herd.expired, 0);
  assert.equal(s.herd.failed, 0);
  assert.equal(s.herd.changedId, 0);
  ordered(s.herd.reconnectMs, 'reconnect');
  assert.equal(s.herd.allBackMs, s.herd.reconnectMs.max);
});

test('a dead target: connects fail, the run reports problems and stops by itself', async () => {
  const { code, result } = await (async () => {
    const out = path.join(dir, 'dead.json');
    const r = await runLoad(['connect', '-c', '127.0.0.1:23099', '-n', '5', '--session-timeout', '1000', '--quiet', '--out', out], quietIo);
    return { code: r.code, result: JSON.parse(fs.readFileSync(out, 'utf8')) as LoadResult };
  })();
  assert.equal(code, 3);
  assert.equal(result.ok, false);
  const s = result.summary as { open: { opened: number; failed: number } };
  assert.equal(s.open.opened, 0);
  assert.equal(s.open.failed, 5);
});
