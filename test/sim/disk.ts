// SimDisk: a snapshot, a txn log after it and two epoch files. Snapshots (a compaction, or one
// installed by SNAP sync) replace the log's prefix; a compaction is written and synced at once. What was fsynced survives a crash; what was written
// but not fsynced may survive in part (a prefix of the unsynced tail; a torn last record is
// truncated on start, which is the same as losing it). Epoch files become durable together
// with the log batch they came with (the driver writes them after the log's fsync), so an
// epoch never outlives the entries that justify it.

import type { PersistBatch } from '../../src/main/zab/messages.js';
import type { Entry, LogView, Segment } from '../../src/main/zab/log-view.js';
import { zxidEpoch } from '../../src/common/ids.js';
import type { SimPrng } from './prng.js';

export interface DiskImage {
  readonly log: Entry[];
  readonly length: number;
  readonly baseZxid: number;
  readonly snapshot: Uint8Array | null;
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
}

export class SimDisk implements LogView {
  /** Appends mutate in place; a truncation makes a new array, so older images stay valid. */
  log: Entry[] = [];
  /** The snapshot the log starts after (its zxid, and the state as the driver serialised it). */
  base = 0;
  snapshot: Uint8Array | null = null;
  acceptedEpoch = 0;
  currentEpoch = 0;
  compactions = 0;
  private durable: DiskImage = {
    log: this.log,
    length: 0,
    baseZxid: 0,
    snapshot: null,
    acceptedEpoch: 0,
    currentEpoch: 0,
  };

  /** SNAP sync: the state and log are replaced; durable with the batch's fsync. */
  install(zxid: number, data: Uint8Array): void {
    this.log = [];
    this.base = zxid;
    this.snapshot = data;
  }

  /** Whether a snapshot at `zxid` may be taken now: the log is durable up to it, no truncation
   * or install waits for its fsync. */
  canCompact(zxid: number): boolean {
    const d = this.durable;
    const durableLast = d.length === 0 ? d.baseZxid : d.log[d.length - 1]!.zxid;
    return d.log === this.log && d.baseZxid === this.base && zxid > this.base && zxid <= durableLast;
  }

  /** Take a snapshot at `zxid` (the applied state) and drop the log up to it; synced at once. */
  compact(zxid: number, data: Uint8Array): void {
    if (!this.canCompact(zxid)) throw new Error(`cannot compact at ${zxid}`);
    const drop = this.indexAfter(zxid);
    const length = this.durable.length - drop;
    this.log = this.log.slice(drop);
    this.base = zxid;
    this.snapshot = data;
    this.compactions += 1;
    this.durable = { ...this.durable, log: this.log, length, baseZxid: zxid, snapshot: data };
  }

  write(batch: PersistBatch): void {
    if (batch.truncateTo !== undefined) {
      this.log = this.log.slice(0, this.indexAfter(batch.truncateTo));
    }
    for (const e of batch.entries) this.log.push(e);
    if (batch.acceptedEpoch !== undefined) this.acceptedEpoch = batch.acceptedEpoch;
    if (batch.currentEpoch !== undefined) this.currentEpoch = batch.currentEpoch;
  }

  image(): DiskImage {
    return {
      log: this.log,
      length: this.log.length,
      baseZxid: this.base,
      snapshot: this.snapshot,
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this.currentEpoch,
    };
  }

  synced(image: DiskImage): void {
    this.durable = image;
  }

  /** A crash: keep the durable image plus, maybe, part of the unsynced tail. */
  crash(prng: SimPrng, keepUnsyncedProbability: number): void {
    const d = this.durable;
    let keep = d.length;
    if (d.log === this.log && prng.chance(keepUnsyncedProbability)) {
      keep += prng.nextInt(this.log.length - d.length + 1);
    }
    this.log = d.log.slice(0, keep);
    this.base = d.baseZxid;
    this.snapshot = d.snapshot;
    this.acceptedEpoch = d.acceptedEpoch;
    this.currentEpoch = d.currentEpoch;
    // After a restart what the disk holds is durable.
    this.durable = this.image();
  }

  lastZxid(): number {
    return this.log.length === 0 ? this.base : this.log[this.log.length - 1]!.zxid;
  }

  baseZxid(): number {
    return this.base;
  }

  entriesAfter(zxid: number, countMax: number): readonly Entry[] {
    if (zxid < this.base) throw new Error(`entries after ${zxid} asked below the snapshot ${this.base}`);
    const i = this.indexAfter(zxid);
    return this.log.slice(i, i + countMax);
  }

  has(zxid: number, payload: Uint8Array): boolean {
    const i = this.indexAfter(zxid) - 1;
    const e = this.log[i];
    return e !== undefined && e.zxid === zxid && sameBytes(e.payload, payload);
  }

  segments(): readonly Segment[] {
    const out: Segment[] = [];
    for (const e of this.log) {
      const epoch = zxidEpoch(e.zxid);
      const last = out[out.length - 1];
      if (last !== undefined && last.epoch === epoch) out[out.length - 1] = { epoch, lastZxid: e.zxid };
      else out.push({ epoch, lastZxid: e.zxid });
    }
    return out;
  }

  /** Index of the first entry with zxid > `zxid`. */
  private indexAfter(zxid: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid]!.zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
