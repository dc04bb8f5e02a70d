// The client's watch tables, as ZooKeeper's ZKWatchManager keeps them: path -> watchers for data,
// exist and child one-shot watches, and for persistent and persistent-recursive watches. Watches
// are registered when the reply that sets them arrives, fire (and one-shot ones go) when an event
// comes, and are re-sent with SetWatches / SetWatches2 after a reconnect. ClientWatches is one
// client's side of it: delivery to watchers, the default watcher and its per-path emitters, and
// local removal with *WatchRemoved events.

import { EventEmitter } from 'node:events';
import { EventType, KeeperState, WatchKind, WatcherType } from '../common/zk.js';
import { rethrowLater } from './errors.js';

/** A watch event, with the chroot already taken off its path. */
export interface WatchEvent {
  /** EventType: nodeCreated 1, nodeDeleted 2, nodeDataChanged 3, nodeChildrenChanged 4,
   *  dataWatchRemoved 5, childWatchRemoved 6, persistentWatchRemoved 7. */
  readonly type: number;
  /** EventType's name for `type` ('nodeDataChanged', ...). */
  readonly name: string;
  /** KeeperState (syncConnected, 3, for every node event). */
  readonly state: number;
  readonly path: string;
}

export type Watcher = (event: WatchEvent) => void;

const eventNames = new Map<number, string>(Object.entries(EventType).map(([k, v]) => [v, k]));
export function eventName(type: number): string {
  return eventNames.get(type) ?? `unknown(${type})`;
}

type Table = Map<string, Set<Watcher>>;

function add(t: Table, path: string, w: Watcher): void {
  const s = t.get(path);
  if (s === undefined) t.set(path, new Set([w]));
  else s.add(w);
}

function take(t: Table, path: string, into: Set<Watcher>): void {
  const s = t.get(path);
  if (s === undefined) return;
  t.delete(path);
  for (const w of s) into.add(w);
}

function copy(t: Table, path: string, into: Set<Watcher>): void {
  const s = t.get(path);
  if (s !== undefined) for (const w of s) into.add(w);
}

function has(t: Table, path: string, w: Watcher | null): boolean {
  const s = t.get(path);
  if (s === undefined) return false;
  return w === null ? s.size > 0 : s.has(w);
}

/** Removes w (or every watcher when null) at path; returns whether any went. */
function remove(t: Table, path: string, w: Watcher | null, into: Set<Watcher>): boolean {
  const s = t.get(path);
  if (s === undefined) return false;
  if (w === null) {
    t.delete(path);
    for (const x of s) into.add(x);
    return s.size > 0;
  }
  if (!s.delete(w)) return false;
  if (s.size === 0) t.delete(path);
  into.add(w);
  return true;
}

export interface RemovedWatchers {
  /** EventType of the removal event each group gets. */
  readonly data: Set<Watcher>;
  readonly child: Set<Watcher>;
  readonly persistent: Set<Watcher>;
}

export class WatchManager {
  readonly data: Table = new Map();
  readonly exist: Table = new Map();
  readonly child: Table = new Map();
  readonly persistent: Table = new Map();
  readonly persistentRecursive: Table = new Map();

  register(kind: number, path: string, w: Watcher): void {
    switch (kind) {
      case WatchKind.data:
        return add(this.data, path, w);
      case WatchKind.exist:
        return add(this.exist, path, w);
      case WatchKind.child:
        return add(this.child, path, w);
      case WatchKind.persistent:
        return add(this.persistent, path, w);
      case WatchKind.persistentRecursive:
        return add(this.persistentRecursive, path, w);
    }
  }

  get empty(): boolean {
    return (
      this.data.size === 0 &&
      this.exist.size === 0 &&
      this.child.size === 0 &&
      this.persistent.size === 0 &&
      this.persistentRecursive.size === 0
    );
  }

  get hasPersistent(): boolean {
    return this.persistent.size > 0 || this.persistentRecursive.size > 0;
  }

  clear(): void {
    this.data.clear();
    this.exist.clear();
    this.child.clear();
    this.persistent.clear();
    this.persistentRecursive.clear();
  }

  /** The watchers a node event of `type` at `path` triggers; one-shot ones are taken out
   *  (ZKWatchManager.materialize). Recursive watches on the path and its ancestors get every
   *  event but nodeChildrenChanged. */
  materialize(type: number, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    switch (type) {
      case EventType.nodeCreated:
      case EventType.nodeDataChanged:
        take(this.data, path, out);
        take(this.exist, path, out);
        break;
      case EventType.nodeChildrenChanged:
        take(this.child, path, out);
        break;
      case EventType.nodeDeleted:
        take(this.data, path, out);
        take(this.exist, path, out);
        take(this.child, path, out);
        break;
      default:
        return out;
    }
    copy(this.persistent, path, out);
    if (type !== EventType.nodeChildrenChanged && this.persistentRecursive.size > 0) {
      copy(this.persistentRecursive, path, out);
      for (let end = path.lastIndexOf('/'); end >= 0; end = path.lastIndexOf('/', end - 1)) {
        copy(this.persistentRecursive, end === 0 ? '/' : path.slice(0, end), out);
        if (end === 0) break;
      }
    }
    return out;
  }

  /** Whether a watcher (any, when null) of WatcherType `type` is set at path. */
  contains(path: string, w: Watcher | null, type: number): boolean {
    switch (type) {
      case WatcherType.children:
        return has(this.child, path, w);
      case WatcherType.data:
        return has(this.data, path, w) || has(this.exist, path, w);
      case WatcherType.persistent:
        return has(this.persistent, path, w);
      case WatcherType.persistentRecursive:
        return has(this.persistentRecursive, path, w);
      case WatcherType.any:
        return (
          has(this.child, path, w) ||
          has(this.data, path, w) ||
          has(this.exist, path, w) ||
          has(this.persistent, path, w) ||
          has(this.persistentRecursive, path, w)
        );
      default:
        return false;
    }
  }

  /** Takes out w (every watcher, when null) of WatcherType `type` at path. */
  remove(path: string, w: Watcher | null, type: number): RemovedWatchers {
    const r: RemovedWatchers = { data: new Set(), child: new Set(), persistent: new Set() };
    const any = type === WatcherType.any;
    if (any || type === WatcherType.children) remove(this.child, path, w, r.child);
    if (any || type === WatcherType.data) {
      remove(this.data, path, w, r.data);
      remove(this.exist, path, w, r.data);
    }
    if (any || type === WatcherType.persistent) remove(this.persistent, path, w, r.persistent);
    if (any || type === WatcherType.persistentRecursive) {
      remove(this.persistentRecursive, path, w, r.persistent);
    }
    return r;
  }
}

function callWatcher(w: Watcher, ev: WatchEvent): void {
  try {
    w(ev);
  } catch (e) {
    rethrowLater(e);
  }
}

/** One client's watches: the tables (made on first use), delivery, and the default watcher. */
export class ClientWatches {
  private table: WatchManager | null = null;
  private pathEmitters: Map<string, EventEmitter> | null = null;
  private defaultWatcherFn: Watcher | null = null;

  /** `events` gets the default watcher's events as 'watch'. */
  constructor(private readonly events: EventEmitter) {}

  /** The tables, or null while no watch was ever registered. */
  get tables(): WatchManager | null {
    return this.table;
  }

  /** The watcher that watch = true stands for: it emits 'watch' and feeds watchEmitter(). */
  get defaultWatcher(): Watcher {
    if (this.defaultWatcherFn === null) this.defaultWatcherFn = (e) => this.onDefaultWatch(e);
    return this.defaultWatcherFn;
  }

  /** The EventEmitter that the default watcher feeds for `path`. */
  watchEmitter(path: string): EventEmitter {
    if (this.pathEmitters === null) this.pathEmitters = new Map();
    let e = this.pathEmitters.get(path);
    if (e === undefined) {
      e = new EventEmitter();
      this.pathEmitters.set(path, e);
    }
    return e;
  }

  releaseWatchEmitter(path: string): void {
    this.pathEmitters?.delete(path);
  }

  register(kind: number, path: string, w: Watcher): void {
    if (this.table === null) this.table = new WatchManager();
    this.table.register(kind, path, w);
  }

  contains(path: string, w: Watcher | null, type: number): boolean {
    return this.table?.contains(path, w, type) === true;
  }

  clear(): void {
    this.table?.clear();
  }

  /** Takes watchers out and sends them their *WatchRemoved events; false if none was there. */
  removeLocally(path: string, watcher: Watcher | null, type: number): boolean {
    if (this.table === null) return false;
    const removed = this.table.remove(path, watcher, type);
    let any = false;
    const fire = (set: Set<Watcher>, evType: number): void => {
      if (set.size === 0) return;
      any = true;
      const ev: WatchEvent = { type: evType, name: eventName(evType), state: KeeperState.syncConnected, path };
      for (const w of set) callWatcher(w, ev);
    };
    fire(removed.child, EventType.childWatchRemoved);
    fire(removed.data, EventType.dataWatchRemoved);
    fire(removed.persistent, EventType.persistentWatchRemoved);
    return any;
  }

  /** A watch event from the server, its path with the chroot taken off. */
  onEvent(type: number, state: number, path: string): void {
    if (this.table === null) return;
    const ws = this.table.materialize(type, path);
    if (ws.size === 0) return;
    const ev: WatchEvent = { type, name: eventName(type), state, path };
    for (const w of ws) callWatcher(w, ev);
  }

  private onDefaultWatch(e: WatchEvent): void {
    try {
      this.events.emit('watch', e);
    } catch (x) {
      rethrowLater(x);
    }
    const pe = this.pathEmitters?.get(e.path);
    if (pe !== undefined) {
      try {
        pe.emit(e.name, e);
        pe.emit('event', e);
      } catch (x) {
        rethrowLater(x);
      }
    }
  }
}
