// npm run bench:egress — what one write costs the ensemble in quorum bytes sent, per member, as the
// observer tier grows, with observers fed by the leader and by the followers (observerMasterPort).
// The cost model (docs/cost-model.md) takes its egress figures from here.
//
// For each observer count K of --observers and each feeding (--feeds leader,followers):
//   1. starts 3 voters + K observers (bench/ensemble-cluster.ts, ports 27000.., sessionWorkers=1,
//      forceSync=no: the disk is not what is measured) and waits until every observer is synced;
//   2. connects one zkts client to the leader, creates /egress and writes it --warmup times;
//   3. reads every member's quorum bytes sent (`ss -tinp`: bytes_sent of every TCP socket the
//      member's process holds, less its client port's), runs --writes setData of --bytes bytes,
//      --depth in flight, reads the bytes again: bytes sent per write, per member;
//   4. stops the ensemble by PID.
// The window also carries the quorum's own PINGs (one per learner per tick), which are part of
// what a member sends; at the default tick they are far below the writes' bytes. Each member's
// CPU per write (/proc utime + stime over the same window) is printed beside its bytes.
//
// Options: --observers 0,4,8,16 --feeds leader,followers --writes 5000 --bytes 100 --depth 32
// --warmup 500 --json FILE.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '../src/client/index.js';
import { treeCpuTicks, treePids } from '../src/load/proc.js';
import { Ensemble, killEnsemblesNow, killOnExit, mntr } from './ensemble-cluster.js';

const BASE_PORT = 27000;
/** Members of the largest ensemble: 3 voters + observers, 10 ports each within 27000..27999. */
const MEMBERS_MAX = 100;
const START_TIMEOUT_MS = 90_000;
const SYNC_TIMEOUT_MS = 60_000;
const CLIENT_CONNECT_TIMEOUT_MS = 10_000;
const clockTicksPerS = 100; // getconf CLK_TCK on Linux

type Feeds = 'leader' | 'followers';

interface Options {
  observers: number[];
  feeds: Feeds[];
  writes: number;
  bytes: number;
  depth: number;
  warmup: number;
  json: string | null;
}

interface MemberEgress {
  id: number;
  role: string;
  bytesPerWrite: number;
  /** the member's CPU (user + system, all threads) per write, µs */
  cpuUsPerWrite: number;
}

interface Row {
  observers: number;
  feeds: Feeds;
  writes: number;
  seconds: number;
  leader: number;
  followerMean: number;
  observerMean: number | null;
  total: number;
  leaderCpuUs: number;
  followerCpuUs: number;
  observerCpuUs: number | null;
  members: MemberEgress[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const started: Ensemble[] = [];
const killEverythingNow = (): void => killEnsemblesNow(started);

/** Bytes sent by every TCP socket of these processes, keyed by nothing: one sum, less the sockets on skipPort. */
function bytesSent(pids: readonly number[], skipPort: number): number {
  const text = execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const lines = text.split('\n');
  const want = new Set(pids.map((p) => `pid=${p},`));
  let sum = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('\t') || line.startsWith(' ')) continue;
    const m = /pid=\d+,/.exec(line);
    if (m === null || !want.has(m[0])) continue;
    const local = line.trim().split(/\s+/)[2] ?? '';
    if (local.endsWith(`:${skipPort}`)) continue;
    const info = lines[i + 1] ?? '';
    const b = /bytes_sent:(\d+)/.exec(info);
    if (b !== null) sum += Number(b[1]);
  }
  return sum;
}

async function waitSynced(ens: Ensemble, observers: number): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  for (;;) {
    // An observer whose master is the leader (or is down) learns from the leader: count the
    // synced observers on every voter.
    let synced = 0;
    for (const m of ens.members) {
      if (m.spec.role === 'observer') continue;
      synced += Number((await mntr(m.spec.clientPort)).get('zk_synced_observers') ?? 0);
    }
    if (synced >= observers) return;
    if (Date.now() > deadline) throw new Error(`only ${synced} of ${observers} observers synced after ${SYNC_TIMEOUT_MS} ms`);
    await sleep(200);
  }
}

async function runOne(o: Options, observers: number, feeds: Feeds, dir: string): Promise<Row> {
  const zktsOnly: Record<string, string> = { sessionWorkers: '1' };
  if (feeds === 'followers') zktsOnly['observerMasterPort'] = String(BASE_PORT + 10 * MEMBERS_MAX - 1);
  const ens = await Ensemble.start({
    kind: 'zkts',
    voters: 3,
    observers,
    basePort: BASE_PORT,
    dir: path.join(dir, `k${observers}-${feeds}`),
    tickTime: 2000,
    extra: { forceSync: 'no' },
    zktsOnly,
    startTimeoutMs: START_TIMEOUT_MS,
  });
  started.push(ens);
  try {
    const leader = await ens.waitHealthy(START_TIMEOUT_MS);
    await waitSynced(ens, observers);
    const client = createClient(`127.0.0.1:${leader.spec.clientPort}`, { sessionTimeoutMs: 30_000, connectTimeoutMs: CLIENT_CONNECT_TIMEOUT_MS });
    await client.waitConnected(CLIENT_CONNECT_TIMEOUT_MS);
    const data = Buffer.alloc(o.bytes, 0x61);
    await client.create('/egress', data);
    const burst = async (n: number): Promise<void> => {
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < n) {
          next += 1;
          await client.setData('/egress', data);
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.depth, n) }, lane));
    };
    await burst(o.warmup);
    const pidsOf = new Map(ens.members.map((m) => [m, treePids(m.pid)] as const));
    const before = new Map(ens.members.map((m) => [m, bytesSent(pidsOf.get(m)!, m.spec.clientPort)] as const));
    const cpuBefore = new Map(ens.members.map((m) => [m, treeCpuTicks(m.pid) ?? 0] as const));
    const t0 = performance.now();
    await burst(o.writes);
    const seconds = (performance.now() - t0) / 1000;
    const members: MemberEgress[] = [];
    for (const m of ens.members) {
      const sent = bytesSent(pidsOf.get(m)!, m.spec.clientPort) - before.get(m)!;
      const role = m === leader ? 'leader' : m.spec.role === 'observer' ? 'observer' : 'follower';
      const ticks = (treeCpuTicks(m.pid) ?? 0) - cpuBefore.get(m)!;
      members.push({ id: m.spec.id, role, bytesPerWrite: sent / o.writes, cpuUsPerWrite: (ticks * 1e6) / clockTicksPerS / o.writes });
    }
    await client.close({ timeoutMs: 1000 });
    const mean = (role: string, of: (x: MemberEgress) => number = (x) => x.bytesPerWrite): number | null => {
      const xs = members.filter((x) => x.role === role).map(of);
      return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    return {
      observers,
      feeds,
      writes: o.writes,
      seconds,
      leader: mean('leader')!,
      followerMean: mean('follower')!,
      observerMean: mean('observer'),
      total: members.reduce((a, x) => a + x.bytesPerWrite, 0),
      leaderCpuUs: mean('leader', (x) => x.cpuUsPerWrite)!,
      followerCpuUs: mean('follower', (x) => x.cpuUsPerWrite)!,
      observerCpuUs: mean('observer', (x) => x.cpuUsPerWrite),
      members,
    };
  } finally {
    await ens.stop();
  }
}

function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      observers: { type: 'string', default: '0,4,8,16' },
      feeds: { type: 'string', default: 'leader,followers' },
      writes: { type: 'string', default: '5000' },
      bytes: { type: 'string', default: '100' },
      depth: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '500' },
      json: { type: 'string' },
    },
  });
  const ints = (s: string): number[] => s.split(',').map((x) => Number(x.trim()));
  const o: Options = {
    observers: ints(v.observers),
    feeds: v.feeds.split(',').map((x) => x.trim()) as Feeds[],
    writes: Number(v.writes),
    bytes: Number(v.bytes),
    depth: Number(v.depth),
    warmup: Number(v.warmup),
    json: v.json ?? null,
  };
  for (const k of o.observers) if (!Number.isInteger(k) || k < 0 || k + 3 > MEMBERS_MAX) throw new Error(`--observers: ${k} is not in 0..${MEMBERS_MAX - 3}`);
  for (const f of o.feeds) if (f !== 'leader' && f !== 'followers') throw new Error(`--feeds: '${f}' is neither leader nor followers`);
  for (const [k, x] of [['writes', o.writes], ['bytes', o.bytes], ['depth', o.depth], ['warmup', o.warmup]] as const) {
    if (!Number.isInteger(x) || x < (k === 'warmup' ? 0 : 1)) throw new Error(`--${k}: ${x} is not a positive integer`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  killOnExit(killEverythingNow);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-egress-'));
  process.stderr.write(`egress: ${o.writes} setData of ${o.bytes} B, ${o.depth} in flight; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  const rows: Row[] = [];
  for (const k of o.observers) {
    for (const feeds of o.feeds) {
      if (k === 0 && feeds === 'followers' && o.feeds.includes('leader')) continue; // the same shape
      const row = await runOne(o, k, feeds, dir);
      rows.push(row);
      process.stderr.write(`egress: ${k} observers fed by the ${feeds}: leader ${row.leader.toFixed(0)} B/write, follower ${row.followerMean.toFixed(0)}, observer ${row.observerMean?.toFixed(0) ?? '-'} (${(o.writes / row.seconds).toFixed(0)} writes/s)\n`);
    }
  }
  const head = ['observers', 'fed by', 'leader B/write', 'follower B/write (mean)', 'observer B/write (mean)', 'ensemble B/write', 'CPU µs/write leader / follower / observer', 'writes/s'];
  const us = (x: number | null): string => (x === null ? '-' : x.toFixed(0));
  const body = rows.map((r) => [
    String(r.observers),
    r.observers === 0 ? '-' : r.feeds,
    r.leader.toFixed(0),
    r.followerMean.toFixed(0),
    r.observerMean === null ? '-' : r.observerMean.toFixed(0),
    r.total.toFixed(0),
    `${us(r.leaderCpuUs)} / ${us(r.followerCpuUs)} / ${us(r.observerCpuUs)}`,
    (r.writes / r.seconds).toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  process.stdout.write(`\nquorum bytes sent per write (${o.bytes} B setData; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})\n${line(head)}\n${body.map(line).join('\n')}\n`);
  if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ options: o, rows }, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`egress: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
