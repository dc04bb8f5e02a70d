// size: Prep is one case per write opcode, as ZooKeeper's PrepRequestProcessor; the multi and closeSession helpers are the parts to split out next.
// ZooKeeper's PrepRequestProcessor as a function: a write request becomes a TxnHeader + Txn, or an
// ErrorTxn carrying ZooKeeper's exact error code, validated against the tree plus the outstanding
// (prepared, not yet applied) changes, which it extends. Every write takes a zxid, failed ones
// too: ZooKeeper logs and commits error transactions like any other.
//
// One bound ZooKeeper 3.8 lacks (ZOOKEEPER-4306): a session's closeSession txn lists all its
// ephemerals, so an ephemeral create that would make that txn larger than jute.maxbuffer gets
// QuotaExceeded (limits.ts); otherwise closing or expiring the session would write a record that
// no member could read back, and every restart would try again.
//
// Left to the driver, as ZooKeeper does them outside this class: session checks (SessionExpired,
// SessionMoved: SessionTracker.checkSession), upgrading a local session before an ephemeral
// create (LeaderRequestProcessor / checkUpgradeSession), throttling.
//
// Quotas (ZooKeeperServer.checkQuota): a create or setData under a quota'd path is checked against
// its limits and stats nodes. Past a hard limit it fails with QuotaExceeded when enforceQuota is
// on (off by default, as zookeeper.enforceQuota); a limit passed is reported either way (a log
// line). ZooKeeper reads the stats the apply step last wrote, so writes in flight can pass a
// hard limit together; zkts also keeps the stats that writes in flight will make as outstanding
// records of the stats node, so the count stays within the limit.

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
  type OpCodeOf,
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
import { listEntryBytes, type DataTree } from '../tree/data-tree.js';
import {
  canonicalOwner,
  containerOwner,
  EphemeralKind,
  ephemeralKind,
  isValidTtl,
  ttlOwner,
} from '../tree/ephemeral.js';
import type { NodeState } from '../tree/node.js';
import { quotaLimitPath, quotaStatPath, StatsTrack } from '../tree/quota.js';
import type { RequestContext } from './context.js';
import { closeSessionTxnBytesCeiling, closeSessionTxnBytesDefault, txnBytesMax, txnHeaderBytes } from './limits.js';
import { ChangeRecord, type OutstandingChanges } from './outstanding.js';
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
  /** Told when a closeSession txn goes without its path list (see prepCloseSession). */
  onCloseListOmitted?: (sessionId: bigint, paths: number, txnBytes: number) => void;
  /** zookeeper.enforceQuota: refuse writes past a hard limit (default false). */
  enforceQuota?: boolean;
  /** Told of every write that takes a quota past a limit (ZooKeeper logs it, rate-limited). */
  onQuotaExceeded?: (note: QuotaExceededNote) => void;
}

/** A write took the subtree of `quota` past one of its limits. */
export interface QuotaExceededNote {
  /** The quota'd path. */
  readonly quota: string;
  readonly what: 'count' | 'bytes';
  /** The count or bytes the write would make. */
  readonly current: number;
  readonly limit: number;
  /** A hard limit (countHardLimit / byteHardLimit), else the soft one (count / bytes). */
  readonly hard: boolean;
  /** The write is refused (a hard limit with enforceQuota on). */
  readonly refused: boolean;
}

/** A sub-request's Txn, or the KeeperException code that stops it. */
type OpOutcome = Txn | number;

export class Prep {
  private readonly extendedTypesEnabled: boolean;
  private readonly providers: AuthProviders;
  /** The largest closeSession txn (TxnHeader + CloseSessionTxn) this leader prepares. */
  private readonly closeTxnBytesMax: number;
  private readonly onCloseListOmitted: PrepOptions['onCloseListOmitted'];
  /** The largest txn a write may make (limits.ts, txnBytesMax). */
  private readonly txnBytesMax: number;
  /** Bytes the txn being prepared will take, as far as its ops have counted them. */
  private txnBytes = 0;
  private readonly enforceQuota: boolean;
  private readonly onQuotaExceeded: ((note: QuotaExceededNote) => void) | null;

  constructor(
    private readonly tree: DataTree,
    private readonly outstanding: OutstandingChanges,
    opts: PrepOptions,
  ) {
    this.extendedTypesEnabled = opts.extendedTypesEnabled;
    this.providers = opts.authProviders ?? defaultAuthProviders;
    const jute = opts.juteMaxBufferBytes ?? closeSessionTxnBytesDefault;
    this.closeTxnBytesMax = Math.min(jute, closeSessionTxnBytesCeiling);
    this.txnBytesMax = txnBytesMax(jute);
    this.onCloseListOmitted = opts.onCloseListOmitted;
    this.enforceQuota = opts.enforceQuota ?? false;
    this.onQuotaExceeded = opts.onQuotaExceeded ?? null;
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
      return { hdr, txn: { type: OpCode.error, err: outcome } };
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
      txn: { type: OpCode.createSession, timeOut: timeOutMs },
    };
  }

  // ---- single operations ---------------------------------------------------------------------

  /** pRequest2TxnCreate (with validateCreateRequest and validatePathForCreate). */
  private prepCreate(
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
    if (isEphemeral(flags) && !this.closeListHasRoom(ctx.sessionId, path)) return Err.quotaExceeded;
    const newCversion = (parent.cversion + 1) | 0;
    const acl: ACL[] = fixed.acl;
    const data = req.data;
    const bytes = data === null ? 0 : data.length;
    const quotaErr = this.checkQuota(path, bytes, 1);
    if (quotaErr !== Err.ok) return quotaErr;
    if (!this.txnHasRoom(createTxnOverheadBytes + Buffer.byteLength(path) + bytes + aclBytes(acl))) {
      return Err.badArguments;
    }
    this.noteQuotaChange(path, bytes, 1, zxid);
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
    this.recordDelete(parentName, parent, path, zxid, this.listOwnerOf(node));
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
    // The session secret's node is the server's own (sessions/secret.ts): session 0 only.
    if (isSessionSecretWrite(path) && ctx.sessionId !== 0n) return Err.noAuth;
    if (!checkAcl(node.acl, Perms.write, ctx.authIds, this.providers)) return Err.noAuth;
    const bytesDiff = (req.data === null ? 0 : req.data.length) - (node.data === null ? 0 : node.data.length);
    const quotaErr = this.checkQuota(path, bytesDiff, 0);
    if (quotaErr !== Err.ok) return quotaErr;
    const version = checkAndIncVersion(node.version, req.version);
    if (version === null) return Err.badVersion;
    const dataBytes = req.data === null ? 0 : req.data.length;
    if (!this.txnHasRoom(opTxnOverheadBytes + Buffer.byteLength(path) + dataBytes)) return Err.badArguments;
    this.noteQuotaChange(path, bytesDiff, 0, zxid);
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
  private prepCheck(ctx: RequestContext, req: CheckVersionRequest): OpOutcome {
    const path = req.path;
    if (!isValidPath(path)) return Err.badArguments;
    const node = this.recordFor(path);
    if (node === null) return Err.noNode;
    if (!checkAcl(node.acl, Perms.read, ctx.authIds, this.providers)) return Err.noAuth;
    const version = checkAndIncVersion(node.version, req.version);
    if (version === null) return Err.badVersion;
    return { type: OpCode.check, path, version };
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
    for (const op of ops) if (multiOpType(op) === OpCode.error) return Err.marshallingError;
    const txns: Txn[] = [];
    const mark = this.outstanding.mark();
    let failed = false;
    for (const op of ops) {
      if (failed) {
        txns.push({ type: OpCode.error, err: Err.runtimeInconsistency });
        continue;
      }
      const outcome = this.prepMultiOp(ctx, op, zxid, timeMs);
      if (typeof outcome === 'number') {
        failed = true;
        this.outstanding.rollback(mark);
        txns.push({ type: OpCode.error, err: outcome });
      } else {
        txns.push(outcome);
      }
    }
    if (!failed) this.outstanding.commit(mark);
    return { type: OpCode.multi, txns };
  }

  private prepMultiOp(ctx: RequestContext, op: MultiOp, zxid: number, timeMs: number): OpOutcome {
    switch (op.op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const type = multiOpType(op);
        assert(type === OpCode.create || type === OpCode.createContainer || type === OpCode.createTTL, 'multi create type');
        const ttl = op.op === OpCode.createTTL && type === OpCode.createTTL ? op.req.ttl : -1;
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
    let listBytes = 0;
    for (const path of paths) {
      const parentName = this.parentForDelete(path);
      const parent = parentName === null ? null : this.recordFor(parentName);
      if (parentName !== null && parent !== null) this.recordDelete(parentName, parent, path, zxid, owner);
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
  private closeListHasRoom(sessionId: bigint, path: string): boolean {
    const owner = canonicalOwner(sessionId);
    const listBytes =
      this.tree.ephemeralListBytesOf(owner) +
      this.outstanding.listBytesPending(owner) +
      listEntryBytes(path);
    return closeTxnBytes(listBytes) <= this.closeTxnBytesMax;
  }

  /** The session whose closeSession list holds `node` (a plain ephemeral), else 0n. */
  private listOwnerOf(node: NodeState): bigint {
    const kind = ephemeralKind(node.ephemeralOwner, this.extendedTypesEnabled);
    return kind === EphemeralKind.normal ? canonicalOwner(node.ephemeralOwner) : 0n;
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** getRecordForPath: the newest outstanding record, else the tree's node; null if none. */
  private recordFor(path: string): NodeState | null {
    const record = this.outstanding.get(path);
    if (record !== undefined) return record.exists ? record : null;
    return this.tree.getNode(path) ?? null;
  }

  // ---- quotas --------------------------------------------------------------------------------

  /**
   * ZooKeeperServer.checkQuota for a change of `countDiff` nodes and `bytesDiff` data bytes at
   * `path`: Err.quotaExceeded when it passes a hard limit and enforceQuota is on, else Err.ok.
   * The count is checked first; only a limit that is set, for a diff that is not 0, is checked.
   */
  private checkQuota(path: string, bytesDiff: number, countDiff: number): number {
    const quota = this.tree.quotas.quotaOf(path);
    if (quota === null) return Err.ok;
    const limitNode = this.recordFor(quotaLimitPath(quota));
    if (limitNode === null) return Err.ok; // ZooKeeper logs "Missing limit node"
    const limits = StatsTrack.parse(limitNode.data);
    const checkCount = countDiff !== 0 && (limits.count > -1 || limits.countHardLimit > -1);
    const checkBytes = bytesDiff !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1);
    if (!checkCount && !checkBytes) return Err.ok;
    const statNode = this.recordFor(quotaStatPath(quota));
    if (statNode === null) return Err.ok; // ZooKeeper logs "Missing node for stat"
    const stats = StatsTrack.parse(statNode.data);
    if (checkCount) {
      const hard = limits.countHardLimit > -1;
      const err = this.overLimit(quota, 'count', stats.count + countDiff, hard ? limits.countHardLimit : limits.count, hard);
      if (err !== Err.ok) return err;
    }
    if (checkBytes) {
      const hard = limits.byteHardLimit > -1;
      return this.overLimit(quota, 'bytes', stats.bytes + bytesDiff, hard ? limits.byteHardLimit : limits.bytes, hard);
    }
    return Err.ok;
  }

  private overLimit(quota: string, what: 'count' | 'bytes', current: number, limit: number, hard: boolean): number {
    if (current <= limit) return Err.ok;
    const refused = hard && this.enforceQuota;
    this.onQuotaExceeded?.({ quota, what, current, limit, hard, refused });
    return refused ? Err.quotaExceeded : Err.ok;
  }

  /**
   * With enforceQuota on, a change prepared under a quota moves that quota's stats as an
   * outstanding record of its stats node: the next write is checked against the stats every
   * write before it will make (the apply step writes the same numbers into the tree).
   */
  private noteQuotaChange(path: string, bytesDiff: number, countDiff: number, zxid: number): void {
    if (!this.enforceQuota || (bytesDiff === 0 && countDiff === 0)) return;
    const quota = this.tree.quotas.quotaOf(path);
    if (quota === null) return;
    const statPath = quotaStatPath(quota);
    const statNode = this.recordFor(statPath);
    if (statNode === null) return;
    const stats = StatsTrack.parse(statNode.data);
    stats.count += countDiff;
    stats.bytes += bytesDiff;
    const record = ChangeRecord.of(zxid, statPath, statNode);
    record.data = stats.bytesOf();
    this.outstanding.add(record);
  }

  /** getParentPathAndValidate: null (BadArguments) for no '/', a NUL, or a built-in node. */
  private parentForDelete(path: string): string | null {
    const lastSlash = path.lastIndexOf('/');
    if (lastSlash === -1 || path.includes('\u0000') || isSpecialPath(path)) return null;
    return lastSlash === 0 ? ZkPaths.root : path.slice(0, lastSlash);
  }

  /** The two records of a delete: the parent loses a child and takes pzxid; the node goes. */
  private recordDelete(
    parentName: string,
    parent: NodeState,
    path: string,
    zxid: number,
    listOwner = 0n,
  ): void {
    if (this.enforceQuota) {
      const node = this.recordFor(path);
      if (node !== null) this.noteQuotaChange(path, -(node.data === null ? 0 : node.data.length), -1, zxid);
    }
    const parentRecord = ChangeRecord.of(zxid, parentName, parent);
    parentRecord.childCount--;
    parentRecord.pzxid = zxid;
    this.outstanding.add(parentRecord);
    this.outstanding.add(listed(ChangeRecord.deleted(zxid, path), listOwner));
  }
}

/** Marks a deleted node's record as leaving `owner`'s closeSession list (0n: in none). */
function listed(record: ChangeRecord, owner: bigint): ChangeRecord {
  if (owner !== 0n) {
    record.listOwner = owner;
    record.listDelta = -listEntryBytes(record.path);
  }
  return record;
}

/** A closeSession txn's payload: TxnHeader, then CloseSessionTxn (a count and the paths). */
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

function closeTxnBytes(listBytes: number): number {
  return txnHeaderBytes + 4 + listBytes;
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
