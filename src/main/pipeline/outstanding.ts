// Outstanding changes: what prepared-but-not-yet-applied transactions will do to the tree
// (ZooKeeperServer.outstandingChanges / outstandingChangesForPath, PrepRequestProcessor's
// ChangeRecord). Prep validates a request against the newest record for a path before the tree,
// so pipelined writes (create /a, then create /a/b before /a is applied) see each other. Records
// are retired when the apply step reaches their zxid (ZooKeeperServer.processTxn).

import { assert } from '../../common/assert.js';
import type { ACL } from '../../protocol/types.js';
import type { NodeState } from '../tree/node.js';
import { outstandingCompactEntriesMin } from './limits.js';

/** A node as it will be once transactions up to `zxid` are applied; `exists` false: deleted. One
 *  per prepared change, so its arguments are positional, not an options object: making one
 *  allocates nothing else (no per-record allocation on hot paths). */
export class ChangeRecord implements NodeState {
  /** The session whose closeSession list this change grows or shrinks (0n: none)... */
  listOwner = 0n;
  /** ...and by how many bytes (an ephemeral created: +, deleted: -). */
  listDelta = 0;

  constructor(
    readonly zxid: number,
    readonly path: string,
    public exists: boolean,
    public czxid: number,
    public mzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    public ephemeralOwner: bigint,
    public pzxid: number,
    public childCount: number,
    public acl: readonly ACL[],
    public data: Uint8Array | null,
  ) {}

  /** ChangeRecord.duplicate: a copy stamped with a new zxid, for the next change to the node. */
  static of(zxid: number, path: string, s: NodeState): ChangeRecord {
    return new ChangeRecord(
      zxid,
      path,
      true,
      s.czxid,
      s.mzxid,
      s.ctime,
      s.mtime,
      s.version,
      s.cversion,
      s.aversion,
      s.ephemeralOwner,
      s.pzxid,
      s.childCount,
      s.acl,
      s.data,
    );
  }

  /** A node created at `zxid` (DataTree.createStat: every zxid field is the create's). */
  static created(
    zxid: number,
    path: string,
    timeMs: number,
    owner: bigint,
    acl: readonly ACL[],
    data: Uint8Array | null,
  ): ChangeRecord {
    return new ChangeRecord(
      zxid,
      path,
      true,
      zxid,
      zxid,
      timeMs,
      timeMs,
      0,
      0,
      0,
      owner,
      zxid,
      0,
      acl,
      data,
    );
  }

  /** The record of a node deleted at `zxid` (ZooKeeper's ChangeRecord with a null stat). */
  static deleted(zxid: number, path: string): ChangeRecord {
    return new ChangeRecord(zxid, path, false, 0, 0, 0, 0, 0, 0, 0, 0n, 0, 0, [], null);
  }
}

/** Where a multi started adding records, to undo them if one of its ops fails. */
export interface OutstandingMark {
  readonly queueLength: number;
  readonly undoLength: number;
}

export class OutstandingChanges {
  /** Records in zxid order; [head, queue.length) are live. */
  private readonly queue: (ChangeRecord | undefined)[] = [];
  private head = 0;
  private readonly byPath = new Map<string, ChangeRecord>();
  /** Per session: what the live records add to (or take from) its closeSession list, in bytes;
   *  the tree holds the rest (DataTree.ephemeralListBytesOf). */
  private readonly listBytes = new Map<bigint, number>();
  /** While a multi is being prepared: (record shadowed by each add) for rollback. */
  private readonly undo: (ChangeRecord | undefined)[] = [];
  private marking = false;

  /** The newest record for `path`, if a transaction not yet applied touches it. */
  get(path: string): ChangeRecord | undefined {
    return this.byPath.get(path);
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  /** What transactions not yet applied change in `owner`'s closeSession list, in bytes. */
  listBytesPending(owner: bigint): number {
    return this.listBytes.get(owner) ?? 0;
  }

  private countList(record: ChangeRecord, sign: 1 | -1): void {
    if (record.listDelta === 0) return;
    const n = (this.listBytes.get(record.listOwner) ?? 0) + sign * record.listDelta;
    if (n === 0) this.listBytes.delete(record.listOwner);
    else this.listBytes.set(record.listOwner, n);
  }

  /** ZooKeeperServer's addChangeRecord. */
  add(record: ChangeRecord): void {
    const last = this.queue[this.queue.length - 1];
    assert(
      this.size === 0 || last === undefined || last.zxid <= record.zxid,
      `outstanding change ${record.zxid} after ${last?.zxid}`,
    );
    if (this.marking) this.undo.push(this.byPath.get(record.path));
    this.queue.push(record);
    this.byPath.set(record.path, record);
    this.countList(record, 1);
  }

  /** Live records, oldest first (closeSession walks them). */
  *records(): Generator<ChangeRecord, void, void> {
    for (let i = this.head; i < this.queue.length; i++) {
      const r = this.queue[i];
      if (r !== undefined) yield r;
    }
  }

  /** Starts remembering adds so that `rollback` can undo them (one multi at a time). */
  mark(): OutstandingMark {
    assert(!this.marking, 'outstanding changes: nested mark');
    this.marking = true;
    return { queueLength: this.queue.length, undoLength: this.undo.length };
  }

  /** The multi succeeded: keep its records. */
  commit(mark: OutstandingMark): void {
    assert(this.marking, 'outstanding changes: commit without mark');
    this.undo.length = mark.undoLength;
    this.marking = false;
  }

  /**
   * PrepRequestProcessor.rollbackPendingChanges: drops the records added since `mark` and makes
   * the records they shadowed current again.
   */
  rollback(mark: OutstandingMark): void {
    assert(this.marking, 'outstanding changes: rollback without mark');
    for (let i = this.queue.length - 1; i >= mark.queueLength; i--) {
      const record = this.queue[i];
      const shadowed = this.undo[mark.undoLength + (i - mark.queueLength)];
      if (record === undefined) continue;
      this.countList(record, -1);
      if (shadowed === undefined) this.byPath.delete(record.path);
      else this.byPath.set(record.path, shadowed);
    }
    this.queue.length = mark.queueLength;
    this.undo.length = mark.undoLength;
    this.marking = false;
  }

  /** Retires every record with zxid <= `zxid` (the apply step reached it). */
  retire(zxid: number): void {
    while (this.head < this.queue.length) {
      const record = this.queue[this.head];
      if (record === undefined || record.zxid > zxid) break;
      this.queue[this.head] = undefined;
      this.head++;
      if (this.byPath.get(record.path) === record) this.byPath.delete(record.path);
      this.countList(record, -1);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > outstandingCompactEntriesMin && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Forgets everything (a new leader starts without outstanding changes). */
  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    this.byPath.clear();
    this.listBytes.clear();
    this.undo.length = 0;
    this.marking = false;
  }
}
