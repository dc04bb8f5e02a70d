// The main thread's view of sessions. Global sessions are ZooKeeper's: created and closed by
// transactions, expired here (SessionTrackerImpl's job) from the touches the session workers send
// in batches. Local sessions live on their worker; the main thread keeps only what a request
// needs (auth ids, the worker that owns the session, the timeout an upgrade would use).
//
// Expiry follows ZooKeeper's ExpiryQueue: sessions are grouped in buckets by expiry time rounded
// up to the tick, so one tick expires a whole bucket and a touch moves a session between buckets.

import type { Id } from '../protocol/types.js';

/** A request that must wait behind its session's writes: its body is copied out of the ring. */
export interface WaitingRequest {
  xid: number;
  op: number;
  body: Uint8Array;
}

export class SessionContext {
  /** Authenticated ids of the current connection: ip first, then any added by auth packets. */
  authIds: Id[];
  /** Requests waiting behind this session's writes in the log stage (per-session FIFO). */
  waiting: WaitingRequest[] | null = null;
  /** Writes of this session between prepare and apply. */
  writesInFlight = 0;
  /** Expiry bucket (ms) of a global session; 0 for a local one. */
  expiresAtMs = 0;
  /** Set once a closeSession txn is prepared: later requests get SessionExpired. */
  closing = false;
  constructor(
    readonly id: bigint,
    readonly hi: number,
    readonly lo: number,
    public worker: number,
    public connId: number,
    public timeoutMs: number,
    public local: boolean,
    ip: string,
  ) {
    this.authIds = [{ scheme: 'ip', id: ip }];
  }
}

export class SessionTable {
  private readonly byHi = new Map<number, Map<number, SessionContext>>();
  private readonly buckets = new Map<number, Set<SessionContext>>();
  private globalCount = 0;
  private localCount = 0;

  constructor(private readonly tickTimeMs: number) {}

  get(hi: number, lo: number): SessionContext | undefined {
    return this.byHi.get(hi)?.get(lo);
  }

  add(s: SessionContext, nowMs: number): void {
    let m = this.byHi.get(s.hi);
    if (m === undefined) {
      m = new Map();
      this.byHi.set(s.hi, m);
    }
    m.set(s.lo, s);
    if (s.local) this.localCount++;
    else {
      this.globalCount++;
      this.touch(s, nowMs);
    }
  }

  remove(s: SessionContext): void {
    const m = this.byHi.get(s.hi);
    if (m?.get(s.lo) !== s) return;
    m.delete(s.lo);
    if (m.size === 0) this.byHi.delete(s.hi);
    if (s.local) this.localCount--;
    else {
      this.globalCount--;
      this.unbucket(s);
    }
  }

  /** A local session becomes global (localSessionsUpgradingEnabled). */
  upgrade(s: SessionContext, nowMs: number): void {
    if (!s.local) return;
    s.local = false;
    this.localCount--;
    this.globalCount++;
    this.touch(s, nowMs);
  }

  touch(s: SessionContext, nowMs: number): void {
    if (s.local || s.closing) return;
    const at = this.roundToTick(nowMs + s.timeoutMs);
    if (at === s.expiresAtMs) return;
    this.unbucket(s);
    s.expiresAtMs = at;
    let bucket = this.buckets.get(at);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(at, bucket);
    }
    bucket.add(s);
  }

  /** Every global session whose bucket is due; they leave the expiry queue. */
  expire(nowMs: number): SessionContext[] {
    const due: SessionContext[] = [];
    for (const [at, bucket] of this.buckets) {
      if (at > nowMs) continue;
      this.buckets.delete(at);
      for (const s of bucket) {
        s.expiresAtMs = 0;
        due.push(s);
      }
    }
    return due;
  }

  /** Stop expiring a session that is being closed. */
  unbucket(s: SessionContext): void {
    if (s.expiresAtMs === 0) return;
    const bucket = this.buckets.get(s.expiresAtMs);
    bucket?.delete(s);
    if (bucket?.size === 0) this.buckets.delete(s.expiresAtMs);
    s.expiresAtMs = 0;
  }

  get counts(): { global: number; local: number } {
    return { global: this.globalCount, local: this.localCount };
  }

  *all(): IterableIterator<SessionContext> {
    for (const m of this.byHi.values()) yield* m.values();
  }

  private roundToTick(ms: number): number {
    return (Math.floor(ms / this.tickTimeMs) + 1) * this.tickTimeMs;
  }
}
