// Ensemble side by side: the same load against a 3-voter + 1-observer Apache ZooKeeper 3.8
// ensemble (Debian package, one JVM per member) and a 3-voter + 1-observer zkts ensemble (one
// `node bin/zkts.js server` per member), one after the other, each member a separate process on
// loopback with the same zoo.cfg keys (tickTime, initLimit=10, syncLimit=5, maxClientCnxns=0,
// admin.enableServer=false, 4lw.commands.whitelist=*, fsync on: the default). Prints a table
// (figure | zkts | Apache | zkts/Apache) and writes a JSON file.
//
//   node dist/bench/ensemble-side-by-side.js [options]        (npm run bench:ensemble -- [options])
//
// Figures (per side):
//   a1. write ops/s, C sessions spread over the 3 voters (each session picks a voter at random,
//       as ZooKeeper's StaticHostProvider does), setData of S bytes on K znodes, depth P in flight
//   a2. the same with every session on one follower (writes forwarded to the leader)
//   b.  read ops/s on the observer (getData, same C x P, K znodes of S bytes)
//   c.  global-session connect rate at the observer (zkts load connect, N sessions, default cfg)
//   d.  local-session connect rate at the observer (a second ensemble, localSessionsEnabled=true
//       in every member's zoo.cfg; the client asks for nothing special)
//   e.  SIGKILL of the leader (found by srvr "Mode: leader") to the first successful setData of a
//       client on the observer with every member in its connect string (observer first, then the
//       followers, then the leader; no shuffling), retrying in a bounded loop; the killed member
//       is restarted and must rejoin before the next round. Median of R rounds.
//
// Ports: Apache 25400.. and zkts 25500.. (member i: client base+10i, quorum +1, election +2).
// Every wait is bounded; every process started here is stopped by PID in a finally block (and on
// exit / SIGINT / SIGTERM). Temporary directories go under os.tmpdir() and are kept when a side
// had problems (or with --keep): each member's server.log is there.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, type ZkClient } from '../src/client/index.js';
import { ZkError } from '../src/client/errors.js';
import { Err } from '../src/common/zk.js';
import { runLoad } from '../src/load/cli.js';
import type { LoadResult } from '../src/load/types.js';
import { Ensemble, killEnsemblesNow, killOnExit, mntr, type Kind } from './ensemble-cluster.js';

// biome-ignore lint/suspicious/noExplicitAny: loosely read JSON summaries
type Any = Record<string, any>;
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PORT_MIN = 25400;
const PORT_MAX = 25599;
const FIGURES = ['a', 'b', 'c', 'd', 'e'] as const;

interface Options {
  kinds: Kind[];
  figures: Set<string>;
  connections: number;
  depth: number;
  duration: number;
  warmup: number;
  znodes: number;
  size: number;
  sessions: number;
  failovers: number;
  failoverBoundS: number;
  tickTime: number;
  basePorts: Record<Kind, number>;
  startTimeoutS: number;
  rejoinTimeoutS: number;
  json: string | null;
  dir: string;
  keep: boolean;
  progress: boolean;
  zktsLogLevel: string | null;
}

interface LoadFigure {
  connect: string;
  ok: boolean;
  problems: string[];
  error?: string;
  summary: Any;
  json: string;
}

interface SessionsFigure extends LoadFigure {
  /** the largest zk_global_sessions / zk_local_sessions the observer's mntr showed during the run */
  mntrMax: { global: number | null; local: number | null };
}

interface FailoverRound {
  round: number;
  leaderId: number;
  killedPids: number[];
  killedAt: string;
  clientHostBefore: string | null;
  clientHostAfter: string | null;
  /** ms from the SIGKILL to the first setData that succeeded; null if none within the bound */
  firstWriteMs: number | null;
  /** ms from the SIGKILL until a live voter answered srvr with Mode: leader */
  newLeaderSeenMs: number | null;
  newLeaderId: number | null;
  attempts: number;
  errors: Record<string, number>;
  clientsCreated: number;
  /** ms from restarting the killed member until the ensemble was healthy again */
  rejoinMs: number | null;
  /** srvr Mode changes after the kill, "<ms>ms <id>=<mode>" ('-': no answer / not serving) */
  timeline: string[];
  /** when the first successful setData was sent (ms after the kill) */
  firstWriteSentMs: number | null;
  /** 'disconnected' events of the client(s) after the kill: Apache's learners drop their clients
   *  when they lose the leader; 0 means the member kept the connection and answered with errors */
  disconnects: number;
  problem?: string;
}

interface SideResult {
  kind: Kind;
  dir: string;
  startMs: number | null;
  localStartMs: number | null;
  writeVoters?: LoadFigure;
  writeFollower?: LoadFigure & { followerId: number };
  readObserver?: LoadFigure;
  connectGlobal?: SessionsFigure;
  connectLocal?: SessionsFigure;
  failover?: { rounds: FailoverRound[]; medianFirstWriteMs: number | null; medianNewLeaderMs: number | null };
  problems: string[];
}

// ---- process bookkeeping: every member of every ensemble started here ----

const started: Ensemble[] = [];
const killEverythingNow = (): void => killEnsemblesNow(started);

async function startEnsemble(kind: Kind, o: Options, sideDir: string, name: string, extra: Record<string, string>): Promise<{ e: Ensemble; ms: number }> {
  const t0 = performance.now();
  process.stderr.write(`[${kind}] starting ${name} ensemble (3 voters + 1 observer, ports ${o.basePorts[kind]}..${o.basePorts[kind] + 32}) ...\n`);
  const e = await Ensemble.start({
    kind,
    voters: 3,
    observers: 1,
    basePort: o.basePorts[kind],
    dir: path.join(sideDir, name),
    tickTime: o.tickTime,
    extra,
    zktsOnly: o.zktsLogLevel !== null ? { logLevel: o.zktsLogLevel } : {},
    startTimeoutMs: o.startTimeoutS * 1000,
  });
  started.push(e);
  const ms = performance.now() - t0;
  const leader = await e.leader();
  process.stderr.write(
    `[${kind}] ${name} ensemble healthy in ${(ms / 1000).toFixed(1)} s: ${e.members.map((m) => `${m.spec.id}:${m.spec.clientPort}/pid ${m.pid}${m === leader ? ' (leader)' : m.spec.role === 'observer' ? ' (observer)' : ''}`).join(', ')}\n`,
  );
  return { e, ms };
}

async function load(kind: Kind, o: Options, sideDir: string, name: string, args: string[]): Promise<LoadFigure> {
  const json = path.join(sideDir, `${name}.json`);
  const connect = args[2] ?? '';
  const full = [...args, '--label', `${kind} ${name}`, '--out', json, '--timeout', String(Math.ceil(o.duration + o.warmup + 120))];
  if (!o.progress) full.push('--quiet');
  process.stderr.write(`[${kind}] ${name}: zkts load ${full.join(' ')}\n`);
  const r = await runLoad(full);
  const res: LoadResult | null = r.result;
  const fig: LoadFigure = { connect, ok: res?.ok ?? false, problems: res?.problems ?? ['no result'], summary: (res?.summary ?? {}) as Any, json };
  if (res?.error !== undefined) fig.error = res.error;
  return fig;
}

function throughputArgs(o: Options): string[] {
  return ['-C', String(o.connections), '-p', String(o.depth), '-k', String(o.znodes), '-S', String(o.size), '-d', String(o.duration), '--warmup', String(o.warmup), '--root', '/ens-bench'];
}

/** zkts load connect at the observer while mntr on the observer is polled for its session counts. */
async function sessionsRun(kind: Kind, o: Options, sideDir: string, name: string, e: Ensemble): Promise<SessionsFigure> {
  const obs = e.observers[0]!;
  let stop = false;
  const max = { global: null as number | null, local: null as number | null };
  const poll = (async () => {
    const end = performance.now() + 600_000;
    while (!stop && performance.now() < end) {
      const m = await mntr(obs.spec.clientPort, 1000);
      const g = Number(m.get('zk_global_sessions'));
      const l = Number(m.get('zk_local_sessions'));
      if (m.has('zk_global_sessions') && Number.isFinite(g)) max.global = Math.max(max.global ?? 0, g);
      if (m.has('zk_local_sessions') && Number.isFinite(l)) max.local = Math.max(max.local ?? 0, l);
      await sleep(200);
    }
  })();
  try {
    const fig = await load(kind, o, sideDir, name, ['connect', '-c', Ensemble.connectString([obs]), '-n', String(o.sessions), '--hold', '1']);
    return { ...fig, mntrMax: max };
  } finally {
    stop = true;
    await poll;
  }
}

function errName(e: unknown): string {
  if (e instanceof ZkError) return e.codeName;
  return e instanceof Error ? e.message.slice(0, 80) : String(e);
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One round of e.: SIGKILL the leader, retry setData until one succeeds (bounded), then restart
 *  the killed member and wait for the ensemble to be healthy again (bounded). */
async function failoverRound(kind: Kind, o: Options, e: Ensemble, round: number): Promise<FailoverRound> {
  const leader = await e.waitHealthy(o.rejoinTimeoutS * 1000);
  const order = [...e.observers, ...e.voters.filter((m) => m !== leader), leader];
  const connect = Ensemble.connectString(order);
  const mkClient = (): ZkClient =>
    createClient(connect, { sessionTimeoutMs: 30000, shuffleHosts: false, retryDelayMs: 50, reconnectJitterMs: 50, connectTimeoutMs: 1000 });
  const data = Buffer.alloc(o.size, 0x62);
  const p = '/ens-bench-failover';
  const boundMs = o.failoverBoundS * 1000;
  const perAttemptMs = 2000;
  const maxAttempts = 100_000;
  const clients: ZkClient[] = [mkClient()];
  const rd: FailoverRound = {
    round,
    leaderId: leader.spec.id,
    killedPids: [],
    killedAt: '',
    clientHostBefore: null,
    clientHostAfter: null,
    firstWriteMs: null,
    newLeaderSeenMs: null,
    newLeaderId: null,
    attempts: 0,
    errors: {},
    clientsCreated: 1,
    rejoinMs: null,
    timeline: [],
    firstWriteSentMs: null,
    disconnects: 0,
  };
  const bump = (k: string): void => void (rd.errors[k] = (rd.errors[k] ?? 0) + 1);
  try {
    let c = clients[0]!;
    await c.waitConnected(10_000);
    await c.create(p, data).catch((err: unknown) => {
      if (!(err instanceof ZkError && err.code === Err.nodeExists)) throw err;
    });
    await c.setData(p, data); // the path works before the kill
    rd.clientHostBefore = c.connectedHost;

    let counting = true;
    const onDisconnect = (): void => {
      if (counting) rd.disconnects++;
    };
    c.on('disconnected', onDisconnect);
    rd.killedPids = leader.processTree();
    rd.killedAt = new Date().toISOString();
    const t0 = performance.now();
    const killed = leader.kill();
    const deadline = t0 + boundMs;

    // srvr Mode of every member every 50 ms: when a new leader shows, and each member's transitions.
    let done = false;
    const last = new Map<number, string>(e.members.map((m) => [m.spec.id, m === leader ? 'leader' : m.spec.role === 'observer' ? 'observer' : 'follower']));
    const watcher = (async () => {
      while (performance.now() < deadline) {
        // after the write: until every live member serves again (leader / follower / observer), 5 s at most
        const settled = [...last.entries()].every(([id, mode]) => id === leader.spec.id || mode === 'leader' || mode === 'follower' || mode === 'observer');
        if (done && ((rd.newLeaderSeenMs !== null && settled) || performance.now() - t0 > (rd.firstWriteMs ?? 0) + 5000)) return;
        const modes = await e.modes();
        const ms = Math.round(performance.now() - t0);
        e.members.forEach((m, j) => {
          const mode = modes[j] ?? '-';
          if (last.get(m.spec.id) !== mode) {
            last.set(m.spec.id, mode);
            rd.timeline.push(`${ms}ms ${m.spec.id}=${mode}`);
          }
          if (rd.newLeaderSeenMs === null && m !== leader && mode === 'leader') {
            rd.newLeaderSeenMs = performance.now() - t0;
            rd.newLeaderId = m.spec.id;
          }
        });
        await sleep(50);
      }
    })();

    while (rd.firstWriteMs === null && performance.now() < deadline && rd.attempts < maxAttempts) {
      if (c.state === 'expired' || c.state === 'closed' || c.state === 'authFailed') {
        bump(`client ${c.state}: new session`);
        if (clients.length >= 20) break;
        c = mkClient();
        c.on('disconnected', onDisconnect);
        clients.push(c);
        rd.clientsCreated++;
      }
      rd.attempts++;
      const sentMs = performance.now() - t0;
      const attempt = c.setData(p, data).then(
        () => {
          if (rd.firstWriteMs === null) {
            rd.firstWriteMs = performance.now() - t0;
            rd.firstWriteSentMs = sentMs;
          }
          return 'ok' as const;
        },
        (err: unknown) => {
          bump(errName(err));
          return 'error' as const;
        },
      );
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        attempt,
        new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), Math.max(1, Math.min(perAttemptMs, deadline - performance.now()))))),
      ]);
      clearTimeout(timer);
      if (r === 'timeout') bump(`no answer in ${perAttemptMs} ms`);
      else if (r === 'error') await sleep(10);
    }
    done = true;
    counting = false;
    await watcher;
    await killed;
    rd.clientHostAfter = c.connectedHost;
    if (rd.firstWriteMs === null) {
      rd.problem = `no write succeeded within ${o.failoverBoundS} s of SIGKILLing leader ${leader.spec.id} (${rd.attempts} attempts; errors ${JSON.stringify(rd.errors)}; modes after: ${(await e.modes()).map((m, i) => `${e.members[i]!.spec.id}=${m ?? '-'}`).join(' ')})`;
    }
  } catch (err) {
    rd.problem = `round failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 }).catch(() => undefined)));
  }
  // Restart the killed member (same directory) and wait until everyone is back.
  if (leader.exited) {
    const t1 = performance.now();
    leader.start();
    try {
      await e.waitHealthy(o.rejoinTimeoutS * 1000);
      rd.rejoinMs = performance.now() - t1;
    } catch (err) {
      const msg = `restarted member ${leader.spec.id} did not rejoin: ${err instanceof Error ? err.message : String(err)}`;
      rd.problem = rd.problem === undefined ? msg : `${rd.problem}; ${msg}`;
    }
  }
  process.stderr.write(
    `[${kind}] failover ${round}: leader ${rd.leaderId} killed; first write after ${rd.firstWriteMs === null ? 'NONE' : `${Math.round(rd.firstWriteMs)} ms`} (${rd.attempts} attempts, errors ${JSON.stringify(rd.errors)}); new leader ${rd.newLeaderId ?? '-'} seen after ${rd.newLeaderSeenMs === null ? '-' : `${Math.round(rd.newLeaderSeenMs)} ms`}; rejoin ${rd.rejoinMs === null ? '-' : `${(rd.rejoinMs / 1000).toFixed(1)} s`}${rd.problem !== undefined ? `; PROBLEM: ${rd.problem}` : ''}\n` +
      `[${kind}]   (the successful setData was sent ${rd.firstWriteSentMs === null ? '-' : `${Math.round(rd.firstWriteSentMs)} ms`} after the kill; client disconnects ${rd.disconnects}; client ${rd.clientHostBefore ?? '-'} -> ${rd.clientHostAfter ?? '-'}; srvr modes: ${rd.timeline.join(', ')})\n`,
  );
  return rd;
}

function noteLoad(side: SideResult, what: string, f: LoadFigure): void {
  if (f.error !== undefined) side.problems.push(`${what}: ${f.error}`);
  for (const p of f.problems) side.problems.push(`${what}: ${p}`);
}

async function runSide(kind: Kind, o: Options, runDir: string): Promise<SideResult> {
  const sideDir = path.join(runDir, kind);
  fs.mkdirSync(sideDir, { recursive: true });
  const side: SideResult = { kind, dir: sideDir, startMs: null, localStartMs: null, problems: [] };
  const step = async (what: string, f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (err) {
      side.problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      process.stderr.write(`[${kind}] ${what} FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
  const needDefault = ['a', 'b', 'c', 'e'].some((f) => o.figures.has(f));
  if (needDefault) {
    let e: Ensemble | null = null;
    try {
      const s = await startEnsemble(kind, o, sideDir, 'default', {});
      e = s.e;
      side.startMs = s.ms;
      const ens = e;
      if (o.figures.has('a')) {
        await step('a1 write (voters)', async () => {
          const f = await load(kind, o, sideDir, 'write-voters', ['write', '-c', Ensemble.connectString(ens.voters), ...throughputArgs(o)]);
          side.writeVoters = f;
          noteLoad(side, 'a1 write (voters)', f);
        });
        await step('a2 write (one follower)', async () => {
          const leader = await ens.waitHealthy(o.rejoinTimeoutS * 1000);
          const follower = ens.voters.find((m) => m !== leader)!;
          const f = await load(kind, o, sideDir, 'write-follower', ['write', '-c', Ensemble.connectString([follower]), ...throughputArgs(o)]);
          side.writeFollower = { ...f, followerId: follower.spec.id };
          noteLoad(side, 'a2 write (one follower)', f);
        });
      }
      if (o.figures.has('b')) {
        await step('b read (observer)', async () => {
          await ens.waitHealthy(o.rejoinTimeoutS * 1000);
          const f = await load(kind, o, sideDir, 'read-observer', ['read', '-c', Ensemble.connectString(ens.observers), ...throughputArgs(o)]);
          side.readObserver = f;
          noteLoad(side, 'b read (observer)', f);
        });
      }
      if (o.figures.has('c')) {
        await step('c global sessions (observer)', async () => {
          await ens.waitHealthy(o.rejoinTimeoutS * 1000);
          const f = await sessionsRun(kind, o, sideDir, 'connect-global', ens);
          side.connectGlobal = f;
          noteLoad(side, 'c global sessions (observer)', f);
        });
      }
      if (o.figures.has('e')) {
        const rounds: FailoverRound[] = [];
        for (let r = 1; r <= o.failovers; r++) {
          let rd: FailoverRound | null = null;
          await step(`e failover ${r}`, async () => {
            rd = await failoverRound(kind, o, ens, r);
          });
          if (rd === null) break;
          const done: FailoverRound = rd;
          rounds.push(done);
          if (done.problem !== undefined) side.problems.push(`e failover ${r}: ${done.problem}`);
          if (done.rejoinMs === null) break; // the ensemble is not whole: no further rounds
        }
        side.failover = {
          rounds,
          medianFirstWriteMs: median(rounds.flatMap((x) => (x.firstWriteMs === null ? [] : [x.firstWriteMs]))),
          medianNewLeaderMs: median(rounds.flatMap((x) => (x.newLeaderSeenMs === null ? [] : [x.newLeaderSeenMs]))),
        };
        if (rounds.length < o.failovers) side.problems.push(`e: only ${rounds.length} of ${o.failovers} failover rounds ran`);
      }
    } catch (err) {
      side.problems.push(`default ensemble: ${err instanceof Error ? err.message : String(err)}`);
      process.stderr.write(`[${kind}] default ensemble FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    } finally {
      if (e !== null) {
        const crashed = e.members.filter((m) => m.exited && m.exitDescription !== 'signal SIGKILL' && m.exitDescription !== '');
        for (const m of crashed) side.problems.push(`member ${m.spec.id} exited on its own (${m.exitDescription}); log ${m.spec.logPath}`);
        await e.stop();
      }
    }
  }
  if (o.figures.has('d')) {
    let e: Ensemble | null = null;
    try {
      const s = await startEnsemble(kind, o, sideDir, 'local-sessions', { localSessionsEnabled: 'true' });
      e = s.e;
      side.localStartMs = s.ms;
      const ens = e;
      await step('d local sessions (observer)', async () => {
        const f = await sessionsRun(kind, o, sideDir, 'connect-local', ens);
        side.connectLocal = f;
        noteLoad(side, 'd local sessions (observer)', f);
      });
    } catch (err) {
      side.problems.push(`local-sessions ensemble: ${err instanceof Error ? err.message : String(err)}`);
      process.stderr.write(`[${kind}] local-sessions ensemble FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    } finally {
      if (e !== null) {
        const crashed = e.members.filter((m) => m.exited && m.exitDescription !== 'signal SIGKILL' && m.exitDescription !== '');
        for (const m of crashed) side.problems.push(`member ${m.spec.id} (local-sessions) exited on its own (${m.exitDescription}); log ${m.spec.logPath}`);
        await e.stop();
      }
    }
  }
  return side;
}

// ---- the table ----

interface Row {
  figure: string;
  better: 'higher' | 'lower' | 'check';
  get: (s: SideResult) => number | null;
}

const sm = (f: LoadFigure | undefined): Any => (f?.summary ?? {}) as Any;
const ROWS: Array<Row & { group: string }> = [
  { group: 'a', figure: 'a1 write ops/s (C sessions over 3 voters)', better: 'higher', get: (s) => num(sm(s.writeVoters)['opsPerSec']) },
  { group: 'a', figure: 'a1 write p50 ms', better: 'lower', get: (s) => num(sm(s.writeVoters)['latencyMs']?.write?.p50) },
  { group: 'a', figure: 'a1 write p99 ms', better: 'lower', get: (s) => num(sm(s.writeVoters)['latencyMs']?.write?.p99) },
  { group: 'a', figure: 'a2 write ops/s (all on 1 follower)', better: 'higher', get: (s) => num(sm(s.writeFollower)['opsPerSec']) },
  { group: 'a', figure: 'a2 write p50 ms', better: 'lower', get: (s) => num(sm(s.writeFollower)['latencyMs']?.write?.p50) },
  { group: 'a', figure: 'a2 write p99 ms', better: 'lower', get: (s) => num(sm(s.writeFollower)['latencyMs']?.write?.p99) },
  { group: 'b', figure: 'b  observer read ops/s', better: 'higher', get: (s) => num(sm(s.readObserver)['opsPerSec']) },
  { group: 'b', figure: 'b  observer read p50 ms', better: 'lower', get: (s) => num(sm(s.readObserver)['latencyMs']?.read?.p50) },
  { group: 'b', figure: 'b  observer read p99 ms', better: 'lower', get: (s) => num(sm(s.readObserver)['latencyMs']?.read?.p99) },
  { group: 'c', figure: 'c  global sessions opened/s (observer)', better: 'higher', get: (s) => num(sm(s.connectGlobal)['open']?.sessionsPerSec) },
  { group: 'c', figure: 'c  global connect p99 ms', better: 'lower', get: (s) => num(sm(s.connectGlobal)['open']?.latencyMs?.p99) },
  { group: 'c', figure: 'c  global connect failures', better: 'check', get: (s) => num(sm(s.connectGlobal)['open']?.failed) },
  { group: 'c', figure: 'c  global sessions closed/s', better: 'higher', get: (s) => num(sm(s.connectGlobal)['close']?.sessionsPerSec) },
  { group: 'c', figure: 'c  observer mntr max global sessions', better: 'check', get: (s) => s.connectGlobal?.mntrMax.global ?? null },
  { group: 'c', figure: 'c  observer mntr max local sessions', better: 'check', get: (s) => s.connectGlobal?.mntrMax.local ?? null },
  { group: 'd', figure: 'd  local sessions opened/s (observer)', better: 'higher', get: (s) => num(sm(s.connectLocal)['open']?.sessionsPerSec) },
  { group: 'd', figure: 'd  local connect p99 ms', better: 'lower', get: (s) => num(sm(s.connectLocal)['open']?.latencyMs?.p99) },
  { group: 'd', figure: 'd  local connect failures', better: 'check', get: (s) => num(sm(s.connectLocal)['open']?.failed) },
  { group: 'd', figure: 'd  local sessions closed/s', better: 'higher', get: (s) => num(sm(s.connectLocal)['close']?.sessionsPerSec) },
  { group: 'd', figure: 'd  observer mntr max local sessions', better: 'check', get: (s) => s.connectLocal?.mntrMax.local ?? null },
  { group: 'd', figure: 'd  observer mntr max global sessions', better: 'check', get: (s) => s.connectLocal?.mntrMax.global ?? null },
  { group: 'e', figure: 'e  leader SIGKILL -> first write ms (median)', better: 'lower', get: (s) => s.failover?.medianFirstWriteMs ?? null },
  { group: 'e', figure: 'e  leader SIGKILL -> new leader seen ms (median)', better: 'lower', get: (s) => s.failover?.medianNewLeaderMs ?? null },
  { group: 'e', figure: 'e  rounds with a write / rounds run', better: 'check', get: (s) => (s.failover === undefined ? null : s.failover.rounds.filter((r) => r.firstWriteMs !== null).length) },
  { group: 'e', figure: 'e  killed member rejoin s (median)', better: 'lower', get: (s) => { const m = median(s.failover?.rounds.flatMap((r) => (r.rejoinMs === null ? [] : [r.rejoinMs])) ?? []); return m === null ? null : m / 1000; } },
  { group: '', figure: 'ensemble start -> healthy s', better: 'lower', get: (s) => (s.startMs === null ? null : s.startMs / 1000) },
];

function fmt(v: number | null): string {
  if (v === null) return '-';
  if (Number.isInteger(v) || Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function table(o: Options, sides: Map<Kind, SideResult>): { text: string; rows: Array<Record<string, unknown>> } {
  const both = sides.has('zkts') && sides.has('apache');
  const cols: Kind[] = (['zkts', 'apache'] as Kind[]).filter((k) => sides.has(k));
  const lines: string[][] = [['figure', ...cols.map((k) => (k === 'apache' ? 'Apache' : 'zkts')), ...(both ? ['zkts/Apache'] : [])]];
  const rows: Array<Record<string, unknown>> = [];
  for (const row of ROWS) {
    if (row.group !== '' && !o.figures.has(row.group)) continue;
    const vals = cols.map((k) => row.get(sides.get(k)!));
    let ratio = '';
    let ratioNum: number | null = null;
    if (both) {
      const [z, a] = vals;
      if (z !== null && z !== undefined && a !== null && a !== undefined && a !== 0) {
        ratioNum = z / a;
        ratio = `${ratioNum.toFixed(2)}x${row.better === 'higher' ? ' (^ better)' : row.better === 'lower' ? ' (v better)' : ''}`;
      } else ratio = '-';
    }
    let label = row.figure;
    if (row.group === 'e' && row.figure.startsWith('e  rounds')) {
      const runs = cols.map((k) => sides.get(k)!.failover?.rounds.length ?? 0);
      label = `e  rounds with a write (of ${runs.join(' / ')} run)`;
    }
    lines.push([label, ...vals.map(fmt), ...(both ? [ratio] : [])]);
    rows.push({ figure: label, better: row.better, ...Object.fromEntries(cols.map((k, i) => [k, vals[i] ?? null])), ...(both ? { ratio: ratioNum } : {}) });
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const text = lines
    .map((l, j) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + (j === 0 ? `\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : ''))
    .join('\n');
  return { text, rows };
}

// ---- options ----

const USAGE = `usage: node dist/bench/ensemble-side-by-side.js [options]   (npm run bench:ensemble -- [options])

Runs the same load against a 3-voter + 1-observer Apache ZooKeeper 3.8 ensemble and a 3-voter +
1-observer zkts ensemble (separate processes on loopback), prints figure | zkts | Apache | ratio.

  --only zkts|apache      one side only
  --figures a,b,c,d,e     which figures (default all): a writes, b observer reads, c global
                          sessions at the observer, d local sessions at the observer, e leader kill
  -C, --connections N     sessions for a and b (default 8)
  -p, --depth N           requests in flight per session (default 32)
  -d, --duration S        measured seconds per throughput run (default 10)
      --warmup S          warm-up seconds before measuring (default 2)
  -k, --znodes K          znodes (default 100)
  -S, --size BYTES        data per znode (default 100)
  -n, --sessions N        sessions opened for c and d (default 2000)
      --failovers R       leader-kill rounds for e (default 3)
      --failover-bound S  give up on a round after S seconds without a write (default 60)
      --tick-time MS      tickTime for both sides (default 2000)
      --apache-base P     Apache member 1 client port (default 25400)
      --zkts-base P       zkts member 1 client port (default 25500)
      --start-timeout S   seconds for an ensemble to become healthy (default 90)
      --rejoin-timeout S  seconds for a restarted member to rejoin (default 90)
      --json FILE         the JSON result (default <run dir>/result.json)
      --dir DIR           parent of the run directory (default os.tmpdir())
      --keep              keep the member directories even when nothing went wrong
      --progress          the load harness's progress line on stderr
      --zkts-log-level L  logLevel for zkts members only (default: zkts's default, warn)
  -h, --help              this text
Environment: ZKTS_ENS_BENCH_ARGS is read as extra arguments before the command line's.
`;

function parseOptions(argv: string[]): Options | null {
  const envArgs = (process.env['ZKTS_ENS_BENCH_ARGS'] ?? '').split(/\s+/).filter((x) => x !== '');
  const { values } = parseArgs({
    args: [...envArgs, ...argv],
    options: {
      only: { type: 'string' },
      figures: { type: 'string', default: FIGURES.join(',') },
      connections: { type: 'string', short: 'C', default: '8' },
      depth: { type: 'string', short: 'p', default: '32' },
      duration: { type: 'string', short: 'd', default: '10' },
      warmup: { type: 'string', default: '2' },
      znodes: { type: 'string', short: 'k', default: '100' },
      size: { type: 'string', short: 'S', default: '100' },
      sessions: { type: 'string', short: 'n', default: '2000' },
      failovers: { type: 'string', default: '3' },
      'failover-bound': { type: 'string', default: '60' },
      'tick-time': { type: 'string', default: '2000' },
      'apache-base': { type: 'string', default: '25400' },
      'zkts-base': { type: 'string', default: '25500' },
      'start-timeout': { type: 'string', default: '90' },
      'rejoin-timeout': { type: 'string', default: '90' },
      json: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      progress: { type: 'boolean', default: false },
      'zkts-log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(USAGE);
    return null;
  }
  const int = (name: string, v: string, min: number, max: number, real = false): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (!real && !Number.isInteger(n)) || n < min || n > max) throw new Error(`--${name}: '${v}' must be ${real ? 'a number' : 'an integer'} in [${min}, ${max}]`);
    return n;
  };
  const figures = new Set(values.figures.split(',').map((x) => x.trim()).filter((x) => x !== ''));
  for (const f of figures) if (!(FIGURES as readonly string[]).includes(f)) throw new Error(`--figures: unknown figure '${f}' (a,b,c,d,e)`);
  if (values.only !== undefined && values.only !== 'zkts' && values.only !== 'apache') throw new Error(`--only: '${values.only}' is not zkts or apache`);
  const kinds: Kind[] = values.only === 'zkts' ? ['zkts'] : values.only === 'apache' ? ['apache'] : ['apache', 'zkts'];
  const basePorts: Record<Kind, number> = {
    apache: int('apache-base', values['apache-base'], PORT_MIN, PORT_MAX - 32),
    zkts: int('zkts-base', values['zkts-base'], PORT_MIN, PORT_MAX - 32),
  };
  if (kinds.length === 2 && Math.abs(basePorts.apache - basePorts.zkts) < 33) throw new Error('--apache-base and --zkts-base must be at least 33 apart');
  return {
    kinds,
    figures,
    connections: int('connections', values.connections, 1, 10_000),
    depth: int('depth', values.depth, 1, 10_000),
    duration: int('duration', values.duration, 0.5, 3600, true),
    warmup: int('warmup', values.warmup, 0, 600, true),
    znodes: int('znodes', values.znodes, 1, 1_000_000),
    size: int('size', values.size, 0, 1_000_000),
    sessions: int('sessions', values.sessions, 1, 1_000_000),
    failovers: int('failovers', values.failovers, 1, 100),
    failoverBoundS: int('failover-bound', values['failover-bound'], 1, 3600, true),
    tickTime: int('tick-time', values['tick-time'], 10, 60_000),
    basePorts,
    startTimeoutS: int('start-timeout', values['start-timeout'], 5, 3600),
    rejoinTimeoutS: int('rejoin-timeout', values['rejoin-timeout'], 5, 3600),
    json: values.json ?? null,
    dir: values.dir ?? os.tmpdir(),
    keep: values.keep,
    progress: values.progress,
    zktsLogLevel: values['zkts-log-level'] ?? null,
  };
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<number> {
  const o = parseOptions(argv);
  if (o === null) return 0;
  killOnExit(killEverythingNow);
  fs.mkdirSync(o.dir, { recursive: true });
  const runDir = fs.mkdtempSync(path.join(o.dir, 'zkts-ens-bench-'));
  process.stderr.write(`run directory ${runDir}\n`);
  const startedAt = new Date();
  const sides = new Map<Kind, SideResult>();
  try {
    for (const k of o.kinds) sides.set(k, await runSide(k, o, runDir));
  } finally {
    killEverythingNow(); // nothing should be left; belt and braces
  }

  const { text, rows } = table(o, sides);
  const header =
    `\nensemble side by side: 3 voters + 1 observer per side, tickTime ${o.tickTime}, fsync on; ` +
    `a/b: ${o.connections} sessions x ${o.depth} in flight, ${o.znodes} znodes x ${o.size} B, ${o.duration} s (+${o.warmup} s warm-up); ` +
    `c/d: ${o.sessions} sessions at the observer; e: ${o.failovers} rounds, bound ${o.failoverBoundS} s\n`;
  process.stdout.write(`${header}${text}\n`);
  for (const s of sides.values()) {
    if (s.failover !== undefined) {
      for (const r of s.failover.rounds) {
        process.stdout.write(
          `  ${s.kind} e round ${r.round}: leader ${r.leaderId} SIGKILLed (pids ${r.killedPids.join(',')}); first write ${r.firstWriteMs === null ? 'NONE' : `${Math.round(r.firstWriteMs)} ms`}, new leader ${r.newLeaderId ?? '-'} seen ${r.newLeaderSeenMs === null ? '-' : `${Math.round(r.newLeaderSeenMs)} ms`}, client ${r.clientHostBefore ?? '-'} -> ${r.clientHostAfter ?? '-'} (${r.disconnects} disconnects), ${r.attempts} attempts ${JSON.stringify(r.errors)}, rejoin ${r.rejoinMs === null ? '-' : `${(r.rejoinMs / 1000).toFixed(1)} s`}\n`,
        );
      }
    }
  }
  let problems = 0;
  for (const s of sides.values()) {
    for (const p of s.problems) {
      problems++;
      process.stdout.write(`  PROBLEM ${s.kind}: ${p}\n`);
    }
  }
  const jsonPath = o.json ?? path.join(runDir, 'result.json');
  const result = {
    tool: 'zkts ensemble-side-by-side',
    formatVersion: 1,
    startedAt: startedAt.toISOString(),
    wallS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
    argv,
    environment: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.availableParallelism() },
    options: { ...o, figures: [...o.figures] },
    notes: {
      a1: 'each load session connects to one of the 3 voters, picked at random per session (host shuffling), so the split is uneven with few sessions',
      a2: 'every session on the lowest-id follower: its writes are forwarded to the leader',
      c: 'default zoo.cfg (localSessionsEnabled=false); mntr max = largest zk_*_sessions value the observer reported while the sessions were open',
      d: 'a separate ensemble with localSessionsEnabled=true on every member; the client does not ask for local sessions itself',
      e: 'zkts TS client on the observer (connect string: observer, followers, leader; no shuffle; retryDelay 50 ms, connect timeout 1 s); setData retried with at most 2 s per attempt and 10 ms between failed attempts; the killed member is restarted on its data and must rejoin before the next round',
    },
    table: rows,
    sides: Object.fromEntries(sides),
    problems: [...sides.values()].flatMap((s) => s.problems.map((p) => `${s.kind}: ${p}`)),
  };
  fs.mkdirSync(path.dirname(path.resolve(jsonPath)), { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
  // Member directories (data, logs) go unless something went wrong or --keep.
  for (const s of sides.values()) {
    if (o.keep || s.problems.length > 0) {
      process.stdout.write(`  ${s.kind}: member directories (zoo.cfg, data, server.log) kept under ${s.dir}\n`);
      continue;
    }
    for (const name of ['default', 'local-sessions']) fs.rmSync(path.join(s.dir, name), { recursive: true, force: true });
  }
  process.stdout.write(`wrote ${jsonPath}\n`);
  return problems === 0 ? 0 : 3;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    (code) => process.exit(code),
    (e: unknown) => {
      const usage = e instanceof Error && (e.message.startsWith('--') || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true);
      process.stderr.write(`ensemble-side-by-side: ${e instanceof Error ? (usage ? e.message : (e.stack ?? e.message)) : String(e)}\n`);
      killEverythingNow();
      process.exit(usage ? 2 : 1);
    },
  );
}

