// The hash command's history (DataTree.getDigestLog): the tree digest at every zxid that is a
// multiple of digestLogIntervalTxns, the newest digestLogEntriesMax of them. Fed after each
// applied txn (server.ts, Core's onApplied); members that applied the same history show the same
// entries, which is what the command is for.

import { digestLogEntriesMax, digestLogIntervalTxns } from './limits.js';

/** ZooKeeper's digest version 2 (the one DigestCalculator computes). */
export const digestVersion = 2;

export interface ZxidDigest {
  readonly zxid: number;
  /** The tree digest as a Java long (signed 64 bits). */
  readonly digest: bigint;
}

export class DigestLog {
  private readonly entries: ZxidDigest[] = [];

  /** After the txn `zxid` is applied; `digest` is read only when the zxid is logged. */
  applied(zxid: number, digest: () => bigint): void {
    if (zxid <= 0 || zxid % digestLogIntervalTxns !== 0) return;
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && last.zxid >= zxid) return; // replayed or truncated-and-redone: keep the first
    this.entries.push({ zxid, digest: BigInt.asIntN(64, digest()) });
    if (this.entries.length > digestLogEntriesMax) this.entries.shift();
  }

  list(): readonly ZxidDigest[] {
    return this.entries;
  }
}
