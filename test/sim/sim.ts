// The deterministic Zab simulator: N voters and M observers in one thread, a seeded PRNG, a
// (time, seq) scheduler, SimNetwork and SimDisk, crashes and restarts, a workload, and the
// checkers (checkers.ts) outside the code under test. A run is reproduced from its seed alone.

import { ZabPeer, type PersistedState, type ZabConfig } from '../../src/main/zab/peer.js';
import type { Input, Msg } from '../../src/main/zab/messages.js';
import type { LogView } from '../../src/main/zab/log-view.js';
import type { Prng } from '../../src/main/zab/timeouts.js';
import { zxidCounter, zxidEpoch } from '../../src/common/ids.js';
import { Checker, SimFailure } from './checkers.js';
import { SimDisk } from './disk.js';
import { SimNetwork } from './network.js';
import { SimPrng } from './prng.js';
import { Scheduler } from './scheduler.js';

export type PeerFactory = (c: ZabConfig, s: PersistedState, log: LogView, prng: Prng) => ZabPeer;

export interface SimOptions {
  readonly seed: number;
  readonly voters: number;
  readonly observers: number;
  readonly tickMs: number;
  readonly latencyMsMax: number;
  readonly spikeProbability: number;
  readonly dropProbability: number;
  readonly fsyncMsMax: number;
  readonly keepUnsyncedProbability: number;
  readonly crashProbabilityPerTick: number;
  readonly restartTicksMax: number;
  /** Power loss: several nodes crash in the same instant (only unsynced data may go). */
  readonly powerLossProbabilityPerTick: number;
  readonly partitionProbabilityPerTick: number;
  readonly partitionTicksMax: number;
  readonly proposeProbabilityPerTick: number;
  readonly safetyTicks: number;
  readonly livenessTicksMax: number;
  readonly livenessAcksMin: number;
}

/** Swarm testing: the seed chooses the ensemble and every fault rate. */
export function swarm(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new SimPrng(seed ^ 0x5eed);
  const options: SimOptions = {
    seed,
    voters: r.chance(0.5) ? 3 : 5,
    observers: r.range(0, 2),
    tickMs: 50,
    latencyMsMax: r.range(1, 20),
    spikeProbability: r.chance(0.5) ? 0 : 0.02,
    dropProbability: r.chance(0.3) ? 0 : r.range(1, 20) / 1000,
    fsyncMsMax: r.chance(0.5) ? r.range(1, 20) : r.range(20, 200),
    keepUnsyncedProbability: r.range(0, 10) / 10,
    crashProbabilityPerTick: r.chance(0.2) ? 0 : r.range(1, 30) / 1000,
    restartTicksMax: r.range(2, 60),
    powerLossProbabilityPerTick: r.chance(0.4) ? 0 : r.range(1, 15) / 1000,
    partitionProbabilityPerTick: r.chance(0.3) ? 0 : r.range(1, 20) / 1000,
    partitionTicksMax: r.range(5, 80),
    proposeProbabilityPerTick: r.range(2, 10) / 10,
    safetyTicks: 400,
    livenessTicksMax: 600,
    livenessAcksMin: 3,
  };
  return { ...options, ...overrides };
}

export interface SimResult {
  readonly ok: boolean;
  readonly failure?: string;
  readonly ticks: number;
  readonly committed: number;
  readonly acked: number;
  readonly crashes: number;
  readonly elections: number;
  readonly messages: number;
}

class SimNode {
  alive = true;
  incarnation = 0;
  fsyncTail = 0;
  readonly disk = new SimDisk();
  peer!: ZabPeer;
  constructor(readonly id: number) {}
}

const defaultFactory: PeerFactory = (c, s, log, prng) => new ZabPeer(c, s, log, prng);

export class Sim {
  readonly prng: SimPrng;
  readonly sched = new Scheduler();
  readonly nodes = new Map<number, SimNode>();
  readonly voters: number[] = [];
  readonly observers: number[] = [];
  readonly net: SimNetwork;
  readonly checker = new Checker();
  private readonly lines: string[] = [];
  private seq = 0;
  private crashes = 0;
  private phase: 'safety' | 'liveness' = 'safety';
  private livenessFirstSeq = Infinity;

  constructor(
    readonly options: SimOptions,
    private readonly factory: PeerFactory = defaultFactory,
    private readonly verbose = false,
  ) {
    this.prng = new SimPrng(options.seed);
    for (let i = 1; i <= options.voters; i++) this.voters.push(i);
    for (let i = 1; i <= options.observers; i++) this.observers.push(options.voters + i);
    const ids = [...this.voters, ...this.observers];
    for (const id of ids) this.nodes.set(id, new SimNode(id));
    this.net = new SimNetwork(ids, this.sched, this.prng.fork(), {
      latencyMsMin: 1,
      latencyMsMax: options.latencyMsMax,
      spikeProbability: options.spikeProbability,
      spikeMsMax: 4 * options.tickMs,
      reconnectMsMin: 5,
      reconnectMsMax: 2 * options.tickMs,
    }, {
      alive: (id) => this.node(id).alive,
      deliver: (to, from, msg) => this.step(this.node(to), { kind: 'message', from, msg: msg as Msg }),
      peerDown: (id, peer) => this.step(this.node(id), { kind: 'peerDown', peer }),
      peerUp: (id, peer) => this.step(this.node(id), { kind: 'peerUp', peer }),
      log: (line) => this.log(line),
    });
    this.net.dropProbability = options.dropProbability;
  }

  run(): SimResult {
    const o = this.options;
    const header = `SEED=${o.seed} voters=${o.voters} observers=${o.observers} ${JSON.stringify(o)}`;
    if (this.verbose) console.log(header);
    else this.lines.push(header);
    let failure: string | undefined;
    let ticks = 0;
    try {
      for (const node of this.nodes.values()) this.start(node);
      for (const node of this.nodes.values()) {
        const offset = this.prng.range(0, o.tickMs - 1);
        this.sched.at(offset, () => this.tickLoop(node));
      }
      for (; ticks < o.safetyTicks; ticks++) {
        this.faults();
        this.workload();
        this.sched.runUntil((ticks + 1) * o.tickMs);
      }
      this.heal();
      const deadline = ticks + o.livenessTicksMax;
      for (; ; ticks++) {
        if (this.converged()) break;
        if (ticks >= deadline) {
          throw new SimFailure(`no convergence within ${o.livenessTicksMax} ticks: ${this.summary()}`);
        }
        this.workload();
        this.sched.runUntil((ticks + 1) * o.tickMs);
      }
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      failure = `${e.name}: ${e.message}`;
      this.log(`FAIL ${failure}`);
    }
    this.flush(failure !== undefined);
    return {
      ok: failure === undefined,
      ...(failure !== undefined ? { failure } : {}),
      ticks,
      committed: this.checker.canonical.length,
      acked: this.checker.acked.size,
      crashes: this.crashes,
      elections: this.checker.leaderOfEpoch.size,
      messages: this.net.messagesSent,
    };
  }

  // ---- nodes ----

  private node(id: number): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private start(node: SimNode): void {
    const disk = node.disk;
    const config: ZabConfig = {
      id: node.id,
      voters: this.voters,
      observers: this.observers,
      initLimitTicks: 10,
      syncLimitTicks: 5,
      electionTimeoutTicks: 4,
      proposalsInFlightMax: 64,
    };
    const persisted = {
      acceptedEpoch: disk.acceptedEpoch,
      currentEpoch: disk.currentEpoch,
      lastLoggedZxid: disk.lastZxid(),
    };
    node.peer = this.factory(config, persisted, disk, this.prng.fork());
    this.checker.restarted(node.id);
    this.drain(node);
  }

  private step(node: SimNode, input: Input): void {
    if (!node.alive) return;
    node.peer.step(input);
    this.drain(node);
  }

  /** The simulator's driver: executes each Ready as the production driver will. */
  private drain(node: SimNode): void {
    const peer = node.peer;
    while (peer.hasReady()) {
      const ready = peer.ready();
      node.disk.write(ready.persist);
      for (const out of ready.sendNow) this.net.send(node.id, out.to, out.msg);
      if (ready.mustSync || ready.sendAfterPersist.length > 0) this.fsync(node, ready);
      for (const entry of ready.apply) this.checker.applied(node.id, entry, peer.role === 'leading');
      for (const event of ready.events) {
        this.log(`n${node.id} ${JSON.stringify(event)} | ${peer.status()}`);
        if (event.kind === 'established') this.checker.established(node.id, event.epoch, node.disk);
      }
      if (ready.apply.length > 0) {
        const last = ready.apply[ready.apply.length - 1]!.zxid;
        this.log(`n${node.id} apply ${ready.apply.length} to ${zxidEpoch(last)}.${zxidCounter(last)}`);
      }
      peer.advance();
    }
  }

  private fsync(node: SimNode, ready: ReturnType<ZabPeer['ready']>): void {
    const image = node.disk.image();
    const zxid = node.disk.lastZxid();
    const incarnation = node.incarnation;
    const must = ready.mustSync;
    const after = ready.sendAfterPersist;
    const time = Math.max(node.fsyncTail, this.sched.now + this.prng.range(0, this.options.fsyncMsMax));
    node.fsyncTail = time;
    this.sched.at(time, () => {
      if (node.incarnation !== incarnation || !node.alive) return;
      if (must) node.disk.synced(image);
      for (const out of after) this.net.send(node.id, out.to, out.msg);
      if (must) this.step(node, { kind: 'persisted', zxid });
    });
  }

  private tickLoop(node: SimNode): void {
    this.step(node, { kind: 'tick' });
    this.sched.after(this.options.tickMs, () => this.tickLoop(node));
  }

  private crash(node: SimNode): void {
    this.crashes += 1;
    node.alive = false;
    node.incarnation += 1;
    node.disk.crash(this.prng, this.options.keepUnsyncedProbability);
    this.log(`n${node.id} CRASH disk=${node.disk.log.length} entries ae=${node.disk.acceptedEpoch} ce=${node.disk.currentEpoch}`);
    this.net.nodeDown(node.id);
    const ticks = this.prng.range(1, this.options.restartTicksMax);
    this.sched.after(ticks * this.options.tickMs, () => this.restart(node));
  }

  private restart(node: SimNode): void {
    if (node.alive) return;
    node.alive = true;
    node.fsyncTail = this.sched.now;
    this.log(`n${node.id} RESTART`);
    this.start(node);
    this.net.nodeUp(node.id);
  }

  // ---- faults and workload ----

  private faults(): void {
    const o = this.options;
    for (const node of this.nodes.values()) {
      if (node.alive && this.prng.chance(o.crashProbabilityPerTick)) this.crash(node);
    }
    if (this.prng.chance(o.powerLossProbabilityPerTick)) {
      const victims = [...this.nodes.values()].filter((n) => n.alive && this.prng.chance(0.6));
      this.log(`POWER LOSS [${victims.map((n) => n.id).join(',')}]`);
      for (const node of victims) this.crash(node);
    }
    if (this.prng.chance(o.partitionProbabilityPerTick)) {
      const ids = [...this.nodes.keys()];
      const group = ids.filter(() => this.prng.chance(0.5));
      this.log(`PARTITION [${group.join(',')}] | rest`);
      this.net.partition(group);
      const ticks = this.prng.range(1, o.partitionTicksMax);
      this.sched.after(ticks * o.tickMs, () => {
        if (this.phase === 'safety') {
          this.log('HEAL');
          this.net.heal();
        }
      });
    }
  }

  private workload(): void {
    const o = this.options;
    for (const node of this.nodes.values()) {
      if (!node.alive || !node.peer.canPropose()) continue;
      if (this.phase === 'liveness' && this.livenessAcked() >= o.livenessAcksMin) continue;
      if (!this.prng.chance(this.phase === 'liveness' ? 1 : o.proposeProbabilityPerTick)) continue;
      const seq = ++this.seq;
      if (this.phase === 'liveness') this.livenessFirstSeq = Math.min(this.livenessFirstSeq, seq);
      const payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint32(0, seq);
      this.step(node, { kind: 'propose', payload });
    }
  }

  private livenessAcked(): number {
    let n = 0;
    for (const payload of this.checker.acked.values()) {
      if (new DataView(payload.buffer, payload.byteOffset).getUint32(0) >= this.livenessFirstSeq) n += 1;
    }
    return n;
  }

  /** Liveness phase: heal the network, stop faults, restart everyone. */
  private heal(): void {
    this.phase = 'liveness';
    this.log('LIVENESS: heal, restart all, no drops');
    this.net.dropProbability = 0;
    this.net.heal();
    for (const node of this.nodes.values()) if (!node.alive) this.restart(node);
  }

  private converged(): boolean {
    if (this.livenessAcked() < this.options.livenessAcksMin) return false;
    const leaders = [...this.nodes.values()].filter((n) => n.alive && n.peer.isEstablishedLeader());
    if (leaders.length !== 1) return false;
    const leader = leaders[0]!.peer;
    if (leader.commitZxid !== leader.lastLoggedZxid) return false;
    for (const node of this.nodes.values()) {
      if (!node.alive || node.peer.appliedZxid !== leader.commitZxid) return false;
      if (node.peer !== leader && (node.peer.leaderId !== leader.id || node.peer.learner?.phase !== 'active')) {
        return false;
      }
      if (this.checker.appliedCount(node.id) !== this.checker.canonical.length) return false;
    }
    return true;
  }

  private summary(): string {
    return [...this.nodes.values()]
      .map((n) => `n${n.id}${n.alive ? '' : '(down)'} ${n.peer.status()}`)
      .join('; ');
  }

  private log(line: string): void {
    const text = `t=${this.sched.now} ${line}`;
    if (this.verbose) console.log(text);
    else {
      this.lines.push(text);
      if (this.lines.length > 400) this.lines.splice(0, 200);
    }
  }

  /** On failure, the tail of the event lines is printed even when not verbose. */
  private flush(failed: boolean): void {
    if (failed && !this.verbose && process.env['ZKTS_SIM_TAIL'] === '1') {
      for (const line of this.lines.slice(-150)) console.log(line);
    }
  }
}

export function runSim(options: SimOptions, factory?: PeerFactory): SimResult {
  const verbose = process.env['ZKTS_SIM_VERBOSE'] === '1';
  return new Sim(options, factory, verbose).run();
}
