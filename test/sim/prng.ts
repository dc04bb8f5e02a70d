// Seeded PRNG for the simulator (sfc32 seeded through splitmix32). Deterministic per seed.

import type { Prng } from '../../src/main/zab/timeouts.js';

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class SimPrng implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const next = splitmix32(seed);
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  nextInt(bound: number): number {
    return Math.floor((this.nextU32() / 0x100000000) * bound);
  }

  /** Inclusive range. */
  range(min: number, max: number): number {
    return min + this.nextInt(max - min + 1);
  }

  chance(probability: number): boolean {
    return this.nextU32() / 0x100000000 < probability;
  }

  fork(): SimPrng {
    return new SimPrng(this.nextU32());
  }
}
