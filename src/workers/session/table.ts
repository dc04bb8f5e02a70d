// The sessions of one worker. Each gets a dense slot at handshake; rings carry the 64-bit id as
// hi/lo u32 and the table maps it back to the slot with an open-addressing index (typed arrays,
// linear probing, backward-shift deletion: no tombstones, no bigint, no string keys).
//
// What a session keeps here (ZooKeeper keeps most of it on the ServerCnxn): its connection if it
// has one, timeout, local/global, the auth ids of its current connection, and the requests it has
// in flight at the main thread. A global session lives here only while it has a connection; a
// local one until it expires (the client may come back to this worker within its timeout).

import { assert } from '../../common/assert.js';
import { sessionIdHex, sessionIdOf } from '../../common/ids.js';
import { RequestFifo } from '../fifo.js';

/** What the table needs to know of a connection. */
export interface SessionConnection {
  readonly id: number;
}

export class Session<C extends SessionConnection = SessionConnection> {
  readonly slot: number;
  readonly sidHi: number;
  readonly sidLo: number;
  timeoutMs: number;
  local: boolean;
  readOnly: boolean;
  conn: C | null = null;
  /** Digest ids authenticated on the current connection (see authIds); null while none, as for
   *  most sessions. */
  #authIds: Set<string> | null = null;
  /** Authenticated as the super user (superDigest) on the current connection. */
  superUser = false;
  readonly fifo = new RequestFifo();
  /** In the batch of global sessions heard from since the last touch record. */
  touched = false;
  /** A closeSession is in flight: its reply closes the connection and ends the session. */
  closing = false;

  constructor(o: { slot: number; sidHi: number; sidLo: number; timeoutMs: number; local: boolean; readOnly: boolean }) {
    this.slot = o.slot;
    this.sidHi = o.sidHi;
    this.sidLo = o.sidLo;
    this.timeoutMs = o.timeoutMs;
    this.local = o.local;
    this.readOnly = o.readOnly;
  }

  /** '0x…' as ZooKeeper logs it (made when asked: logs and stats only). */
  get hex(): string {
    return sessionIdHex(sessionIdOf(this.sidHi, this.sidLo));
  }

  /** Digest ids authenticated on the current connection (the ip id is the connection's), in the
   *  order added; a set, so that n auth packets cost O(n), bounded by authIdsPerSessionMax. */
  get authIds(): ReadonlySet<string> {
    return this.#authIds ?? noAuthIds;
  }

  addAuthId(id: string): void {
    if (this.#authIds === null) this.#authIds = new Set([id]);
    else this.#authIds.add(id);
  }

  /** The connection's auth is gone with it: no digest ids, not the super user. */
  clearAuth(): void {
    this.#authIds = null;
    this.superUser = false;
  }
}

/** The auth ids of a session that has none (never changed). */
const noAuthIds: ReadonlySet<string> = new Set<string>();

const empty = -1;

/** 64-bit id (hi, lo) → slot. */
export class IdIndex {
  #hi: Uint32Array;
  #lo: Uint32Array;
  #val: Int32Array;
  #mask: number;
  #size = 0;

  constructor(capacity = 1024) {
    assert((capacity & (capacity - 1)) === 0, 'IdIndex: capacity must be a power of two');
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#val = new Int32Array(capacity).fill(empty);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(hi: number, lo: number): number {
    const mask = this.#mask;
    for (let i = hash(hi, lo) & mask; ; i = (i + 1) & mask) {
      const v = this.#val[i]!;
      if (v === empty) return empty;
      if (this.#hi[i] === hi && this.#lo[i] === lo) return v;
    }
  }

  set(hi: number, lo: number, value: number): void {
    if ((this.#size + 1) * 2 > this.#val.length) this.#rehash(this.#val.length * 2);
    const mask = this.#mask;
    for (let i = hash(hi, lo) & mask; ; i = (i + 1) & mask) {
      const v = this.#val[i]!;
      if (v === empty) {
        this.#hi[i] = hi;
        this.#lo[i] = lo;
        this.#val[i] = value;
        this.#size++;
        return;
      }
      if (this.#hi[i] === hi && this.#lo[i] === lo) {
        this.#val[i] = value;
        return;
      }
    }
  }

  delete(hi: number, lo: number): boolean {
    const mask = this.#mask;
    let i = hash(hi, lo) & mask;
    for (; ; i = (i + 1) & mask) {
      if (this.#val[i] === empty) return false;
      if (this.#hi[i] === hi && this.#lo[i] === lo) break;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole.
    let hole = i;
    for (let j = (i + 1) & mask; this.#val[j] !== empty; j = (j + 1) & mask) {
      const home = hash(this.#hi[j]!, this.#lo[j]!) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      this.#hi[hole] = this.#hi[j]!;
      this.#lo[hole] = this.#lo[j]!;
      this.#val[hole] = this.#val[j]!;
      hole = j;
    }
    this.#val[hole] = empty;
    this.#size--;
    return true;
  }

  #rehash(capacity: number): void {
    const hi = this.#hi;
    const lo = this.#lo;
    const val = this.#val;
    this.#hi = new Uint32Array(capacity);
    this.#lo = new Uint32Array(capacity);
    this.#val = new Int32Array(capacity).fill(empty);
    this.#mask = capacity - 1;
    this.#size = 0;
    for (let i = 0; i < val.length; i++) if (val[i] !== empty) this.set(hi[i]!, lo[i]!, val[i]!);
  }
}

function hash(hi: number, lo: number): number {
  // The low bits of a session id are a counter, the high ones mostly constant: mix both.
  let h = Math.imul(lo ^ (hi >>> 16), 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b);
  h ^= h >>> 15;
  return h >>> 0;
}

export class SessionTable<C extends SessionConnection = SessionConnection> {
  readonly #index = new IdIndex();
  readonly #slots: (Session<C> | undefined)[] = [];
  readonly #free: number[] = [];
  readonly sessionsMax: number;
  #local = 0;
  #global = 0;

  constructor(sessionsMax: number) {
    this.sessionsMax = sessionsMax;
  }

  get size(): number {
    return this.#index.size;
  }
  get localCount(): number {
    return this.#local;
  }
  get globalCount(): number {
    return this.#global;
  }
  /** One past the highest slot ever used (for per-slot arrays). */
  get slotCapacity(): number {
    return this.#slots.length;
  }

  get(hi: number, lo: number): Session<C> | undefined {
    const slot = this.#index.get(hi, lo);
    return slot === empty ? undefined : this.#slots[slot];
  }

  at(slot: number): Session<C> | undefined {
    return this.#slots[slot];
  }

  /** A new session (the id must not be in the table); undefined when the table is full. */
  add(
    hi: number,
    lo: number,
    timeoutMs: number,
    local: boolean,
    readOnly: boolean,
  ): Session<C> | undefined {
    assert(this.#index.get(hi, lo) === empty, 'SessionTable.add: session already present');
    if (this.size >= this.sessionsMax) return undefined;
    const slot = this.#free.pop() ?? this.#slots.length;
    const s = new Session<C>({ slot, sidHi: hi, sidLo: lo, timeoutMs, local, readOnly });
    this.#slots[slot] = s;
    this.#index.set(hi, lo, slot);
    if (local) this.#local++;
    else this.#global++;
    return s;
  }

  /** Make `s` local or global (upgraded; or brought back by a reconnect as the other kind). */
  setLocal(s: Session<C>, local: boolean): void {
    if (s.local === local) return;
    s.local = local;
    if (local) {
      this.#local++;
      this.#global--;
    } else {
      this.#local--;
      this.#global++;
    }
  }

  remove(s: Session<C>): void {
    assert(this.#slots[s.slot] === s, 'SessionTable.remove: not in the table');
    this.#index.delete(s.sidHi, s.sidLo);
    this.#slots[s.slot] = undefined;
    this.#free.push(s.slot);
    if (s.local) this.#local--;
    else this.#global--;
  }

  *[Symbol.iterator](): IterableIterator<Session<C>> {
    for (const s of this.#slots) if (s !== undefined) yield s;
  }
}
