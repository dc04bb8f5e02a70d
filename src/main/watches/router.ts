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

/** The workers watching one path, a mask per kind (bit i: worker i). A plain object of small
 *  integers: a Uint32Array per path cost ~3x as much to make, and setWatches makes one per path
 *  of up to ~95,000 in one request. */
class PathMasks {
  /** data and exist watches */
  data = 0;
  child = 0;
  persistent = 0;
}

export class WatchRouter {
  private readonly masks = new Map<string, PathMasks>();
  /** path → mask of workers with a persistent-recursive watch on it. */
  private readonly recursive = new Map<string, number>();

  register(worker: number, kind: number, path: string): void {
    const bit = 1 << worker;
    if (kind === WatchKind.persistentRecursive) {
      this.recursive.set(path, (this.recursive.get(path) ?? 0) | bit);
      return;
    }
    let m = this.masks.get(path);
    if (m === undefined) {
      m = new PathMasks();
      this.masks.set(path, m);
    }
    if (kind === WatchKind.child) m.child |= bit;
    else if (kind === WatchKind.persistent) m.persistent |= bit;
    else m.data |= bit;
  }

  /** The workers a trigger must reach; consumes the one-shot bits it fires. */
  route(path: string, type: number): number {
    let workers = 0;
    const m = this.masks.get(path);
    if (m !== undefined) {
      const d = m.data;
      const c = m.child;
      const firesData =
        type === EventType.nodeCreated ||
        type === EventType.nodeDeleted ||
        type === EventType.nodeDataChanged;
      const firesChild = type === EventType.nodeChildrenChanged || type === EventType.nodeDeleted;
      if (firesData) {
        workers |= d;
        m.data = 0;
      }
      if (firesChild) {
        workers |= c;
        m.child = 0;
      }
      workers |= m.persistent;
      if (m.data === 0 && m.child === 0 && m.persistent === 0) this.masks.delete(path);
    }
    if (this.recursive.size > 0 && type !== EventType.nodeChildrenChanged) {
      workers |= this.recursiveMask(path);
    }
    return workers >>> 0;
  }

  /** Persistent watches are removed only by removeWatches on a worker; drop a path's bits when
   *  a worker reports it has none left there. */
  forgetPersistent(worker: number, path: string): void {
    const bit = ~(1 << worker);
    const m = this.masks.get(path);
    if (m !== undefined) m.persistent &= bit;
    const r = this.recursive.get(path);
    if (r !== undefined) {
      if ((r & bit) === 0) this.recursive.delete(path);
      else this.recursive.set(path, r & bit);
    }
  }

  /** Paths with any watch registered (mntr's zk_watch_count is the workers' sum, not this). */
  get pathCount(): number {
    return this.masks.size + this.recursive.size;
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
