// The load-test worker: a child process (child_process.fork) that holds its share of the
// sessions, runs the commands its parent sends, and streams what it measures back in per-second
// buckets. It never outlives its parent: a lost IPC channel, an `abort` or a hard deadline make it
// close its sessions and exit.

import { performance } from 'node:perf_hooks';
import { createClient, type ClientOptions, type ZkClient } from '../client/index.js';
import { ZkError } from '../client/errors.js';
import { Err, EventType } from '../common/zk.js';
import { Histogram } from './histogram.js';
import {
  clientCloseTimeoutMs,
  clientReconnectJitterMs,
  clientRetryDelayMs,
  disconnectReasonCharsMax,
  errorKindsMax,
  workerExitHardMs,
  workerFlushIntervalMs,
} from './limits.js';
import { LeanWorker } from './worker-lean.js';
import {
  nowMs,
  type CloseCommand,
  type CloseResult,
  type Command,
  type HerdCommand,
  type HerdResult,
  type HoldCommand,
  type HoldResult,
  type InitMessage,
  type OpenCommand,
  type OpenResult,
  type OpsCommand,
  type OpsResult,
  type ParentMessage,
  type WatchArmCommand,
  type WatchArmResult,
  type WatchWaitCommand,
  type WatchWaitResult,
  type WorkerMessage,
} from './protocol.js';

interface Session {
  client: ZkClient;
  /** The source address asked for, or ''. */
  localAddress: string;
}

interface Bucket {
  counters: Map<string, number>;
  hists: Map<string, Histogram>;
}


let init: InitMessage | null = null;
let sessions: Session[] = [];
/** The lean client's sessions (init.client 'lean'), once opened. */
let lean: LeanWorker | null = null;
let aborted = false;
const buckets = new Map<number, Bucket>();
let flushTimer: NodeJS.Timeout | null = null;

function send(m: WorkerMessage): void {
  if (process.connected) process.send?.(m);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

// ---- measuring ---------------------------------------------------------------------------------

function currentBucket(): Bucket {
  const sec = Math.floor((nowMs() - (init?.epoch ?? 0)) / 1000);
  let b = buckets.get(sec);
  if (b === undefined) {
    b = { counters: new Map(), hists: new Map() };
    buckets.set(sec, b);
  }
  return b;
}

function inc(name: string, n = 1): void {
  const c = currentBucket().counters;
  c.set(name, (c.get(name) ?? 0) + n);
}

/** The current second's histogram of `name`. */
function hist(name: string): Histogram {
  const h = currentBucket().hists;
  let x = h.get(name);
  if (x === undefined) {
    x = new Histogram();
    h.set(name, x);
  }
  return x;
}

function recordMs(name: string, ms: number): void {
  hist(name).recordMs(ms);
}

/** Sends every bucket older than the current second (all of them when `all`), then gauges. */
function flush(all: boolean): void {
  const cur = Math.floor((nowMs() - (init?.epoch ?? 0)) / 1000);
  lean?.flush();
  for (const [sec, b] of buckets) {
    if (!all && sec >= cur) continue;
    buckets.delete(sec);
    const counters: Record<string, number> = {};
    for (const [k, v] of b.counters) counters[k] = v;
    const hists: Record<string, ReturnType<Histogram['toData']>> = {};
    for (const [k, v] of b.hists) hists[k] = v.toData();
    send({ type: 'bucket', sec, counters, hists });
  }
  let connected = 0;
  let held = sessions.length;
  for (const s of sessions) if (s.client.state === 'connected') connected++;
  if (lean !== null) {
    connected += lean.connected;
    held += lean.size;
  }
  send({ type: 'gauge', connected, sessions: held, rssBytes: process.memoryUsage.rss() });
}

function errorKey(e: unknown): string {
  if (e instanceof ZkError) return e.codeName;
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 80 ? m.slice(0, 80) : m;
}

function countError(kinds: Record<string, number>, e: unknown): void {
  const k = errorKey(e);
  if (kinds[k] !== undefined) kinds[k]++;
  else if (Object.keys(kinds).length < errorKindsMax) kinds[k] = 1;
  else kinds['(other)'] = (kinds['(other)'] ?? 0) + 1;
}

function isDead(c: ZkClient): boolean {
  return c.state === 'closed' || c.state === 'expired' || c.state === 'authFailed';
}

/**
 * Runs fn(0..count-1) paced at `ratePerSec` (0: unpaced) with at most `concurrency` in flight,
 * stopping early at `deadline` (performance.now() ms) or on abort. Resolves with how many started.
 */
function paced(count: number, ratePerSec: number, concurrency: number, deadline: number, fn: (i: number) => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const start = performance.now();
    let next = 0;
    let inflight = 0;
    let timer: NodeJS.Timeout | null = null;
    let finished = false;
    const stopped = (): boolean => aborted || next >= count || performance.now() >= deadline;
    const pump = (): void => {
      timer = null;
      while (!stopped() && inflight < concurrency) {
        if (ratePerSec > 0) {
          const due = start + (next * 1000) / ratePerSec;
          const now = performance.now();
          if (due > now) {
            timer = setTimeout(pump, Math.max(1, due - now));
            return;
          }
        }
        inflight++;
        const i = next++;
        fn(i).then(done, done);
      }
      if (stopped() && inflight === 0 && !finished) {
        finished = true;
        if (timer !== null) clearTimeout(timer);
        resolve(next);
      }
    };
    const done = (): void => {
      inflight--;
      if (timer === null) pump();
      else if (stopped() && inflight === 0) pump();
    };
    pump();
  });
}

// ---- commands ----------------------------------------------------------------------------------

function clientOptions(localAddress: string, extra: ClientOptions = {}): ClientOptions {
  const o = init as InitMessage;
  const opts: ClientOptions & { localAddress?: string } = {
    sessionTimeoutMs: o.sessionTimeoutMs,
    retryDelayMs: clientRetryDelayMs,
    reconnectJitterMs: clientReconnectJitterMs,
    ...extra,
  };
  if (o.localSession) opts.localSession = true;
  // Forward-compatible: the zkts client does not (yet) take a source address; when it does, this
  // is the option name the load harness uses. Whether it took effect is checked after connecting.
  if (localAddress !== '') opts.localAddress = localAddress;
  return opts;
}

function socketLocalAddress(c: ZkClient): string | undefined {
  // Diagnostics only: the client keeps its socket private.
  const s = (c as unknown as { socket?: { localAddress?: string } | null }).socket;
  return s?.localAddress ?? undefined;
}

function watchSession(c: ZkClient): void {
  c.on('disconnected', () => inc('disconnects'));
  c.on('expired', () => inc('expirations'));
  c.on('error', () => inc('clientErrors'));
}

async function open(cmd: OpenCommand): Promise<OpenResult> {
  const o = init as InitMessage;
  if (o.client === 'lean') {
    lean ??= new LeanWorker(o, { inc, hist });
    return lean.open(cmd);
  }
  const errors: Record<string, number> = {};
  let opened = 0;
  let failed = 0;
  let honoured: boolean | null = null;
  const deadline = performance.now() + cmd.timeoutMs + (cmd.ratePerSec > 0 ? (cmd.count * 1000) / cmd.ratePerSec : cmd.count * 50);
  await paced(cmd.count, cmd.ratePerSec, cmd.concurrency, deadline, async (i) => {
    const addrs = o.sourceAddrs;
    const localAddress = addrs.length === 0 ? '' : (addrs[(cmd.offset + i) % addrs.length] as string);
    const t0 = performance.now();
    inc('connectStarted');
    const c = createClient(o.connectString, clientOptions(localAddress));
    try {
      await c.waitConnected(cmd.timeoutMs);
      recordMs('connect', performance.now() - t0);
      inc('connected');
      opened++;
      if (localAddress !== '' && honoured !== false) honoured = socketLocalAddress(c) === localAddress;
      watchSession(c);
      sessions.push({ client: c, localAddress });
      if (aborted) void c.close({ timeoutMs: 500 });
    } catch (e) {
      failed++;
      inc('connectFailed');
      countError(errors, e);
      void c.close({ closeSession: false });
    }
  });
  return { opened, failed, errors, sourceAddrsHonoured: honoured };
}

async function close(cmd: CloseCommand): Promise<CloseResult> {
  if (lean !== null) {
    const r = await lean.close(cmd);
    lean = null;
    return r;
  }
  const list = sessions;
  sessions = [];
  let closed = 0;
  let timedOut = 0;
  const deadline = performance.now() + cmd.timeoutMs + (cmd.ratePerSec > 0 ? (list.length * 1000) / cmd.ratePerSec : list.length * 50);
  const started = await paced(list.length, cmd.ratePerSec, cmd.concurrency, deadline, async (i) => {
    const c = (list[i] as Session).client;
    if (isDead(c)) return;
    const t0 = performance.now();
    await c.close({ timeoutMs: cmd.timeoutMs });
    const ms = performance.now() - t0;
    recordMs('close', ms);
    inc('closed');
    closed++;
    if (ms >= cmd.timeoutMs - 1) {
      timedOut++;
      inc('closeTimeouts');
    }
  });
  for (let i = started; i < list.length; i++) void (list[i] as Session).client.close({ closeSession: false });
  return { closed, timedOut };
}

async function hold(cmd: HoldCommand): Promise<HoldResult> {
  if (lean !== null) return lean.hold(cmd, () => aborted);
  const list = sessions;
  let disconnects = 0;
  let expirations = 0;
  let probes = 0;
  let probeErrors = 0;
  const disconnectReasons: Record<string, number> = {};
  const onDisc = (reason?: unknown): void => {
    disconnects++;
    const key = (typeof reason === 'string' ? reason : String(reason ?? '')).replace(/\d+/g, 'N').slice(0, disconnectReasonCharsMax);
    if (key in disconnectReasons || Object.keys(disconnectReasons).length < errorKindsMax) disconnectReasons[key] = (disconnectReasons[key] ?? 0) + 1;
  };
  const onExp = (): void => {
    expirations++;
  };
  for (const s of list) {
    s.client.on('disconnected', onDisc);
    s.client.on('expired', onExp);
  }
  const timers: NodeJS.Timeout[] = [];
  if (cmd.probeIntervalMs > 0) {
    for (const s of list) {
      const c = s.client;
      let busy = false;
      const probe = (): void => {
        if (busy || aborted || c.state !== 'connected') return;
        busy = true;
        const t0 = performance.now();
        c.exists(cmd.probePath).then(
          () => {
            busy = false;
            probes++;
            recordMs('probe', performance.now() - t0);
          },
          () => {
            busy = false;
            probeErrors++;
            inc('probeErrors');
          },
        );
      };
      // Spread the first probes over one interval, then one per interval per session.
      const first = setTimeout(() => {
        probe();
        timers.push(setInterval(probe, cmd.probeIntervalMs));
      }, Math.random() * cmd.probeIntervalMs);
      timers.push(first);
    }
  }
  const end = performance.now() + cmd.durationMs;
  while (!aborted && performance.now() < end) await sleep(Math.min(200, end - performance.now()));
  for (const t of timers) clearTimeout(t);
  for (const s of list) {
    s.client.off('disconnected', onDisc);
    s.client.off('expired', onExp);
  }
  let connectedAtEnd = 0;
  for (const s of list) if (s.client.state === 'connected') connectedAtEnd++;
  return { connectedAtEnd, disconnects, expirations, probes, probeErrors, disconnectReasons };
}

async function ops(cmd: OpsCommand): Promise<OpsResult> {
  const payload = Buffer.alloc(cmd.dataBytes, 0x61);
  const paths = cmd.paths;
  const errorKinds: Record<string, number> = {};
  let measuring = false;
  let stopped = false;
  let n = 0;
  let errors = 0;
  const slot = async (c: ZkClient): Promise<void> => {
    while (!stopped && !aborted) {
      const path = paths[(Math.random() * paths.length) | 0] as string;
      const read = cmd.readRatio >= 1 || (cmd.readRatio > 0 && Math.random() < cmd.readRatio);
      const t0 = performance.now();
      try {
        if (read) await c.getData(path);
        else await c.setData(path, payload);
        if (measuring) {
          recordMs(read ? 'read' : 'write', performance.now() - t0);
          n++;
        } else inc('warmupOps');
      } catch (e) {
        if (measuring) {
          errors++;
          inc('errors');
          countError(errorKinds, e);
        }
        if (isDead(c)) return;
        if (e instanceof ZkError && e.code === Err.connectionLoss) await sleep(10);
      }
    }
  };
  const loops: Promise<void>[] = [];
  for (const s of sessions) for (let d = 0; d < cmd.depth; d++) loops.push(slot(s.client));
  const warmEnd = performance.now() + cmd.warmupMs;
  while (!aborted && performance.now() < warmEnd) await sleep(Math.min(100, warmEnd - performance.now()));
  measuring = true;
  const end = performance.now() + cmd.durationMs;
  while (!aborted && performance.now() < end) await sleep(Math.min(100, end - performance.now()));
  measuring = false;
  stopped = true;
  await Promise.all(loops);
  return { ops: n, errors, errorKinds };
}

let watchArrivals: number[] = [];
let watchUnexpected = 0;
let watchArmed = 0;

async function watchArm(cmd: WatchArmCommand): Promise<WatchArmResult> {
  watchArrivals = [];
  watchUnexpected = 0;
  watchArmed = 0;
  let failed = 0;
  const deadline = performance.now() + cmd.timeoutMs;
  await paced(sessions.length, 0, 2000, deadline, async (i) => {
    const c = (sessions[i] as Session).client;
    try {
      await c.exists(cmd.path, (e) => {
        if (e.type === EventType.nodeDataChanged) {
          watchArrivals.push(nowMs());
          inc('notified');
        } else watchUnexpected++;
      });
      watchArmed++;
    } catch {
      failed++;
    }
  });
  return { armed: watchArmed, failed };
}

async function watchWait(cmd: WatchWaitCommand): Promise<WatchWaitResult> {
  const end = performance.now() + cmd.timeoutMs;
  while (!aborted && watchArrivals.length < watchArmed && performance.now() < end) await sleep(5);
  return { arrivals: watchArrivals, unexpected: watchUnexpected };
}

async function herd(cmd: HerdCommand): Promise<HerdResult> {
  if (lean !== null) return lean.herd(cmd);
  const o = init as InitMessage;
  const list = sessions.filter((s) => s.client.state === 'connected');
  for (const s of sessions) if (s.client.state !== 'connected') void s.client.close({ closeSession: false });
  sessions = [];
  await sleep(cmd.atMs - nowMs());
  const dropAt = performance.now();
  const saved = list.map((s) => ({ id: s.client.sessionId, password: s.client.sessionPassword, localAddress: s.localAddress }));
  for (const s of list) void s.client.close({ closeSession: false });
  inc('dropped', list.length);
  let resumed = 0;
  let expired = 0;
  let failed = 0;
  let changedId = 0;
  const one = async (x: (typeof saved)[number]): Promise<void> => {
    const wait = cmd.downMs + (cmd.jitterMs > 0 ? Math.random() * cmd.jitterMs : 0);
    if (wait > 0) await sleep(wait);
    if (aborted) return;
    const c = createClient(o.connectString, clientOptions(x.localAddress, { sessionId: x.id, password: x.password }));
    const left = Math.max(1, cmd.timeoutMs - (performance.now() - dropAt));
    try {
      await c.waitConnected(left);
      if (c.sessionId !== x.id) {
        changedId++;
        inc('changedId');
      }
      resumed++;
      inc('resumed');
      recordMs('reconnect', performance.now() - dropAt);
      watchSession(c);
      sessions.push({ client: c, localAddress: x.localAddress });
    } catch (e) {
      if (c.state === 'expired') {
        expired++;
        inc('lost');
      } else {
        failed++;
        inc('reconnectFailed');
      }
      void c.close({ closeSession: false });
      void e;
    }
  };
  await Promise.all(saved.map(one));
  return { dropped: list.length, resumed, expired, failed, changedId };
}

async function run(cmd: Command): Promise<unknown> {
  switch (cmd.kind) {
    case 'open':
      return open(cmd);
    case 'close':
      return close(cmd);
    case 'hold':
      return hold(cmd);
    case 'ops':
      return ops(cmd);
    case 'watchArm':
      return watchArm(cmd);
    case 'watchWait':
      return watchWait(cmd);
    case 'herd':
      return herd(cmd);
  }
}

// ---- lifecycle ---------------------------------------------------------------------------------

let exiting = false;
async function shutdown(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  aborted = true;
  const list = sessions;
  sessions = [];
  lean?.flush();
  const leanNow = lean;
  lean = null;
  // Bounded: close() waits at most its timeoutMs; the hard timer below is the last resort.
  const hard = setTimeout(() => process.exit(code), workerExitHardMs);
  await Promise.all([...list.map((s) => s.client.close({ timeoutMs: clientCloseTimeoutMs })), ...(leanNow === null ? [] : [leanNow.closeAll(clientCloseTimeoutMs)])]);
  flush(true);
  clearTimeout(hard);
  // Let the IPC channel drain before exiting.
  setTimeout(() => process.exit(code), 50);
}

function onMessage(m: ParentMessage): void {
  switch (m.type) {
    case 'init':
      init = m;
      flushTimer = setInterval(() => flush(false), workerFlushIntervalMs);
      send({ type: 'ready', pid: process.pid });
      return;
    case 'cmd':
      run(m.cmd).then(
        (result) => {
          flush(true);
          send({ type: 'result', id: m.id, ok: true, result });
        },
        (e: unknown) => {
          flush(true);
          send({ type: 'result', id: m.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        },
      );
      return;
    case 'abort':
      void shutdown(0);
      return;
    case 'exit':
      if (flushTimer !== null) clearInterval(flushTimer);
      void shutdown(0);
      return;
  }
}

if (process.send === undefined) {
  process.stderr.write('zkts load: worker-process is started by `zkts load`, not directly\n');
  process.exit(2);
}
process.on('message', (m: ParentMessage) => onMessage(m));
// The parent went away: never linger holding sessions.
process.on('disconnect', () => void shutdown(0));
