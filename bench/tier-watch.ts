// Watches across an observer tier (issue 11, goal 6: across the tier, all notified in < 1 s):
// a local ensemble of 3 voters + K observers (bench/ensemble-cluster.ts, zkts or Apache
// ZooKeeper 3.8), W lean watchers (src/load/lean-watch.ts: a raw socket per session, every frame
// checked) on each observer, all watching one znode; one setData on the leader; how long until
// 50 / 99 / 100% of the watchers across the tier got their notification (wall clock in this
// process, from the moment the setData was sent).
//
//   node dist/bench/tier-watch.js [--kind zkts|apache] [--observers 2] [--watchers 9000]
//        [--rounds 3] [--local]
//
// Ports 25500..25599 (members at 25500 + 10 * i). The watchers of all observers live in this one
// process, so observers × watchers stays under the per-process open-file limit (~20,000 here).
// --local: localSessionsEnabled=true on every member (the tier's sessions). The observers run the
// tier profile (bench/idle-rss.ts TIER_KEYS) when the kind is zkts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from '../src/client/index.js';
import { LeanWatchers } from '../src/load/lean-watch.js';
import { leanSessionsMax } from '../src/load/limits.js';
import { nowMs } from '../src/load/protocol.js';
import { Ensemble, killEnsemblesNow, killOnExit, type Kind } from './ensemble-cluster.js';
import { TIER_KEYS } from './idle-rss.js';

const PORT_BASE = 25500;
/** Bounds of the options: members fit the port block; rounds keep a run within minutes. */
const observersMax = 6;
const roundsMax = 10;
const connectsInFlight = 256;
const waitMs = 30_000;
const closeGraceMs = 5_000;
const startTimeoutMs = 120_000;

function at(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kind: { type: 'string', default: 'zkts' },
      observers: { type: 'string', default: '2' },
      watchers: { type: 'string', default: '9000' },
      rounds: { type: 'string', default: '3' },
      local: { type: 'boolean', default: false },
    },
  });
  const kind = values.kind as Kind;
  if (kind !== 'zkts' && kind !== 'apache') throw new Error(`--kind: zkts or apache, not ${values.kind}`);
  const observers = Number(values.observers);
  const watchers = Number(values.watchers);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(observers) || observers < 1 || observers > observersMax) throw new Error(`--observers: 1..${observersMax}`);
  if (!Number.isInteger(watchers) || watchers < 1 || observers * watchers > leanSessionsMax) {
    throw new Error(`--watchers: observers × watchers must be 1..${leanSessionsMax} (one process's open files)`);
  }
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > roundsMax) throw new Error(`--rounds: 1..${roundsMax}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-tier-watch-'));
  const ensemble = await Ensemble.start({
    kind,
    voters: 3,
    observers,
    basePort: PORT_BASE,
    dir,
    tickTime: 2000,
    startTimeoutMs,
    extra: { maxClientCnxns: '0', ...(values.local ? { localSessionsEnabled: 'true' } : {}) },
    perMember: (spec) => (spec.role === 'observer' && kind === 'zkts' ? TIER_KEYS : {}),
  });
  killOnExit(() => killEnsemblesNow([ensemble])); // an interrupted run leaves no member behind
  const sets: LeanWatchers[] = [];
  const results: Array<{ p50: number; p99: number; p100: number; notified: number; armed: number }> = [];
  try {
    const leader = await ensemble.waitHealthy(startTimeoutMs);
    const writer = createClient(`127.0.0.1:${leader.spec.clientPort}`, { sessionTimeoutMs: 30_000 });
    await writer.waitConnected(30_000);
    const znode = '/tier-watch';
    await writer.create(znode).catch(() => undefined);
    for (const m of ensemble.observers) {
      const lean = new LeanWatchers(watchers, { host: '127.0.0.1', port: m.spec.clientPort, sessionTimeoutMs: 30_000, localSession: false });
      sets.push(lean);
      const open = await lean.open(watchers, connectsInFlight, 60_000);
      process.stderr.write(`observer ${m.spec.id}: ${open.opened}/${watchers} sessions in ${(open.wallMs / 1000).toFixed(1)} s\n`);
    }
    for (let round = 0; round < rounds; round++) {
      let armed = 0;
      for (const lean of sets) armed += (await lean.arm(znode, 60_000)).armed;
      const t0 = nowMs();
      await writer.setData(znode, `round ${round}`);
      const deadline = performance.now() + waitMs;
      const notified = (): number => sets.reduce((n, lean) => n + lean.notified, 0);
      while (notified() < armed && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const delays: number[] = [];
      for (const lean of sets) for (const a of lean.arrivalTimes) delays.push(a - t0);
      delays.sort((a, b) => a - b);
      results.push({ p50: at(delays, 50), p99: at(delays, 99), p100: at(delays, 100), notified: delays.length, armed });
      process.stderr.write(`round ${round + 1}: ${delays.length}/${armed} notified, 100% after ${at(delays, 100).toFixed(1)} ms\n`);
    }
    await writer.close();
  } finally {
    for (const lean of sets) await lean.closeAll(closeGraceMs);
    await ensemble.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const f = (x: number): string => x.toFixed(1).padStart(8);
  let text = `\nwatches across the tier: ${kind}, 3 voters + ${observers} observers, ${watchers} lean watchers each${values.local ? ', local sessions' : ''}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`;
  text += 'round  notified / armed      50% ms   99% ms  100% ms\n';
  results.forEach((r, i) => {
    text += `${String(i + 1).padStart(5)}  ${`${r.notified} / ${r.armed}`.padEnd(18)}${f(r.p50)} ${f(r.p99)} ${f(r.p100)}\n`;
  });
  const sorted = results.map((r) => r.p100).sort((a, b) => a - b);
  text += `median time to 100%: ${sorted[sorted.length >> 1]!.toFixed(1)} ms (goal: < 1000 ms)\n`;
  process.stdout.write(text);
  return results.every((r) => r.notified === r.armed && r.armed === observers * watchers) ? 0 : 3;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`tier-watch: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
