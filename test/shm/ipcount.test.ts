// The per-IP connection table (src/shm/ipcount.ts): exact keys, keyed probe positions, cells
// freed when a count drops to zero, and a full table that refuses new addresses (issue 9 item 11).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IpAcquire,
  IpCountTable,
  createIpCountTable,
  halfSipHash128,
  parseIpWords,
} from '../../src/shm/ipcount.js';
import { mulberry32 } from '../harness/prng.js';

const fixedKey = [0x01234567, 0x089abcde] as const;

function wordsOf(ip: string): Uint32Array {
  const w = new Uint32Array(4);
  assert.ok(parseIpWords(ip, w), `parses ${ip}`);
  return w;
}

/** `n` IPv4 addresses whose probe chains all start at the same cell of a `slots`-cell table. */
function sameHome(n: number, slots: number): string[] {
  const out: string[] = [];
  let home = -1;
  for (let i = 0; out.length < n; i++) {
    const ip = `10.9.${(i >> 8) & 255}.${i & 255}`;
    const h = halfSipHash128(fixedKey[0], fixedKey[1], wordsOf(ip)) & (slots - 1);
    if (home < 0) home = h;
    if (h === home) out.push(ip);
  }
  return out;
}

describe('IpCountTable', () => {
  it('counts per ip up to maxClientCnxns and frees the cell at zero', () => {
    const t = createIpCountTable(8);
    assert.equal(t.acquire('10.0.0.1', 2), IpAcquire.ok);
    assert.equal(t.acquire('10.0.0.1', 2), IpAcquire.ok);
    assert.equal(t.acquire('10.0.0.1', 2), IpAcquire.perIpLimit);
    assert.equal(t.count('10.0.0.1'), 2);
    assert.equal(t.addresses, 1);
    t.release('10.0.0.1');
    assert.equal(t.acquire('10.0.0.1', 2), IpAcquire.ok);
    t.release('10.0.0.1');
    t.release('10.0.0.1');
    assert.equal(t.count('10.0.0.1'), 0);
    assert.equal(t.addresses, 0);
    t.release('10.0.0.1'); // a release with nothing counted changes nothing
    assert.equal(t.addresses, 0);
    // Many more distinct addresses over time than cells.
    for (let i = 0; i < 1000; i++) {
      const ip = `10.1.${i >> 8}.${i & 255}`;
      assert.equal(t.acquire(ip, 1), IpAcquire.ok);
      t.release(ip);
    }
    assert.equal(t.addresses, 0);
    assert.equal(t.refusedFull, 0);
  });

  it('a full table refuses new addresses and admits known ones', () => {
    const t = createIpCountTable(8);
    for (let i = 0; i < 8; i++) assert.equal(t.acquire(`10.2.0.${i}`, 3), IpAcquire.ok);
    assert.equal(t.acquire('10.3.0.1', 3), IpAcquire.tableFull);
    assert.equal(t.acquire('2001:db8::1', 3), IpAcquire.tableFull);
    assert.equal(t.refusedFull, 2);
    assert.equal(t.count('10.3.0.1'), 0);
    assert.equal(t.acquire('10.2.0.5', 3), IpAcquire.ok, 'an address already counted still gets in');
    assert.equal(t.acquire('10.2.0.5', 3), IpAcquire.ok);
    assert.equal(t.acquire('10.2.0.5', 3), IpAcquire.perIpLimit);
    t.release('10.2.0.0');
    assert.equal(t.acquire('10.3.0.1', 3), IpAcquire.ok, 'room again once an address left');
    assert.equal(t.acquire('10.3.0.2', 3), IpAcquire.tableFull);
  });

  it('keeps colliding addresses apart and their chains short after deletes', () => {
    const t = createIpCountTable(8, fixedKey); // 16 cells
    const ips = sameHome(6, t.slots);
    for (const [i, ip] of ips.entries()) {
      for (let k = 0; k <= i; k++) assert.equal(t.acquire(ip, 0), IpAcquire.ok);
    }
    for (const [i, ip] of ips.entries()) {
      assert.equal(t.count(ip), i + 1, `${ip} has its own count`);
      assert.equal(t.probeLength(ip), i + 1, `${ip} sits ${i} cells after its home`);
    }
    // Free the first three: the others move back toward their home cell.
    for (const [i, ip] of ips.slice(0, 3).entries()) for (let k = 0; k <= i; k++) t.release(ip);
    for (const [i, ip] of ips.slice(3).entries()) {
      assert.equal(t.count(ip), i + 4);
      assert.equal(t.probeLength(ip), i + 1);
    }
    assert.equal(t.addresses, 3);
  });

  it('matches a model under random acquire and release with constant collisions', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = mulberry32(seed);
      const t = createIpCountTable(16); // 32 cells, random key
      const model = new Map<string, number>();
      const pool = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? `192.168.${i}.1` : `2001:db8::${i.toString(16)}`,
      );
      const max = 3;
      for (let step = 0; step < 20_000; step++) {
        const ip = pool[Math.floor(rand() * pool.length)]!;
        const have = model.get(ip) ?? 0;
        if (rand() < 0.5) {
          const got = t.acquire(ip, max);
          const want =
            have >= max
              ? IpAcquire.perIpLimit
              : have === 0 && model.size >= 16
                ? IpAcquire.tableFull
                : IpAcquire.ok;
          assert.equal(got, want, `seed ${seed} step ${step} acquire ${ip}`);
          if (got === IpAcquire.ok) model.set(ip, have + 1);
        } else if (have > 0) {
          t.release(ip);
          if (have === 1) model.delete(ip);
          else model.set(ip, have - 1);
        }
        if (step % 97 === 0) {
          for (const p of pool) assert.equal(t.count(p), model.get(p) ?? 0, `seed ${seed} ${p}`);
          assert.equal(t.addresses, model.size);
        }
      }
      for (const [ip, n] of model) for (let k = 0; k < n; k++) t.release(ip);
      assert.equal(t.addresses, 0);
    }
  });

  it('is shared by every attached copy (as the workers attach it)', () => {
    const a = createIpCountTable(8);
    const b = IpCountTable.attach(a.buffer);
    assert.equal(a.acquire('10.4.0.1', 1), IpAcquire.ok);
    assert.equal(b.acquire('10.4.0.1', 1), IpAcquire.perIpLimit);
    b.release('10.4.0.1');
    assert.equal(a.count('10.4.0.1'), 0);
  });

  it('reads IPv4, IPv4-mapped and IPv6 spellings as one key each', () => {
    const t = createIpCountTable(8);
    assert.equal(t.acquire('10.5.0.1', 2), IpAcquire.ok);
    assert.equal(t.acquire('::ffff:10.5.0.1', 2), IpAcquire.ok);
    assert.equal(t.acquire('::ffff:a05:1', 2), IpAcquire.perIpLimit);
    assert.equal(t.acquire('2001:db8::1', 1), IpAcquire.ok);
    assert.equal(t.acquire('2001:0DB8:0:0:0:0:0:0001', 1), IpAcquire.perIpLimit);
    assert.equal(t.acquire('2001:db8::1%eth0', 1), IpAcquire.perIpLimit);
    assert.equal(t.acquire('2001:db8::2', 1), IpAcquire.ok);
    assert.equal(t.acquire('::', 1), IpAcquire.ok);
    assert.equal(t.acquire('::1', 1), IpAcquire.ok);
    assert.deepEqual([...wordsOf('1:2:3:4:5:6:7:8')], [0x10002, 0x30004, 0x50006, 0x70008]);
    assert.deepEqual([...wordsOf('1::8')], [0x10000, 0, 0, 8]);
    assert.deepEqual([...wordsOf('::1.2.3.4')], [0, 0, 0, 0x01020304]);
    for (const bad of ['', 'x', '1.2.3', '1.2.3.256', '1:2:3:4:5:6:7', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::']) {
      assert.equal(t.acquire(bad, 1), IpAcquire.badAddress, bad);
    }
  });

  it('HalfSipHash-2-4 gives the reference vector, and the key is random per table', () => {
    // Reference implementation (github.com/veorq/SipHash), key 00..07, message 00..0f: the
    // 16-byte vector, read as little-endian words.
    const m = Uint32Array.of(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c);
    assert.equal(halfSipHash128(0x03020100, 0x07060504, m), 0x84acb5d9);
    // Two tables place the same addresses differently (a 2^-32 chance per address otherwise).
    const a = createIpCountTable(1024);
    const b = createIpCountTable(1024);
    let differ = 0;
    for (let i = 0; i < 64; i++) {
      const ip = `10.6.0.${i}`;
      a.acquire(ip, 1);
      b.acquire(ip, 1);
      if (a.probeLength(ip) !== b.probeLength(ip) || homeOf(a, ip) !== homeOf(b, ip)) differ++;
    }
    assert.ok(differ > 0);
  });
});

/** Where `ip` sits in `t` (reads the cells; tests only). */
function homeOf(t: ReturnType<typeof createIpCountTable>, ip: string): number {
  const cells = new Int32Array(t.buffer, 64);
  const w = wordsOf(ip);
  for (let i = 0; i < t.slots; i++) {
    const at = i * 6;
    if (cells[at + 5] !== 0 && cells[at + 3] === (w[3]! | 0) && cells[at + 2] === (w[2]! | 0)) return i;
  }
  return -1;
}
