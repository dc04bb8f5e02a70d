// ZooKeeper's ContainerManager.getCandidates as a pure function. The driver calls it every
// znode.container.checkIntervalMs (default 60 s) on the leader and submits a deleteContainer
// request (session 0, cxid 0) per path, at most znode.container.maxPerMinute (default 10000) a
// minute. Prep re-checks each one (NotEmpty, BadVersion) against the state it then sees.

import type { DataTree } from './data-tree.js';
import { EphemeralKind, ephemeralKind, ttlOfOwner } from './ephemeral.js';

export interface ContainerCheckOptions {
  /** znode.container.maxNeverUsedIntervalMs: a container that never had a child goes after this
   *  long since its last change; 0 (ZooKeeper's default) keeps such containers forever. */
  maxNeverUsedIntervalMs: number;
}

export const defaultContainerCheckOptions: ContainerCheckOptions = { maxNeverUsedIntervalMs: 0 };

/**
 * Paths to delete now (`nowMs` is wall time, as node mtimes are):
 * - containers without children that have had one (persisted cversion > 0: a new container is
 *   not removed before its first child arrives), or, if maxNeverUsedIntervalMs is set, that never
 *   had one and were last changed longer ago than that;
 * - TTL nodes without children whose mtime is more than their TTL ago (a setData renews them).
 * Containers first, then TTL nodes, each in the tree's order.
 */
export function containersToDelete(
  tree: DataTree,
  nowMs: number,
  opts: ContainerCheckOptions = defaultContainerCheckOptions,
): string[] {
  const candidates: string[] = [];
  for (const path of tree.containers) {
    const node = tree.getNode(path);
    if (node === undefined || node.childCount !== 0) continue;
    if (node.cversion > 0) {
      candidates.push(path);
    } else if (
      opts.maxNeverUsedIntervalMs !== 0 &&
      nowMs - node.mtime > opts.maxNeverUsedIntervalMs
    ) {
      candidates.push(path);
    }
  }
  for (const path of tree.ttls) {
    const node = tree.getNode(path);
    if (node === undefined || node.childCount !== 0) continue;
    if (ephemeralKind(node.ephemeralOwner, tree.extendedTypesEnabled) !== EphemeralKind.ttl)
      continue;
    const ttl = ttlOfOwner(node.ephemeralOwner);
    if (ttl !== 0 && nowMs - node.mtime > ttl) candidates.push(path);
  }
  return candidates;
}
