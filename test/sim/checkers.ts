// Checkers outside the code under test (TigerBeetle's StateChecker idea):
//  - at most one leader establishes itself per epoch;
//  - every node's applied history is a prefix of one canonical history;
//  - applied zxids strictly increase on each node (per incarnation: the tree is rebuilt);
//  - every acknowledged txn (committed at a leader = reply sent) is in the log of every leader
//    established later, at the same zxid with the same payload (or under its snapshot, whose
//    state must then be the canonical one);
//  - the STATE, not only the history: every node's state machine (state.ts) has the canonical
//    digest at every zxid it reaches, by applying, by installing a snapshot or by restarting
//    from one: equal zxids, equal digests.

import type { Entry } from '../../src/main/zab/log-view.js';
import { sameBytes, type SimDisk } from './disk.js';
import { applyEntry, decodeState, initialState, type SimState } from './state.js';

export class SimFailure extends Error {
  override readonly name = 'SimFailure';
}

export class Checker {
  readonly canonical: Entry[] = [];
  /** digests[i]: the state digest after canonical[0 .. i - 1], computed here, not by the nodes. */
  readonly digests: number[] = [initialState.digest];
  readonly leaderOfEpoch = new Map<number, number>();
  /** zxid -> payload of every acknowledged txn. */
  readonly acked = new Map<number, Uint8Array>();
  private readonly appliedIndex = new Map<number, number>();
  private readonly lastApplied = new Map<number, number>();

  /** A node (re)starts from its snapshot (or empty), or installs one received in SNAP sync. */
  restarted(id: number, state: SimState): void {
    this.checkState(id, state, 'starts from');
    this.appliedIndex.set(id, state.count);
    this.lastApplied.set(id, state.zxid);
  }

  installed(id: number, state: SimState): void {
    const last = this.lastApplied.get(id) ?? 0;
    if (state.zxid < last) throw new SimFailure(`n${id} installed a snapshot at ${hex(state.zxid)} below ${hex(last)}`);
    this.restarted(id, state);
  }

  /** A state (by zxid and count) must be a canonical prefix with the canonical digest. */
  checkState(id: number, state: SimState, what: string): void {
    const c = state.count === 0 ? undefined : this.canonical[state.count - 1];
    const zxid = c === undefined ? 0 : c.zxid;
    if (state.count > this.canonical.length || zxid !== state.zxid) {
      throw new SimFailure(`n${id} ${what} state at ${hex(state.zxid)} (${state.count} txns) off the canonical history`);
    }
    if (this.digests[state.count] !== state.digest) {
      throw new SimFailure(`n${id} ${what} state at ${hex(state.zxid)} with digest ${state.digest} != canonical ${String(this.digests[state.count])}`);
    }
  }

  appliedCount(id: number): number {
    return this.appliedIndex.get(id) ?? 0;
  }

  applied(id: number, entry: Entry, atLeader: boolean, state: SimState): void {
    const last = this.lastApplied.get(id) ?? 0;
    if (entry.zxid <= last) throw new SimFailure(`n${id} applied ${hex(entry.zxid)} after ${hex(last)}`);
    this.lastApplied.set(id, entry.zxid);
    const i = this.appliedIndex.get(id) ?? 0;
    this.appliedIndex.set(id, i + 1);
    const c = this.canonical[i];
    if (c === undefined) {
      this.canonical.push(entry);
      this.digests.push(applyEntry({ zxid: 0, count: 0, digest: this.digests[i]! }, entry).digest);
    } else if (c.zxid !== entry.zxid || !sameBytes(c.payload, entry.payload)) {
      throw new SimFailure(
        `n${id} history diverges at index ${i}: applied ${hex(entry.zxid)} but canonical has ${hex(c.zxid)}`,
      );
    }
    this.checkState(id, state, 'applied to');
    if (atLeader) this.acked.set(entry.zxid, entry.payload);
  }

  established(id: number, epoch: number, disk: SimDisk): void {
    const previous = this.leaderOfEpoch.get(epoch);
    if (previous !== undefined && previous !== id) {
      throw new SimFailure(`two leaders established in epoch ${epoch}: n${previous} and n${id}`);
    }
    this.leaderOfEpoch.set(epoch, id);
    for (const [zxid, payload] of this.acked) {
      if (Math.floor(zxid / 0x100000000) >= epoch) continue; // only earlier epochs bind it
      if (zxid <= disk.base) {
        // Compacted into the snapshot: that snapshot must hold the canonical state up to it.
        const snap = disk.snapshot === null ? initialState : decodeState(disk.snapshot);
        this.checkState(id, snap, `leader of epoch ${epoch} has a snapshot with`);
        continue;
      }
      if (!disk.has(zxid, payload)) {
        throw new SimFailure(`acknowledged txn ${hex(zxid)} missing from n${id}, leader of epoch ${epoch}`);
      }
    }
  }
}

function hex(zxid: number): string {
  return `${Math.floor(zxid / 0x100000000)}.${zxid % 0x100000000}`;
}
