// Checkers outside the code under test (TigerBeetle's StateChecker idea):
//  - at most one leader establishes itself per epoch;
//  - every node's applied history is a prefix of one canonical history;
//  - applied zxids strictly increase on each node (per incarnation: the tree is rebuilt);
//  - every acknowledged txn (committed at a leader = reply sent) is in the log of every leader
//    established later, at the same zxid with the same payload.

import type { Entry } from '../../src/main/zab/log-view.js';
import { sameBytes, type SimDisk } from './disk.js';

export class SimFailure extends Error {
  override readonly name = 'SimFailure';
}

export class Checker {
  readonly canonical: Entry[] = [];
  readonly leaderOfEpoch = new Map<number, number>();
  /** zxid -> payload of every acknowledged txn. */
  readonly acked = new Map<number, Uint8Array>();
  private readonly appliedIndex = new Map<number, number>();
  private readonly lastApplied = new Map<number, number>();

  restarted(id: number): void {
    this.appliedIndex.set(id, 0);
    this.lastApplied.set(id, 0);
  }

  appliedCount(id: number): number {
    return this.appliedIndex.get(id) ?? 0;
  }

  applied(id: number, entry: Entry, atLeader: boolean): void {
    const last = this.lastApplied.get(id) ?? 0;
    if (entry.zxid <= last) throw new SimFailure(`n${id} applied ${hex(entry.zxid)} after ${hex(last)}`);
    this.lastApplied.set(id, entry.zxid);
    const i = this.appliedIndex.get(id) ?? 0;
    this.appliedIndex.set(id, i + 1);
    const c = this.canonical[i];
    if (c === undefined) {
      this.canonical.push(entry);
    } else if (c.zxid !== entry.zxid || !sameBytes(c.payload, entry.payload)) {
      throw new SimFailure(
        `n${id} history diverges at index ${i}: applied ${hex(entry.zxid)} but canonical has ${hex(c.zxid)}`,
      );
    }
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
      if (!disk.has(zxid, payload)) {
        throw new SimFailure(`acknowledged txn ${hex(zxid)} missing from n${id}, leader of epoch ${epoch}`);
      }
    }
  }
}

function hex(zxid: number): string {
  return `${Math.floor(zxid / 0x100000000)}.${zxid % 0x100000000}`;
}
