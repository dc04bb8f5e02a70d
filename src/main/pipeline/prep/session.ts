// The session transactions Prep makes: createSession, and closeSession with the list of the
// session's ephemerals, whose size one bound holds to what every member can read back.
//
// One bound ZooKeeper 3.8 lacks (ZOOKEEPER-4306): a session's closeSession txn lists all its
// ephemerals, so an ephemeral create that would make that txn larger than jute.maxbuffer gets
// QuotaExceeded (limits.ts); otherwise closing or expiring the session would write a record that
// no member could read back, and every restart would try again.

import { assert } from '../../../common/assert.js';
import { OpCode } from '../../../common/zk.js';
import type { Txn, TxnHeader } from '../../../protocol/types.js';
import { listEntryBytes, type DataTree } from '../../tree/data-tree.js';
import { canonicalOwner, EphemeralKind, ephemeralKind } from '../../tree/ephemeral.js';
import type { NodeState } from '../../tree/node.js';
import type { RequestContext } from '../context.js';
import { txnHeaderBytes } from '../limits.js';
import { ChangeRecord, type OutstandingChanges } from '../outstanding.js';

/** What closing a session needs of the preparer: the records it reads and the deletes it makes. */
export interface DeleteRecorder {
  /** The newest outstanding record of `path`, else the tree's node; null if none. */
  recordFor(path: string): NodeState | null;
  /** The parent of a node that may be deleted; null for no '/', a NUL, or a built-in node. */
  parentForDelete(path: string): string | null;
  /** Records the delete of `path` under `parentName`, leaving `listOwner`'s list (0n: none). */
  recordDelete(parentName: string, parent: NodeState, path: string, zxid: number, listOwner: bigint): void;
}

export interface CloseListOptions {
  extendedTypesEnabled: boolean;
  /** The largest closeSession txn (TxnHeader + CloseSessionTxn) this leader prepares. */
  closeTxnBytesMax: number;
  /** Told when a closeSession txn goes without its path list (see prepCloseSession). */
  onCloseListOmitted: ((sessionId: bigint, paths: number, txnBytes: number) => void) | undefined;
}

/** Every session's closeSession list, as the tree and the outstanding changes make it. */
export class CloseLists {
  private readonly extendedTypesEnabled: boolean;
  private readonly closeTxnBytesMax: number;
  private readonly onCloseListOmitted: CloseListOptions['onCloseListOmitted'];

  constructor(
    private readonly tree: DataTree,
    private readonly outstanding: OutstandingChanges,
    opts: CloseListOptions,
  ) {
    this.extendedTypesEnabled = opts.extendedTypesEnabled;
    this.closeTxnBytesMax = opts.closeTxnBytesMax;
    this.onCloseListOmitted = opts.onCloseListOmitted;
  }

  /**
   * OpCode.closeSession: deletes the session's ephemerals, those in the tree and those that
   * outstanding changes will create, less those they will delete. (ZooKeeper leaves the parent's
   * outstanding child count as it was here; zkts lowers it, as a delete does, so a delete of the
   * parent pipelined after the close is not refused with NotEmpty.)
   */
  prepCloseSession(recorder: DeleteRecorder, ctx: RequestContext, zxid: number): Txn {
    assert(!ctx.isLocalSession, 'a local session has no closeSession transaction');
    const owner = canonicalOwner(ctx.sessionId);
    const paths = new Set(this.tree.ephemeralsOf(owner) ?? []);
    for (const record of this.outstanding.records()) {
      if (!record.exists) paths.delete(record.path);
      else if (record.ephemeralOwner === owner) paths.add(record.path);
    }
    let listBytes = 0;
    for (const path of paths) {
      const parentName = recorder.parentForDelete(path);
      const parent = parentName === null ? null : recorder.recordFor(parentName);
      if (parentName !== null && parent !== null) recorder.recordDelete(parentName, parent, path, zxid, owner);
      else this.outstanding.add(listed(ChangeRecord.deleted(zxid, path), owner));
      listBytes += listEntryBytes(path);
    }
    const txnBytes = closeTxnBytes(listBytes);
    if (txnBytes > this.closeTxnBytesMax) {
      // Only a session that got past the bound before it held (a data dir from ZooKeeper or
      // from a larger jute.maxbuffer) gets here. Its list would not fit a record that every
      // member and ZooKeeper's tools can read, so it goes empty: killSession then deletes every
      // ephemeral the tree holds for the session, on every member and on replay alike (they
      // all hold the same tree at this zxid), as ZooKeeper does with a closeSession logged
      // without its list (zookeeper.closeSessionTxn.enabled=false).
      this.onCloseListOmitted?.(ctx.sessionId, paths.size, txnBytes);
      return { type: OpCode.closeSession, paths2Delete: [] };
    }
    return { type: OpCode.closeSession, paths2Delete: [...paths] };
  }

  /**
   * Whether the session's closeSession txn still fits closeTxnBytesMax with `path` added to its
   * list: what the tree holds for the session plus what prepared, unapplied changes add or take
   * (each ChangeRecord carries its part), without building the list.
   */
  hasRoom(sessionId: bigint, path: string): boolean {
    const owner = canonicalOwner(sessionId);
    const listBytes =
      this.tree.ephemeralListBytesOf(owner) +
      this.outstanding.listBytesPending(owner) +
      listEntryBytes(path);
    return closeTxnBytes(listBytes) <= this.closeTxnBytesMax;
  }

  /** The session whose closeSession list holds `node` (a plain ephemeral), else 0n. */
  listOwnerOf(node: NodeState): bigint {
    const kind = ephemeralKind(node.ephemeralOwner, this.extendedTypesEnabled);
    return kind === EphemeralKind.normal ? canonicalOwner(node.ephemeralOwner) : 0n;
  }
}

/** A CreateSessionTxn for a new global session, or for a local one being upgraded (whatever
 *  ctx.isLocalSession says: ZooKeeper's upgrade request is itself global). */
export function createSessionTxn(
  ctx: RequestContext,
  timeOutMs: number,
  zxid: number,
  timeMs: number,
): { hdr: TxnHeader; txn: Txn } {
  return {
    hdr: {
      clientId: ctx.sessionId,
      cxid: ctx.cxid,
      zxid,
      time: timeMs,
      type: OpCode.createSession,
    },
    txn: { type: OpCode.createSession, timeOut: timeOutMs },
  };
}

/** Marks a deleted node's record as leaving `owner`'s closeSession list (0n: in none). */
export function listed(record: ChangeRecord, owner: bigint): ChangeRecord {
  if (owner !== 0n) {
    record.listOwner = owner;
    record.listDelta = -listEntryBytes(record.path);
  }
  return record;
}

/** A closeSession txn's payload: TxnHeader, then CloseSessionTxn (a count and the paths). */
function closeTxnBytes(listBytes: number): number {
  return txnHeaderBytes + 4 + listBytes;
}
