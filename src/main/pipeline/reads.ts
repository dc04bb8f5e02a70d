// Reads against the tree, as FinalRequestProcessor serves them (ZooKeeper 3.8.0, the Debian build
// the interop suites compare with; 3.8.4's READ check on exists is an option), with the watch
// each one registers: ZooKeeper registers an exists watch even
// when the node is absent (that is how NodeCreated is watched), but no getData / getChildren watch
// on NoNode or NoAuth. Watch tables live on the session workers; this module only says which watch
// to add, and for setWatches which events fire at once instead.

import {
  checkAcl,
  defaultAuthProviders,
  maskDigestAcl,
  type AuthProviders,
} from '../../common/acl.js';
import {
  AddWatchMode,
  Err,
  EventType,
  OpCode,
  Perms,
  WatchKind,
  type OpCodeOf,
} from '../../common/zk.js';
import type {
  ACL,
  ClientRequest,
  MultiOp,
  MultiResult,
  ClientResponse,
  PathWatchRequest,
  SetWatches,
  SetWatches2,
} from '../../protocol/types.js';
import { replyBodyBytesMax } from '../../shm/records.js';
import type { DataTree } from '../tree/data-tree.js';
import type { DataNode } from '../tree/node.js';
import type { RequestContext } from './context.js';
import { clientVisibleData } from '../sessions/secret.js';

/** The kind of watch a read registers: common/zk.ts's WatchKind, which the ring records carry
 *  unchanged. */
export { WatchKind };

export class WatchRegistration {
  constructor(
    readonly path: string,
    readonly kind: WatchKind,
  ) {}
}

/** What one read yields. One per read, so its arguments are positional, not an options object:
 *  making one allocates nothing else (no per-record allocation on hot paths). */
export class ReadResult {
  constructor(
    /** The reply header's err (Err.ok or a KeeperException code). */
    readonly err: number,
    /** The reply body; null on error or for replies without one (addWatch, setWatches). */
    readonly response: ClientResponse | null,
    /** A watch to add for this session, or null. May be set with err NoNode (exists). */
    readonly watch: WatchRegistration | null,
    /** The reply would be over `replyBytesMax` (ReadsOptions): it was not built, and the
     *  connection is closed instead (ReplyFlag.tooLarge). */
    readonly tooLarge = false,
  ) {}
}

/** Jute bytes of a Stat (a getData result carries one). */
const statBytes = 68;
/** Jute bytes of a MultiHeader (type, done, err): one before each result and one at the end. */
const multiHeaderBytes = 9;

export interface ReadsOptions {
  /** Authentication schemes ACLs may name (ProviderRegistry). */
  authProviders?: AuthProviders;
  /** exists needs READ on an existing node, as from ZooKeeper 3.8.4 (ZOOKEEPER-2590). Default
   *  false: 3.8.0, which lets anyone stat any node. */
  existsChecksRead?: boolean;
  /** A multiRead whose reply would be larger stops collecting results (its reply is
   *  `tooLarge`): the rings deliver no larger reply (default replyBodyBytesMax). */
  replyBytesMax?: number;
}

export class Reads {
  private readonly providers: AuthProviders;
  private readonly existsChecksRead: boolean;
  private readonly replyBytesMax: number;

  constructor(
    private readonly tree: DataTree,
    opts: ReadsOptions = {},
  ) {
    this.providers = opts.authProviders ?? defaultAuthProviders;
    this.existsChecksRead = opts.existsChecksRead ?? false;
    this.replyBytesMax = opts.replyBytesMax ?? replyBodyBytesMax;
  }

  /** Serves a read request (what Core.read hands on: not sync, addWatch or setWatches, and never
   *  whoAmI, which the worker answers). setWatches goes through `setWatches`. */
  read(ctx: RequestContext, request: ClientRequest): ReadResult {
    switch (request.op) {
      case OpCode.exists:
        return this.exists(ctx, request.req);
      case OpCode.getData:
        return this.getData(ctx, request.req);
      case OpCode.getChildren:
      case OpCode.getChildren2:
        return this.getChildren(ctx, request.op, request.req);
      case OpCode.getACL:
        return this.getACL(ctx, request.req.path);
      case OpCode.getAllChildrenNumber:
        return this.getAllChildrenNumber(ctx, request.req.path);
      case OpCode.getEphemerals: {
        const ephemerals = this.tree.getEphemerals(ctx.sessionId, request.req.path);
        return new ReadResult(Err.ok, { op: OpCode.getEphemerals, res: { ephemerals } }, null);
      }
      case OpCode.multiRead:
        return this.multiRead(ctx, request.req);
      case OpCode.sync:
        return new ReadResult(Err.ok, { op: OpCode.sync, res: { path: request.req.path } }, null);
      case OpCode.addWatch:
        return this.addWatch(request.req.path, request.req.mode);
      default:
        return new ReadResult(Err.unimplemented, null, null);
    }
  }

  /** OpCode.exists: a NUL in the path is BadArguments; no ACL check in 3.8.0 ("TODO we need to
   *  figure out the security requirement for this!"), READ on an existing node with
   *  existsChecksRead (ZOOKEEPER-2590, 3.8.4+); the watch is registered whether or not the node
   *  exists. */
  private exists(ctx: RequestContext, req: PathWatchRequest): ReadResult {
    const path = req.path;
    if (path.includes('\u0000')) return new ReadResult(Err.badArguments, null, null);
    const node = this.tree.getNode(path);
    if (
      this.existsChecksRead &&
      node !== undefined &&
      !checkAcl(node.acl, Perms.read, ctx.authIds, this.providers)
    ) {
      return new ReadResult(Err.noAuth, null, null);
    }
    const watch = req.watch ? new WatchRegistration(path, WatchKind.exist) : null;
    if (node === undefined) return new ReadResult(Err.noNode, null, watch);
    return new ReadResult(Err.ok, { op: OpCode.exists, res: { stat: this.tree.statOf(node) } }, watch);
  }

  private getData(ctx: RequestContext, req: PathWatchRequest): ReadResult {
    const node = this.readable(ctx, req.path);
    if (typeof node === 'number') return new ReadResult(node, null, null);
    const watch = req.watch ? new WatchRegistration(req.path, WatchKind.data) : null;
    return new ReadResult(
      Err.ok,
      { op: OpCode.getData, res: { data: clientVisibleData(req.path, node.data), stat: this.tree.statOf(node) } },
      watch,
    );
  }

  private getChildren(ctx: RequestContext, op: OpCodeOf<'getChildren' | 'getChildren2'>, req: PathWatchRequest): ReadResult {
    const node = this.readable(ctx, req.path);
    if (typeof node === 'number') return new ReadResult(node, null, null);
    const watch = req.watch ? new WatchRegistration(req.path, WatchKind.child) : null;
    const children = this.tree.getChildren(node);
    if (op === OpCode.getChildren)
      return new ReadResult(Err.ok, { op: OpCode.getChildren, res: { children } }, watch);
    return new ReadResult(
      Err.ok,
      { op: OpCode.getChildren2, res: { children, stat: this.tree.statOf(node) } },
      watch,
    );
  }

  /** OpCode.getACL: READ or ADMIN lets a client see the ACL; without ADMIN, digest ids are
   *  masked to "user:x" (ZOOKEEPER-1392). */
  private getACL(ctx: RequestContext, path: string): ReadResult {
    const node = this.tree.getNode(path);
    if (node === undefined) return new ReadResult(Err.noNode, null, null);
    if (!checkAcl(node.acl, Perms.read | Perms.admin, ctx.authIds, this.providers)) {
      return new ReadResult(Err.noAuth, null, null);
    }
    const stat = this.tree.statOf(node);
    const acl: ACL[] = checkAcl(node.acl, Perms.admin, ctx.authIds, this.providers)
      ? [...node.acl]
      : maskDigestAcl(node.acl);
    return new ReadResult(Err.ok, { op: OpCode.getACL, res: { acl, stat } }, null);
  }

  private getAllChildrenNumber(ctx: RequestContext, path: string): ReadResult {
    const node = this.readable(ctx, path);
    if (typeof node === 'number') return new ReadResult(node, null, null);
    const totalNumber = this.tree.getAllChildrenNumber(path);
    return new ReadResult(Err.ok, { op: OpCode.getAllChildrenNumber, res: { totalNumber } }, null);
  }

  /** OpCode.multiRead: each op answers on its own (NoNode, NoAuth as error results); none sets a
   *  watch (Op.getData / Op.getChildren carry no watch flag). A write op fails the whole request
   *  with MarshallingError. One request of ~1 MiB can name the same large node ~100,000 times:
   *  the results' size is counted as they are collected (a lower bound of their jute bytes), and
   *  past replyBytesMax collecting stops and the reply is `tooLarge`, so neither the work nor the
   *  memory grows past that bound. */
  private multiRead(ctx: RequestContext, ops: readonly MultiOp[]): ReadResult {
    for (const op of ops) {
      if (op.op !== OpCode.getData && op.op !== OpCode.getChildren) {
        return new ReadResult(Err.marshallingError, null, null);
      }
    }
    const results: MultiResult[] = [];
    let bytes = multiHeaderBytes;
    for (const op of ops) {
      bytes += multiHeaderBytes;
      const node = this.readable(ctx, op.req.path);
      if (typeof node === 'number') {
        results.push({ op: OpCode.error, err: node });
        bytes += 4;
      } else if (op.op === OpCode.getData) {
        const data = clientVisibleData(op.req.path, node.data);
        results.push({ op: OpCode.getData, data, stat: this.tree.statOf(node) });
        bytes += 4 + (data === null ? 0 : data.length) + statBytes;
      } else {
        const children = this.tree.getChildren(node);
        results.push({ op: OpCode.getChildren, children });
        bytes += 4;
        // A UTF-8 name has at least as many bytes as UTF-16 units.
        for (let i = 0; i < children.length; i++) bytes += 4 + children[i]!.length;
      }
      if (bytes > this.replyBytesMax) return new ReadResult(Err.ok, null, null, true);
    }
    return new ReadResult(Err.ok, { op: OpCode.multiRead, res: results }, null);
  }

  /** OpCode.addWatch (DataTree.addWatch): no existence or ACL check; the events themselves are
   *  filtered by READ when they fire. An unknown mode fails as ZooKeeper's
   *  WatcherMode.fromZooDef does (an exception: MarshallingError). */
  private addWatch(path: string, mode: number): ReadResult {
    let kind: WatchKind;
    if (mode === AddWatchMode.persistent) kind = WatchKind.persistent;
    else if (mode === AddWatchMode.persistentRecursive) kind = WatchKind.persistentRecursive;
    else return new ReadResult(Err.marshallingError, null, null);
    return new ReadResult(Err.ok, { op: OpCode.addWatch, res: null }, new WatchRegistration(path, kind));
  }

  /** The node if it exists and the client may READ it, else NoNode / NoAuth. */
  private readable(ctx: RequestContext, path: string): DataNode | number {
    const node = this.tree.getNode(path);
    if (node === undefined) return Err.noNode;
    if (!checkAcl(node.acl, Perms.read, ctx.authIds, this.providers)) return Err.noAuth;
    return node;
  }

  // ---- setWatches ----------------------------------------------------------------------------

  /**
   * setWatches / setWatches2 after a reconnect (DataTree.setWatches): a watch whose change the
   * client missed since `relativeZxid` fires at once, the others are registered again:
   * - data: node gone → NodeDeleted; mzxid > relativeZxid → NodeDataChanged; else registered;
   * - exist: node there → NodeCreated; else registered;
   * - child: node gone → NodeDeleted; pzxid > relativeZxid → NodeChildrenChanged; else
   *   registered;
   * - persistent and persistent-recursive: always registered.
   * Events come out in that order (data, exist, child), each with the node's ACL (null when the
   * node is gone) for the READ filter 3.8.4+ applies to delivered events (the core applies it to
   * these before sending them, as 3.8.7 does).
   */
  setWatches(
    request: SetWatches | SetWatches2,
    v2 = 'persistentWatches' in request,
  ): SetWatchesResult {
    const fire: FiredWatch[] = [];
    const register: WatchList[] = [];
    const relativeZxid = request.relativeZxid;
    const tree = this.tree;
    // A list whose watches all register is handed on as it is (no copy, no object per path):
    // the common case, and the cost of a setWatches of ~95,000 paths.
    let paths = request.dataWatches;
    let kept: string[] | null = null;
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const node = tree.getNode(path);
      let f: FiredWatch | null = null;
      if (node === undefined) f = new FiredWatch(path, EventType.nodeDeleted, null);
      else if (node.mzxid > relativeZxid) f = new FiredWatch(path, EventType.nodeDataChanged, node.acl);
      if (f !== null) {
        fire.push(f);
        kept ??= paths.slice(0, i);
      } else if (kept !== null) kept.push(path);
    }
    if (paths.length > 0) register.push(new WatchList(WatchKind.data, kept ?? paths));
    paths = request.existWatches;
    kept = null;
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const node = tree.getNode(path);
      if (node !== undefined) {
        fire.push(new FiredWatch(path, EventType.nodeCreated, node.acl));
        kept ??= paths.slice(0, i);
      } else if (kept !== null) kept.push(path);
    }
    if (paths.length > 0) register.push(new WatchList(WatchKind.exist, kept ?? paths));
    paths = request.childWatches;
    kept = null;
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const node = tree.getNode(path);
      let f: FiredWatch | null = null;
      if (node === undefined) f = new FiredWatch(path, EventType.nodeDeleted, null);
      else if (node.pzxid > relativeZxid) f = new FiredWatch(path, EventType.nodeChildrenChanged, node.acl);
      if (f !== null) {
        fire.push(f);
        kept ??= paths.slice(0, i);
      } else if (kept !== null) kept.push(path);
    }
    if (paths.length > 0) register.push(new WatchList(WatchKind.child, kept ?? paths));
    if (v2 && 'persistentWatches' in request) {
      if (request.persistentWatches.length > 0) {
        register.push(new WatchList(WatchKind.persistent, request.persistentWatches));
      }
      if (request.persistentRecursiveWatches.length > 0) {
        register.push(new WatchList(WatchKind.persistentRecursive, request.persistentRecursiveWatches));
      }
    }
    return new SetWatchesResult(fire, register);
  }
}

/** A watch event setWatches delivers at once, instead of registering the watch. */
export class FiredWatch {
  constructor(
    readonly path: string,
    /** EventType */
    readonly type: number,
    readonly acl: readonly ACL[] | null,
  ) {}
}

/** Watches of one kind setWatches registers: the request's own list when none of it fired. */
export class WatchList {
  constructor(
    /** WatchKind */
    readonly kind: number,
    readonly paths: readonly string[],
  ) {}
}

export class SetWatchesResult {
  constructor(
    /** Events to send now, in order. */
    readonly fire: FiredWatch[],
    /** Watches to add for the session, in order (data, exist, child, persistent, recursive). */
    readonly register: WatchList[],
  ) {}
}
