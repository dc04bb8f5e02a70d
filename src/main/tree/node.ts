// A znode (DataNode) and the read-only view of a node's state that the write pipeline validates
// against (the tree's node, or an outstanding change not yet applied).

import type { ACL, Stat, StatPersisted } from '../../protocol/types.js';
import type { AclEntry } from './acl-cache.js';
import { clientEphemeralOwner } from './ephemeral.js';

/**
 * What prep reads of a node. `cversion` is ZooKeeper's *persisted* cversion: the number of
 * children ever created (sequential names come from it); clients see `2 * cversion - numChildren`
 * (DataNode.copyStat), i.e. creates plus deletes.
 */
export interface NodeState extends Readonly<StatPersisted> {
  readonly childCount: number;
  readonly acl: readonly ACL[];
  readonly data: Uint8Array | null;
}

/** DataNode + StatPersisted in one object. Fields are set in the constructor, in one order. One
 *  per znode (millions on a snapshot load), so its arguments are positional, not an options
 *  object: making one allocates nothing else (no per-record allocation on hot paths). */
export class DataNode implements NodeState, StatPersisted {
  /** Names of the children (not paths); null until the first child, as ZooKeeper does. */
  children: Set<string> | null = null;
  /** This node's DigestCalculator digest, kept current by the tree. */
  digest = 0;

  constructor(
    /** The tree keeps the buffer it is given: callers pass one nothing else will write. */
    public data: Uint8Array | null,
    public aclEntry: AclEntry,
    public czxid: number,
    public mzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    /** Signed 64-bit; see ephemeral.ts. */
    public ephemeralOwner: bigint,
    public pzxid: number,
  ) {}

  get acl(): readonly ACL[] {
    return this.aclEntry.acl;
  }

  get childCount(): number {
    return this.children === null ? 0 : this.children.size;
  }

  get dataLength(): number {
    return this.data === null ? 0 : this.data.length;
  }
}

/** DataNode.copyStat: the Stat a client sees. */
export function statOf(node: DataNode, extendedTypesEnabled: boolean): Stat {
  const numChildren = node.childCount;
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    // Persisted cversion counts creates; for every create there is a delete except for the
    // children still present, so creates + deletes = 2 * creates - numChildren (v3 semantics).
    cversion: (node.cversion * 2 - numChildren) | 0,
    aversion: node.aversion,
    ephemeralOwner: clientEphemeralOwner(node.ephemeralOwner, extendedTypesEnabled),
    dataLength: node.dataLength,
    numChildren,
    pzxid: node.pzxid,
  };
}

/**
 * A watch event the apply step raises, in ZooKeeper's order (DataTree.createNode / deleteNode /
 * setData). The worker side matches it against watches:
 * - NodeCreated, NodeDataChanged: data and exist watches on `path`;
 * - NodeDeleted: data, exist *and child* watches on `path` (a session holding both gets one event);
 * - NodeChildrenChanged: child watches on `path` (the parent of the node created or deleted);
 * - persistent watches on `path` see all four; persistent-recursive watches on `path` or any
 *   ancestor see all but NodeChildrenChanged (WatchManager with PathParentIterator).
 * `acl` is the ACL of the node the event is about (the parent's for NodeChildrenChanged), or null
 * when there is none: ZooKeeper 3.8.4+ delivers an event only to watchers with READ on it
 * (CVE-2024-23944); the core sends its READ audience with the event (main/watches/readers.ts) and
 * each worker checks the sessions it notifies (workers/watches/readers.ts).
 */
export class WatchTrigger {
  constructor(
    readonly path: string,
    /** EventType */
    readonly type: number,
    readonly acl: readonly ACL[] | null,
  ) {}
}
