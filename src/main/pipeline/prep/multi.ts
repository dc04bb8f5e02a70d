// The multi request's preparation: its sub-requests prepared one by one with the single-op
// preparers, all or nothing (the changes of a failed multi are rolled back).

import { assert } from '../../../common/assert.js';
import { CreateMode, Err, isTTL, OpCode, type OpCodeOf } from '../../../common/zk.js';
import type {
  CheckVersionRequest,
  CreateRequest,
  DeleteRequest,
  MultiOp,
  SetDataRequest,
  Txn,
} from '../../../protocol/types.js';
import type { RequestContext } from '../context.js';
import type { OutstandingChanges } from '../outstanding.js';

/** A sub-request's Txn, or the KeeperException code that stops it. */
export type OpOutcome = Txn | number;

/** The single-op preparers a multi's sub-requests go through (Prep's own). */
export interface SingleOpPreparer {
  prepCreate(
    ctx: RequestContext,
    type: OpCodeOf<'create' | 'create2' | 'createContainer' | 'createTTL'>,
    req: CreateRequest,
    ttl: number,
    zxid: number,
    timeMs: number,
  ): OpOutcome;
  prepDelete(ctx: RequestContext, req: DeleteRequest, zxid: number): OpOutcome;
  prepSetData(ctx: RequestContext, req: SetDataRequest, zxid: number, timeMs: number): OpOutcome;
  prepCheck(ctx: RequestContext, req: CheckVersionRequest): OpOutcome;
}

/**
 * OpCode.multi: all ops share the zxid. The first op that fails gets its code, every later op
 * RuntimeInconsistency, and the changes of the ops before it are rolled back; the apply step
 * then reports the ops before it as Ok (DataTree.processTxn). A read op in the list, or a
 * create whose flags ask for TTL without a createTTL record, fails the whole request with
 * MarshallingError, as ZooKeeper's deserialisation and casts do.
 */
export function prepMulti(
  single: SingleOpPreparer,
  outstanding: OutstandingChanges,
  ctx: RequestContext,
  ops: readonly MultiOp[],
  zxid: number,
  timeMs: number,
): OpOutcome {
  for (const op of ops) if (multiOpType(op) === OpCode.error) return Err.marshallingError;
  const txns: Txn[] = [];
  const mark = outstanding.mark();
  let failed = false;
  for (const op of ops) {
    if (failed) {
      txns.push({ type: OpCode.error, err: Err.runtimeInconsistency });
      continue;
    }
    const outcome = prepMultiOp(single, ctx, op, zxid, timeMs);
    if (typeof outcome === 'number') {
      failed = true;
      outstanding.rollback(mark);
      txns.push({ type: OpCode.error, err: outcome });
    } else {
      txns.push(outcome);
    }
  }
  if (!failed) outstanding.commit(mark);
  return { type: OpCode.multi, txns };
}

function prepMultiOp(
  single: SingleOpPreparer,
  ctx: RequestContext,
  op: MultiOp,
  zxid: number,
  timeMs: number,
): OpOutcome {
  switch (op.op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL: {
      const type = multiOpType(op);
      assert(type === OpCode.create || type === OpCode.createContainer || type === OpCode.createTTL, 'multi create type');
      const ttl = op.op === OpCode.createTTL && type === OpCode.createTTL ? op.req.ttl : -1;
      return single.prepCreate(ctx, type, op.req, ttl, zxid, timeMs);
    }
    case OpCode.delete:
      return single.prepDelete(ctx, op.req, zxid);
    case OpCode.setData:
      return single.prepSetData(ctx, op.req, zxid, timeMs);
    case OpCode.check:
      return single.prepCheck(ctx, op.req);
    default:
      return Err.marshallingError;
  }
}

/**
 * The opcode ZooKeeper's Op gives a multi sub-request as MultiOperationRecord rebuilds it: any
 * CreateRequest becomes create or createContainer by its flags (create2 included: a multi answers
 * creates without a stat), a CreateTTLRequest stays createTTL only when its flags are a TTL mode.
 * -1: the whole multi fails with MarshallingError (a read op; TTL flags on a CreateRequest, which
 * ZooKeeper casts to CreateTTLRequest and fails).
 */
function multiOpType(op: MultiOp): number {
  switch (op.op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      if (isTTL(op.req.flags)) return OpCode.error;
      return op.req.flags === CreateMode.container ? OpCode.createContainer : OpCode.create;
    case OpCode.createTTL:
      if (isTTL(op.req.flags)) return OpCode.createTTL;
      return op.req.flags === CreateMode.container ? OpCode.createContainer : OpCode.create;
    case OpCode.delete:
    case OpCode.setData:
    case OpCode.check:
      return op.op;
    default:
      return OpCode.error;
  }
}
