// The lean side of a load-test worker process (init.client 'lean', the default for connect, hold
// and herd): its share of the sessions held by src/load/lean-client.ts (one LeanSessions per open
// command), the commands run on them, and what they counted and timed moved into the worker's
// per-second buckets under the names the full client's events use (so reports read the same).

import type { Histogram } from './histogram.js';
import { LeanSessions, type LeanCounters } from './lean-client.js';
import { leanPingsPerSessionTimeout, leanReattachAttemptMs } from './limits.js';
import type { CloseCommand, CloseResult, HerdCommand, HerdResult, HoldCommand, HoldResult, InitMessage, OpenCommand, OpenResult } from './protocol.js';
import { nowMs } from './protocol.js';

/** Where the worker's buckets are: a counter to add to, a histogram of the current second. */
export interface Meter {
  inc(name: string, n: number): void;
  hist(name: string): Histogram;
}

/** The lean client's counters under the names the full client's events use. */
const counterNames: ReadonlyArray<[keyof LeanCounters, string]> = [
  ['opened', 'connected'],
  ['connectFailed', 'connectFailed'],
  ['connectRetries', 'connectRetries'],
  ['pingsAnswered', 'pings'],
  ['pingsLate', 'pingsLate'],
  ['disconnects', 'disconnects'],
  ['protocolErrors', 'protocolErrors'],
  ['expirations', 'lost'],
  ['resumed', 'resumed'],
  ['changedId', 'changedId'],
  ['closed', 'closed'],
  ['closeTimeouts', 'closeTimeouts'],
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The servers of a connect string ("h1:p1,h2:p2/chroot"; port 2181 when left out). The lean
 *  sessions are spread over them by slot. */
export function leanTargets(connectString: string): Array<{ host: string; port: number }> {
  const hosts = (connectString.split('/')[0] ?? '').split(',').filter((h) => h !== '');
  return (hosts.length > 0 ? hosts : ['127.0.0.1:2181']).map((hp) => {
    const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(hp);
    return { host: m?.[1] || '127.0.0.1', port: m?.[2] !== undefined ? Number(m[2]) : 2181 };
  });
}

export class LeanWorker {
  private leans: LeanSessions[] = [];
  /** The counters as last flushed, so each bucket gets the differences. */
  private readonly flushed = new Map<string, number>();

  constructor(
    private readonly init: InitMessage,
    private readonly meter: Meter,
  ) {}

  get connected(): number {
    let n = 0;
    for (const l of this.leans) n += l.connected;
    return n;
  }

  get size(): number {
    let n = 0;
    for (const l of this.leans) n += l.size;
    return n;
  }

  /** Moves what the lean clients counted and timed since the last flush into the current bucket. */
  flush(): void {
    if (this.leans.length === 0) return;
    for (const [field, name] of counterNames) {
      let total = 0;
      for (const l of this.leans) total += l.counters[field];
      const d = total - (this.flushed.get(name) ?? 0);
      if (d !== 0) this.meter.inc(name, d);
      this.flushed.set(name, total);
    }
    const move = (name: string, from: Histogram): void => {
      if (from.count === 0) return;
      this.meter.hist(name).merge(from);
      from.reset();
    };
    for (const l of this.leans) {
      move('probe', l.rtt);
      move('connect', l.connectLatency);
      move('reconnect', l.reattachLatency);
      move('close', l.closeLatency);
    }
  }

  private totals(): LeanCounters {
    const t = { opened: 0, connectFailed: 0, connectRetries: 0, pingsSent: 0, pingsAnswered: 0, pingsLate: 0, disconnects: 0, protocolErrors: 0, expirations: 0, resumed: 0, changedId: 0, closed: 0, closeTimeouts: 0 };
    for (const l of this.leans) for (const k of Object.keys(t) as Array<keyof LeanCounters>) t[k] += l.counters[k];
    return t;
  }

  private kinds(pick: (l: LeanSessions) => Map<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.leans) for (const [k, v] of pick(l)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  async open(cmd: OpenCommand): Promise<OpenResult> {
    const o = this.init;
    if (cmd.count === 0) return { opened: 0, failed: 0, errors: {}, sourceAddrsHonoured: null };
    const l = new LeanSessions(cmd.count, {
      host: '',
      port: 0,
      targets: leanTargets(o.connectString),
      sourceAddrs: o.sourceAddrs,
      sourceOffset: cmd.offset,
      sessionTimeoutMs: o.sessionTimeoutMs,
      localSession: o.localSession,
    });
    this.leans.push(l);
    // Pings start with the first session: an early one must not idle out while the rest open.
    l.startPings(Math.max(1, Math.floor(o.sessionTimeoutMs / leanPingsPerSessionTimeout)));
    const r = await l.open(cmd.count, cmd.concurrency, cmd.timeoutMs, cmd.ratePerSec);
    // The lean client binds each socket to its source address itself (a bad one fails the connect).
    return { opened: r.opened, failed: r.failed, errors: Object.fromEntries(l.errors), sourceAddrsHonoured: o.sourceAddrs.length > 0 ? true : null };
  }

  async hold(cmd: HoldCommand, aborted: () => boolean): Promise<HoldResult> {
    const c0 = this.totals();
    for (const l of this.leans) {
      l.recording = true;
      if (cmd.probeIntervalMs > 0) l.startPings(cmd.probeIntervalMs);
    }
    const end = performance.now() + cmd.durationMs;
    while (!aborted() && performance.now() < end) await sleep(Math.min(200, end - performance.now()));
    for (const l of this.leans) l.recording = false;
    const c = this.totals();
    const disconnects = c.disconnects - c0.disconnects;
    return {
      connectedAtEnd: this.connected,
      disconnects,
      expirations: c.expirations - c0.expirations,
      probes: c.pingsAnswered - c0.pingsAnswered,
      probeErrors: c.protocolErrors - c0.protocolErrors,
      disconnectReasons: disconnects > 0 ? { 'closed by the server': disconnects } : {},
      pingsLate: c.pingsLate - c0.pingsLate,
      protocolErrors: c.protocolErrors - c0.protocolErrors,
      errors: this.kinds((l) => l.errors),
    };
  }

  async herd(cmd: HerdCommand): Promise<HerdResult> {
    await sleep(cmd.atMs - nowMs());
    const total = { dropped: 0, resumed: 0, expired: 0, failed: 0, changedId: 0, allBackMs: 0, retries: 0 };
    const r0 = this.totals().connectRetries;
    const reports = await Promise.all(this.leans.map((l) => l.dropAndReattach(cmd.concurrency, cmd.timeoutMs, leanReattachAttemptMs, cmd.downMs, cmd.jitterMs)));
    for (const r of reports) {
      total.dropped += r.dropped;
      total.resumed += r.resumed;
      total.expired += r.expired;
      total.failed += r.failed;
      total.changedId += r.changedId;
      total.allBackMs = Math.max(total.allBackMs, r.allBackMs);
    }
    this.meter.inc('dropped', total.dropped);
    total.retries = this.totals().connectRetries - r0;
    return { ...total, retryReasons: this.kinds((l) => l.retries), errors: this.kinds((l) => l.errors) };
  }

  /** Ends every session with closeSession, then closes what is left; the worker is then empty. */
  async close(cmd: CloseCommand): Promise<CloseResult> {
    let closed = 0;
    let timedOut = 0;
    for (const l of this.leans) {
      l.stopPings();
      const r = await l.closeSessions(cmd.concurrency, cmd.timeoutMs, cmd.ratePerSec);
      closed += r.closed;
      timedOut += r.timedOut;
    }
    this.flush();
    await this.closeAll(cmd.timeoutMs);
    return { closed, timedOut };
  }

  /** Closes every socket (no closeSession): the worker's exit. */
  async closeAll(graceMs: number): Promise<void> {
    const list = this.leans;
    this.leans = [];
    this.flushed.clear();
    await Promise.all(list.map((l) => l.closeAll(graceMs)));
  }
}
