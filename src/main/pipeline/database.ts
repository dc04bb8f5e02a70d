// The main thread's database (ZooKeeper's ZKDatabase plus the prep and final stages around it):
// the tree, the outstanding changes of prepared writes, and the zxid counters. The driver
// prepares a write when it reaches the front of its session's queue, has it logged and committed,
// then applies it; reads run against the tree as it is. Nothing here knows about sessions beyond
// the RequestContext a call brings, and nothing does I/O or reads a clock.

import { defaultAuthProviders, type AuthProviders } from '../../common/acl.js';
import { assert } from '../../common/assert.js';
import { OpCode, type OpCodeOf } from '../../common/zk.js';
import type { ClientRequest, SetWatches, SetWatches2 } from '../../protocol/types.js';
import { DataTree } from '../tree/data-tree.js';
import { applyTxn, type ApplyResult } from './apply.js';
import type { RequestContext } from './context.js';
import { OutstandingChanges } from './outstanding.js';
import { isWriteOp, Prep, type PreparedTxn, type PrepOptions } from './prep.js';
import type { QuotaExceededNote } from '../tree/quota.js';

export type { PreparedTxn } from './prep.js';
export type { ApplyResult } from './apply.js';
export type { ReadResult, SetWatchesResult } from './reads.js';
export type { RequestContext } from './context.js';

/** A write request: a client's, or the createSession the session layer asks for (its CreateSession
 *  txn carries the negotiated timeout; ConnectRequest is not a ClientRequest). */
export type WriteRequest = ClientRequest | { op: OpCodeOf<'createSession'>; req: null; timeOut: number };
import { Reads, type ReadResult, type SetWatchesResult } from './reads.js';

export interface ZkDatabaseOptions {
  /** zookeeper.extendedTypesEnabled: allow TTL nodes (otherwise createTTL is Unimplemented). */
  extendedTypesEnabled: boolean;
  /** ACL schemes besides ip and digest (ProviderRegistry); defaults to those two. */
  authProviders?: AuthProviders;
  /** exists needs READ on an existing node (ZooKeeper 3.8.4+); default false, as 3.8.0. */
  existsChecksRead?: boolean;
  /** jute.maxbuffer: bounds what one session's ephemerals may add up to (prep/session.ts). */
  juteMaxBufferBytes?: number;
  /** Told when a closeSession txn goes without its path list (the server logs it). */
  onCloseListOmitted?: PrepOptions['onCloseListOmitted'];
  /** zookeeper.enforceQuota: writes past a hard quota limit fail (default false). */
  enforceQuota?: boolean;
  /** Told of each write that passes a quota limit (see prep/quota.ts). */
  onQuotaExceeded?: (note: QuotaExceededNote) => void;
}

export class ZkDatabase {
  readonly tree: DataTree;
  readonly outstanding = new OutstandingChanges();
  /** The last zxid applied to the tree (DataTree.lastProcessedZxid). */
  lastZxid = 0;
  /** The last zxid prepare handed out; the next write gets one more. */
  lastPreparedZxid = 0;
  private readonly prep: Prep;
  private readonly reads: Reads;

  constructor(opts: ZkDatabaseOptions) {
    const providers = opts.authProviders ?? defaultAuthProviders;
    this.tree = new DataTree({ extendedTypesEnabled: opts.extendedTypesEnabled });
    this.prep = new Prep(this.tree, this.outstanding, {
      extendedTypesEnabled: opts.extendedTypesEnabled,
      authProviders: providers,
      ...(opts.juteMaxBufferBytes !== undefined ? { juteMaxBufferBytes: opts.juteMaxBufferBytes } : {}),
      ...(opts.onCloseListOmitted !== undefined ? { onCloseListOmitted: opts.onCloseListOmitted } : {}),
      enforceQuota: opts.enforceQuota ?? false,
      ...(opts.onQuotaExceeded === undefined ? {} : { onQuotaExceeded: opts.onQuotaExceeded }),
    });
    this.reads = new Reads(this.tree, {
      authProviders: providers,
      existsChecksRead: opts.existsChecksRead ?? false,
    });
  }

  /** Ops that go through prepare → log → apply (closeSession and createSession included). */
  isWrite(op: number): boolean {
    return isWriteOp(op);
  }

  /**
   * Prepares a write with the next zxid (failed writes take one too: their ErrorTxn is logged
   * and applied like any txn). `timeMs` is the wall time the txn header records.
   */
  prepare(ctx: RequestContext, request: WriteRequest, timeMs: number): PreparedTxn {
    if (request.op === OpCode.createSession) {
      return this.prep.prepareCreateSession(ctx, request.timeOut, this.nextZxid(), timeMs);
    }
    return this.prep.prepare(ctx, request, this.nextZxid(), timeMs);
  }

  /** A createSession txn for a new global session, or for upgrading a local one. */
  prepareCreateSession(ctx: RequestContext, timeOutMs: number, timeMs: number): PreparedTxn {
    return this.prep.prepareCreateSession(ctx, timeOutMs, this.nextZxid(), timeMs);
  }

  /** An ErrorTxn for a request refused before any validation (reconfig while reconfiguration
   *  is disabled): it takes a zxid and is logged, as PrepRequestProcessor's refusals are. */
  prepareError(ctx: RequestContext, err: number, timeMs: number): PreparedTxn {
    return {
      hdr: { clientId: ctx.sessionId, cxid: ctx.cxid, zxid: this.nextZxid(), time: timeMs, type: OpCode.error },
      txn: { type: OpCode.error, err },
    };
  }

  /**
   * Applies a committed transaction, prepared here or (on a follower or observer) elsewhere, and
   * retires the outstanding changes it covers (ZooKeeperServer.processTxn).
   */
  apply(p: PreparedTxn): ApplyResult {
    assert(p.hdr.zxid > this.lastZxid, `apply out of order: ${p.hdr.zxid} after ${this.lastZxid}`);
    const result = applyTxn(this.tree, p.hdr, p.txn);
    this.lastZxid = p.hdr.zxid;
    if (this.lastPreparedZxid < this.lastZxid) this.lastPreparedZxid = this.lastZxid;
    this.outstanding.retire(p.hdr.zxid);
    return result;
  }

  /** Answers a read from the tree as it is now. */
  read(ctx: RequestContext, request: ClientRequest): ReadResult {
    return this.reads.read(ctx, request);
  }

  /** setWatches / setWatches2 (`v2`: the persistent lists count): events to send at once,
   *  watches to register. */
  setWatches(
    request: SetWatches | SetWatches2,
    v2 = 'persistentWatches' in request,
  ): SetWatchesResult {
    return this.reads.setWatches(request, v2);
  }

  /**
   * Starts a new run of proposals after `lastZxid` (a new leader's epoch << 32, or the applied
   * zxid after a restart): prepared-but-unapplied changes are forgotten.
   */
  resetPipeline(lastZxid: number): void {
    assert(
      lastZxid >= this.lastZxid,
      `pipeline reset to ${lastZxid} before applied ${this.lastZxid}`,
    );
    this.outstanding.clear();
    this.lastPreparedZxid = lastZxid;
  }

  private nextZxid(): number {
    this.lastPreparedZxid++;
    assert(Number.isSafeInteger(this.lastPreparedZxid), 'zxid beyond 2^53');
    return this.lastPreparedZxid;
  }
}
