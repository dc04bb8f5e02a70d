// The deterministic Zab simulator: N voters and M observers in one thread, a seeded PRNG, a
// (time, seq) scheduler, SimNetwork and SimDisk, crashes and restarts, a workload, and the
// checkers (checkers.ts) outside the code under test. A run is reproduced from its seed alone.

import { ZabPeer, type PersistedState, type ZabConfig } from '../../src/main/zab/peer.js';
import type { Input, Msg } from '../../src/main/zab/messages.js';
import type { LogView } from '../../src/main/zab/log-view.js';
import type { Prng } from '../../src/main/zab/timeouts.js';
import { observerMasterOf } from '../../src/main/zab/observer-master.js';
import { zxidCounter, zxidEpoch } from '../../src/common/ids.js';
import { Checker, SimFailure } from './checkers.js';
import { SimDisk } from './disk.js';
import { SimNetwork } from './network.js';
import { SimPrng } from './prng.js';
import { Scheduler } from './scheduler.js';
import { applyEntry, decodeState, encodeState, initialState, type SimState } from './state.js';

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
  /** Per node and tick: take a snapshot at the applied zxid and drop the log up to it. */
  readonly compactProbabilityPerTick: number;
  /** Observers learn from followers (observer masters), each from its own voter. */
  readonly observerMasters: boolean;
  /** Per node and tick: the process stops (SIGSTOP) with its connections open, for up to
   *  hangTicksMax ticks: it steps nothing and sends nothing; what reaches it waits. */
  readonly hangProbabilityPerTick: number;
  readonly hangTicksMax: number;
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
    // Drawn after the rest so that the earlier fields keep their values per seed.
    compactProbabilityPerTick: r.chance(0.6) ? r.range(1, 60) / 1000 : 0,
    observerMasters: r.chance(0.5),
    hangProbabilityPerTick: r.chance(0.5) ? r.range(1, 10) / 1000 : 0,
    hangTicksMax: r.range(5, 40),
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
  readonly compactions: number;
  readonly snapsSent: number;
  /** INFORMs sent by leaders / by observer masters. */
  readonly informsByLeaders: number;
  readonly informsByMasters: number;
}

class SimNode {
  alive = true;
  /** Stopped since (sim ms), or -1; what reached it meanwhile (inputs, fsync completions). */
  hungSince = -1;
  resumedAt = 0;
  held: (() => void)[] = [];
  incarnation = 0;
  fsyncTail = 0;
  state: SimState = initialState;
  readonly disk = new SimDisk();
  peer!: ZabPeer;
  constructor(readonly id: number) {}
}

const defaultFactory: PeerFactory = (c, s, log, prng) => new ZabPeer({ config: c, persisted: s, log, prng });

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
  private snapsSent = 0;
  private informsByLeaders = 0;
  private informsByMasters = 0;
  /** Per observer: the member it learns from (its learner state's master), and since when. */
  private readonly attachedTo = new Map<number, { readonly to: number; readonly time: number }>();
  /** When each node (id * 4096 + from) last stepped a message from each peer. */
  private readonly lastHeard = new Map<number, number>();
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
      compactions: [...this.nodes.values()].reduce((n, node) => n + node.disk.compactions, 0),
      snapsSent: this.snapsSent,
      informsByLeaders: this.informsByLeaders,
      informsByMasters: this.informsByMasters,
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
      ...(this.options.observerMasters
        ? { observerMasters: new Map(this.observers.map((o, i) => [o, this.voters[i % this.voters.length]!])) }
        : {}),
    };
    const persisted = {
      acceptedEpoch: disk.acceptedEpoch,
      currentEpoch: disk.currentEpoch,
      lastLoggedZxid: disk.lastZxid(),
    };
    node.peer = this.factory(config, persisted, disk, this.prng.fork());
    node.state = disk.snapshot === null ? initialState : decodeState(disk.snapshot);
    if (node.state.zxid !== disk.base) throw new SimFailure(`n${node.id} snapshot zxid != log base`);
    this.checker.restarted(node.id, node.state);
    this.drain(node);
  }

  private step(node: SimNode, input: Input): void {
    if (!node.alive) return;
    if (node.hungSince >= 0) {
      if (input.kind !== 'tick') node.held.push(() => this.step(node, input)); // a stopped timer fires once, later: dropped
      return;
    }
    if (input.kind === 'message') this.lastHeard.set(node.id * 4096 + input.from, this.sched.now);
    node.peer.step(input);
    // The member an observer learns from, and since when (an OBSERVERINFO alone does not say:
    // an observer asks a returning master while it keeps learning where it is).
    const l = node.peer.learner;
    if (node.peer.isObserver && l !== null && this.attachedTo.get(node.id)?.to !== l.master) {
      this.attachedTo.set(node.id, { to: l.master, time: this.sched.now });
    }
    this.drain(node);
  }

  /** The simulator's driver: executes each Ready as the production driver will. */
  private drain(node: SimNode): void {
    const peer = node.peer;
    while (peer.hasReady()) {
      const ready = peer.ready();
      // The network only delivers what correct peers sent: a rejection is a core bug.
      for (const r of ready.rejected) throw new SimFailure(`n${node.id} rejected ${r.type} from n${r.peer}: ${r.why}`);
      const install = ready.installSnapshot;
      if (install !== null) {
        node.disk.install(install.zxid, install.data);
        node.state = decodeState(install.data);
        if (node.state.zxid !== install.zxid) throw new SimFailure(`n${node.id} SNAP data not at ${install.zxid}`);
        this.checker.installed(node.id, node.state);
        this.log(`n${node.id} install snapshot ${zxidEpoch(install.zxid)}.${zxidCounter(install.zxid)}`);
      }
      node.disk.write(ready.persist);
      let snapshot: Uint8Array | undefined;
      if (ready.snapshotToSend !== null) {
        if (node.state.zxid !== ready.snapshotToSend.zxid) {
          throw new Error(`n${node.id} asked to send a snapshot at ${ready.snapshotToSend.zxid}, state at ${node.state.zxid}`);
        }
        snapshot = encodeState(node.state);
      }
      for (const out of ready.sendNow) {
        if (out.msg.type === 'SNAP') {
          if (snapshot === undefined) throw new Error('SNAP without snapshotToSend');
          this.snapsSent += 1;
          this.send(node, out.to, { ...out.msg, data: snapshot });
        } else {
          this.send(node, out.to, out.msg);
        }
      }
      if (ready.mustSync || ready.sendAfterPersist.length > 0) this.fsync(node, ready);
      for (const entry of ready.apply) {
        node.state = applyEntry(node.state, entry);
        this.checker.applied(node.id, entry, peer.role === 'leading', node.state);
      }
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
    const installed = ready.installSnapshot?.zxid;
    const time = Math.max(node.fsyncTail, this.sched.now + this.prng.range(0, this.options.fsyncMsMax));
    node.fsyncTail = time;
    const done = (): void => {
      if (node.incarnation !== incarnation || !node.alive) return;
      if (node.hungSince >= 0) {
        node.held.push(done);
        return;
      }
      if (must) node.disk.synced(image);
      for (const out of after) this.send(node, out.to, out.msg);
      if (installed !== undefined) this.step(node, { kind: 'snapshotInstalled', zxid: installed });
      if (must) this.step(node, { kind: 'persisted', zxid });
    };
    this.sched.at(time, done);
  }

  /**
   * Every message leaves here. Observer masters check: a member (leader or observer master) never
   * feeds (INFORM) an observer that went to learn from another member, beyond the time its
   * OBSERVERLEAVE takes to arrive (the observer sends it as it moves: latency with a spike, and
   * a tick of slack), counted from the member's resume if it was stopped meanwhile.
   */
  private send(node: SimNode, to: number, msg: Msg): void {
    if (msg.type === 'INFORM') {
      if (node.peer.role === 'leading') this.informsByLeaders += 1;
      else this.informsByMasters += 1;
      const a = this.attachedTo.get(to);
      const graceMs = this.options.latencyMsMax + 4 * this.options.tickMs + this.options.tickMs; // spikeMsMax = 4 ticks
      if (a !== undefined && a.to !== node.id && this.sched.now - Math.max(a.time, node.resumedAt) > graceMs) {
        throw new SimFailure(`n${node.id} (${node.peer.role}) sends INFORM to n${to}, which learns from n${a.to} since ${a.time} ms (now ${this.sched.now} ms)`);
      }
    }
    this.net.send(node.id, to, msg);
  }

  private tickLoop(node: SimNode): void {
    this.checkHungMaster(node);
    this.step(node, { kind: 'tick' });
    this.sched.after(this.options.tickMs, () => this.tickLoop(node));
  }

  private crash(node: SimNode): void {
    this.crashes += 1;
    node.alive = false;
    node.hungSince = -1;
    node.held = [];
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

  private hang(node: SimNode): void {
    node.hungSince = this.sched.now;
    this.log(`n${node.id} HANG`);
    const incarnation = node.incarnation;
    const ticks = this.prng.range(1, this.options.hangTicksMax);
    this.sched.after(ticks * this.options.tickMs, () => {
      if (node.incarnation === incarnation) this.resume(node);
    });
  }

  private resume(node: SimNode): void {
    if (node.hungSince < 0) return;
    node.hungSince = -1;
    node.resumedAt = this.sched.now;
    this.log(`n${node.id} RESUME (${node.held.length} held)`);
    const held = node.held;
    node.held = [];
    for (const f of held) f();
  }

  /**
   * A synced observer leaves a master that hangs (connection open, nothing sent) at its syncLimit-th
   * tick since it heard it last (leaveQuietMaster): checked before each of its ticks, no tick may
   * find it still there more than syncLimit * tickMs after.
   */
  private checkHungMaster(node: SimNode): void {
    const limitMs = 5 * this.options.tickMs; // syncLimitTicks
    const l = node.peer.learner;
    if (!node.alive || node.hungSince >= 0 || !node.peer.isObserver || l === null || l.phase !== 'active') return;
    const master = this.node(l.master);
    if (master.hungSince < 0 || l.master === node.peer.leaderId) return;
    const since = Math.max(master.hungSince, this.lastHeard.get(node.id * 4096 + l.master) ?? 0, node.resumedAt);
    if (this.sched.now - since > limitMs) {
      throw new SimFailure(`n${node.id} still learns from n${l.master}, hung since ${master.hungSince} ms (now ${this.sched.now} ms)`);
    }
  }

  // ---- faults and workload ----

  private faults(): void {
    const o = this.options;
    if (o.hangProbabilityPerTick > 0) {
      for (const node of this.nodes.values()) {
        if (node.alive && node.hungSince < 0 && this.prng.chance(o.hangProbabilityPerTick)) this.hang(node);
      }
    }
    for (const node of this.nodes.values()) {
      if (!node.alive || node.hungSince >= 0 || !this.prng.chance(o.compactProbabilityPerTick)) continue;
      // A snapshot of the applied state, once its log prefix is durable and no fsync is out.
      if (node.fsyncTail < this.sched.now && node.disk.canCompact(node.state.zxid)) {
        node.disk.compact(node.state.zxid, encodeState(node.state));
        this.log(`n${node.id} compact to ${zxidEpoch(node.state.zxid)}.${zxidCounter(node.state.zxid)}`);
      }
    }
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
      if (!node.alive || node.hungSince >= 0 || !node.peer.canPropose()) continue;
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
    for (const node of this.nodes.values()) this.resume(node);
  }

  private converged(): boolean {
    if (this.livenessAcked() < this.options.livenessAcksMin) return false;
    const leaders = [...this.nodes.values()].filter((n) => n.alive && n.peer.isEstablishedLeader());
    if (leaders.length !== 1) return false;
    const leader = leaders[0]!.peer;
    if (leader.commitZxid !== leader.lastLoggedZxid) return false;
    for (const node of this.nodes.values()) {
      if (!node.alive || node.peer.appliedZxid !== leader.commitZxid) return false;
      if (node.peer !== leader && !this.attached(node.peer, leader)) return false;
      // Everyone is up: each observer is back with its own follower (observerMasterOf, nothing
      // skipped), not left on the leader or on the follower that stood in for a dead master.
      if (node.peer.isObserver && this.options.observerMasters && node.peer.learner!.master !== observerMasterOf(node.peer.config, node.id, leader.id)) return false;
      if (this.checker.appliedCount(node.id) !== this.checker.canonical.length) return false;
    }
    return true;
  }

  /** Active under the leader: directly, or (an observer) through an active follower of it. */
  private attached(peer: ZabPeer, leader: ZabPeer): boolean {
    const s = peer.learner;
    if (s === null || s.phase !== 'active') return false;
    // An observer's leaderId may name a stale leader while its master is the real one.
    if (s.master === leader.id) return true;
    const master = this.nodes.get(s.master);
    return (
      peer.isObserver &&
      master?.alive === true &&
      master.peer.leaderId === leader.id &&
      master.peer.learner?.phase === 'active'
    );
  }

  private summary(): string {
    return [...this.nodes.values()]
      .map((n) => `n${n.id}${n.alive ? '' : '(down)'} ${n.peer.status()}${n.peer.isObserver && n.peer.learner !== null ? ` master=${n.peer.learner.master} down=${[...n.peer.voterView.down].join(",")} up=${[...n.peer.voterView.up].join(",")} follows=${JSON.stringify([...n.peer.voterView.follows])} avoid=${n.peer.avoidMaster} quiet=${JSON.stringify([...n.peer.voterView.quiet])}` : ''}`)
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
