// The apply step: a committed TxnHeader + Txn changes the tree (DataTree.processTxn) and yields
// what FinalRequestProcessor sends back for it: the reply's error code and body, plus the watch
// events in the order the tree raised them. Replicas apply transactions they never prepared, so
// nothing here depends on prep's state.

import { Err, OpCode } from '../../common/zk.js';
import type {
  ClientResponse,
  Create2Response,
  MultiResult,
  Stat,
  Txn,
  TxnHeader,
} from '../../protocol/types.js';
import type { DataTree } from '../tree/data-tree.js';
import { containerOwner, ttlOwner } from '../tree/ephemeral.js';
import type { DataNode, WatchTrigger } from '../tree/node.js';

/** What applying one txn yields. One per committed write, so its arguments are positional, not
 *  an options object: making one allocates nothing else (no per-record allocation on hot paths). */
export class ApplyResult {
  constructor(
    readonly zxid: number,
    /** TxnHeader.clientId: the session whose request this was (0 for deleteContainer). */
    readonly sessionId: bigint,
    readonly cxid: number,
    /** TxnHeader.type: the request's opcode, or -1 for an ErrorTxn. */
    readonly type: number,
    /** The reply header's err. A multi answers Ok with per-op errors in its results. */
    readonly err: number,
    /** The reply body, or null (an error, or an op whose reply has none). */
    readonly response: ClientResponse | null,
    /** Watch events to deliver, in ZooKeeper's order. */
    readonly triggers: WatchTrigger[],
  ) {}
}

/** DataTree.ProcessTxnResult for one (sub-)transaction. */
class TxnOutcome {
  constructor(
    public err: number,
    public path: string,
    public stat: Stat | null,
  ) {}
}

/** Applies a committed transaction. The caller retires outstanding changes up to hdr.zxid. */
export function applyTxn(tree: DataTree, hdr: TxnHeader, txn: Txn): ApplyResult {
  const triggers: WatchTrigger[] = [];
  let err: number;
  let response: ClientResponse | null;
  if (txn.type === OpCode.multi) {
    err = Err.ok;
    response = { op: OpCode.multi, res: applyMulti(tree, hdr, txn.txns, triggers) };
  } else {
    const outcome = applyOne(tree, hdr.type, hdr, txn, triggers);
    err = outcome.err;
    response = err === Err.ok ? responseOf(hdr.type, outcome) : null;
  }
  return new ApplyResult(hdr.zxid, hdr.clientId, hdr.cxid, hdr.type, err, response, triggers);
}

/**
 * DataTree.processTxn for one transaction of type `type` (the header's, or a multi's sub-txn's).
 * The tree's NoNode / NodeExists only happen when a transaction is replayed over a fuzzy
 * snapshot; a create that finds its node still moves the parent's cversion and pzxid forward.
 */
function applyOne(
  tree: DataTree,
  type: number,
  hdr: TxnHeader,
  txn: Txn,
  triggers: WatchTrigger[],
): TxnOutcome {
  const zxid = hdr.zxid;
  switch (txn.type) {
    case OpCode.create: {
      const owner = txn.ephemeral ? hdr.clientId : 0n;
      const created = tree.createNode(
        txn.path,
        txn.data,
        txn.acl,
        owner,
        txn.parentCVersion,
        zxid,
        hdr.time,
        triggers,
      );
      if (typeof created === 'number') {
        let err = created;
        if (type === OpCode.create && err === Err.nodeExists) {
          const slash = txn.path.lastIndexOf('/');
          err = tree.setCversionPzxid(
            slash <= 0 ? '/' : txn.path.slice(0, slash),
            txn.parentCVersion,
            zxid,
          );
          if (err === Err.ok) err = Err.nodeExists;
        }
        return new TxnOutcome(err, txn.path, null);
      }
      return new TxnOutcome(Err.ok, txn.path, type === OpCode.create ? null : tree.statOf(created));
    }
    case OpCode.createContainer:
    case OpCode.createTTL: {
      const owner = txn.type === OpCode.createContainer ? containerOwner : ttlOwner(txn.ttl);
      const created = tree.createNode(
        txn.path,
        txn.data,
        txn.acl,
        owner,
        txn.parentCVersion,
        zxid,
        hdr.time,
        triggers,
      );
      return nodeOutcome(tree, txn.path, created);
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return new TxnOutcome(tree.deleteNode(txn.path, zxid, triggers), txn.path, null);
    case OpCode.setData:
      return nodeOutcome(
        tree,
        txn.path,
        tree.setData(txn.path, txn.data, txn.version, zxid, hdr.time, triggers),
      );
    case OpCode.setACL:
      return nodeOutcome(tree, txn.path, tree.setACL(txn.path, txn.acl, txn.version));
    case OpCode.check:
      return new TxnOutcome(Err.ok, txn.path, null);
    case OpCode.closeSession:
      tree.killSession(hdr.clientId, zxid, txn.paths2Delete, triggers);
      return new TxnOutcome(Err.ok, '', null);
    case OpCode.createSession:
      return new TxnOutcome(Err.ok, '', null);
    case OpCode.error:
      return new TxnOutcome(txn.err, '', null);
    case OpCode.multi:
      // A multi inside a multi: ZooKeeper fails it as an invalid op type.
      return new TxnOutcome(Err.marshallingError, '', null);
  }
}

function nodeOutcome(tree: DataTree, path: string, node: DataNode | number): TxnOutcome {
  if (typeof node === 'number') return new TxnOutcome(node, path, null);
  return new TxnOutcome(Err.ok, path, tree.statOf(node));
}

/**
 * DataTree.processTxn's multi: if any sub-txn is an ErrorTxn the multi failed in prep; then
 * nothing is applied and the ops before the failing one report Ok, the failing one its code, the
 * ops after it RuntimeInconsistency. Otherwise each op applies in order.
 */
function applyMulti(
  tree: DataTree,
  hdr: TxnHeader,
  txns: readonly Txn[],
  triggers: WatchTrigger[],
): MultiResult[] {
  let failed = false;
  for (const t of txns) if (t.type === OpCode.error) failed = true;
  const results: MultiResult[] = [];
  let postFailed = false;
  for (const sub of txns) {
    if (sub.type === OpCode.error) {
      postFailed = true;
      results.push({ op: OpCode.error, err: sub.err });
    } else if (failed) {
      results.push({ op: OpCode.error, err: postFailed ? Err.runtimeInconsistency : Err.ok });
    } else {
      results.push(multiResultOf(sub.type, applyOne(tree, sub.type, hdr, sub, triggers)));
    }
  }
  return results;
}

/** FinalRequestProcessor's MultiResponse entry for a sub-txn that applied. An apply-time error
 *  (only on replay) is reported as an error result. */
function multiResultOf(type: number, outcome: TxnOutcome): MultiResult {
  if (outcome.err !== Err.ok) return { op: OpCode.error, err: outcome.err };
  switch (type) {
    case OpCode.create:
      return { op: OpCode.create, path: outcome.path };
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { op: OpCode.create2, path: outcome.path, stat: mustStat(outcome) };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { op: OpCode.delete };
    case OpCode.setData:
      return { op: OpCode.setData, stat: mustStat(outcome) };
    case OpCode.check:
      return { op: OpCode.check };
    default:
      return { op: OpCode.error, err: Err.marshallingError };
  }
}

/** FinalRequestProcessor's reply body for a transaction that applied without error. */
function responseOf(type: number, outcome: TxnOutcome): ClientResponse | null {
  switch (type) {
    case OpCode.create:
      return { op: OpCode.create, res: { path: outcome.path } };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL: {
      const res: Create2Response = { path: outcome.path, stat: mustStat(outcome) };
      return { op: type, res };
    }
    case OpCode.setData:
      return { op: OpCode.setData, res: { stat: mustStat(outcome) } };
    case OpCode.setACL:
      return { op: OpCode.setACL, res: { stat: mustStat(outcome) } };
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.check:
    case OpCode.closeSession:
      return { op: type, res: null };
    default:
      // createSession (the session layer answers it), errors.
      return null;
  }
}

function mustStat(outcome: TxnOutcome): Stat {
  if (outcome.stat === null) throw new Error(`apply: no stat for ${outcome.path}`);
  return outcome.stat;
}
