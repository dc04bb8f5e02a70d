// The main thread's view of sessions. Global sessions are ZooKeeper's: created and closed by
// transactions, expired here (SessionTrackerImpl's job) from the touches the session workers send
// in batches. Local sessions live on their worker; the main thread keeps only what a request
// needs (auth ids, the worker that owns the session, the timeout an upgrade would use).
//
// Expiry is ZooKeeper's ExpiryQueue (common/expiry-queue.ts, the one the session workers use for
// local sessions): sessions are grouped in buckets by expiry time rounded up to the tick, so one
// tick expires a whole bucket and a touch moves a session between buckets. The queue counts in
// dense slots; each context gets one while it is in the table.

import { ExpiryQueue } from '../../common/expiry-queue.js';
import type { Id } from '../../protocol/types.js';

/** A request that must wait behind its session's writes: its body is copied out of the ring. */
export interface WaitingRequest {
  xid: number;
  op: number;
  body: Uint8Array;
}

export class SessionContext {
  readonly id: bigint;
  /** The id's high and low 32 bits (ring records carry them so). */
  readonly hi: number;
  readonly lo: number;
  /** The worker that holds its connection; -1: none (recovered, or created on another member). */
  worker: number;
  connId: number;
  timeoutMs: number;
  local: boolean;
  /** Authenticated ids of the current connection: ip first, then any added by auth packets. */
  authIds: Id[];
  /** Requests waiting behind this session's writes in the log stage (per-session FIFO). */
  waiting: WaitingRequest[] | null = null;
  /** Writes of this session between prepare and apply (and a sync being answered). */
  writesInFlight = 0;
  /** A sync is being answered: nothing of this session may overtake it, writes included. */
  barrier = false;
  /** Dense index in the session table (its expiry queue id); -1 outside the table. */
  slot = -1;
  /** Set once a closeSession txn is prepared: later requests get SessionExpired. */
  closing = false;
  /**
   * The leader (ensemble mode): the member whose connection holds this global session
   * (ZooKeeper's SessionImpl.owner): set by its creation here, a learner's revalidation of a
   * reconnect, or the first forwarded write while unknown (-1: after recovery or a leader change).
   * A forwarded write from any other member is refused with SessionMoved.
   */
  owner = -1;
  /** The session moved to a newer connection on another member: this member answers whatever its
   *  old connection sends with SessionMoved (reads too), until the session attaches here again. */
  movedAway = false;

  constructor(o: SessionContextInit) {
    this.id = o.id;
    this.hi = o.hi;
    this.lo = o.lo;
    this.worker = o.worker;
    this.connId = o.connId;
    this.timeoutMs = o.timeoutMs;
    this.local = o.local;
    this.authIds = [{ scheme: 'ip', id: o.ip }];
  }
}

/** What a SessionContext starts from; `ip` is the connection's address (its first auth id). */
export interface SessionContextInit {
  id: bigint;
  hi: number;
  lo: number;
  worker: number;
  connId: number;
  timeoutMs: number;
  local: boolean;
  ip: string;
}

export class SessionTable {
  private readonly byHi = new Map<number, Map<number, SessionContext>>();
  private readonly expiry: ExpiryQueue;
  private readonly bySlot: (SessionContext | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private globalCount = 0;
  private localCount = 0;

  constructor(tickTimeMs: number, nowMs: number) {
    this.expiry = new ExpiryQueue(tickTimeMs, nowMs);
  }

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
    s.slot = this.freeSlots.pop() ?? this.bySlot.length;
    this.bySlot[s.slot] = s;
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
    else this.globalCount--;
    this.expiry.remove(s.slot);
    this.bySlot[s.slot] = undefined;
    this.freeSlots.push(s.slot);
    s.slot = -1;
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
    if (s.local || s.closing || s.slot < 0) return;
    this.expiry.update(s.slot, nowMs, s.timeoutMs);
  }

  /** Every global session whose bucket is due; they leave the expiry queue. */
  expire(nowMs: number): SessionContext[] {
    const due: SessionContext[] = [];
    this.expiry.poll(nowMs, (slot) => {
      const s = this.bySlot[slot];
      if (s !== undefined) due.push(s);
    });
    return due;
  }

  /** Stop expiring a session that is being closed. */
  unbucket(s: SessionContext): void {
    if (s.slot >= 0) this.expiry.remove(s.slot);
  }

  /** The expiry bucket time (ms) of a global session, or 0 when it is not queued (read-only: the
   *  AdminServer's dump). */
  expiryOf(s: SessionContext): number {
    return s.slot < 0 ? 0 : this.expiry.expiryOf(s.slot);
  }

  get counts(): { global: number; local: number } {
    return { global: this.globalCount, local: this.localCount };
  }

  *all(): IterableIterator<SessionContext> {
    for (const m of this.byHi.values()) yield* m.values();
  }
}
