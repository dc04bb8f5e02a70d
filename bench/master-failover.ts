// npm run bench:master-failover — how observers fed by followers (observerMasterPort) ride out
// the loss and return of their master (zab/observer-master.ts observerMasterOf with the
// observer's view of the voters).
//
//   1. starts 3 voters + --observers observers with observerMasterPort (bench/ensemble-cluster.ts,
//      ports 25300.., tickTime 2000 as in ZooKeeper's sample, so initLimit is 20 s), waits until
//      every observer is synced with a follower;
//   2. each round: a zkts local session on an observer fed by follower F writes (create, one at
//      a time) throughout; F is SIGKILLed; every 20 ms, every observer's mntr
//      zk_learner_master is read. "moved" is the time from the kill until each of F's observers
//      learns from a live follower (never the leader); then F is started again on its data, and
//      "back" is the time from that start until F's observers learn from it again (it includes
//      F's start, election and sync). "stall" is the longest write of the session in each phase;
//   3. checks that the observers F did not feed kept their master, and that the session saw no
//      error and no disconnect;
//   4. last, SIGKILLs the leader: the time until every observer learns from the one follower
//      left (election included), and the longest write of a local session on an observer;
//      stops the ensemble by PID.
//
// --hang: the follower is SIGSTOPped instead (its processes live, its connections stay open, it
// sends nothing): "moved" is the time from the stop until its observers learn from a live follower
// (they leave a master silent for syncLimit, zab/observer-master.ts leaveQuietMaster); then it is
// SIGCONTinued, and "back" is the time from then until its observers learn from it again (it first
// finds out that its leader dropped it, elects and joins again; its observers go back once it says
// it follows again, or after 2 syncLimits of hearing it). No leader kill in this mode.
//
// Options: --observers 6 --rounds 3 --hang --json FILE.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, type ZkClient } from '../src/client/index.js';
import { Ensemble, killEnsemblesNow, killOnExit, mntr, type Member } from './ensemble-cluster.js';

const BASE_PORT = 25300;
const START_TIMEOUT_MS = 90_000;
const SETTLE_TIMEOUT_MS = 60_000;
const POLL_MS = 20;
const CLIENT_CONNECT_TIMEOUT_MS = 10_000;
const OBSERVERS_MAX = 20; // 23 members: ports 25300..25529, within the bench range

interface Options {
  observers: number;
  rounds: number;
  hang: boolean;
  json: string | null;
}

interface Round {
  killed: number;
  observersMoved: number;
  movedMs: number;
  stallAtKillMs: number;
  backMs: number;
  stallAtReturnMs: number;
  othersMoved: number;
  writes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const started: Ensemble[] = [];

async function learnerMasters(observers: readonly Member[]): Promise<(number | null)[]> {
  return Promise.all(
    observers.map(async (m) => {
      const v = (await mntr(m.spec.clientPort, 2000)).get('zk_learner_master');
      return v === undefined ? null : Number(v);
    }),
  );
}

async function until(what: string, f: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${SETTLE_TIMEOUT_MS} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** Writes one create at a time until stopped; each write's start and duration. */
function writer(client: ZkClient, prefix: string, errors: string[]): { stop: () => Promise<void>; longest: (from: number, to: number) => number; count: () => number } {
  const starts: number[] = [];
  const durations: number[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped && i < 1_000_000 && errors.length <= 20; i++) {
      const t = performance.now();
      try {
        await client.create(`/mf/${prefix}-${i}`, null);
      } catch (e) {
        errors.push(String(e));
      }
      starts.push(t);
      durations.push(performance.now() - t);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    // The longest write that was under way at some moment of [from, to].
    longest: (from, to) => {
      let max = 0;
      for (let i = 0; i < starts.length; i++) if (starts[i]! <= to && starts[i]! + durations[i]! >= from) max = Math.max(max, durations[i]!);
      return max;
    },
    count: () => starts.length,
  };
}

interface LeaderKill {
  /** From the SIGKILL until every observer learns from the one follower left. */
  settledMs: number;
  /** The longest write of a local session on an observer, from the kill until 1 s after. */
  stallMs: number;
}

/**
 * Last: SIGKILL the leader. The followers elect; every observer must end on the one follower left
 * (not on the dead leader, whose turn some of them now are, nor on the new leader).
 */
async function killLeader(leader: Member, followers: readonly Member[], observers: readonly Member[]): Promise<LeaderKill> {
  const client = createClient(`127.0.0.1:${observers[0]!.spec.clientPort}`, { sessionTimeoutMs: 30_000, localSession: true, connectTimeoutMs: CLIENT_CONNECT_TIMEOUT_MS });
  const disconnects: string[] = [];
  client.on('disconnected', (why: unknown) => disconnects.push(String(why)));
  await client.waitConnected(CLIENT_CONNECT_TIMEOUT_MS);
  const errors: string[] = [];
  const w = writer(client, 'leader-kill', errors);
  await sleep(1000);
  const tKill = performance.now();
  await leader.kill();
  await until('every observer on the follower left', async () => {
    const modes = await Promise.all(followers.map((f) => mntr(f.spec.clientPort, 2000)));
    const i = modes.findIndex((m) => m.get('zk_server_state') === 'follower');
    if (i < 0 || modes[1 - i]!.get('zk_server_state') !== 'leader') return false;
    const ms = await learnerMasters(observers);
    return ms.every((m) => m === followers[i]!.spec.id);
  });
  const settledMs = performance.now() - tKill;
  await sleep(1000);
  const stallMs = w.longest(tKill, performance.now());
  await w.stop();
  await client.close({ timeoutMs: 1000 });
  if (errors.length > 0 || disconnects.length > 0) {
    throw new Error(`leader kill: the local session saw errors ${JSON.stringify(errors)} / disconnects ${JSON.stringify(disconnects)}`);
  }
  console.log(`leader SIGKILL: every observer on the follower left in ${settledMs.toFixed(0)} ms (election included), longest write ${stallMs.toFixed(0)} ms; 0 errors, 0 disconnects`);
  return { settledMs, stallMs };
}

let leaderKill: LeaderKill | null = null;

async function run(o: Options): Promise<Round[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-master-failover-'));
  const ens = await Ensemble.start({
    kind: 'zkts',
    voters: 3,
    observers: o.observers,
    basePort: BASE_PORT,
    dir,
    tickTime: 2000,
    extra: { forceSync: 'no' },
    zktsOnly: { sessionWorkers: '1', observerMasterPort: String(BASE_PORT + 10 * (3 + OBSERVERS_MAX) + 5) },
    startTimeoutMs: START_TIMEOUT_MS,
  });
  started.push(ens);
  const rounds: Round[] = [];
  try {
    const leader = await ens.waitHealthy(START_TIMEOUT_MS);
    const followers = ens.voters.filter((m) => m !== leader);
    const observers = ens.observers;
    const fed = async (): Promise<boolean> => {
      const ms = await learnerMasters(observers);
      return ms.every((m) => m !== null && m !== leader.spec.id);
    };
    await until('every observer fed by a follower', fed);
    for (let r = 0; r < o.rounds; r++) {
      const victim = followers[r % followers.length]!;
      const other = followers.find((m) => m !== victim)!;
      const before = await learnerMasters(observers);
      const mine = observers.filter((_, i) => before[i] === victim.spec.id);
      const others = observers.filter((_, i) => before[i] !== victim.spec.id);
      const othersBefore = await learnerMasters(others);
      const client = createClient(`127.0.0.1:${mine[0]!.spec.clientPort}`, { sessionTimeoutMs: 30_000, localSession: true, connectTimeoutMs: CLIENT_CONNECT_TIMEOUT_MS });
      const disconnects: string[] = [];
      client.on('disconnected', (why: unknown) => disconnects.push(String(why)));
      await client.waitConnected(CLIENT_CONNECT_TIMEOUT_MS);
      if (r === 0) await client.create('/mf', null);
      const errors: string[] = [];
      const w = writer(client, `r${r}`, errors);
      await sleep(1000);
      let othersMoved = 0;
      const othersSame = async (): Promise<void> => {
        const now = await learnerMasters(others);
        othersMoved = Math.max(othersMoved, now.filter((m, i) => m !== null && m !== othersBefore[i]).length);
      };

      const tKill = performance.now();
      const stopped = o.hang ? victim.processTree() : [];
      if (o.hang) for (const p of stopped) process.kill(p, 'SIGSTOP');
      else await victim.kill();
      await until('the dead master\'s observers on a live follower', async () => {
        await othersSame();
        const ms = await learnerMasters(mine);
        return ms.every((m) => m === other.spec.id);
      });
      const tMoved = performance.now();
      await sleep(1000);
      const stallAtKillMs = w.longest(tKill, performance.now());

      const tStart = performance.now();
      if (o.hang) for (const p of stopped) process.kill(p, 'SIGCONT');
      else victim.start();
      await until('the observers back on their master', async () => {
        await othersSame();
        const ms = await learnerMasters(mine);
        return ms.every((m) => m === victim.spec.id);
      });
      const tBack = performance.now();
      await sleep(1000);
      const stallAtReturnMs = w.longest(tStart, performance.now());
      await w.stop();
      await client.close({ timeoutMs: 1000 });
      if (errors.length > 0 || disconnects.length > 0) {
        throw new Error(`round ${r}: the local session saw errors ${JSON.stringify(errors)} / disconnects ${JSON.stringify(disconnects)}`);
      }
      rounds.push({
        killed: victim.spec.id,
        observersMoved: mine.length,
        movedMs: tMoved - tKill,
        stallAtKillMs,
        backMs: tBack - tStart,
        stallAtReturnMs,
        othersMoved,
        writes: w.count(),
      });
      const x = rounds[rounds.length - 1]!;
      console.log(
        `round ${r}: ${o.hang ? 'SIGSTOP' : 'SIGKILL'} follower ${x.killed} (feeds ${x.observersMoved} of ${o.observers}): moved to the live follower in ${x.movedMs.toFixed(0)} ms, ` +
          `longest write ${x.stallAtKillMs.toFixed(0)} ms; ${o.hang ? 'SIGCONT' : 'restarted'}: back in ${x.backMs.toFixed(0)} ms (${o.hang ? 'it finds out its leader dropped it, elects, syncs' : 'start + election + sync'}), ` +
          `longest write ${x.stallAtReturnMs.toFixed(0)} ms; other observers moved: ${x.othersMoved}; ${x.writes} writes, 0 errors, 0 disconnects`,
      );
    }
    if (!o.hang) leaderKill = await killLeader(leader, followers, observers);
  } finally {
    await ens.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rounds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { observers: { type: 'string', default: '6' }, rounds: { type: 'string', default: '3' }, hang: { type: 'boolean', default: false }, json: { type: 'string' } },
  });
  const o: Options = { observers: Number(values.observers), rounds: Number(values.rounds), hang: values.hang, json: values.json ?? null };
  if (!Number.isInteger(o.observers) || o.observers < 2 || o.observers > OBSERVERS_MAX) throw new Error(`--observers must be 2..${OBSERVERS_MAX}`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 10) throw new Error('--rounds must be 1..10');
  killOnExit(() => killEnsemblesNow(started));
  const rounds = await run(o);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `median over ${rounds.length} ${o.hang ? 'SIGSTOP' : 'SIGKILL'} rounds: moved ${median(rounds.map((x) => x.movedMs)).toFixed(0)} ms, longest write at the kill ${median(rounds.map((x) => x.stallAtKillMs)).toFixed(0)} ms, ` +
      `back ${median(rounds.map((x) => x.backMs)).toFixed(0)} ms, longest write at the return ${median(rounds.map((x) => x.stallAtReturnMs)).toFixed(0)} ms (tickTime 2000: syncLimit 10 s, initLimit 20 s)`,
  );
  if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ observers: o.observers, hang: o.hang, rounds, leaderKill }, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
