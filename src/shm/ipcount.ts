// Connections per client IP across every session worker (ZooKeeper's maxClientCnxns, which
// NIOServerCnxnFactory counts per InetAddress, for the whole server). One table on a
// SharedArrayBuffer, created by the main thread and attached by each worker.
//
// A client chooses its address, so the table is built to be attacked:
//
// - Exact keys. A cell holds the whole address (IPv4 as IPv4-mapped IPv6, so 128 bits), so two
//   addresses never share a count: nobody can use up another address's quota.
// - Keyed probe positions. Where an address lands is HalfSipHash-2-4 of its 128 bits under a
//   64-bit key drawn from the OS's CSPRNG when the table is made (one key per process, shared
//   by its workers through the header). Without the key a client cannot aim addresses at one
//   probe chain to make lookups slow.
// - Cells are freed. Linear probing with backward-shift deletion: when an address's count drops
//   to 0 its cell is emptied and the cells after it move back, so chains never hold dead cells
//   and an empty cell ends every probe.
// - Bounded, and full means no. At most `addressesMax` addresses at once (half the cells, so
//   chains stay short); a new address past that is refused (fails closed) and counted.
//
// Every operation takes a tiny spin lock in the header (connect and close time only, held for a
// hash-free probe of a few cells). Never Atomics.wait: these threads own sockets.

import { assert } from '../common/assert.js';
import { ipAddressesMaxDefault, ipAddressesMaxMax, ipAddressesMaxMin } from './limits.js';

const magic = 0x5a4b4944; // "ZKID": exact-key layout
const headerInts = 16; // 64 bytes
const hMagic = 0;
const hSlots = 1;
const hLock = 2;
const hLive = 3; // addresses with a count > 0 (= cells in use)
const hLiveMax = 4;
const hKey0 = 5;
const hKey1 = 6;
const hRefusedFull = 7; // new addresses refused because the table was full

// A cell: address words a0..a3 (big-endian order of the 16 bytes), the address's probe hash,
// and its count (0 = empty cell).
const cellInts = 6;
const cHash = 4;
const cCount = 5;


/** What `acquire` did. */
export const IpAcquire = {
  /** Counted. */
  ok: 0,
  /** The address already has `max` connections (maxClientCnxns): nothing counted. */
  perIpLimit: 1,
  /** A new address, and the table already tracks `addressesMax` addresses: refused. */
  tableFull: 2,
  /** Not an IPv4 or IPv6 address (a socket that closed before its address was read). */
  badAddress: 3,
} as const;
export type IpAcquire = (typeof IpAcquire)[keyof typeof IpAcquire];

/**
 * Parse an IPv4 ("10.0.0.1") or IPv6 ("2001:db8::1", "::ffff:10.0.0.1", "fe80::1%eth0") address
 * into four big-endian u32 words, IPv4 as IPv4-mapped IPv6 (so both spellings of one IPv4 client
 * are one key). A zone id is dropped. False when `ip` is not an address.
 */
export function parseIpWords(ip: string, out: Uint32Array): boolean {
  const pct = ip.indexOf('%');
  const s = pct >= 0 ? ip.slice(0, pct) : ip;
  if (s.indexOf(':') < 0) {
    const v4 = parseIpv4(s);
    if (v4 < 0) return false;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = v4;
    return true;
  }
  const groups = new Uint16Array(8);
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : '';
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const parts = dbl >= 0 ? tailParts : headParts;
  // A dotted IPv4 tail counts as two groups.
  let v4 = -1;
  const last = parts[parts.length - 1];
  if (last !== undefined && last.indexOf('.') >= 0) {
    v4 = parseIpv4(last);
    if (v4 < 0) return false;
    parts.pop();
  }
  const hexGroups = (xs: string[], at: number): boolean => {
    for (let i = 0; i < xs.length; i++) {
      const g = xs[i]!;
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      groups[at + i] = parseInt(g, 16);
    }
    return true;
  };
  const v4Groups = v4 >= 0 ? 2 : 0;
  if (dbl >= 0) {
    const n = headParts.length + tailParts.length + v4Groups;
    if (n > 7) return false;
    if (!hexGroups(headParts, 0)) return false;
    if (!hexGroups(tailParts, 8 - v4Groups - tailParts.length)) return false;
  } else {
    if (headParts.length + v4Groups !== 8) return false;
    if (!hexGroups(headParts, 0)) return false;
  }
  if (v4 >= 0) {
    groups[6] = v4 >>> 16;
    groups[7] = v4 & 0xffff;
  }
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return true;
}

/** "a.b.c.d" as a u32, or -1 (one pass over the characters: this runs on every accept). */
function parseIpv4(s: string): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + part;
}

const rotl = (x: number, b: number): number => (x << b) | (x >>> (32 - b));

/**
 * HalfSipHash-2-4 (SipHash on 32-bit words, 32-bit output; the Linux kernel keys its hash
 * tables with it for the same reason) of four u32 words under the key (k0, k1).
 */
export function halfSipHash128(k0: number, k1: number, w: Uint32Array): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  // 4 message words with 2 rounds each, the length with 2, then 4 finalisation rounds.
  for (let r = 0; r < 14; r++) {
    const wi = r >>> 1;
    const first = (r & 1) === 0;
    if (r < 8 && first) v3 ^= w[wi]! | 0;
    else if (r === 8) v3 ^= 16 << 24; // the message length, no tail bytes
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
    if (r < 8 && !first) v0 ^= w[wi]! | 0;
    else if (r === 9) {
      v0 ^= 16 << 24;
      v2 ^= 0xff;
    }
  }
  return (v1 ^ v3) >>> 0;
}

export class IpCountTable {
  readonly buffer: SharedArrayBuffer;
  readonly slots: number;
  /** Most distinct addresses tracked at once. */
  readonly addressesMax: number;
  readonly #header: Int32Array;
  readonly #cells: Int32Array;
  readonly #mask: number;
  readonly #k0: number;
  readonly #k1: number;
  readonly #words = new Uint32Array(4);

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
    assert(buffer.byteLength === (headerInts + slots * cellInts) * 4, 'IpCountTable: size mismatch');
    this.buffer = buffer;
    this.slots = slots;
    this.addressesMax = Atomics.load(header, hLiveMax);
    assert(this.addressesMax <= slots >>> 1, 'IpCountTable: more addresses than half the cells');
    this.#header = header;
    this.#cells = new Int32Array(buffer, headerInts * 4, slots * cellInts);
    this.#mask = slots - 1;
    this.#k0 = Atomics.load(header, hKey0);
    this.#k1 = Atomics.load(header, hKey1);
  }

  /**
   * Count one more connection from `ip` unless it already has `max` (max 0 = no per-IP limit,
   * still counted), the table is full and `ip` is new, or `ip` is not an address.
   */
  acquire(ip: string, max: number): IpAcquire {
    const w = this.#words;
    if (!parseIpWords(ip, w)) return IpAcquire.badAddress;
    const hash = halfSipHash128(this.#k0, this.#k1, w);
    const cells = this.#cells;
    this.#lock();
    try {
      const at = this.#find(w, hash);
      if (cells[at + cCount] !== 0) {
        const count = cells[at + cCount]!;
        if (max > 0 && count >= max) return IpAcquire.perIpLimit;
        cells[at + cCount] = count + 1;
        return IpAcquire.ok;
      }
      const header = this.#header;
      if (header[hLive]! >= this.addressesMax) {
        header[hRefusedFull] = (header[hRefusedFull]! + 1) | 0;
        return IpAcquire.tableFull;
      }
      cells[at] = w[0]! | 0;
      cells[at + 1] = w[1]! | 0;
      cells[at + 2] = w[2]! | 0;
      cells[at + 3] = w[3]! | 0;
      cells[at + cHash] = hash | 0;
      cells[at + cCount] = 1;
      header[hLive] = header[hLive]! + 1;
      return IpAcquire.ok;
    } finally {
      this.#unlock();
    }
  }

  /** Forget one connection from `ip` (call once per `acquire` that returned ok). */
  release(ip: string): void {
    const w = this.#words;
    if (!parseIpWords(ip, w)) return;
    const hash = halfSipHash128(this.#k0, this.#k1, w);
    const cells = this.#cells;
    this.#lock();
    try {
      const at = this.#find(w, hash);
      const count = cells[at + cCount]!;
      if (count === 0) return; // not counted (the owner releases once per ok acquire)
      if (count > 1) {
        cells[at + cCount] = count - 1;
        return;
      }
      this.#delete(at / cellInts);
      this.#header[hLive] = this.#header[hLive]! - 1;
    } finally {
      this.#unlock();
    }
  }

  /** Connections counted for `ip` now (tests and stats). */
  count(ip: string): number {
    const w = this.#words;
    if (!parseIpWords(ip, w)) return 0;
    const hash = halfSipHash128(this.#k0, this.#k1, w);
    this.#lock();
    try {
      return this.#cells[this.#find(w, hash) + cCount]!;
    } finally {
      this.#unlock();
    }
  }

  /** Distinct addresses with a connection counted now. */
  get addresses(): number {
    return Atomics.load(this.#header, hLive);
  }

  /** New addresses refused so far because the table was full. */
  get refusedFull(): number {
    return Atomics.load(this.#header, hRefusedFull);
  }

  /** Cells probed to find `ip` (1 = at its home cell): tests of the probe chains. */
  probeLength(ip: string): number {
    const w = this.#words;
    if (!parseIpWords(ip, w)) return 0;
    const hash = halfSipHash128(this.#k0, this.#k1, w);
    this.#lock();
    try {
      const at = this.#find(w, hash) / cellInts;
      return ((at - (hash & this.#mask)) & this.#mask) + 1;
    } finally {
      this.#unlock();
    }
  }

  /** Cell offset holding `w`, or of the empty cell that ends its chain (caller holds the lock).
   *  Terminates: at most half the cells are in use, so every chain ends at an empty cell. */
  #find(w: Uint32Array, hash: number): number {
    const cells = this.#cells;
    const mask = this.#mask;
    let idx = hash & mask;
    for (;;) {
      const at = idx * cellInts;
      if (cells[at + cCount] === 0) return at;
      if (
        cells[at + cHash] === (hash | 0) &&
        cells[at] === (w[0]! | 0) &&
        cells[at + 1] === (w[1]! | 0) &&
        cells[at + 2] === (w[2]! | 0) &&
        cells[at + 3] === (w[3]! | 0)
      ) {
        return at;
      }
      idx = (idx + 1) & mask;
    }
  }

  /** Empty cell `hole` and move later cells of its chain back (Knuth's Algorithm R), so a
   *  probe never has to skip a dead cell. */
  #delete(hole: number): void {
    const cells = this.#cells;
    const mask = this.#mask;
    let i = hole;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const at = j * cellInts;
      if (cells[at + cCount] === 0) break;
      const home = cells[at + cHash]! & mask;
      // Cell j may move to the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      cells.copyWithin(i * cellInts, at, at + cellInts);
      i = j;
    }
    cells.fill(0, i * cellInts, i * cellInts + cellInts);
  }

  #lock(): void {
    const header = this.#header;
    while (Atomics.compareExchange(header, hLock, 0, 1) !== 0) {
      // Held for a probe of a few cells by another worker: spin (never Atomics.wait here).
    }
  }

  #unlock(): void {
    Atomics.store(this.#header, hLock, 0);
  }
}

/**
 * Create the shared table (main thread) for at most `addressesMax` distinct client addresses at
 * once; pass `.buffer` to every worker as `ipCounts`. `key` fixes the hash key (tests only);
 * by default it comes from crypto.getRandomValues.
 */
export function createIpCountTable(
  addressesMax: number = ipAddressesMaxDefault,
  key?: readonly [number, number],
): IpCountTable {
  if (
    !Number.isInteger(addressesMax) ||
    addressesMax < ipAddressesMaxMin ||
    addressesMax > ipAddressesMaxMax
  ) {
    throw new RangeError(
      `createIpCountTable: addressesMax must be an integer in [${ipAddressesMaxMin}, ` +
        `${ipAddressesMaxMax}], got ${addressesMax}`,
    );
  }
  let slots = 16;
  while (slots < 2 * addressesMax) slots *= 2;
  const buffer = new SharedArrayBuffer((headerInts + slots * cellInts) * 4);
  const header = new Int32Array(buffer, 0, headerInts);
  const k = key === undefined ? crypto.getRandomValues(new Int32Array(2)) : Int32Array.from(key);
  header[hSlots] = slots;
  header[hLiveMax] = addressesMax;
  header[hKey0] = k[0]!;
  header[hKey1] = k[1]!;
  Atomics.store(header, hMagic, magic);
  return IpCountTable.attach(buffer);
}
