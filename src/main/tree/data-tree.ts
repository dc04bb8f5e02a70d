// The znode tree (ZooKeeper's DataTree): a map from full path to node plus each node's child
// names, the ephemerals of each session, the container and TTL sets, a running data size (mntr's
// approximate_data_size) and a running digest. Pure: no I/O, no clock; zxids and times come in
// with the transactions. Mutations follow DataTree.createNode / deleteNode / setData / setACL /
// killSession exactly, including their leniency when a transaction is replayed over a fuzzy
// snapshot (a create of an existing node, a delete of a missing one), and report the watch events
// they raise in a caller's array, in ZooKeeper's order.

import { assert } from '../../common/assert.js';
import { basename, parentPath } from '../../common/path.js';
import { Err, EventType, ZkPaths } from '../../common/zk.js';
import { readAclUnsafe } from '../../common/acl.js';
import type { ACL, Stat, StatPersisted } from '../../protocol/types.js';
import { AclCache } from './acl-cache.js';
import { DigestSum, nodeDigest } from './digest.js';
import { canonicalOwner, EphemeralKind, ephemeralKind } from './ephemeral.js';
import { DataNode, statOf, WatchTrigger } from './node.js';
import {
  QuotaIndex,
  quotaLimitNode,
  quotaPathOf,
  quotaStatNode,
  quotaStatPath,
  StatsTrack,
} from './quota.js';

export interface DataTreeOptions {
  /** zookeeper.extendedTypesEnabled: TTL nodes exist (default false in ZooKeeper). */
  extendedTypesEnabled: boolean;
}

/** The persisted part of a node, as a snapshot stores it (StatPersisted + data + ACL number). */
export interface PersistedNode extends StatPersisted {
  data: Uint8Array | null;
  aclId: number;
}

const emptyData = new Uint8Array(0);

export class DataTree {
  readonly extendedTypesEnabled: boolean;
  private readonly nodes = new Map<string, DataNode>();
  private readonly acls = new AclCache();
  /** session id (signed) → paths of its ephemerals */
  private readonly ephemerals = new Map<bigint, Set<string>>();
  /** session id (signed) → what its ephemerals' paths take in a CloseSessionTxn's list */
  private readonly ephemeralListBytes = new Map<bigint, number>();
  private readonly containerPaths = new Set<string>();
  private readonly ttlPaths = new Set<string>();
  private readonly digestSum = new DigestSum();
  private dataSize = 0;
  private root: DataNode;
  /** The quota'd paths (DataTree.pTrie): a limits node under /zookeeper/quota adds one. */
  readonly quotas = new QuotaIndex();

  constructor(opts: DataTreeOptions) {
    this.extendedTypesEnabled = opts.extendedTypesEnabled;
    this.root = this.builtInNode();
    this.addBuiltIns();
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** The node at `path`; "" is the root too, as in ZooKeeper's map. */
  getNode(path: string): DataNode | undefined {
    return path === '' ? this.root : this.nodes.get(path);
  }

  statOf(node: DataNode): Stat {
    return statOf(node, this.extendedTypesEnabled);
  }

  /** Nodes in the tree, the root included. */
  get nodeCount(): number {
    return this.nodes.size;
  }

  /** ZooKeeper's getNodeCount() (mntr zk_znode_count): its map holds the root twice ("" and "/"),
   *  so a fresh tree reports 5. */
  get zkNodeCount(): number {
    return this.nodes.size + 1;
  }

  /** DataTree.cachedApproximateDataSize(): path lengths plus data lengths (mntr). */
  get approximateDataSize(): number {
    return this.dataSize;
  }

  /** DataTree.getTreeDigest() (digest version 2). */
  treeDigest(): bigint {
    return this.digestSum.value();
  }

  /** getAllChildrenNumber: every node below `path` (for "/", all nodes but the root). */
  getAllChildrenNumber(path: string): number {
    const node = this.getNode(path);
    if (node === undefined) return 0;
    if (node === this.root) return this.nodes.size - 1;
    let count = 0;
    const stack: DataNode[] = [node];
    const paths: string[] = [path];
    while (stack.length > 0) {
      const n = stack.pop();
      const p = paths.pop();
      if (n === undefined || p === undefined || n.children === null) continue;
      for (const name of n.children) {
        const childPath = `${p}/${name}`;
        const child = this.nodes.get(childPath);
        if (child === undefined) continue;
        count++;
        stack.push(child);
        paths.push(childPath);
      }
    }
    return count;
  }

  /** Children names in the tree's order (ZooKeeper returns HashSet order; clients sort). */
  getChildren(node: DataNode): string[] {
    return node.children === null ? [] : [...node.children];
  }

  /** The paths of a session's ephemerals (live view; do not keep across mutations). */
  ephemeralsOf(sessionId: bigint): ReadonlySet<string> | undefined {
    return this.ephemerals.get(canonicalOwner(sessionId));
  }

  /** The bytes a CloseSessionTxn listing every ephemeral of the session spends on the paths
   *  (each a 4-byte length and its UTF-8): what bounds what one session may own. */
  ephemeralListBytesOf(sessionId: bigint): number {
    return this.ephemeralListBytes.get(canonicalOwner(sessionId)) ?? 0;
  }

  /**
   * getEphemerals request (FinalRequestProcessor): all of the session's ephemerals when `prefix`
   * is blank or "/", else those whose path starts with `prefix` (a string prefix, not a subtree).
   */
  getEphemerals(sessionId: bigint, prefix: string): string[] {
    const all = this.ephemeralsOf(sessionId);
    if (all === undefined) return [];
    const trimmed = javaTrim(prefix);
    if (trimmed === '' || trimmed === '/') return [...all];
    const out: string[] = [];
    for (const p of all) if (p.startsWith(prefix)) out.push(p);
    return out;
  }

  /** Sessions that own at least one ephemeral (DataTree.getSessions). */
  sessionsWithEphemerals(): IterableIterator<bigint> {
    return this.ephemerals.keys();
  }

  /** mntr zk_ephemerals_count */
  get ephemeralsCount(): number {
    let count = 0;
    for (const set of this.ephemerals.values()) count += set.size;
    return count;
  }

  get containers(): ReadonlySet<string> {
    return this.containerPaths;
  }

  get ttls(): ReadonlySet<string> {
    return this.ttlPaths;
  }

  get aclCacheSize(): number {
    return this.acls.size;
  }

  // ---- mutations (the apply step) ------------------------------------------------------------

  /**
   * DataTree.createNode. `parentCVersion` is the CreateTxn's (the parent's new persisted
   * cversion; -1: one more than now); the parent's cversion and pzxid move only forward, so a
   * replayed create cannot take them back. Returns the new node, or Err.noNode (no parent) or
   * Err.nodeExists, in which case the existing node takes the txn's ACL (ZooKeeper's fix for
   * ACLs missing after a fuzzy snapshot).
   */
  createNode(
    path: string,
    data: Uint8Array | null,
    acl: readonly ACL[],
    ephemeralOwner: bigint,
    parentCVersion: number,
    zxid: number,
    timeMs: number,
    triggers: WatchTrigger[] | null,
  ): DataNode | number {
    const parentName = parentPath(path);
    const parent = this.nodes.get(parentName);
    if (parent === undefined || parentName === '') return Err.noNode;
    const owner = canonicalOwner(ephemeralOwner);
    const entry = this.acls.intern(acl);
    const existing = this.nodes.get(path);
    if (existing !== undefined) {
      this.acls.release(existing.aclEntry);
      existing.aclEntry = entry;
      return Err.nodeExists;
    }
    this.digestSum.remove(parent.digest);
    let cversion = parentCVersion;
    if (cversion === -1) cversion = (parent.cversion + 1) | 0;
    if (cversion > parent.cversion) {
      parent.cversion = cversion;
      parent.pzxid = zxid;
    }
    const node = new DataNode(data, entry, zxid, zxid, timeMs, timeMs, 0, 0, 0, owner, zxid);
    if (parent.children === null) parent.children = new Set();
    parent.children.add(basename(path));
    this.refreshDigest(parentName, parent);
    this.nodes.set(path, node);
    node.digest = nodeDigest(path, data, node);
    this.digestSum.add(node.digest);
    this.dataSize += path.length + node.dataLength;
    this.trackOwner(path, owner);
    this.quotaOnCreate(parentName, path, node.dataLength);
    if (triggers !== null) {
      triggers.push(new WatchTrigger(path, EventType.nodeCreated, node.acl));
      triggers.push(new WatchTrigger(parentName, EventType.nodeChildrenChanged, parent.acl));
    }
    return node;
  }

  /**
   * DataTree.deleteNode. The parent forgets the child name and takes pzxid = zxid (if larger)
   * even when the node itself is already gone. Returns Err.ok or Err.noNode.
   */
  deleteNode(path: string, zxid: number, triggers: WatchTrigger[] | null): number {
    const parentName = parentPath(path);
    const parent = parentName === '' ? undefined : this.nodes.get(parentName);
    if (parent === undefined) return Err.noNode;
    this.digestSum.remove(parent.digest);
    parent.children?.delete(basename(path));
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.refreshDigest(parentName, parent);
    const node = this.nodes.get(path);
    if (node === undefined) return Err.noNode;
    this.nodes.delete(path);
    this.digestSum.remove(node.digest);
    this.dataSize -= path.length + node.dataLength;
    this.acls.release(node.aclEntry);
    this.untrackOwner(path, node.ephemeralOwner);
    this.quotaOnDelete(parentName, path, node.dataLength);
    if (triggers !== null) {
      triggers.push(new WatchTrigger(path, EventType.nodeDeleted, node.acl));
      triggers.push(new WatchTrigger(parentName, EventType.nodeChildrenChanged, parent.acl));
    }
    return Err.ok;
  }

  /** DataTree.setData: the txn carries the new version. Returns the node or Err.noNode. */
  setData(
    path: string,
    data: Uint8Array | null,
    version: number,
    zxid: number,
    timeMs: number,
    triggers: WatchTrigger[] | null,
  ): DataNode | number {
    const node = this.getNode(path);
    if (node === undefined) return Err.noNode;
    this.digestSum.remove(node.digest);
    const bytesDiff = (data === null ? 0 : data.length) - node.dataLength;
    this.dataSize += bytesDiff;
    node.data = data;
    node.mtime = timeMs;
    node.mzxid = zxid;
    node.version = version;
    this.refreshDigest(path, node);
    const quota = this.quotas.quotaOf(path);
    if (quota !== null) this.updateQuotaStat(quota, bytesDiff, 0);
    if (triggers !== null)
      triggers.push(new WatchTrigger(path, EventType.nodeDataChanged, node.acl));
    return node;
  }

  /** DataTree.setACL: no watch fires. Returns the node or Err.noNode. */
  setACL(path: string, acl: readonly ACL[], aversion: number): DataNode | number {
    const node = this.getNode(path);
    if (node === undefined) return Err.noNode;
    this.digestSum.remove(node.digest);
    const entry = this.acls.intern(acl);
    this.acls.release(node.aclEntry);
    node.aclEntry = entry;
    node.aversion = aversion;
    this.refreshDigest(path, node);
    return node;
  }

  /**
   * DataTree.setCversionPzxid: after a create that found its node already there (a replay), the
   * parent still takes the txn's cversion and pzxid if they are newer. Returns Err.ok or noNode.
   */
  setCversionPzxid(path: string, newCversion: number, zxid: number): number {
    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const node = this.getNode(p);
    if (node === undefined) return Err.noNode;
    const cversion = newCversion === -1 ? (node.cversion + 1) | 0 : newCversion;
    if (cversion > node.cversion) {
      this.digestSum.remove(node.digest);
      node.cversion = cversion;
      node.pzxid = zxid;
      this.refreshDigest(p, node);
    }
    return Err.ok;
  }

  /**
   * DataTree.killSession: deletes the paths the CloseSessionTxn lists, then any other ephemeral
   * the tree still holds for the session (ZooKeeper logs those as unexpected and deletes them
   * too). Paths already gone are skipped.
   */
  killSession(
    sessionId: bigint,
    zxid: number,
    paths: readonly string[],
    triggers: WatchTrigger[] | null,
  ): void {
    const owner = canonicalOwner(sessionId);
    const local = this.ephemerals.get(owner);
    this.ephemerals.delete(owner);
    this.ephemeralListBytes.delete(owner);
    for (const path of paths) {
      this.deleteNode(path, zxid, triggers);
      local?.delete(path);
    }
    if (local !== undefined) {
      for (const path of local) this.deleteNode(path, zxid, triggers);
    }
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /**
   * Visits every node parent-first (DataTree.serializeNode's order, which a restore needs), the
   * root as "/". Do not mutate the tree from the visitor.
   */
  forEachNode(visit: (path: string, node: DataNode) => void): void {
    const stack: string[] = ['/'];
    while (stack.length > 0) {
      const path = stack.pop();
      if (path === undefined) break;
      const node = this.nodes.get(path);
      if (node === undefined) continue;
      visit(path, node);
      if (node.children === null) continue;
      const prefix = path === '/' ? '/' : `${path}/`;
      // Push in reverse so that children come out in the tree's order.
      const names = [...node.children];
      for (let i = names.length - 1; i >= 0; i--) stack.push(prefix + (names[i] ?? ''));
    }
  }

  /** The numbered ACL lists nodes refer to (the snapshot's ACL map; -1 is implied). */
  aclTable(): { id: number; acl: readonly ACL[] }[] {
    return this.acls.entries().map((e) => ({ id: e.id, acl: e.acl }));
  }

  /** The ACL number of a node, for a snapshot. */
  aclIdOf(node: DataNode): number {
    return node.aclEntry.id;
  }

  /** Starts loading a snapshot: the tree becomes empty (no root) until endRestore. */
  beginRestore(acls: readonly { id: number; acl: readonly ACL[] }[]): void {
    this.nodes.clear();
    this.acls.clear();
    this.ephemerals.clear();
    this.ephemeralListBytes.clear();
    this.containerPaths.clear();
    this.ttlPaths.clear();
    this.quotas.clear();
    for (const a of acls) this.acls.restore(a.id, a.acl);
  }

  /** Adds one node of a snapshot; parents come before children ("/" first). */
  restoreNode(path: string, persisted: PersistedNode): void {
    const entry = this.acls.byNumber(persisted.aclId);
    assert(entry !== undefined, `snapshot node ${path} refers to unknown acl ${persisted.aclId}`);
    entry.refs++;
    const owner = canonicalOwner(persisted.ephemeralOwner);
    const node = new DataNode(
      persisted.data,
      entry,
      persisted.czxid,
      persisted.mzxid,
      persisted.ctime,
      persisted.mtime,
      persisted.version,
      persisted.cversion,
      persisted.aversion,
      owner,
      persisted.pzxid,
    );
    if (path === '/') {
      this.root = node;
    } else {
      const parent = this.nodes.get(parentPath(path));
      assert(parent !== undefined, `snapshot node ${path} comes before its parent`);
      if (parent.children === null) parent.children = new Set();
      parent.children.add(basename(path));
      this.trackOwner(path, owner);
    }
    this.nodes.set(path, node);
  }

  /** Finishes a snapshot load: derived state (data size, digests) is recomputed. */
  endRestore(): void {
    assert(this.nodes.get('/') === this.root, 'snapshot has no root');
    this.acls.purgeUnused();
    this.dataSize = 0;
    this.digestSum.reset();
    for (const [path, node] of this.nodes) {
      this.dataSize += path.length + node.dataLength;
      node.digest = nodeDigest(path, node.data, node);
      this.digestSum.add(node.digest);
    }
    this.setupQuotas();
  }

  // ---- quotas (DataTree.updateQuotaStat, updateQuotaForPath, setupQuota) --------------------

  /**
   * DataTree.setupQuota, after a snapshot load (and after recovery, when the log has been
   * replayed over a fuzzy snapshot): every leaf limits node under /zookeeper/quota names a
   * quota'd path; its stats node is recounted from the subtree.
   */
  setupQuotas(): void {
    this.quotas.clear();
    const end = `/${quotaLimitNode}`;
    const stack = [ZkPaths.quota as string];
    for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
      const node = this.nodes.get(path);
      if (node === undefined) continue;
      if (node.children === null || node.children.size === 0) {
        if (!path.endsWith(end)) continue;
        const quotaPath = path.slice(ZkPaths.quota.length, path.indexOf(end));
        if (quotaPath === '') continue; // ZooKeeper 3.8 fails to start on this one
        this.updateQuotaForPath(quotaPath);
        this.quotas.add(quotaPath);
        continue;
      }
      for (const name of node.children) stack.push(`${path}/${name}`);
    }
  }

  /** A node was created: a limits node adds its quota, a stats node is counted; then the
   *  node counts in its own quota (DataTree.createNode). */
  private quotaOnCreate(parentName: string, path: string, bytes: number): void {
    const quotaPath = quotaPathOf(parentName);
    if (quotaPath !== null) {
      const name = basename(path);
      if (name === quotaLimitNode) this.quotas.add(quotaPath);
      else if (name === quotaStatNode) this.updateQuotaForPath(quotaPath);
    }
    const quota = this.quotas.quotaOf(path);
    if (quota !== null) this.updateQuotaStat(quota, bytes, 1);
  }

  /** A node was deleted: a limits node takes its quota away; the node leaves its quota. */
  private quotaOnDelete(parentName: string, path: string, bytes: number): void {
    const quotaPath = quotaPathOf(parentName);
    if (quotaPath !== null && basename(path) === quotaLimitNode) this.quotas.delete(quotaPath);
    const quota = this.quotas.quotaOf(path);
    if (quota !== null) this.updateQuotaStat(quota, -bytes, -1);
  }

  /** DataTree.updateQuotaStat: the stats node of `quotaPath` moves by the diffs (no version,
   *  zxid or watch: only the apply step writes it, the same way on every replica). */
  private updateQuotaStat(quotaPath: string, bytesDiff: number, countDiff: number): void {
    const statPath = quotaStatPath(quotaPath);
    const node = this.nodes.get(statPath);
    if (node === undefined) return; // ZooKeeper logs "Missing node for stat"
    const stats = StatsTrack.parse(node.data);
    stats.count += countDiff;
    stats.bytes += bytesDiff;
    this.replaceQuotaData(statPath, node, stats.bytesOf());
  }

  /** DataTree.updateQuotaForPath: the stats node says the count and data bytes of the subtree
   *  at `quotaPath` (itself included), and nothing else. */
  private updateQuotaForPath(quotaPath: string): void {
    const statPath = quotaStatPath(quotaPath);
    const statNode = this.nodes.get(statPath);
    if (statNode === undefined) return;
    let count = 0;
    let bytes = 0;
    const stack = [quotaPath];
    for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
      const node = this.nodes.get(path);
      if (node === undefined) continue;
      count++;
      bytes += node.dataLength;
      if (node.children !== null) for (const name of node.children) stack.push(`${path}/${name}`);
    }
    const stats = new StatsTrack();
    stats.bytes = bytes;
    stats.count = count;
    this.replaceQuotaData(statPath, statNode, stats.bytesOf());
  }

  /** A new buffer, never a write into the old one: a snapshot in progress may hold it. */
  private replaceQuotaData(path: string, node: DataNode, data: Uint8Array): void {
    this.digestSum.remove(node.digest);
    this.dataSize += data.length - node.dataLength;
    node.data = data;
    this.refreshDigest(path, node);
  }

  // ---- internals -----------------------------------------------------------------------------

  private builtInNode(): DataNode {
    return new DataNode(emptyData, this.acls.open, 0, 0, 0, 0, 0, 0, 0, 0n, 0);
  }

  /** "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config" (DataTree's constructor and
   *  addConfigNode: the config node is world-readable only, set with version -1). */
  private addBuiltIns(): void {
    const zookeeper = this.builtInNode();
    const quota = this.builtInNode();
    const config = this.builtInNode();
    this.root.children = new Set([basename(ZkPaths.zookeeper)]);
    zookeeper.children = new Set([basename(ZkPaths.quota), basename(ZkPaths.config)]);
    this.nodes.set(ZkPaths.root, this.root);
    this.nodes.set(ZkPaths.zookeeper, zookeeper);
    this.nodes.set(ZkPaths.quota, quota);
    this.nodes.set(ZkPaths.config, config);
    config.aclEntry = this.acls.intern(readAclUnsafe);
    config.aversion = -1;
    for (const [path, node] of this.nodes) {
      this.dataSize += path.length + node.dataLength;
      node.digest = nodeDigest(path, node.data, node);
      this.digestSum.add(node.digest);
    }
  }

  /** Recomputes a node's digest after a change and adds it back (NodeHashMap.postChange). */
  private refreshDigest(path: string, node: DataNode): void {
    node.digest = nodeDigest(path, node.data, node);
    this.digestSum.add(node.digest);
  }

  private trackOwner(path: string, owner: bigint): void {
    const kind = ephemeralKind(owner, this.extendedTypesEnabled);
    if (kind === EphemeralKind.container) {
      this.containerPaths.add(path);
    } else if (kind === EphemeralKind.ttl) {
      this.ttlPaths.add(path);
    } else if (kind === EphemeralKind.normal) {
      let set = this.ephemerals.get(owner);
      if (set === undefined) {
        set = new Set();
        this.ephemerals.set(owner, set);
      }
      if (set.has(path)) return;
      set.add(path);
      const bytes = this.ephemeralListBytes.get(owner) ?? 0;
      this.ephemeralListBytes.set(owner, bytes + listEntryBytes(path));
    }
  }

  private untrackOwner(path: string, owner: bigint): void {
    const kind = ephemeralKind(owner, this.extendedTypesEnabled);
    if (kind === EphemeralKind.container) {
      this.containerPaths.delete(path);
    } else if (kind === EphemeralKind.ttl) {
      this.ttlPaths.delete(path);
    } else if (kind === EphemeralKind.normal) {
      const set = this.ephemerals.get(owner);
      if (set === undefined || !set.delete(path)) return;
      if (set.size === 0) {
        this.ephemerals.delete(owner);
        this.ephemeralListBytes.delete(owner);
      } else {
        const bytes = this.ephemeralListBytes.get(owner) ?? 0;
        this.ephemeralListBytes.set(owner, bytes - listEntryBytes(path));
      }
    }
  }
}

/** One path in a jute vector<ustring> (CloseSessionTxn.paths2Delete): its length, its UTF-8. */
export function listEntryBytes(path: string): number {
  return 4 + Buffer.byteLength(path, 'utf8');
}

/** String.trim(): strips every char <= U+0020 from both ends. */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}
