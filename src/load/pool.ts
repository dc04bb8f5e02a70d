// The parent side of the worker processes: forks them, hands each its share of a command, merges
// the per-second buckets they stream into one time series, and tears them down (always bounded).

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from './histogram.js';
import { poolShutdownGraceMs, workerStartTimeoutMsDefault } from './limits.js';
import { nowMs, type BucketMessage, type Command, type InitMessage, type WorkerMessage } from './protocol.js';

export interface Second {
  sec: number;
  counters: Map<string, number>;
  hists: Map<string, Histogram>;
  /** Sessions connected at the end of this second (sum of the workers' last gauges). */
  connected: number | null;
}

interface Worker {
  index: number;
  child: ChildProcess;
  pid: number;
  exited: boolean;
  connected: number;
  sessions: number;
  rssBytes: number;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
}

export interface PoolOptions {
  workers: number;
  connectString: string;
  sourceAddrs: string[];
  sessionTimeoutMs: number;
  localSession: boolean;
  /** Which client holds the sessions (default 'full'). */
  client?: 'lean' | 'full';
  /** How long a worker may take to start. Default 15000. */
  startTimeoutMs?: number;
}

const WORKER_ENTRY = fileURLToPath(new URL('./worker-process.js', import.meta.url));

export class WorkerPool {
  readonly epoch: number;
  private readonly workers: Worker[] = [];
  private readonly seconds = new Map<number, Second>();
  private readonly totals = new Map<string, Histogram>();
  private readonly counters = new Map<string, number>();
  private nextId = 1;
  private closed = false;
  private failure: Error | null = null;

  private constructor(epoch: number) {
    this.epoch = epoch;
  }

  static async start(o: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(nowMs());
    const ready: Promise<void>[] = [];
    for (let i = 0; i < o.workers; i++) {
      const child = fork(WORKER_ENTRY, [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [],
        serialization: 'json',
      });
      const w: Worker = { index: i, child, pid: child.pid ?? 0, exited: false, connected: 0, sessions: 0, rssBytes: 0, pending: new Map() };
      pool.workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`worker ${i} did not start within ${o.startTimeoutMs ?? workerStartTimeoutMsDefault} ms`)), o.startTimeoutMs ?? workerStartTimeoutMsDefault);
          child.on('message', (m: WorkerMessage) => {
            if (m.type === 'ready') {
              clearTimeout(t);
              w.pid = m.pid;
              resolve();
            } else pool.onMessage(w, m);
          });
          child.once('exit', (code, signal) => {
            clearTimeout(t);
            w.exited = true;
            const err = new Error(`worker ${i} (pid ${w.pid}) exited (${signal ?? `code ${String(code)}`})`);
            reject(err);
            for (const p of w.pending.values()) p.reject(err);
            w.pending.clear();
            if (!pool.closed && pool.failure === null) pool.failure = err;
          });
        }),
      );
      const init: InitMessage = {
        type: 'init',
        workerIndex: i,
        workers: o.workers,
        connectString: o.connectString,
        epoch: pool.epoch,
        sourceAddrs: o.sourceAddrs,
        sessionTimeoutMs: o.sessionTimeoutMs,
        localSession: o.localSession,
        client: o.client ?? 'full',
      };
      child.send(init);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.shutdown(1000);
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** The first worker failure (an unexpected exit), if any. */
  get error(): Error | null {
    return this.failure;
  }

  /** The current second of the run (seconds since `epoch`). */
  nowSec(): number {
    return Math.floor((nowMs() - this.epoch) / 1000);
  }

  private onMessage(w: Worker, m: WorkerMessage): void {
    switch (m.type) {
      case 'bucket':
        this.mergeBucket(m);
        return;
      case 'gauge':
        w.connected = m.connected;
        w.sessions = m.sessions;
        w.rssBytes = m.rssBytes;
        return;
      case 'result': {
        const p = w.pending.get(m.id);
        if (p === undefined) return;
        w.pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(new Error(`worker ${w.index}: ${m.error}`));
        return;
      }
      case 'ready':
        return;
    }
  }

  private second(sec: number): Second {
    let s = this.seconds.get(sec);
    if (s === undefined) {
      s = { sec, counters: new Map(), hists: new Map(), connected: null };
      this.seconds.set(sec, s);
    }
    return s;
  }

  private mergeBucket(m: BucketMessage): void {
    const s = this.second(m.sec);
    for (const [k, v] of Object.entries(m.counters)) {
      s.counters.set(k, (s.counters.get(k) ?? 0) + v);
      this.counters.set(k, (this.counters.get(k) ?? 0) + v);
    }
    for (const [k, d] of Object.entries(m.hists)) {
      let h = s.hists.get(k);
      if (h === undefined) {
        h = new Histogram();
        s.hists.set(k, h);
      }
      h.merge(d);
      let t = this.totals.get(k);
      if (t === undefined) {
        t = new Histogram();
        this.totals.set(k, t);
      }
      t.merge(d);
    }
  }

  /** Records the workers' connected-session gauge into the current second (called once a second). */
  sampleGauges(): void {
    this.second(this.nowSec()).connected = this.connectedNow();
  }

  connectedNow(): number {
    let n = 0;
    for (const w of this.workers) n += w.connected;
    return n;
  }

  workerRss(): number[] {
    return this.workers.map((w) => w.rssBytes);
  }

  /** The merged histogram of `metric` over the whole run so far (empty if none). */
  total(metric: string): Histogram {
    return this.totals.get(metric) ?? new Histogram();
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /** The merged data of second `sec` (null if nothing arrived for it). */
  at(sec: number): Second | null {
    return this.seconds.get(sec) ?? null;
  }

  /** Every second from the first to the last that has data, gaps filled with empty seconds. */
  series(): Second[] {
    if (this.seconds.size === 0) return [];
    const keys = [...this.seconds.keys()];
    const lo = Math.min(...keys);
    const hi = Math.max(...keys);
    const out: Second[] = [];
    for (let s = lo; s <= hi; s++) out.push(this.seconds.get(s) ?? { sec: s, counters: new Map(), hists: new Map(), connected: null });
    return out;
  }

  /**
   * Sends one command to every worker (`make(workerIndex)`; null skips a worker) and resolves
   * with their results in worker order. Rejects if a worker fails, exits, or takes longer than
   * `timeoutMs` (the run is then beyond repair: the caller shuts the pool down).
   */
  async all<R>(make: (index: number) => Command | null, timeoutMs: number): Promise<R[]> {
    if (this.failure !== null) throw this.failure;
    const ps = this.workers.map((w) => {
      const cmd = make(w.index);
      if (cmd === null) return Promise.resolve(null as R);
      if (w.exited) return Promise.reject(new Error(`worker ${w.index} has exited`));
      const id = this.nextId++;
      return new Promise<R>((resolve, reject) => {
        const t = setTimeout(() => {
          w.pending.delete(id);
          reject(new Error(`worker ${w.index}: '${cmd.kind}' did not finish within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        w.pending.set(id, {
          resolve: (v) => {
            clearTimeout(t);
            resolve(v as R);
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        });
        w.child.send({ type: 'cmd', id, cmd });
      });
    });
    return Promise.all(ps);
  }

  /** Asks every worker to close its sessions and exit; kills those still there after graceMs. */
  async shutdown(graceMs = poolShutdownGraceMs, abort = false): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.exited) return;
        const gone = new Promise<void>((r) => {
          if (w.exited) r();
          else w.child.once('exit', () => r());
        });
        try {
          if (w.child.connected) w.child.send({ type: abort ? 'abort' : 'exit' });
        } catch {
          // the channel is gone already
        }
        let t: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([gone.then(() => false), new Promise<boolean>((r) => (t = setTimeout(() => r(true), graceMs)))]);
        clearTimeout(t);
        if (timedOut && !w.exited) {
          w.child.kill('SIGKILL');
          await gone;
        }
      }),
    );
  }
}

/** Splits `total` into `parts` near-equal shares (the first ones get the remainder). */
export function shares(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const rem = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < rem ? 1 : 0));
}
