// SimNetwork: one connection per pair of nodes, FIFO in each direction, with latency. Zab
// assumes TCP, so loss is modelled as a connection reset: the message and everything in flight
// on that connection are lost, both ends get PeerDown, and a new connection (PeerUp) follows
// later. Partitions cut links (resetting them) until healed.

import type { Scheduler } from './scheduler.js';
import type { SimPrng } from './prng.js';

interface Link {
  readonly a: number;
  readonly b: number;
  up: boolean;
  cut: boolean;
  gen: number;
  lastDeliver: [number, number];
}

export interface NetworkHooks {
  alive(id: number): boolean;
  deliver(to: number, from: number, payload: unknown): void;
  peerDown(id: number, peer: number): void;
  peerUp(id: number, peer: number): void;
  log(line: string): void;
}

export interface NetworkOptions {
  readonly latencyMsMin: number;
  readonly latencyMsMax: number;
  readonly spikeProbability: number;
  readonly spikeMsMax: number;
  readonly reconnectMsMin: number;
  readonly reconnectMsMax: number;
}

export class SimNetwork {
  dropProbability = 0;
  messagesSent = 0;
  resets = 0;
  private readonly links = new Map<number, Link>();

  constructor(
    ids: readonly number[],
    private readonly sched: Scheduler,
    private readonly prng: SimPrng,
    private readonly options: NetworkOptions,
    private readonly hooks: NetworkHooks,
  ) {
    for (const a of ids) {
      for (const b of ids) {
        if (a < b) this.links.set(key(a, b), { a, b, up: true, cut: false, gen: 0, lastDeliver: [0, 0] });
      }
    }
  }

  send(from: number, to: number, payload: unknown): void {
    const link = this.link(from, to);
    if (!link.up) return;
    this.messagesSent += 1;
    if (link.cut || this.prng.chance(this.dropProbability)) {
      this.reset(link);
      return;
    }
    const o = this.options;
    let latency = this.prng.range(o.latencyMsMin, o.latencyMsMax);
    if (this.prng.chance(o.spikeProbability)) latency += this.prng.range(0, o.spikeMsMax);
    const dir = from < to ? 0 : 1;
    const time = Math.max(this.sched.now + latency, link.lastDeliver[dir]);
    link.lastDeliver[dir] = time;
    const gen = link.gen;
    this.sched.at(time, () => {
      if (link.gen === gen && link.up) this.hooks.deliver(to, from, payload);
    });
  }

  nodeDown(id: number): void {
    for (const link of this.links.values()) if (link.a === id || link.b === id) this.reset(link);
  }

  nodeUp(id: number): void {
    for (const link of this.links.values()) {
      if (link.a === id || link.b === id) this.sched.after(this.reconnectDelay(), () => this.tryUp(link));
    }
  }

  /** Cut every link between the two groups. */
  partition(groupA: readonly number[]): void {
    for (const link of this.links.values()) {
      if (groupA.includes(link.a) !== groupA.includes(link.b)) {
        link.cut = true;
        this.reset(link);
      }
    }
  }

  heal(): void {
    for (const link of this.links.values()) {
      if (!link.cut) continue;
      link.cut = false;
      this.sched.after(this.reconnectDelay(), () => this.tryUp(link));
    }
  }

  private reset(link: Link): void {
    if (!link.up) return;
    this.resets += 1;
    link.up = false;
    link.gen += 1;
    this.hooks.log(`net reset n${link.a}<->n${link.b}`);
    this.sched.after(0, () => this.hooks.alive(link.a) && this.hooks.peerDown(link.a, link.b));
    this.sched.after(0, () => this.hooks.alive(link.b) && this.hooks.peerDown(link.b, link.a));
    this.sched.after(this.reconnectDelay(), () => this.tryUp(link));
  }

  private tryUp(link: Link): void {
    if (link.up || link.cut || !this.hooks.alive(link.a) || !this.hooks.alive(link.b)) return;
    link.up = true;
    link.gen += 1;
    link.lastDeliver = [this.sched.now, this.sched.now];
    this.hooks.peerUp(link.a, link.b);
    this.hooks.peerUp(link.b, link.a);
  }

  private reconnectDelay(): number {
    return this.prng.range(this.options.reconnectMsMin, this.options.reconnectMsMax);
  }

  private link(a: number, b: number): Link {
    const link = this.links.get(key(Math.min(a, b), Math.max(a, b)));
    if (link === undefined) throw new Error(`no link ${a}-${b}`);
    return link;
  }
}

function key(a: number, b: number): number {
  return a * 4096 + b;
}
