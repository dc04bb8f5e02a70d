// The txn log as the Zab core sees it (zab/log-view.ts LogView), kept in memory by the ensemble
// driver beside the durable txn log (storage/txnlog.ts): entries after a base zxid. The base is
// where the retained entries start: the recovered state on start, the leader's snapshot after a
// SNAP sync, or the last entry dropped by trim().
//
// Why trimming keeps LogView's contract: baseZxid() must be a point of the committed history
// that this member's log holds (sync.ts counts it as held when it looks for the common prefix
// with a learner), and no reader may ask for entries at or below it. trim() only drops entries
// at or below a durable local snapshot, which is at or below the applied state, hence committed;
// the base becomes the last dropped entry's zxid. The core reads entries from its applied or
// commit point (or a learner's sync point, at least the base), never lower, and a learner that
// is further behind than the retained entries gets SNAP (its common point lies below the base).

import { assert } from '../../common/assert.js';
import { zxidEpoch } from '../../common/ids.js';
import type { Entry, LogView, Segment } from '../zab/log-view.js';

export class MemoryLogView implements LogView {
  private entries: Entry[] = [];
  /** entries[0..head) were dropped by trim() and not yet compacted out of the array. */
  private head = 0;

  constructor(private base: number) {}

  lastZxid(): number {
    return this.entries.length === this.head ? this.base : this.entries[this.entries.length - 1]!.zxid;
  }

  baseZxid(): number {
    return this.base;
  }

  /** Entries retained (after the base). */
  get size(): number {
    return this.entries.length - this.head;
  }

  entriesAfter(zxid: number, countMax: number): readonly Entry[] {
    assert(zxid >= this.base, `entries after ${zxid} asked below the log base ${this.base}`);
    const i = this.indexAfter(zxid);
    return this.entries.slice(i, i + countMax);
  }

  segments(): readonly Segment[] {
    const out: Segment[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const epoch = zxidEpoch(e.zxid);
      const last = out[out.length - 1];
      if (last !== undefined && last.epoch === epoch) out[out.length - 1] = { epoch, lastZxid: e.zxid };
      else out.push({ epoch, lastZxid: e.zxid });
    }
    return out;
  }

  /** TRUNC: drops every entry above `zxid` (never below the base: those are committed). */
  truncate(zxid: number): void {
    assert(zxid >= this.base, `truncation to ${zxid} below the log base ${this.base}`);
    this.entries.length = this.indexAfter(zxid);
  }

  append(e: Entry): void {
    assert(e.zxid > this.lastZxid(), `append ${e.zxid} after ${this.lastZxid()}`);
    this.entries.push(e);
  }

  /** SNAP sync: the log is replaced by a snapshot at `zxid`; no entry remains. */
  install(zxid: number): void {
    this.entries = [];
    this.head = 0;
    this.base = zxid;
  }

  /**
   * After a durable local snapshot at `snapshotZxid`: drops the entries at or below it except the
   * last `retain` of them (so that a learner slightly behind still syncs by DIFF). Entries above
   * `snapshotZxid` always stay. Returns how many were dropped; the base becomes the last dropped
   * entry's zxid.
   */
  trim(snapshotZxid: number, retain: number): number {
    assert(Number.isSafeInteger(retain) && retain >= 0, 'retain is a count');
    const upTo = this.indexAfter(snapshotZxid) - retain;
    if (upTo <= this.head) return 0;
    const dropped = upTo - this.head;
    this.base = this.entries[upTo - 1]!.zxid;
    this.head = upTo;
    // Compact the array once the dropped prefix is as large as what is kept: amortised O(1)
    // per entry, and the dropped payloads become garbage.
    if (this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  /** The first index (>= head) whose entry's zxid is above `zxid`. */
  private indexAfter(zxid: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
