// ZooKeeper's PrepRequestProcessor as a function: a write request becomes a TxnHeader + Txn, or an
// ErrorTxn carrying ZooKeeper's exact error code, validated against the tree plus the outstanding
// (prepared, not yet applied) changes, which it extends. Every write takes a zxid, failed ones
// too: ZooKeeper logs and commits error transactions like any other.
//
// Left to the driver, as ZooKeeper does them outside this class: session checks (SessionExpired,
// SessionMoved: SessionTracker.checkSession), upgrading a local session before an ephemeral
// create (LeaderRequestProcessor / checkUpgradeSession), throttling. Quota enforcement is off, as
// ZooKeeper's zookeeper.enforceQuota defaults to false.

import { checkAcl, defaultAuthProviders, fixupAcl, type AuthProviders } from '../../common/acl.js';
import { assert, unreachable } from '../../common/assert.js';
import { isValidPath, sequenceSuffix } from '../../common/path.js';
import {
  CreateMode,
  Err,
  isEphemeral,
  isSequential,
  isTTL,
  OpCode,
  Perms,
  ZkPaths,
} from '../../common/zk.js';
import type {
  ACL,
  CheckVersionRequest,
  ClientRequest,
  CreateRequest,
  DeleteRequest,
  MultiOp,
  SetACLRequest,
  SetDataRequest,
  Txn,
  TxnHeader,
} from '../../protocol/types.js';
import type { DataTree } from '../tree/data-tree.js';
import {
  canonicalOwner,
  containerOwner,
  EphemeralKind,
  ephemeralKind,
  isValidTtl,
  ttlOwner,
} from '../tree/ephemeral.js';
import type { NodeState } from '../tree/node.js';
import type { RequestContext } from './context.js';
import { ChangeRecord, type OutstandingChanges } from './outstanding.js';
import { isSessionSecretWrite } from '../session-secret.js';

/** A transaction ready for the log: hdr.type is the request's opcode, or -1 with an ErrorTxn. */
export interface PreparedTxn {
  hdr: TxnHeader;
  txn: Txn;
}

export interface PrepOptions {
  extendedTypesEnabled: boolean;
  /** Authentication schemes ACLs may name (ZooKeeper's ProviderRegistry). */
  authProviders?: AuthProviders;
}

/** A sub-request's Txn, or the KeeperException code that stops it. */
type OpOutcome = Txn | number;

export class Prep {
  private readonly extendedTypesEnabled: boolean;
  private readonly providers: AuthProviders;

  constructor(
    private readonly tree: DataTree,
    private readonly outstanding: OutstandingChanges,
    opts: PrepOptions,
  ) {
    this.extendedTypesEnabled = opts.extendedTypesEnabled;
    this.providers = opts.authProviders ?? defaultAuthProviders;
  }

  /**
   * PrepRequestProcessor.pRequest for a write (see isWriteOp): create, create2, createContainer,
   * createTTL, delete, deleteContainer, setData, setACL, check, multi, closeSession.
   */
  prepare(ctx: RequestContext, request: ClientRequest, zxid: number, timeMs: number): PreparedTxn {
    const hdr: TxnHeader = {
      clientId: ctx.sessionId,
      cxid: ctx.cxid,
      zxid,
      time: timeMs,
      type: request.op,
    };
    let outcome: OpOutcome;
    switch (request.op) {
      case OpCode.multi:
        outcome = this.prepMulti(ctx, request.req, zxid, timeMs);
        break;
      case OpCode.closeSession:
        outcome = this.prepCloseSession(ctx, zxid);
        break;
      case OpCode.createTTL:
        outcome = this.prepCreate(ctx, request.op, request.req, request.req.ttl, zxid, timeMs);
        break;
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        outcome = this.prepCreate(ctx, request.op, request.req, -1, zxid, timeMs);
        break;
      case OpCode.delete:
        outcome = this.prepDelete(ctx, request.req, zxid);
        break;
      case OpCode.deleteContainer:
        outcome = this.prepDeleteContainer(request.req.path, zxid);
        break;
      case OpCode.setData:
        outcome = this.prepSetData(ctx, request.req, zxid, timeMs);
        break;
      case OpCode.setACL:
        outcome = this.prepSetACL(ctx, request.req, zxid);
        break;
      case OpCode.check:
        outcome = this.prepCheck(ctx, request.req);
        break;
      default:
        return unreachable(`prepare: opcode ${request.op} is not a write`);
    }
    if (typeof outcome === 'number') {
      hdr.type = OpCode.error;
      return { hdr, txn: { type: -1, err: outcome } };
    }
    return { hdr, txn: outcome };
  }

  /** A CreateSessionTxn for a new global session, or for a local one being upgraded (whatever
   *  ctx.isLocalSession says: ZooKeeper's upgrade request is itself global). */
  prepareCreateSession(
    ctx: RequestContext,
    timeOutMs: number,
    zxid: number,
    timeMs: number,
  ): PreparedTxn {
    return {
      hdr: {
        clientId: ctx.sessionId,
        cxid: ctx.cxid,
        zxid,
        time: timeMs,
        type: OpCode.createSession,
      },
      txn: { type: -10, timeOut: timeOutMs },
    };
  }

  // ---- single operations ---------------------------------------------------------------------

  /** pRequest2TxnCreate (with validateCreateRequest and validatePathForCreate). */
  private prepCreate(
    ctx: RequestContext,
    type: 1 | 15 | 19 | 21,
    req: CreateRequest,
    ttl: number,
    zxid: number,
    timeMs: number,
  ): OpOutcome {
    const flags = req.flags;
    const modeErr = this.createModeError(ctx, type, flags, ttl);
    if (modeErr !== Err.ok) return modeErr;
    let path = req.path;
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\u0000')) return Err.badArguments;
    const parentName = lastSlash === 0 ? ZkPaths.root : path.slice(0, lastSlash);
    const fixed = fixupAcl(req.acl, ctx.authIds, this.providers);
    if (fixed.acl === null) return fixed.err;
    const parent = this.recordFor(parentName);
    if (parent === null) return Err.noNode;
    if (!checkAcl(parent.acl, Perms.create, ctx.authIds, this.providers)) return Err.noAuth;
    if (isSequential(flags)) path += sequenceSuffix(parent.cversion);
    if (!isValidPath(path)) return Err.badArguments;
    if (this.recordFor(path) !== null) return Err.nodeExists;
    if (ephemeralKind(parent.ephemeralOwner, this.extendedTypesEnabled) === EphemeralKind.normal) {
      return Err.noChildrenForEphemerals;
    }
    const newCversion = (parent.cversion + 1) | 0;
    const acl: ACL[] = fixed.acl;
    const data = req.data;
    const parentRecord = ChangeRecord.of(zxid, parentName, parent);
    parentRecord.childCount++;
    parentRecord.cversion = newCversion;
    parentRecord.pzxid = zxid;
    this.outstanding.add(parentRecord);
    const owner = ownerOf(flags, ttl, ctx.sessionId);
    this.outstanding.add(ChangeRecord.created(zxid, path, timeMs, owner, acl, data));
    if (type === OpCode.createContainer)
      return { type: 19, path, data, acl, parentCVersion: newCversion };
    if (type === OpCode.createTTL)
      return { type: 21, path, data, acl, parentCVersion: newCversion, ttl };
    return { type: 1, path, data, acl, ephemeral: isEphemeral(flags), parentCVersion: newCversion };
  }

  /** CreateMode.fromFlag, then validateCreateRequest: TTL support and value, local sessions. */
  private createModeError(ctx: RequestContext, type: number, flags: number, ttl: number): number {
    const known =
      Number.isInteger(flags) && flags >= 0 && flags <= CreateMode.persistentSequentialWithTTL;
    if (!known) return Err.badArguments;
    if (isTTL(flags) && !this.extendedTypesEnabled) return Err.unimplemented;
    // EphemeralType.validateTTL. A createTTL whose mode is not TTL is refused whatever its ttl:
    // ZooKeeper lets a negative one through and then fails to apply the CreateTTLTxn.
    if (isTTL(flags) ? !isValidTtl(ttl) : ttl >= 0 || type === OpCode.createTTL) {
      return Err.badArguments;
    }
    if (isEphemeral(flags) && ctx.isLocalSession) return Err.ephemeralOnLocalSession;
    return Err.ok;
  }

  /** OpCode.delete */
  private prepDelete(ctx: RequestContext, req: DeleteRequest, zxid: number): OpOutcome {
    const path = req.path;
    const parentName = this.parentForDelete(path);
    if (parentName === null) return Err.badArguments;
    const parent = this.recordFor(parentName);
    if (parent === null) return Err.noNode;
    if (!checkAcl(parent.acl, Perms.delete, ctx.authIds, this.providers)) return Err.noAuth;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    if (checkAndIncVersion(node.version, req.version) === null) return Err.badVersion;
    if (node.childCount > 0) return Err.notEmpty;
    this.recordDelete(parentName, parent, path, zxid);
    return { type: 2, path };
  }

  /** OpCode.deleteContainer, as ContainerManager submits it: no ACL check, and any node that is
   *  not a plain ephemeral may go once it has no children (ZooKeeper's own rule). */
  private prepDeleteContainer(path: string, zxid: number): OpOutcome {
    const parentName = this.parentForDelete(path);
    if (parentName === null) return Err.badArguments;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    if (node.childCount > 0) return Err.notEmpty;
    if (ephemeralKind(node.ephemeralOwner, this.extendedTypesEnabled) === EphemeralKind.normal) {
      return Err.badVersion;
    }
    const parent = this.recordFor(parentName);
    if (parent === null) return Err.noNode;
    this.recordDelete(parentName, parent, path, zxid);
    return { type: 20, path };
  }

  /** OpCode.setData */
  private prepSetData(
    ctx: RequestContext,
    req: SetDataRequest,
    zxid: number,
    timeMs: number,
  ): OpOutcome {
    const path = req.path;
    if (!isValidPath(path)) return Err.badArguments;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    // The session secret's node is the server's own (session-secret.ts): session 0 only.
    if (isSessionSecretWrite(path) && ctx.sessionId !== 0n) return Err.noAuth;
    if (!checkAcl(node.acl, Perms.write, ctx.authIds, this.providers)) return Err.noAuth;
    const version = checkAndIncVersion(node.version, req.version);
    if (version === null) return Err.badVersion;
    const record = ChangeRecord.of(zxid, path, node);
    record.version = version;
    record.mtime = timeMs;
    record.mzxid = zxid;
    record.data = req.data;
    this.outstanding.add(record);
    return { type: 5, path, data: req.data, version };
  }

  /** OpCode.setACL. The new ACL goes on the outstanding record too, so requests prepared before
   *  it applies are checked against it (ZooKeeper's fix of that check-then-act race). */
  private prepSetACL(ctx: RequestContext, req: SetACLRequest, zxid: number): OpOutcome {
    const path = req.path;
    if (!isValidPath(path)) return Err.badArguments;
    const fixed = fixupAcl(req.acl, ctx.authIds, this.providers);
    if (fixed.acl === null) return fixed.err;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    if (!checkAcl(node.acl, Perms.admin, ctx.authIds, this.providers)) return Err.noAuth;
    const aversion = checkAndIncVersion(node.aversion, req.version);
    if (aversion === null) return Err.badVersion;
    const record = ChangeRecord.of(zxid, path, node);
    record.aversion = aversion;
    record.acl = fixed.acl;
    this.outstanding.add(record);
    return { type: 7, path, acl: fixed.acl, version: aversion };
  }

  /** OpCode.check: READ on the node and the expected version; changes nothing. */
  private prepCheck(ctx: RequestContext, req: CheckVersionRequest): OpOutcome {
    const path = req.path;
    if (!isValidPath(path)) return Err.badArguments;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    if (!checkAcl(node.acl, Perms.read, ctx.authIds, this.providers)) return Err.noAuth;
    const version = checkAndIncVersion(node.version, req.version);
    if (version === null) return Err.badVersion;
    return { type: 13, path, version };
  }

  // ---- multi ---------------------------------------------------------------------------------

  /**
   * OpCode.multi: all ops share the zxid. The first op that fails gets its code, every later op
   * RuntimeInconsistency, and the changes of the ops before it are rolled back; the apply step
   * then reports the ops before it as Ok (DataTree.processTxn). A read op in the list, or a
   * create whose flags ask for TTL without a createTTL record, fails the whole request with
   * MarshallingError, as ZooKeeper's deserialisation and casts do.
   */
  private prepMulti(
    ctx: RequestContext,
    ops: readonly MultiOp[],
    zxid: number,
    timeMs: number,
  ): OpOutcome {
    for (const op of ops) if (multiOpType(op) === -1) return Err.marshallingError;
    const txns: Txn[] = [];
    const mark = this.outstanding.mark();
    let failed = false;
    for (const op of ops) {
      if (failed) {
        txns.push({ type: -1, err: Err.runtimeInconsistency });
        continue;
      }
      const outcome = this.prepMultiOp(ctx, op, zxid, timeMs);
      if (typeof outcome === 'number') {
        failed = true;
        this.outstanding.rollback(mark);
        txns.push({ type: -1, err: outcome });
      } else {
        txns.push(outcome);
      }
    }
    if (!failed) this.outstanding.commit(mark);
    return { type: 14, txns };
  }

  private prepMultiOp(ctx: RequestContext, op: MultiOp, zxid: number, timeMs: number): OpOutcome {
    switch (op.op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const type = multiOpType(op);
        assert(type === 1 || type === 19 || type === 21, 'multi create type');
        const ttl = op.op === OpCode.createTTL && type === 21 ? op.req.ttl : -1;
        return this.prepCreate(ctx, type, op.req, ttl, zxid, timeMs);
      }
      case OpCode.delete:
        return this.prepDelete(ctx, op.req, zxid);
      case OpCode.setData:
        return this.prepSetData(ctx, op.req, zxid, timeMs);
      case OpCode.check:
        return this.prepCheck(ctx, op.req);
      default:
        return Err.marshallingError;
    }
  }

  // ---- sessions ------------------------------------------------------------------------------

  /**
   * OpCode.closeSession: deletes the session's ephemerals, those in the tree and those that
   * outstanding changes will create, less those they will delete. (ZooKeeper leaves the parent's
   * outstanding child count as it was here; zkts lowers it, as a delete does, so a delete of the
   * parent pipelined after the close is not refused with NotEmpty.)
   */
  private prepCloseSession(ctx: RequestContext, zxid: number): OpOutcome {
    assert(!ctx.isLocalSession, 'a local session has no closeSession transaction');
    const owner = canonicalOwner(ctx.sessionId);
    const paths = new Set(this.tree.ephemeralsOf(owner) ?? []);
    for (const record of this.outstanding.records()) {
      if (!record.exists) paths.delete(record.path);
      else if (record.ephemeralOwner === owner) paths.add(record.path);
    }
    for (const path of paths) {
      const parentName = this.parentForDelete(path);
      const parent = parentName === null ? null : this.recordFor(parentName);
      if (parentName !== null && parent !== null) this.recordDelete(parentName, parent, path, zxid);
      else this.outstanding.add(ChangeRecord.deleted(zxid, path));
    }
    return { type: -11, paths2Delete: [...paths] };
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** getRecordForPath: the newest outstanding record, else the tree's node; null if none. */
  private recordFor(path: string): NodeState | null {
    const record = this.outstanding.get(path);
    if (record !== undefined) return record.exists ? record : null;
    return this.tree.getNode(path) ?? null;
  }

  /** getParentPathAndValidate: null (BadArguments) for no '/', a NUL, or a built-in node. */
  private parentForDelete(path: string): string | null {
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\u0000') || isSpecialPath(path)) return null;
    return lastSlash === 0 ? ZkPaths.root : path.slice(0, lastSlash);
  }

  /** The two records of a delete: the parent loses a child and takes pzxid; the node goes. */
  private recordDelete(parentName: string, parent: NodeState, path: string, zxid: number): void {
    const parentRecord = ChangeRecord.of(zxid, parentName, parent);
    parentRecord.childCount--;
    parentRecord.pzxid = zxid;
    this.outstanding.add(parentRecord);
    this.outstanding.add(ChangeRecord.deleted(zxid, path));
  }
}

/** The ephemeralOwner a create gives its node, by mode (PrepRequestProcessor). */
function ownerOf(flags: number, ttl: number, sessionId: bigint): bigint {
  if (flags === CreateMode.container) return containerOwner;
  if (isTTL(flags)) return ttlOwner(ttl);
  if (isEphemeral(flags)) return canonicalOwner(sessionId);
  return 0n;
}

/** Writes go through prepare → log → apply; everything else is a read or a session-local op. */
export function isWriteOp(op: number): boolean {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.setData:
    case OpCode.setACL:
    case OpCode.check:
    case OpCode.multi:
    case OpCode.createSession:
    case OpCode.closeSession:
      return true;
    default:
      return false;
  }
}

/** DataTree.isSpecialPath */
function isSpecialPath(path: string): boolean {
  return (
    path === ZkPaths.root ||
    path === ZkPaths.zookeeper ||
    path === ZkPaths.quota ||
    path === ZkPaths.config
  );
}

/**
 * checkAndIncVersion: null if `expected` is neither -1 nor the current version; else the next
 * version (int arithmetic), skipping -1, which would mean "any version" (ZOOKEEPER-4743).
 */
function checkAndIncVersion(current: number, expected: number): number | null {
  if (expected !== -1 && expected !== current) return null;
  const next = (current + 1) | 0;
  return next === -1 ? 0 : next;
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
      if (isTTL(op.req.flags)) return -1;
      return op.req.flags === CreateMode.container ? OpCode.createContainer : OpCode.create;
    case OpCode.createTTL:
      if (isTTL(op.req.flags)) return OpCode.createTTL;
      return op.req.flags === CreateMode.container ? OpCode.createContainer : OpCode.create;
    case OpCode.delete:
    case OpCode.setData:
    case OpCode.check:
      return op.op;
    default:
      return -1;
  }
}
