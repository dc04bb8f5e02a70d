// Connections per client IP across every session worker (ZooKeeper's maxClientCnxns, which
// NIOServerCnxnFactory counts per InetAddress). One table on a SharedArrayBuffer, created by the
// main thread and attached by each worker.
//
// Open addressing with linear probing over 64-bit cells, each cell = key << 32 | count, where
// key is a 32-bit hash of the IP string (never 0; 0 marks a never-used cell). Two IPs whose
// hashes collide share a count: harmless at 2^-32 per pair. A cell is updated with one
// compare-and-swap of the whole word, so a count never moves to another key under a racing
// thread.
//
// - Counting an IP already in the table is lock-free: find its cell, CAS count → count + 1.
// - Claiming a cell for a new IP takes a tiny spin lock (connect-time only), re-checks, and
//   takes the first cell of the probe chain whose count is 0 (reusing cells of IPs that left)
//   or the first never-used cell. Claims never empty a cell, so probe chains stay intact, and
//   only claims create keys, so an IP has at most one cell.
// - A full chain (every cell up to the table's end in use) fails open: the connection is allowed
//   and not counted. Size the table well above the distinct IPs expected at once.
//
// Never blocks on Atomics.wait: the lock is held for a few loads and one CAS.

import { assert } from '../common/assert.js';

const magic = 0x5a4b4943; // "ZKIC"
const headerInts = 16; // 64 bytes: magic, slots, lock, untracked count
const hMagic = 0;
const hSlots = 1;
const hLock = 2;
const hUntracked = 3;

export const ipCountSlotsDefault = 1 << 16;

const countMask = 0xffffffffn;

/** FNV-1a over UTF-16 code units, then murmur3's finaliser; never 0. */
export function ipHash(ip: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ip.length; i++) {
    h ^= ip.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  h >>>= 0;
  return h === 0 ? 1 : h;
}

export class IpCountTable {
  readonly buffer: SharedArrayBuffer;
  readonly slots: number;
  readonly #header: Int32Array;
  readonly #cells: BigUint64Array;
  readonly #mask: number;

  /** Attach (in a worker) to a table made by `createIpCountTable`. */
  static attach(buffer: SharedArrayBuffer): IpCountTable {
    return new IpCountTable(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    const header = new Int32Array(buffer, 0, headerInts);
    if (Atomics.load(header, hMagic) !== magic) {
      throw new TypeError('IpCountTable: not an ip count table');
    }
    const slots = Atomics.load(header, hSlots);
    assert(buffer.byteLength === headerInts * 4 + slots * 8, 'IpCountTable: size mismatch');
    this.buffer = buffer;
    this.slots = slots;
    this.#header = header;
    this.#cells = new BigUint64Array(buffer, headerInts * 4, slots);
    this.#mask = slots - 1;
  }

  /**
   * Count one more connection from `ip` unless it already has `max` (max 0 = no limit, still
   * counted). Returns false when over the limit (nothing counted).
   */
  tryAcquire(ip: string, max: number): boolean {
    const key = ipHash(ip);
    const keyBits = BigInt(key) << 32n;
    for (;;) {
      const idx = this.#find(key);
      if (idx >= 0) {
        const w = Atomics.load(this.#cells, idx);
        if (w >> 32n !== BigInt(key)) continue; // the cell was reused for another IP: look again
        const count = Number(w & countMask);
        if (max > 0 && count >= max) return false;
        if (Atomics.compareExchange(this.#cells, idx, w, w + 1n) === w) return true;
        continue;
      }
      const claimed = this.#claim(key, keyBits);
      if (claimed !== 0) return true; // 1: claimed with count 1; 2: table full, not counted
    }
  }

  /** Forget one connection from `ip` (call once per successful tryAcquire). */
  release(ip: string): void {
    const key = ipHash(ip);
    for (;;) {
      const idx = this.#find(key);
      if (idx < 0) return; // acquired while the table was full (not counted)
      const w = Atomics.load(this.#cells, idx);
      if (w >> 32n !== BigInt(key)) continue;
      if ((w & countMask) === 0n) return;
      if (Atomics.compareExchange(this.#cells, idx, w, w - 1n) === w) return;
    }
  }

  /** Connections counted for `ip` now (racy snapshot; tests and stats). */
  count(ip: string): number {
    const key = ipHash(ip);
    const idx = this.#find(key);
    if (idx < 0) return 0;
    const w = Atomics.load(this.#cells, idx);
    return w >> 32n === BigInt(key) ? Number(w & countMask) : 0;
  }

  /** Connections let in uncounted because the table was full (should stay 0). */
  get untracked(): number {
    return Atomics.load(this.#header, hUntracked);
  }

  /** Index of the cell holding `key`, or -1: probes from its home until a never-used cell. */
  #find(key: number): number {
    const cells = this.#cells;
    const big = BigInt(key);
    let idx = key & this.#mask;
    for (let n = 0; n < this.slots; n++) {
      const w = Atomics.load(cells, idx);
      if (w === 0n) return -1;
      if (w >> 32n === big) return idx;
      idx = (idx + 1) & this.#mask;
    }
    return -1;
  }

  /** 0: the key appeared meanwhile (retry the fast path); 1: claimed with count 1; 2: full. */
  #claim(key: number, keyBits: bigint): number {
    this.#lock();
    try {
      if (this.#find(key) >= 0) return 0;
      const cells = this.#cells;
      let idx = key & this.#mask;
      for (let n = 0; n < this.slots; n++) {
        const w = Atomics.load(cells, idx);
        if (w === 0n || (w & countMask) === 0n) {
          // A count-0 cell can race with a lock-free increment of its old key: the CAS decides.
          if (Atomics.compareExchange(cells, idx, w, keyBits | 1n) === w) return 1;
          continue; // re-read the same cell
        }
        idx = (idx + 1) & this.#mask;
      }
      Atomics.add(this.#header, hUntracked, 1);
      return 2;
    } finally {
      Atomics.store(this.#header, hLock, 0);
    }
  }

  #lock(): void {
    const header = this.#header;
    while (Atomics.compareExchange(header, hLock, 0, 1) !== 0) {
      // Held for a handful of loads by another worker: spin (never Atomics.wait here).
    }
  }
}

/** Create the shared table (main thread); pass `.buffer` to every worker as `ipCounts`. */
export function createIpCountTable(slots: number = ipCountSlotsDefault): IpCountTable {
  if (!Number.isInteger(slots) || slots < 16 || slots > 1 << 24 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(
      `createIpCountTable: slots must be a power of two in [16, 2^24], got ${slots}`,
    );
  }
  const buffer = new SharedArrayBuffer(headerInts * 4 + slots * 8);
  const header = new Int32Array(buffer, 0, headerInts);
  Atomics.store(header, hSlots, slots);
  Atomics.store(header, hMagic, magic);
  return IpCountTable.attach(buffer);
}
