// The watch table of one worker: path → (session slot, kind bits) pairs, and slot → paths for
// cleanup and the wchc report. It implements WatchManager.triggerWatch's matching (ZooKeeper
// 3.8, DataTree keeps a dataWatches and a childWatches WatchManager):
//
//   created / dataChanged: data + exist watches on the path fire and are consumed (dataWatches);
//   deleted:               data + exist + child watches on the path fire and are consumed
//                          (dataWatches, then childWatches with the already-notified set);
//   childrenChanged:       child watches on the path fire and are consumed (childWatches);
//   persistent (addWatch): fire on every one of those on the path and stay;
//   persistentRecursive:   fire for created / deleted / dataChanged on the path or any
//                          descendant and stay (never for childrenChanged).
//
// addWatch puts a persistent or recursive watch into both managers (DataTree.addWatch), so each
// has a data half and a child half, each its own bit: checkWatches / removeWatches of type Data
// see and remove the data half, Children the child half, Any both (DataTree.containsWatcher /
// removeWatch). A persistent watch left with its child half fires only for childrenChanged and
// deleted; a recursive one left with its child half only for deleted, on the path or below.
//
// A session is notified at most once per trigger however many of its watches match (the
// `supress` set ZooKeeper passes between the two managers), tracked by a per-slot stamp.
//
// Kinds are bits, so one (session, path) pair holds any mix of modes. This is what ZooKeeper 3.9
// does (WatchStats, ZOOKEEPER-4466); 3.8 kept one mode per pair and a later registration
// replaced the earlier one's mode.
//
// A path's first pair is kept in its entry and the others interleaved in one array; a pair is
// removed by swapping the last pair in, so add / remove are O(1) per pair; a trigger packs the
// pairs it leaves in one pass. The slot side records each pair's index.

import { assert } from '../../common/assert.js';
import { EventType, WatcherType } from '../../common/zk.js';
import { WatchKind } from '../../shm/records.js';

/** Watch bits: the one-shot kinds, and the data and child halves of the persistent ones. */
export const WatchBit = {
  data: 1 << 0,
  exist: 1 << 1,
  child: 1 << 2,
  persistentData: 1 << 3,
  persistentChild: 1 << 4,
  recursiveData: 1 << 5,
  recursiveChild: 1 << 6,
} as const;

/** Both halves of a persistent / recursive watch: what addWatch adds. */
export const persistentBits = WatchBit.persistentData | WatchBit.persistentChild;
export const recursiveBits = WatchBit.recursiveData | WatchBit.recursiveChild;
const standardData = WatchBit.data | WatchBit.exist;
/** Bits ZooKeeper keeps in DataTree.dataWatches, and in childWatches. */
const dataManagerBits = standardData | WatchBit.persistentData | WatchBit.recursiveData;
const childManagerBits = WatchBit.child | WatchBit.persistentChild | WatchBit.recursiveChild;
const allBits = dataManagerBits | childManagerBits;

/** The bits a WatchKind (watchRegister record) adds. */
export function watchKindBits(kind: number): number {
  switch (kind) {
    case WatchKind.data:
      return WatchBit.data;
    case WatchKind.exist:
      return WatchBit.exist;
    case WatchKind.child:
      return WatchBit.child;
    case WatchKind.persistent:
      return persistentBits;
    case WatchKind.persistentRecursive:
      return recursiveBits;
    default:
      return 0;
  }
}

/** How many of ZooKeeper's two WatchManagers hold a pair with these bits (0, 1 or 2). */
function managerWeight(bits: number): number {
  return ((bits & dataManagerBits) !== 0 ? 1 : 0) + ((bits & childManagerBits) !== 0 ? 1 : 0);
}

/**
 * The bits a RemoveWatches / CheckWatches type (Watcher.WatcherType) refers to; 0 if unknown.
 * Children and Data are one manager each (DataTree.containsWatcher / removeWatch), so they take
 * the matching half of a persistent or recursive watch. Types 4 and 5 (3.9's Persistent and
 * PersistentRecursive) take both halves of that mode.
 */
export function watcherTypeBits(type: number): number {
  switch (type) {
    case WatcherType.children:
      return childManagerBits;
    case WatcherType.data:
      return dataManagerBits;
    case WatcherType.any:
      return allBits;
    case WatcherType.persistent:
      return persistentBits;
    case WatcherType.persistentRecursive:
      return recursiveBits;
    default:
      return 0;
  }
}

/** Receives each session a trigger notifies (once per session per trigger). */
export interface WatchHitSink {
  hit(slot: number): void;
}

/**
 * The (session slot, bits) pairs of one path. Pair 0 is kept in the entry itself and the others,
 * interleaved, in one array made with the second pair: most paths have one watcher, and
 * setWatches makes an entry for each of up to ~95,000 paths in one go, so an entry is one object
 * where an array of its own made it three (the array and its elements), and young-generation
 * collections copying them were most of a cold setWatches on the worker.
 */
export class PathWatchers {
  readonly path: string;
  /** Pairs held (entries with none are removed from the table). */
  count = 1;
  slot0: number;
  bits0: number;
  /** Pairs 1..count-1, interleaved: pair i's slot at 2(i - 1), its bits at 2(i - 1) + 1. */
  more: number[] | null = null;
  /** Pairs holding either half of a recursive watch. */
  recursive = 0;

  constructor(path: string, slot: number, bits: number) {
    this.path = path;
    this.slot0 = slot;
    this.bits0 = bits;
  }

  slotAt(i: number): number {
    return i === 0 ? this.slot0 : this.more![2 * i - 2]!;
  }

  bitsAt(i: number): number {
    return i === 0 ? this.bits0 : this.more![2 * i - 1]!;
  }

  setBitsAt(i: number, bits: number): void {
    if (i === 0) this.bits0 = bits;
    else this.more![2 * i - 1] = bits;
  }

  setPair(i: number, slot: number, bits: number): void {
    if (i === 0) {
      this.slot0 = slot;
      this.bits0 = bits;
    } else {
      const more = this.more!;
      more[2 * i - 2] = slot;
      more[2 * i - 1] = bits;
    }
  }

  /** Add a pair at index `count`. */
  push(slot: number, bits: number): void {
    if (this.count === 0) {
      this.slot0 = slot;
      this.bits0 = bits;
    } else if (this.more === null) this.more = [slot, bits];
    else this.more.push(slot, bits);
    this.count++;
  }

  /** Keep pairs [0, n). */
  truncate(n: number): void {
    this.count = n;
    if (this.more !== null) this.more.length = n > 1 ? 2 * (n - 1) : 0;
  }

  /** The session slots watching this path, in pair order (for wchp). */
  get slots(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.slotAt(i));
    return out;
  }
}

export class WatchTable {
  readonly #paths = new Map<string, PathWatchers>();
  /** The entries with recursive > 0: the only ones an ancestor walk needs to look at. */
  readonly #recursivePaths = new Map<string, PathWatchers>();
  /** slot → (path → index of the pair in its PathWatchers). */
  #bySlot: (Map<string, number> | undefined)[] = [];
  #notified = new Uint32Array(1024);
  #stamp = 0;
  #pairs = 0;
  #watches = 0;
  #sessions = 0;

  /** (session, path) pairs with at least one watch. */
  get pairCount(): number {
    return this.#pairs;
  }
  /** ZooKeeper's watch count (zk_watch_count, wchs): dataWatches.size() + childWatches.size(),
   *  so a pair counts once per WatchManager holding it. */
  get watchCount(): number {
    return this.#watches;
  }
  get pathCount(): number {
    return this.#paths.size;
  }
  get sessionCount(): number {
    return this.#sessions;
  }

  /** Add watch kind `kind` (WatchKind) for `slot` on `path` (idempotent). */
  add(slot: number, path: string, kind: number): void {
    const bit = watchKindBits(kind);
    assert(bit !== 0, `WatchTable.add: bad watch kind ${kind}`);
    let mine = this.#bySlot[slot];
    if (mine === undefined) {
      mine = new Map();
      this.#bySlot[slot] = mine;
      this.#sessions++;
    }
    let entry = this.#paths.get(path);
    if (entry === undefined) {
      entry = new PathWatchers(path, slot, bit);
      this.#paths.set(path, entry);
      mine.set(path, 0);
      this.#pairs++;
      this.#watches += managerWeight(bit);
      if ((bit & recursiveBits) !== 0) this.#addRecursive(entry);
      return;
    }
    const idx = mine.get(path);
    if (idx === undefined) {
      mine.set(path, entry.count);
      entry.push(slot, bit);
      this.#pairs++;
      this.#watches += managerWeight(bit);
      if ((bit & recursiveBits) !== 0) this.#addRecursive(entry);
      return;
    }
    const old = entry.bitsAt(idx);
    if ((old & bit) === bit) return;
    entry.setBitsAt(idx, old | bit);
    this.#watches += managerWeight(old | bit) - managerWeight(old);
    if ((bit & recursiveBits) !== 0 && (old & recursiveBits) === 0) this.#addRecursive(entry);
  }

  /** Bits `slot` holds on `path` (0 = none). */
  bitsOf(slot: number, path: string): number {
    const idx = this.#bySlot[slot]?.get(path);
    if (idx === undefined) return 0;
    return this.#paths.get(path)!.bitsAt(idx);
  }

  /** Remove `mask` bits of `slot` on `path`; returns the bits that were there and went. */
  remove(slot: number, path: string, mask: number): number {
    const idx = this.#bySlot[slot]?.get(path);
    if (idx === undefined) return 0;
    const entry = this.#paths.get(path)!;
    const old = entry.bitsAt(idx);
    const removed = old & mask;
    if (removed === 0) return 0;
    this.#setBits(entry, idx, old & ~mask);
    return removed;
  }

  /** Drop every watch of `slot` (session closed, expired, moved, or its connection gone). */
  dropSession(slot: number): number {
    const mine = this.#bySlot[slot];
    if (mine === undefined) return 0;
    const n = mine.size;
    for (const [path, idx] of mine) {
      const entry = this.#paths.get(path)!;
      // #removePair would delete from `mine` while we iterate: do its work without that.
      const bits = entry.bitsAt(idx);
      if ((bits & recursiveBits) !== 0) this.#dropRecursive(entry);
      this.#swapRemove(entry, idx);
      this.#pairs--;
      this.#watches -= managerWeight(bits);
    }
    this.#bySlot[slot] = undefined;
    this.#sessions--;
    return n;
  }

  /**
   * Fire the watches an event of `type` on `path` triggers: standard watches are consumed,
   * persistent ones stay, each notified session goes once to `sink.hit`. Returns the number of
   * sessions notified.
   */
  trigger(type: number, path: string, sink: WatchHitSink): number {
    let fire: number;
    let consume: number;
    /** The recursive halves that fire for a change below their path. */
    let below: number;
    switch (type) {
      case EventType.nodeCreated:
      case EventType.nodeDataChanged:
        // dataWatches only
        fire = dataManagerBits;
        consume = standardData;
        below = WatchBit.recursiveData;
        break;
      case EventType.nodeDeleted:
        // dataWatches, then childWatches
        fire = allBits;
        consume = standardData | WatchBit.child;
        below = recursiveBits;
        break;
      case EventType.nodeChildrenChanged:
        // childWatches, where a recursive watch ignores this type
        fire = WatchBit.child | WatchBit.persistentChild;
        consume = WatchBit.child;
        below = 0;
        break;
      default:
        return 0; // none / *WatchRemoved: never matched against tables (targeted only)
    }
    const stamp = this.#nextStamp();
    let n = 0;
    const entry = this.#paths.get(path);
    if (entry !== undefined) n += this.#fireEntry(entry, fire, consume, stamp, sink);
    if (below !== 0 && this.#recursivePaths.size > 0) {
      n += this.#fireAncestors(path, below, stamp, sink);
    }
    return n;
  }

  /** Every (session slot, paths) pair, for wchc. */
  *sessions(): IterableIterator<[number, IterableIterator<string>]> {
    const bySlot = this.#bySlot;
    for (let slot = 0; slot < bySlot.length; slot++) {
      const mine = bySlot[slot];
      if (mine !== undefined) yield [slot, mine.keys()];
    }
  }

  /** Every watched path with its session slots, for wchp. */
  *paths(): IterableIterator<PathWatchers> {
    yield* this.#paths.values();
  }

  /**
   * One pass over the path's pairs, in the order they were added: each matching pair notifies its
   * session (once per trigger) and loses its one-shot bits; the pairs left are packed to the
   * front and the array cut once at the end, so consuming every watch of a path with thousands
   * of watchers moves nothing and pops nothing pair by pair. sink.hit only queues or writes
   * bytes: it never changes this table while the pass runs.
   */
  #fireEntry(
    entry: PathWatchers,
    fire: number,
    consume: number,
    stamp: number,
    sink: WatchHitSink,
  ): number {
    const notified = this.#notified;
    const bySlot = this.#bySlot;
    const path = entry.path;
    const count = entry.count;
    let n = 0;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const slot = entry.slotAt(i);
      const b = entry.bitsAt(i);
      let left = b;
      if ((b & fire) !== 0) {
        left = b & ~consume;
        if (notified[slot] !== stamp) {
          notified[slot] = stamp;
          n++;
          sink.hit(slot);
        }
        if (left !== b) {
          if ((b & recursiveBits) !== 0 && (left & recursiveBits) === 0) this.#dropRecursive(entry);
          this.#watches += managerWeight(left) - managerWeight(b);
        }
      }
      if (left === 0) {
        const mine = bySlot[slot]!;
        mine.delete(path);
        this.#pairs--;
        if (mine.size === 0) {
          bySlot[slot] = undefined;
          this.#sessions--;
        }
        continue;
      }
      if (kept !== i) bySlot[slot]!.set(path, kept);
      entry.setPair(kept, slot, left);
      kept++;
    }
    if (kept !== count) {
      entry.truncate(kept);
      if (kept === 0) this.#paths.delete(path);
    }
    return n;
  }

  #fireAncestors(path: string, below: number, stamp: number, sink: WatchHitSink): number {
    const notified = this.#notified;
    let n = 0;
    let end = path.length;
    while (end > 1) {
      end = path.lastIndexOf('/', end - 1);
      if (end < 0) break;
      const entry = this.#recursivePaths.get(end === 0 ? '/' : path.slice(0, end));
      if (entry === undefined) continue;
      for (let i = 0; i < entry.count; i++) {
        if ((entry.bitsAt(i) & below) === 0) continue;
        const slot = entry.slotAt(i);
        if (notified[slot] === stamp) continue;
        notified[slot] = stamp;
        n++;
        sink.hit(slot);
      }
    }
    return n;
  }

  #nextStamp(): number {
    const slots = this.#bySlot.length;
    if (this.#notified.length < slots) {
      const grown = new Uint32Array(Math.max(slots, this.#notified.length * 2));
      grown.set(this.#notified);
      this.#notified = grown;
    }
    this.#stamp = (this.#stamp + 1) >>> 0;
    if (this.#stamp === 0) {
      this.#notified.fill(0);
      this.#stamp = 1;
    }
    return this.#stamp;
  }

  /** Set a pair's bits; a pair left with none is removed. */
  #setBits(entry: PathWatchers, idx: number, bits: number): void {
    const old = entry.bitsAt(idx);
    if ((old & recursiveBits) !== 0 && (bits & recursiveBits) === 0) this.#dropRecursive(entry);
    this.#watches += managerWeight(bits) - managerWeight(old);
    if (bits !== 0) {
      entry.setBitsAt(idx, bits);
      return;
    }
    const slot = entry.slotAt(idx);
    const mine = this.#bySlot[slot]!;
    mine.delete(entry.path);
    this.#swapRemove(entry, idx);
    this.#pairs--;
    if (mine.size === 0) {
      this.#bySlot[slot] = undefined;
      this.#sessions--;
    }
  }

  #swapRemove(entry: PathWatchers, idx: number): void {
    const last = entry.count - 1;
    if (idx !== last) {
      const movedSlot = entry.slotAt(last);
      entry.setPair(idx, movedSlot, entry.bitsAt(last));
      this.#bySlot[movedSlot]!.set(entry.path, idx);
    }
    entry.truncate(last);
    if (last === 0) this.#paths.delete(entry.path);
  }

  #addRecursive(entry: PathWatchers): void {
    if (entry.recursive++ === 0) this.#recursivePaths.set(entry.path, entry);
  }

  #dropRecursive(entry: PathWatchers): void {
    if (--entry.recursive === 0) this.#recursivePaths.delete(entry.path);
  }
}
