// ZooKeeper's PrepRequestProcessor as a function: a write request becomes a TxnHeader + Txn, or an
// ErrorTxn carrying ZooKeeper's exact error code, validated against the tree plus the outstanding
// (prepared, not yet applied) changes, which it extends. Every write takes a zxid, failed ones
// too: ZooKeeper logs and commits error transactions like any other.
//
// The multi request (prep/multi.ts), the session txns with the closeSession list's bound
// (prep/session.ts) and the quota checks (prep/quota.ts) have their own modules.
//
// Left to the driver, as ZooKeeper does them outside this class: session checks (SessionExpired,
// SessionMoved: SessionTracker.checkSession), upgrading a local session before an ephemeral
// create (LeaderRequestProcessor / checkUpgradeSession), throttling.

import { checkAcl, defaultAuthProviders, fixupAcl, type AuthProviders } from '../../common/acl.js';
import { unreachable } from '../../common/assert.js';
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
  type OpCodeOf,
} from '../../common/zk.js';
import type {
  ACL,
  CheckVersionRequest,
  ClientRequest,
  CreateRequest,
  DeleteRequest,
  SetACLRequest,
  SetDataRequest,
  Txn,
  TxnHeader,
} from '../../protocol/types.js';
import { listEntryBytes, type DataTree } from '../tree/data-tree.js';
import { canonicalOwner, containerOwner, EphemeralKind, ephemeralKind, isValidTtl, ttlOwner } from '../tree/ephemeral.js';
import type { NodeState } from '../tree/node.js';
import type { RequestContext } from './context.js';
import { closeSessionTxnBytesCeiling, closeSessionTxnBytesDefault, txnBytesMax, txnHeaderBytes } from './limits.js';
import { ChangeRecord, type OutstandingChanges } from './outstanding.js';
import { prepMulti, type OpOutcome, type SingleOpPreparer } from './prep/multi.js';
import type { QuotaExceededNote } from '../tree/quota.js';
import { QuotaGuard, type RecordReader } from './prep/quota.js';
import { CloseLists, createSessionTxn, listed, type DeleteRecorder } from './prep/session.js';
import { isSessionSecretWrite } from '../sessions/secret.js';

/** A transaction ready for the log: hdr.type is the request's opcode, or -1 with an ErrorTxn. */
export interface PreparedTxn {
  hdr: TxnHeader;
  txn: Txn;
}

export interface PrepOptions {
  extendedTypesEnabled: boolean;
  /** Authentication schemes ACLs may name (ZooKeeper's ProviderRegistry). */
  authProviders?: AuthProviders;
  /** jute.maxbuffer: bounds a session's closeSession txn (limits.ts); default 0xfffff. */
  juteMaxBufferBytes?: number;
  /** Told when a closeSession txn goes without its path list (see prep/session.ts). */
  onCloseListOmitted?: (sessionId: bigint, paths: number, txnBytes: number) => void;
  /** zookeeper.enforceQuota: refuse writes past a hard limit (default false). */
  enforceQuota?: boolean;
  /** Told of every write that takes a quota past a limit (ZooKeeper logs it, rate-limited). */
  onQuotaExceeded?: (note: QuotaExceededNote) => void;
}

export class Prep implements SingleOpPreparer, DeleteRecorder, RecordReader {
  private readonly extendedTypesEnabled: boolean;
  private readonly providers: AuthProviders;
  /** Every session's closeSession list and its bound (prep/session.ts). */
  private readonly closeLists: CloseLists;
  /** The largest txn a write may make (limits.ts, txnBytesMax). */
  private readonly txnBytesMax: number;
  /** Bytes the txn being prepared will take, as far as its ops have counted them. */
  private txnBytes = 0;
  /** The quota checks of creates, setData and deletes (prep/quota.ts). */
  private readonly quotas: QuotaGuard;

  constructor(
    private readonly tree: DataTree,
    private readonly outstanding: OutstandingChanges,
    opts: PrepOptions,
  ) {
    this.extendedTypesEnabled = opts.extendedTypesEnabled;
    this.providers = opts.authProviders ?? defaultAuthProviders;
    const jute = opts.juteMaxBufferBytes ?? closeSessionTxnBytesDefault;
    this.closeLists = new CloseLists(tree, outstanding, {
      extendedTypesEnabled: this.extendedTypesEnabled,
      closeTxnBytesMax: Math.min(jute, closeSessionTxnBytesCeiling),
      onCloseListOmitted: opts.onCloseListOmitted,
    });
    this.txnBytesMax = txnBytesMax(jute);
    this.quotas = new QuotaGuard(tree, outstanding, {
      enforceQuota: opts.enforceQuota ?? false,
      onQuotaExceeded: opts.onQuotaExceeded ?? null,
    });
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
    this.txnBytes = txnHeaderBytes;
    let outcome: OpOutcome;
    switch (request.op) {
      case OpCode.multi:
        outcome = prepMulti(this, this.outstanding, ctx, request.req, zxid, timeMs);
        break;
      case OpCode.closeSession:
        outcome = this.closeLists.prepCloseSession(this, ctx, zxid);
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
      return { hdr, txn: { type: OpCode.error, err: outcome } };
    }
    return { hdr, txn: outcome };
  }

  /** A CreateSessionTxn for a new global session, or for a local one being upgraded (whatever
   *  ctx.isLocalSession says: ZooKeeper's upgrade request is itself global). */
  prepareCreateSession(ctx: RequestContext, timeOutMs: number, zxid: number, timeMs: number): PreparedTxn {
    return createSessionTxn(ctx, timeOutMs, zxid, timeMs);
  }

  // ---- single operations (prepMulti's too) ---------------------------------------------------

  /** pRequest2TxnCreate (with validateCreateRequest and validatePathForCreate). */
  prepCreate(
    ctx: RequestContext,
    type: OpCodeOf<'create' | 'create2' | 'createContainer' | 'createTTL'>,
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
    if (isEphemeral(flags) && !this.closeLists.hasRoom(ctx.sessionId, path)) return Err.quotaExceeded;
    const newCversion = (parent.cversion + 1) | 0;
    const acl: ACL[] = fixed.acl;
    const data = req.data;
    const bytes = data === null ? 0 : data.length;
    const quotaErr = this.quotas.check(this, path, bytes, 1);
    if (quotaErr !== Err.ok) return quotaErr;
    if (!this.txnHasRoom(createTxnOverheadBytes + Buffer.byteLength(path) + bytes + aclBytes(acl))) {
      return Err.badArguments;
    }
    this.quotas.noteChange(this, path, bytes, 1, zxid);
    const parentRecord = ChangeRecord.of(zxid, parentName, parent);
    parentRecord.childCount++;
    parentRecord.cversion = newCversion;
    parentRecord.pzxid = zxid;
    this.outstanding.add(parentRecord);
    const owner = ownerOf(flags, ttl, ctx.sessionId);
    const created = ChangeRecord.created(zxid, path, timeMs, owner, acl, data);
    if (isEphemeral(flags)) {
      created.listOwner = owner;
      created.listDelta = listEntryBytes(path);
    }
    this.outstanding.add(created);
    if (type === OpCode.createContainer)
      return { type: OpCode.createContainer, path, data, acl, parentCVersion: newCversion };
    if (type === OpCode.createTTL)
      return { type: OpCode.createTTL, path, data, acl, parentCVersion: newCversion, ttl };
    return { type: OpCode.create, path, data, acl, ephemeral: isEphemeral(flags), parentCVersion: newCversion };
  }

  /**
   * Counts an op's bytes into the txn being prepared: false once it would pass txnBytesMax. Only
   * the ops whose txn can outgrow their request count (an `auth` ACL expands on the server); the
   * others are bounded by the request, which is bounded by jute.maxbuffer.
   */
  private txnHasRoom(opBytes: number): boolean {
    this.txnBytes += opBytes;
    return this.txnBytes <= this.txnBytesMax;
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
  prepDelete(ctx: RequestContext, req: DeleteRequest, zxid: number): OpOutcome {
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
    this.recordDelete(parentName, parent, path, zxid, this.closeLists.listOwnerOf(node));
    return { type: OpCode.delete, path };
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
    return { type: OpCode.deleteContainer, path };
  }

  /** OpCode.setData */
  prepSetData(
    ctx: RequestContext,
    req: SetDataRequest,
    zxid: number,
    timeMs: number,
  ): OpOutcome {
    const path = req.path;
    if (!isValidPath(path)) return Err.badArguments;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    // The session secret's node is the server's own (sessions/secret.ts): session 0 only.
    if (isSessionSecretWrite(path) && ctx.sessionId !== 0n) return Err.noAuth;
    if (!checkAcl(node.acl, Perms.write, ctx.authIds, this.providers)) return Err.noAuth;
    const bytesDiff = (req.data === null ? 0 : req.data.length) - (node.data === null ? 0 : node.data.length);
    const quotaErr = this.quotas.check(this, path, bytesDiff, 0);
    if (quotaErr !== Err.ok) return quotaErr;
    const version = checkAndIncVersion(node.version, req.version);
    if (version === null) return Err.badVersion;
    const dataBytes = req.data === null ? 0 : req.data.length;
    if (!this.txnHasRoom(opTxnOverheadBytes + Buffer.byteLength(path) + dataBytes)) return Err.badArguments;
    this.quotas.noteChange(this, path, bytesDiff, 0, zxid);
    const record = ChangeRecord.of(zxid, path, node);
    record.version = version;
    record.mtime = timeMs;
    record.mzxid = zxid;
    record.data = req.data;
    this.outstanding.add(record);
    return { type: OpCode.setData, path, data: req.data, version };
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
    if (!this.txnHasRoom(opTxnOverheadBytes + Buffer.byteLength(path) + aclBytes(fixed.acl))) return Err.badArguments;
    const record = ChangeRecord.of(zxid, path, node);
    record.aversion = aversion;
    record.acl = fixed.acl;
    this.outstanding.add(record);
    return { type: OpCode.setACL, path, acl: fixed.acl, version: aversion };
  }

  /** OpCode.check: READ on the node and the expected version; changes nothing. */
  prepCheck(ctx: RequestContext, req: CheckVersionRequest): OpOutcome {
    const path = req.path;
    if (!isValidPath(path)) return Err.badArguments;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    if (!checkAcl(node.acl, Perms.read, ctx.authIds, this.providers)) return Err.noAuth;
    const version = checkAndIncVersion(node.version, req.version);
    if (version === null) return Err.badVersion;
    return { type: OpCode.check, path, version };
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** getRecordForPath: the newest outstanding record, else the tree's node; null if none. */
  recordFor(path: string): NodeState | null {
    const record = this.outstanding.get(path);
    if (record !== undefined) return record.exists ? record : null;
    return this.tree.getNode(path) ?? null;
  }

  /** getParentPathAndValidate: null (BadArguments) for no '/', a NUL, or a built-in node. */
  parentForDelete(path: string): string | null {
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\u0000') || isSpecialPath(path)) return null;
    return lastSlash === 0 ? ZkPaths.root : path.slice(0, lastSlash);
  }

  /** The two records of a delete: the parent loses a child and takes pzxid; the node goes. */
  recordDelete(
    parentName: string,
    parent: NodeState,
    path: string,
    zxid: number,
    listOwner = 0n,
  ): void {
    this.quotas.noteDelete(this, path, zxid);
    const parentRecord = ChangeRecord.of(zxid, parentName, parent);
    parentRecord.childCount--;
    parentRecord.pzxid = zxid;
    this.outstanding.add(parentRecord);
    this.outstanding.add(listed(ChangeRecord.deleted(zxid, path), listOwner));
  }
}

/** A create's fields besides path, data and ACL (lengths, flags, parentCVersion, ttl), and a
 *  multi's per-op header (type, done, err), rounded up. */
const createTxnOverheadBytes = 64;
/** A setData's or setACL's fields besides path and data or ACL, with a multi's per-op header. */
const opTxnOverheadBytes = 32;

/** The bytes an ACL takes in a txn: a count, then perms, scheme and id per entry. */
function aclBytes(acl: readonly ACL[]): number {
  let n = 4;
  for (let i = 0; i < acl.length; i++) {
    const e = acl[i]!;
    n += 12 + Buffer.byteLength(e.id.scheme) + Buffer.byteLength(e.id.id);
  }
  return n;
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
