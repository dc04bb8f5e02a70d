// A follower's or observer's requests that wait for the leader (Learner.request, with one
// difference that is the point of zkts's no-disconnect leader change): ZooKeeper drops every
// client connection on a learner that loses its leader, so its forwarded writes die with them.
// zkts keeps the connections, and so must keep the writes: a write (or a global session's
// createSession) is "in flight" once sent to the leader of some epoch, or "parked" while there is
// no synced leader to send it to. When a leader is synced again the core sends the parked ones,
// and resends the in-flight ones of an older epoch.
//
// Resending is safe only across epochs. Zab's new leader starts from a history that holds every
// proposal of the old epoch that can still commit, and a learner applies that history before it
// is UPTODATE; a write still waiting after that was lost with the old leader and is sent again.
// A write in flight to the CURRENT epoch's leader is never resent: it may sit in that leader's
// pipeline, and a second copy would be a second write (a create answered NodeExists, a counter
// incremented twice). If it never commits (the connection broke before the leader read it), the
// session timeout bounds the wait and the client is told ConnectionLoss, as after a disconnect.
//
// Insertion order is request order within a session, so iterating resends in per-session FIFO
// order (sessions are independent);
// while anything is parked, new requests park behind it instead of overtaking it.

import type { SessionContext } from '../sessions/table.js';

export interface WaitingWrite {
  readonly s: SessionContext;
  /** The worker whose connection sent it: once the session moved to another worker, its answer
   *  is not sent (the old connection is gone; the new one must not get it). */
  readonly worker: number;
  /** Must be (re)considered for sending before any newer request goes to a leader. */
  pending: boolean;
  readonly xid: number;
  readonly op: number;
  readonly body: Uint8Array;
  /** A local session's upgrade (the createSession ahead of its first ephemeral): no reply. */
  readonly silent: boolean;
  /** The leader epoch it was sent in; -1 while parked. */
  epoch: number;
  /** When it was first accepted from the client (its wait is bounded by the session timeout). */
  readonly since: number;
}

export interface WaitingCreate {
  readonly s: SessionContext;
  pending: boolean;
  readonly connId: number;
  epoch: number;
  readonly since: number;
}

export class LearnerRequests {
  /** By session (unsigned id), then xid: a lookup per applied txn builds no string key. */
  private readonly writes = new Map<bigint, Map<number, WaitingWrite>>();
  private writeCount = 0;
  private readonly creates = new Map<bigint, WaitingCreate>();
  /** Entries with `pending` set. */
  private pendingCount = 0;

  get size(): number {
    return this.writeCount + this.creates.size;
  }

  /** Something must go to the leader before a new request may (per-session FIFO). */
  get anyPending(): boolean {
    return this.pendingCount > 0;
  }

  hasWrite(session: bigint, xid: number): boolean {
    return this.peekWrite(session, xid) !== undefined;
  }

  addWrite(w: WaitingWrite): void {
    const id = BigInt.asUintN(64, w.s.id);
    let bySession = this.writes.get(id);
    if (bySession === undefined) {
      bySession = new Map();
      this.writes.set(id, bySession);
    }
    bySession.set(w.xid, w);
    this.writeCount++;
    if (w.pending) this.pendingCount++;
  }

  addCreate(id: bigint, c: WaitingCreate): void {
    this.creates.set(id, c);
    if (c.pending) this.pendingCount++;
  }

  /** The write a committed txn (or a leader's refusal) answers, removed. */
  takeWrite(session: bigint, xid: number): WaitingWrite | undefined {
    const id = BigInt.asUintN(64, session);
    const bySession = this.writes.get(id);
    const w = bySession?.get(xid);
    if (w === undefined) return undefined;
    bySession!.delete(xid);
    if (bySession!.size === 0) this.writes.delete(id);
    this.writeCount--;
    if (w.pending) this.pendingCount--;
    return w;
  }

  takeCreate(id: bigint): WaitingCreate | undefined {
    const c = this.creates.get(id);
    if (c === undefined) return undefined;
    this.creates.delete(id);
    if (c.pending) this.pendingCount--;
    return c;
  }

  peekWrite(session: bigint, xid: number): WaitingWrite | undefined {
    return this.writes.get(BigInt.asUintN(64, session))?.get(xid);
  }

  peekCreate(id: bigint): WaitingCreate | undefined {
    return this.creates.get(id);
  }

  hasCreate(id: bigint): boolean {
    return this.creates.has(id);
  }

  /**
   * The member it went to refused it as not leading (it lost leadership meanwhile): it was not
   * proposed, so it is sent again, whatever the epoch.
   */
  park(x: WaitingWrite | WaitingCreate): void {
    x.epoch = -1;
    this.setPending(x);
  }

  /** The leader was lost: everything waiting is looked at again once a leader is synced. */
  leaderLost(): void {
    for (const c of this.creates.values()) this.setPending(c);
    for (const w of this.allWrites()) this.setPending(w);
  }

  /** Sent to the leader of `epoch` (or left in flight to it): no longer pending. */
  markSent(x: WaitingWrite | WaitingCreate, epoch: number): void {
    if (x.pending) this.pendingCount--;
    x.pending = false;
    x.epoch = epoch;
  }

  /**
   * The pending requests, in request order: creates first (a session being created has sent no
   * request yet), then writes. One in flight to `epoch` itself is marked sent and left alone: the
   * leader of `epoch` has it (see the header); the rest must be sent.
   */
  toSend(epoch: number): { creates: [bigint, WaitingCreate][]; writes: WaitingWrite[] } {
    const creates: [bigint, WaitingCreate][] = [];
    const writes: WaitingWrite[] = [];
    if (this.pendingCount === 0) return { creates, writes };
    for (const e of this.creates) {
      if (!e[1].pending) continue;
      if (e[1].epoch === epoch) this.markSent(e[1], epoch);
      else creates.push(e);
    }
    for (const w of this.allWrites()) {
      if (!w.pending) continue;
      if (w.epoch === epoch) this.markSent(w, epoch);
      else writes.push(w);
    }
    return { creates, writes };
  }

  /** Every waiting write; each session's in request order. */
  private *allWrites(): IterableIterator<WaitingWrite> {
    for (const bySession of this.writes.values()) yield* bySession.values();
  }

  private setPending(x: WaitingWrite | WaitingCreate): void {
    if (!x.pending) this.pendingCount++;
    x.pending = true;
  }

  /**
   * SNAP sync (Core.replaceState): the writes sent to some leader (not parked), removed. One
   * that committed inside the snapshot is never matched by an applied txn, and resending it
   * would apply it twice, so the core answers them ConnectionLoss; parked ones were never sent.
   */
  takeSentWrites(): WaitingWrite[] {
    const out: WaitingWrite[] = [];
    for (const w of this.allWrites()) if (w.epoch >= 0) out.push(w);
    for (const w of out) this.takeWrite(w.s.id, w.xid);
    return out;
  }

  /** Everything that has waited longer than its session's timeout, removed. */
  takeOverdue(nowMs: number): { creates: [bigint, WaitingCreate][]; writes: WaitingWrite[] } {
    const creates: [bigint, WaitingCreate][] = [];
    for (const [id, c] of this.creates) {
      if (nowMs - c.since > c.s.timeoutMs) creates.push([id, c]);
    }
    for (const [id] of creates) this.takeCreate(id);
    const writes: WaitingWrite[] = [];
    for (const w of this.allWrites()) if (nowMs - w.since > w.s.timeoutMs) writes.push(w);
    for (const w of writes) this.takeWrite(w.s.id, w.xid);
    return { creates, writes };
  }
}
