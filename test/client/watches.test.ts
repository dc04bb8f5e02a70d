// src/client/watches.ts: the client's watch tables (no server).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventType, WatcherType, type Watcher } from '../../src/client/index.js';
import { WatchKind } from '../../src/common/zk.js';
import { WatchManager } from '../../src/client/watches.js';

test('WatchManager: which watchers an event triggers (ZKWatchManager.materialize)', () => {
  const wm = new WatchManager();
  const names = new Map<Watcher, string>();
  const w = (n: string): Watcher => {
    const f: Watcher = () => undefined;
    names.set(f, n);
    return f;
  };
  const [data, exist, child, pers, recRoot, recA, recB] = ['data', 'exist', 'child', 'pers', 'recRoot', 'recA', 'recB'].map(w) as Watcher[];
  const fired = (type: number, path: string): string[] => [...wm.materialize(type, path)].map((f) => names.get(f) ?? '?').sort();
  wm.register(WatchKind.data, '/a', data!);
  wm.register(WatchKind.exist, '/a', exist!);
  wm.register(WatchKind.child, '/a', child!);
  wm.register(WatchKind.persistent, '/a', pers!);
  wm.register(WatchKind.persistentRecursive, '/', recRoot!);
  wm.register(WatchKind.persistentRecursive, '/a', recA!);
  wm.register(WatchKind.persistentRecursive, '/a/b', recB!);
  assert.deepEqual(fired(EventType.nodeDataChanged, '/a'), ['data', 'exist', 'pers', 'recA', 'recRoot']);
  assert.deepEqual(fired(EventType.nodeDataChanged, '/a'), ['pers', 'recA', 'recRoot'], 'one-shot watches went');
  assert.deepEqual(fired(EventType.nodeChildrenChanged, '/a'), ['child', 'pers'], 'no child events for recursive watches');
  assert.deepEqual(fired(EventType.nodeCreated, '/a/b/c'), ['recA', 'recB', 'recRoot']);
  assert.deepEqual(fired(EventType.nodeDeleted, '/x'), ['recRoot']);
  assert.ok(wm.contains('/a', pers!, WatcherType.persistent));
  assert.ok(!wm.contains('/a', pers!, WatcherType.data));
  const removed = wm.remove('/a', null, WatcherType.any);
  assert.deepEqual([...removed.persistent].map((f) => names.get(f)).sort(), ['pers', 'recA']);
  assert.ok(!wm.contains('/a', null, WatcherType.any));
  assert.ok(wm.hasPersistent);
});
