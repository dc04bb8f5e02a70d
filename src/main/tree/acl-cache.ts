// ReferenceCountedACLCache: every distinct ACL list is stored once, under a number, and nodes
// refer to that entry. Most trees use a handful of ACLs, so this saves one array per node, and the
// numbered table is what a snapshot writes (ZooKeeper's snapshot has the same map, then nodes that
// carry the number). The built-in nodes use -1, ZooKeeper's id for OPEN_ACL_UNSAFE.

import { openAclUnsafe } from '../../common/acl.js';
import { assert } from '../../common/assert.js';
import type { ACL } from '../../protocol/types.js';

export class AclEntry {
  constructor(
    readonly id: number,
    readonly acl: readonly ACL[],
    /** Nodes using this entry. The open entry (-1) is never released. */
    public refs: number,
  ) {}
}

/** ReferenceCountedACLCache.OPEN_UNSAFE_ACL_ID */
export const openAclId = -1;

export class AclCache {
  private readonly byKey = new Map<string, AclEntry>();
  private readonly byId = new Map<number, AclEntry>();
  private nextId = 1;
  readonly open: AclEntry = new AclEntry(openAclId, openAclUnsafe, 0);

  /** The entry for `acl`, with one more reference (ReferenceCountedACLCache.convertAcls). The
   *  list is copied once, when first seen; callers may reuse theirs. */
  intern(acl: readonly ACL[]): AclEntry {
    const key = aclKey(acl);
    let entry = this.byKey.get(key);
    if (entry === undefined) {
      const frozen = Object.freeze(
        acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ ...a.id }) })),
      );
      entry = new AclEntry(this.nextId++, frozen, 0);
      this.byKey.set(key, entry);
      this.byId.set(entry.id, entry);
    }
    entry.refs++;
    return entry;
  }

  /** One reference fewer; the entry goes when none is left (removeUsage). */
  release(entry: AclEntry): void {
    if (entry.id === openAclId) return;
    entry.refs--;
    assert(entry.refs >= 0, `acl entry ${entry.id} released more often than used`);
    if (entry.refs === 0) {
      this.byKey.delete(aclKey(entry.acl));
      this.byId.delete(entry.id);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** Entries in id order, for a snapshot (the open entry is implied and not listed). */
  entries(): AclEntry[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  clear(): void {
    this.byKey.clear();
    this.byId.clear();
    this.nextId = 1;
  }

  /** Re-creates a numbered entry from a snapshot, with no references yet. */
  restore(id: number, acl: readonly ACL[]): AclEntry {
    if (id === openAclId) return this.open;
    const key = aclKey(acl);
    assert(!this.byId.has(id) && !this.byKey.has(key), `acl entry ${id} restored twice`);
    const entry = new AclEntry(id, Object.freeze([...acl]), 0);
    this.byKey.set(key, entry);
    this.byId.set(id, entry);
    if (id >= this.nextId) this.nextId = id + 1;
    return entry;
  }

  byNumber(id: number): AclEntry | undefined {
    return id === openAclId ? this.open : this.byId.get(id);
  }

  /** Drops restored entries no node took (ReferenceCountedACLCache.purgeUnused). */
  purgeUnused(): void {
    for (const entry of [...this.byId.values()]) {
      if (entry.refs === 0) {
        this.byKey.delete(aclKey(entry.acl));
        this.byId.delete(entry.id);
      }
    }
  }
}

/** A string naming an ACL list exactly (order matters, as List.equals does). */
function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (const a of acl) key += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return key;
}
