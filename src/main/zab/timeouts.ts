// Tick-counted timeouts with PRNG jitter (TigerBeetle's Timeout). The core has no clock: the
// driver steps a Tick every tickTime, and every limit here is a count of ticks.

import { assert } from '../../common/assert.js';

/** The only randomness the core sees; the driver injects a seeded one. */
export interface Prng {
  /** A uniform integer in [0, bound). */
  nextInt(bound: number): number;
}

export class Timeout {
  readonly name: string;
  private readonly baseTicks: number;
  private readonly jitterTicks: number;
  private readonly prng: Prng;
  private ticks = 0;
  private afterTicks: number;

  /** Fires after `baseTicks` plus a uniform draw in [0, jitterTicks] from `prng`. */
  constructor(o: { name: string; baseTicks: number; jitterTicks: number; prng: Prng }) {
    this.name = o.name;
    this.baseTicks = o.baseTicks;
    this.jitterTicks = o.jitterTicks;
    this.prng = o.prng;
    assert(o.baseTicks >= 1, `timeout ${o.name}: baseTicks >= 1`);
    this.afterTicks = this.draw();
  }

  private draw(): number {
    return this.baseTicks + (this.jitterTicks > 0 ? this.prng.nextInt(this.jitterTicks + 1) : 0);
  }

  reset(): void {
    this.ticks = 0;
    this.afterTicks = this.draw();
  }

  /** Count one tick; true when the timeout fires (the caller then resets or leaves the role). */
  tick(): boolean {
    this.ticks += 1;
    return this.ticks >= this.afterTicks;
  }
}
