// Which session workers watch which paths: a bitmask of workers per path and watch kind
// (WatchManagerOptimized's idea, one level up: the main thread knows workers, not sessions).
// A change is sent once to each interested worker, which expands it to its own sessions.
//
// The masks mirror the workers' tables exactly for one-shot watches: a watch is registered here
// only when the main thread itself registers it (a read with watch=true, setWatches, addWatch),
// and a trigger clears the one-shot bits it consumes on every worker, just as each worker drops
// those watches. Watches a worker drops on its own (removeWatches, a session that ends) leave a
// stale bit at worst: one event a worker ignores, then the bit is gone.

import { EventType } from '../../common/zk.js';
import { WatchKind } from '../../shm/records.js';

export class WatchRouter {
  /** path → mask of workers, one map per kind (bit i: worker i). Small integers in maps, no
   *  object per path: setWatches registers up to ~95,000 paths in one request, and an object
   *  per path (a Uint32Array earlier, then a plain object of three masks) was most of its cost
   *  on this thread. */
  /** data and exist watches */
  private readonly data = new Map<string, number>();
  private readonly child = new Map<string, number>();
  private readonly persistent = new Map<string, number>();
  /** path → mask of workers with a persistent-recursive watch on it. */
  private readonly recursive = new Map<string, number>();

  register(worker: number, kind: number, path: string): void {
    const bit = 1 << worker;
    const masks =
      kind === WatchKind.persistentRecursive
        ? this.recursive
        : kind === WatchKind.child
          ? this.child
          : kind === WatchKind.persistent
            ? this.persistent
            : this.data;
    const m = masks.get(path);
    if (m === undefined) masks.set(path, bit);
    else if ((m & bit) === 0) masks.set(path, m | bit);
  }

  /** The workers a trigger must reach; consumes the one-shot bits it fires. */
  route(path: string, type: number): number {
    let workers = 0;
    const firesData =
      type === EventType.nodeCreated || type === EventType.nodeDeleted || type === EventType.nodeDataChanged;
    const firesChild = type === EventType.nodeChildrenChanged || type === EventType.nodeDeleted;
    if (firesData && this.data.size > 0) {
      const d = this.data.get(path);
      if (d !== undefined) {
        workers |= d;
        this.data.delete(path);
      }
    }
    if (firesChild && this.child.size > 0) {
      const c = this.child.get(path);
      if (c !== undefined) {
        workers |= c;
        this.child.delete(path);
      }
    }
    if (this.persistent.size > 0) workers |= this.persistent.get(path) ?? 0;
    if (this.recursive.size > 0 && type !== EventType.nodeChildrenChanged) {
      workers |= this.recursiveMask(path);
    }
    return workers >>> 0;
  }

  /** Persistent watches are removed only by removeWatches on a worker; drop a path's bits when
   *  a worker reports it has none left there. */
  forgetPersistent(worker: number, path: string): void {
    const bit = ~(1 << worker);
    for (const masks of [this.persistent, this.recursive]) {
      const m = masks.get(path);
      if (m === undefined) continue;
      if ((m & bit) === 0) masks.delete(path);
      else masks.set(path, m & bit);
    }
  }

  /** Paths with any watch registered (mntr's zk_watch_count is the workers' sum, not this). */
  get pathCount(): number {
    let n = this.data.size + this.recursive.size;
    for (const path of this.child.keys()) if (!this.data.has(path)) n++;
    for (const path of this.persistent.keys()) if (!this.data.has(path) && !this.child.has(path)) n++;
    return n;
  }

  private recursiveMask(path: string): number {
    let mask = this.recursive.get('/') ?? 0;
    if (path === '/') return mask;
    // Walk ancestors-or-self without building an array: /a, /a/b, ..., path.
    let i = path.indexOf('/', 1);
    while (i !== -1) {
      mask |= this.recursive.get(path.slice(0, i)) ?? 0;
      i = path.indexOf('/', i + 1);
    }
    return mask | (this.recursive.get(path) ?? 0);
  }
}
