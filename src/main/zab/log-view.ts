// The core's read access to the durable txn log plus what it has handed over but not yet seen
// advanced (raft's Storage + unstable log). The driver writes each Ready's persist batch to its
// log before advance(); from then on LogView shows it (durable or not: fsync is separate).

import { assert } from '../../common/assert.js';
import { zxidEpoch } from '../../common/ids.js';

export interface Entry {
  readonly zxid: number;
  readonly payload: Uint8Array;
}

/** One epoch's run of entries in a log: zxids (epoch, 1) .. lastZxid. */
export interface Segment {
  readonly epoch: number;
  readonly lastZxid: number;
}

export interface LogView {
  /** Highest zxid in the log, or the snapshot base if the log is empty (0 when fresh). */
  lastZxid(): number;
  /**
   * The zxid of the snapshot the retained log starts after (0 when nothing was compacted): the
   * driver's durable snapshot, whose state is the committed history up to it. Entries at or
   * below it are gone; on start the data tree is that snapshot plus nothing applied after it.
   */
  baseZxid(): number;
  /** Up to `countMax` entries with zxid > `zxid` (>= baseZxid()), in order. */
  entriesAfter(zxid: number, countMax: number): readonly Entry[];
  /** The retained log's epoch segments in order (one per epoch that left entries after the base). */
  segments(): readonly Segment[];
}

/** The first zxid of segment `index` of a log whose retained entries start after `base`. */
export function segmentFirstZxid(segment: Segment, index: number, base: number): number {
  const first = segment.epoch * 0x100000000 + 1;
  return index === 0 && zxidEpoch(base) === segment.epoch ? base + 1 : first;
}

/** LogView plus the core's un-advanced persist batch (a truncation and appended entries). */
export class LogReader {
  truncateTo: number | undefined = undefined;
  /** A snapshot installed in the un-advanced batch: the log below is replaced by it. */
  installedZxid: number | undefined = undefined;
  readonly pending: Entry[] = [];

  constructor(readonly log: LogView) {}

  clear(): void {
    this.truncateTo = undefined;
    this.installedZxid = undefined;
    this.pending.length = 0;
  }

  baseZxid(): number {
    return this.installedZxid ?? this.log.baseZxid();
  }

  /** Replace the whole log by a snapshot at `zxid` (SNAP sync): no entries remain. */
  install(zxid: number): void {
    this.installedZxid = zxid;
    this.truncateTo = undefined;
    this.pending.length = 0;
  }

  truncate(zxid: number): void {
    while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.zxid > zxid) {
      this.pending.pop();
    }
    // Entries still pending all lie at or below zxid, so the log below them is untouched.
    if (this.pending.length === 0) {
      this.truncateTo = this.truncateTo === undefined ? zxid : Math.min(this.truncateTo, zxid);
    }
  }

  append(entry: Entry): void {
    this.pending.push(entry);
  }

  entriesAfter(zxid: number, countMax: number): Entry[] {
    assert(zxid >= this.baseZxid(), 'entries below the snapshot base are compacted');
    const out: Entry[] = [];
    const clip = this.truncateTo ?? Infinity;
    if (zxid < clip && this.installedZxid === undefined) {
      for (const e of this.log.entriesAfter(zxid, countMax)) {
        if (e.zxid > clip) break;
        out.push(e);
      }
    }
    for (const e of this.pending) {
      if (out.length >= countMax) break;
      if (e.zxid > zxid) out.push(e);
    }
    return out;
  }

  /**
   * Entries with `after` < zxid <= `upTo`, at most countMax. Within one epoch zxids are
   * consecutive, so only the entries wanted are copied: callers run this per ACK / COMMIT while
   * up to a pipeline's worth of later proposals sits in the log.
   */
  entriesThrough(after: number, upTo: number, countMax: number): Entry[] {
    if (upTo <= after) return [];
    const span = zxidEpoch(after) === zxidEpoch(upTo) ? upTo - after : countMax;
    const out = this.entriesAfter(after, Math.min(countMax, span));
    let n = out.length;
    while (n > 0 && out[n - 1]!.zxid > upTo) n--;
    out.length = n;
    return out;
  }

  segments(): Segment[] {
    const clip = this.truncateTo ?? Infinity;
    const out: Segment[] = [];
    for (const s of this.installedZxid === undefined ? this.log.segments() : []) {
      const first = s.epoch * 0x100000000 + 1;
      if (first > clip) break;
      out.push({ epoch: s.epoch, lastZxid: Math.min(s.lastZxid, clip) });
    }
    for (const e of this.pending) {
      const epoch = zxidEpoch(e.zxid);
      const last = out[out.length - 1];
      if (last !== undefined && last.epoch === epoch) {
        assert(e.zxid > last.lastZxid, 'pending entries increase');
        out[out.length - 1] = { epoch, lastZxid: e.zxid };
      } else {
        assert(last === undefined || last.epoch < epoch, 'segments increase');
        out.push({ epoch, lastZxid: e.zxid });
      }
    }
    return out;
  }
}
