// A herd on one server (issue 11, goal 5; seed 001): S sessions drop their connections at the
// same instant and reconnect at once, each re-establishing its own session with its id and
// password (not new sessions). How long until all are back (goal: 2 s), how many came back expired
// or not at all, and where the time goes: the server's CPU and the load client's over the herd,
// the throttle's counters, the connections the kernel dropped at the listen queue, and how many
// came back in each tenth of the herd.
//
//   npm run bench:herd -- [--sessions 19500] [--workers 2] [--port 25300] [--timeout-ms 30000]
//                         [--wait-s 60] [--throttle-tokens 0] [--throttle-fill-ms 1]
//                         [--throttle-fill-count 1] [--backlog N] [--target zkts|apache|floor]
//                         [--procs N] [--concurrency 512] [--global] [--base DIR]
//
// --warmup W (5000): before the measured herd, a herd of W sessions on the same server (opened,
// dropped, re-attached, closed), so that the measured one finds a server whose JIT has compiled
// the drop and re-attach paths, as a long-running server's has; every target gets the same one.
// 0 measures the first herd a fresh process sees (then V8 compiling is counted as herd cost).
//
// --base DIR: the zkts server of another built checkout (its test harness starts it), for an
// A/B of two builds on the same machine: run it once with --base and once without, in a row.
// The server: one standalone server with local sessions (localSessionsEnabled=true; --global for
// global ones), started as the test harness starts it (tickTime 2000, so a 30 s timeout is
// granted), --workers session workers. The load: `zkts load herd` itself (src/load/cli.ts, run in
// this process; its worker processes hold the sessions on the lean client, src/load/lean-client.ts):
// --procs worker processes (default: as few as the open-file cap allows), --concurrency connects
// in flight per worker, every ConnectResponse checked (same session id back, or "expired"); a
// connect the server closes before answering (the throttle sheds so) is retried after a short
// jittered backoff (5-250 ms, doubling), never a session timeout.
//
// --target floor runs the same herd against the plain-Node floor server (src/load/floor-server.ts):
// what any node:net server pays per re-establish, the yardstick for the server's figure.
//
// Where the time goes: CPU (utime+stime from /proc) of the server's process tree and of the load
// worker processes from just before the drop until the last one was back; their ratio to the wall
// time says which side was busy (on this 2-core machine one side near 1 core while the herd lasts
// is the limit). Server CPU per re-establish = server CPU / sessions back.
//
// Listen-queue losses are read from /proc/net/netstat before and after (TcpExt ListenOverflows,
// ListenDrops, TCPReqQFullDrop, TCPReqQFullDoCookies): these are host-wide counters, so run it
// with nothing else connecting on the machine.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from '../src/load/cli.js';
import { sessionsPerWorkerMax } from '../src/load/limits.js';
import type { LoadResult } from '../src/load/types.js';
import { fourLetter, startServer, type ServerKind } from '../test/integration/harness/server.js';
import { startFloorProcess } from './floor-process.js';

const netstatKeys = ['ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop', 'TCPReqQFullDoCookies'] as const;
function netstat(): Record<string, number> {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
  const out: Record<string, number> = {};
  for (const k of netstatKeys) out[k] = values[names.indexOf(k)] ?? Number.NaN;
  return out;
}

async function mntr(port: number, floor: boolean): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (floor) return out;
  for (const line of (await fourLetter(port, 'mntr', 30_000)).split('\n')) {
    const [k, v] = line.split('\t');
    if (k !== undefined && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

interface HerdSummary {
  open: { opened: number; wallMs: number; sessionsPerSec: number };
  herd: {
    dropped: number;
    resumed: number;
    expired: number;
    failed: number;
    changedId: number;
    retries: number;
    retryReasons: Record<string, number>;
    errors: Record<string, number>;
    allBackMs: number | null;
    reconnectMs: { p50: number; p90?: number; p99: number; max: number; min?: number };
    cpu: { windowMs: number; serverCpuMs: number | null; clientCpuMs: number | null };
  };
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      sessions: { type: 'string', default: '19500' },
      workers: { type: 'string', default: '2' },
      port: { type: 'string', default: '25300' },
      'timeout-ms': { type: 'string', default: '30000' },
      'wait-s': { type: 'string', default: '60' },
      'throttle-tokens': { type: 'string', default: '0' },
      'throttle-fill-ms': { type: 'string', default: '1' },
      'throttle-fill-count': { type: 'string', default: '1' },
      backlog: { type: 'string' },
      concurrency: { type: 'string', default: '512' },
      target: { type: 'string', default: 'zkts' },
      procs: { type: 'string' },
      global: { type: 'boolean', default: false },
      base: { type: 'string' },
      warmup: { type: 'string', default: '5000' },
    },
  });
  let start = startServer;
  if (v.base !== undefined) {
    const harness = path.resolve(v.base, 'dist', 'test', 'integration', 'harness', 'server.js');
    start = ((await import(pathToFileURL(harness).href)) as { startServer: typeof startServer }).startServer;
  }
  const n = Number(v.sessions);
  const timeoutMs = Number(v['timeout-ms']);
  const floor = v.target === 'floor';
  const kind = (floor ? 'zkts' : v.target) as ServerKind;
  const procs = Math.max(Math.ceil(n / sessionsPerWorkerMax), Number(v.procs ?? 1));
  const extra: Record<string, string> = { localSessionsEnabled: String(!v.global), sessionWorkers: String(v.workers) };
  if (Number(v['throttle-tokens']) > 0) {
    extra['connection_throttle_tokens'] = String(v['throttle-tokens']);
    extra['connection_throttle_fill_time'] = String(v['throttle-fill-ms']);
    extra['connection_throttle_fill_count'] = String(v['throttle-fill-count']);
  }
  if (v.backlog !== undefined) extra['clientPortListenBacklog'] = v.backlog;
  console.log(
    `# bench:herd  ${n} sessions in ${procs} load process(es) (lean client, ${v.concurrency} connects in flight each), server ${floor ? 'floor' : kind}${v.base !== undefined ? ` (built in ${v.base})` : ''}${kind === 'zkts' && !floor ? ` with ${v.workers} session worker(s)` : ''}, ${v.global ? 'global' : 'local'} sessions, timeout ${timeoutMs} ms`,
  );
  console.log(`# somaxconn ${readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.availableParallelism()} cores`);
  const server = floor
    ? await startFloorProcess(Number(v.port))
    : await start(kind, { port: Number(v.port), maxClientCnxns: 0, maxSessionTimeout: Math.max(40_000, timeoutMs), extra, startTimeoutMs: 60_000 });
  try {
    const warmup = Number(v.warmup);
    if (!Number.isInteger(warmup) || warmup < 0 || warmup > sessionsPerWorkerMax) throw new Error(`--warmup must be 0..${sessionsPerWorkerMax}`);
    if (warmup > 0) {
      const w = ['herd', '-c', server.connectString, '-n', String(warmup), '-w', '1', '--per-worker', String(sessionsPerWorkerMax)];
      w.push('--concurrency', String(v.concurrency), '--session-timeout', String(timeoutMs), '--wait', String(Number(v['wait-s'])), '--quiet');
      if (!v.global) w.push('--local-session');
      const warm = await runLoad(w, { stdout: () => undefined, stderr: (s) => process.stderr.write(s) });
      if (warm.code !== 0) throw new Error(`the warm-up herd failed (exit ${warm.code})`);
      console.log(`# warm-up: a herd of ${warmup} sessions first (--warmup 0: none)`);
    }
    const before = netstat();
    const m0 = await mntr(server.port, floor);
    const args = ['herd', '-c', server.connectString, '-n', String(n), '-w', String(procs), '--per-worker', String(sessionsPerWorkerMax)];
    args.push('--concurrency', String(v.concurrency), '--session-timeout', String(timeoutMs), '--wait', String(Number(v['wait-s'])), '--server-pid', String(server.pid), '--quiet');
    if (!v.global) args.push('--local-session');
    const run = await runLoad(args, { stdout: () => undefined, stderr: (s) => process.stderr.write(s) });
    const after = netstat();
    const m1 = await mntr(server.port, floor);
    const result = run.result as LoadResult | null;
    if (result === null) throw new Error(`zkts load herd did not run (exit ${run.code})`);
    if (result.error !== undefined) throw new Error(`zkts load herd failed: ${result.error}`);
    const s = result.summary as unknown as HerdSummary;
    const h = s.herd;
    const cpu = h.cpu;
    const wall = h.allBackMs ?? cpu.windowMs;
    const cores = (ms: number | null): string => (ms === null ? '-' : `${Math.round(ms)} ms (${(ms / wall).toFixed(2)} cores over the ${Math.round(wall)} ms)`);
    const mdiff = (k: string): string => {
      const a = m0.get(k);
      const b = m1.get(k);
      return a === undefined || b === undefined ? 'n/a' : String(b - a);
    };
    // Sessions back per tenth of the time to all back, from the per-second series (coarse: 1 s).
    const perSecond = result.series.filter((r) => (r.counters['resumed'] ?? 0) > 0).map((r) => `${r.t}s:${r.counters['resumed']}`);
    const rows: [string, string][] = [
      ['opened (before the herd)', `${s.open.opened} in ${(s.open.wallMs / 1000).toFixed(1)} s (${Math.round(s.open.sessionsPerSec)}/s)`],
      ['sessions dropped at once', String(h.dropped)],
      ['back (same session) / expired / not back / other id', `${h.resumed} / ${h.expired} / ${h.failed} / ${h.changedId}`],
      ['all back after', h.allBackMs !== null ? `${Math.round(h.allBackMs)} ms (goal 2000 ms)` : `not all within ${v['wait-s']} s`],
      ['back p50 / p99 / max', `${Math.round(h.reconnectMs.p50)} / ${Math.round(h.reconnectMs.p99)} / ${Math.round(h.reconnectMs.max)} ms`],
      ['back per second of the run', perSecond.join(' ')],
      ['connect retries (shed, refused, slow)', `${h.retries} ${h.retries > 0 ? JSON.stringify(h.retryReasons) : ''}`],
      ['errors', JSON.stringify(h.errors)],
      ['server CPU during the herd', cores(cpu.serverCpuMs)],
      ['load client CPU during the herd', cores(cpu.clientCpuMs)],
      ['server CPU per re-establish', cpu.serverCpuMs === null || h.resumed === 0 ? '-' : `${Math.round((cpu.serverCpuMs * 1000) / h.resumed)} µs`],
      ['load client CPU per re-establish', cpu.clientCpuMs === null || h.resumed === 0 ? '-' : `${Math.round((cpu.clientCpuMs * 1000) / h.resumed)} µs`],
      ['zk_connection_request_count (let through, open + herd)', mdiff('zk_connection_request_count')],
      ['zk_connection_rejected (throttle refusals, open + herd)', mdiff('zk_connection_rejected')],
      ...netstatKeys.map((k): [string, string] => [`${k} (host-wide, open + herd)`, String(after[k]! - before[k]!)]),
      [`${v.global ? 'zk_global_sessions' : 'zk_local_sessions'} after the close`, String(m1.get(v.global ? 'zk_global_sessions' : 'zk_local_sessions') ?? 'n/a')],
    ];
    for (const [k, val] of rows) console.log(`${k.padEnd(56)} ${val}`);
    console.log(`# load after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await server.stop();
  }
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
