// The interaction-script environment (etcd-raft's rafttest InteractionEnv): peers with in-memory
// disks, one global FIFO of messages in flight (so each link stays FIFO), fsyncs that complete
// only when a script says so. Everything a command causes is printed as transcript lines.

import { ZabPeer } from '../../../../src/main/zab/peer.js';
import type { Msg, PeerEvent, Ready } from '../../../../src/main/zab/messages.js';
import { SimDisk, type DiskImage } from '../../../sim/disk.js';
import { SimPrng } from '../../../sim/prng.js';

interface PendingSync {
  readonly image: DiskImage;
  readonly after: Ready['sendAfterPersist'];
  readonly must: boolean;
  readonly zxid: number;
  readonly installed: number | undefined;
}

interface Node {
  readonly id: number;
  readonly disk: SimDisk;
  /** The state machine: the applied payloads, and the zxid they reach. */
  applied: string[];
  stateZxid: number;
  peer: ZabPeer;
  alive: boolean;
  /** Stopped (SIGSTOP): steps nothing, sends nothing, completes no fsync; its links stay open and
   *  messages to it wait in flight. */
  hung: boolean;
  syncs: PendingSync[];
}

export function z(zxid: number): string {
  return `${Math.floor(zxid / 0x100000000)}.${zxid % 0x100000000}`;
}

export function formatMsg(msg: Msg): string {
  const parts: string[] = [msg.type];
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'type') continue;
    if (k === 'payload' || k === 'data') parts.push(`${k}=${new TextDecoder().decode(v as Uint8Array)}`);
    else if (k === 'segments') {
      const segs = v as readonly { epoch: number; lastZxid: number }[];
      parts.push(`segments=[${segs.map((s) => `${s.epoch}:${z(s.lastZxid)}`).join(',')}]`);
    } else if (/zxid/i.test(k)) parts.push(`${k}=${z(v as number)}`);
    else parts.push(`${k}=${String(v)}`);
  }
  return parts.join(' ');
}

function formatEvent(e: PeerEvent): string {
  switch (e.kind) {
    case 'role':
      return `role ${e.role} leader=${e.leader} epoch=${e.epoch}`;
    case 'established':
      return `established epoch=${e.epoch} history=${z(e.zxid)}`;
    case 'uptodate':
      return `uptodate epoch=${e.epoch} leader=${e.leader}`;
  }
}

export class Env {
  readonly nodes = new Map<number, Node>();
  private queue: { from: number; to: number; msg: Msg }[] = [];
  private voters: number[] = [];
  private observers: number[] = [];
  /** observer id -> the voter that feeds it (ensembleObserverMasters' spread); empty: the leader */
  private observerMasters = new Map<number, number>();
  out: string[] = [];

  peers(voters: number, observers: number, masters = false): void {
    this.voters = Array.from({ length: voters }, (_, i) => i + 1);
    this.observers = Array.from({ length: observers }, (_, i) => voters + i + 1);
    this.observerMasters = new Map(masters ? this.observers.map((o, k) => [o, this.voters[k % voters]!]) : []);
    for (const id of [...this.voters, ...this.observers]) {
      const disk = new SimDisk();
      const node: Node = { id, disk, peer: this.makePeer(id, disk), alive: true, hung: false, syncs: [], applied: [], stateZxid: 0 };
      this.nodes.set(id, node);
    }
    for (const node of this.nodes.values()) this.drain(node);
  }

  private makePeer(id: number, disk: SimDisk): ZabPeer {
    return new ZabPeer({
      config: {
        id,
        voters: this.voters,
        observers: this.observers,
        observerMasters: this.observerMasters,
        initLimitTicks: 10,
        syncLimitTicks: 5,
        electionTimeoutTicks: 4,
      },
      persisted: { acceptedEpoch: disk.acceptedEpoch, currentEpoch: disk.currentEpoch, lastLoggedZxid: disk.lastZxid() },
      log: disk,
      prng: new SimPrng(id),
    });
  }

  node(id: number): Node {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private drain(node: Node): void {
    const peer = node.peer;
    while (peer.hasReady()) {
      const ready = peer.ready();
      const p = ready.persist;
      if (ready.installSnapshot !== null) {
        const { zxid, data } = ready.installSnapshot;
        node.disk.install(zxid, data);
        this.loadState(node, data);
        this.out.push(`n${node.id} install snapshot ${z(zxid)} state=[${node.applied.join(',')}]`);
      }
      node.disk.write(p);
      if (ready.mustSync) {
        const bits: string[] = [];
        if (ready.installSnapshot !== null) bits.push(`snapshot=${z(ready.installSnapshot.zxid)}`);
        if (p.truncateTo !== undefined) bits.push(`truncate=${z(p.truncateTo)}`);
        if (p.entries.length > 0) bits.push(`entries=${p.entries.map((e) => z(e.zxid)).join(',')}`);
        if (p.acceptedEpoch !== undefined) bits.push(`acceptedEpoch=${p.acceptedEpoch}`);
        if (p.currentEpoch !== undefined) bits.push(`currentEpoch=${p.currentEpoch}`);
        this.out.push(`n${node.id} write ${bits.join(' ')}`);
      }
      for (const r of ready.rejected) this.out.push(`n${node.id} rejects ${r.type} from ${r.peer}: ${r.why}`);
      for (const o of ready.sendNow) {
        if (o.msg.type === 'SNAP') {
          if (ready.snapshotToSend?.zxid !== node.stateZxid) throw new Error('SNAP not at the applied state');
          this.enqueue(node.id, o.to, { ...o.msg, data: this.saveState(node) });
        } else {
          this.enqueue(node.id, o.to, o.msg);
        }
      }
      if (ready.mustSync || ready.sendAfterPersist.length > 0) {
        node.syncs.push({
          image: node.disk.image(),
          after: ready.sendAfterPersist,
          must: ready.mustSync,
          zxid: node.disk.lastZxid(),
          installed: ready.installSnapshot?.zxid,
        });
        for (const o of ready.sendAfterPersist) {
          this.out.push(`n${node.id} holds until fsync: ${node.id}->${o.to} ${formatMsg(o.msg)}`);
        }
      }
      for (const e of ready.apply) {
        node.applied.push(new TextDecoder().decode(e.payload));
        node.stateZxid = e.zxid;
        this.out.push(`n${node.id} apply ${z(e.zxid)} ${new TextDecoder().decode(e.payload)}`);
      }
      for (const e of ready.events) this.out.push(`n${node.id} ${formatEvent(e)}`);
      peer.advance();
    }
  }

  private saveState(node: Node): Uint8Array {
    return new TextEncoder().encode(`${node.stateZxid}|${node.applied.join(',')}`);
  }

  private loadState(node: Node, data: Uint8Array | null): void {
    const [zxid, list] = (data === null ? '0|' : new TextDecoder().decode(data)).split('|');
    node.stateZxid = Number(zxid);
    node.applied = list === '' || list === undefined ? [] : list.split(',');
  }

  /** Take a snapshot of the applied state and drop the log up to it. */
  compact(id: number): void {
    const node = this.node(id);
    if (!node.disk.canCompact(node.stateZxid)) {
      this.out.push(`n${id} cannot compact to ${z(node.stateZxid)} (not durable, or nothing new)`);
      return;
    }
    node.disk.compact(node.stateZxid, this.saveState(node));
    this.out.push(`n${id} compact to ${z(node.stateZxid)}`);
  }

  private enqueue(from: number, to: number, msg: Msg): void {
    this.out.push(`${from}->${to} ${formatMsg(msg)}`);
    this.queue.push({ from, to, msg });
  }

  step(id: number, input: Parameters<ZabPeer['step']>[0]): void {
    const node = this.node(id);
    if (!node.alive || node.hung) return;
    node.peer.step(input);
    this.drain(node);
  }

  /** Complete node's outstanding fsyncs: release held messages, report Persisted. */
  persist(id: number): boolean {
    const node = this.node(id);
    let any = false;
    while (node.alive && !node.hung && node.syncs.length > 0) {
      const sync = node.syncs.shift()!;
      any = true;
      this.out.push(`n${id} fsync done`);
      if (sync.must) node.disk.synced(sync.image);
      for (const o of sync.after) this.enqueue(id, o.to, o.msg);
      if (sync.installed !== undefined) this.step(id, { kind: 'snapshotInstalled', zxid: sync.installed });
      if (sync.must) this.step(id, { kind: 'persisted', zxid: sync.zxid });
    }
    return any;
  }

  /** Deliver the oldest message in flight (optionally only those matching). */
  deliverOne(match: (m: { from: number; to: number; msg: Msg }) => boolean = () => true): boolean {
    const i = this.queue.findIndex((m) => !this.node(m.to).hung && match(m));
    if (i < 0) return false;
    const [m] = this.queue.splice(i, 1);
    this.step(m!.to, { kind: 'message', from: m!.from, msg: m!.msg });
    return true;
  }

  drop(from: number, to: number): void {
    const before = this.queue.length;
    this.queue = this.queue.filter((m) => !(m.from === from && m.to === to));
    this.out.push(`dropped ${before - this.queue.length}`);
  }

  /** Deliver and persist until nothing moves; `hold` nodes never complete an fsync. */
  stabilize(hold: ReadonlySet<number>): void {
    for (let rounds = 0; rounds < 100000; rounds++) {
      if (this.deliverOne()) continue;
      let any = false;
      for (const id of this.nodes.keys()) if (!hold.has(id) && this.persist(id)) any = true;
      if (!any) return;
    }
    throw new Error('stabilize did not settle');
  }

  crash(id: number): void {
    const node = this.node(id);
    node.alive = false;
    node.syncs = [];
    this.queue = this.queue.filter((m) => m.from !== id && m.to !== id);
    node.disk.crash(new SimPrng(0), 0);
    this.out.push(`n${id} crashed: log=${node.disk.lastZxid() > 0 ? z(node.disk.lastZxid()) : 'empty'}`);
    for (const other of this.nodes.values()) if (other.id !== id) this.step(other.id, { kind: 'peerDown', peer: id });
  }

  /** SIGSTOP: the node stops (see Node.hung); SIGCONT resumes it where it was. */
  hang(id: number, hung: boolean): void {
    this.node(id).hung = hung;
    this.out.push(`n${id} ${hung ? 'hung' : 'resumed'}`);
  }

  restart(id: number): void {
    const node = this.node(id);
    node.alive = true;
    node.peer = this.makePeer(id, node.disk);
    this.loadState(node, node.disk.snapshot);
    this.drain(node);
    for (const other of this.nodes.values()) {
      if (other.id === id || !other.alive) continue;
      this.step(other.id, { kind: 'peerUp', peer: id });
      this.step(id, { kind: 'peerUp', peer: other.id });
    }
  }

  state(): void {
    for (const node of this.nodes.values()) {
      this.out.push(`n${node.id}${node.alive ? '' : ' (down)'} ${node.peer.status()}`);
    }
  }

  /** Whom each live observer learns from now (its observer master, or the leader). */
  masters(): void {
    for (const node of this.nodes.values()) {
      const l = node.peer.learner;
      if (!node.alive || !node.peer.isObserver) continue;
      this.out.push(l === null ? `n${node.id} ${node.peer.role}` : `n${node.id} learns from n${l.master} (${l.phase})`);
    }
  }

  log(id: number): void {
    const disk = this.node(id).disk;
    const log = disk.log;
    const base = disk.base > 0 ? `snapshot ${z(disk.base)} ` : '';
    this.out.push(`n${id} log: ${base}${log.map((e) => `${z(e.zxid)}=${new TextDecoder().decode(e.payload)}`).join(' ') || 'empty'}`);
  }
}
