// WatchRouter (src/main/watches/router.ts) against a simple model: for each (path, kind) the set
// of workers, under random registrations, triggers and persistent forgets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventType } from '../../../src/common/zk.js';
import { WatchRouter } from '../../../src/main/watches/router.js';
import { WatchKind } from '../../../src/shm/records.js';

const kinds = [WatchKind.data, WatchKind.exist, WatchKind.child, WatchKind.persistent, WatchKind.persistentRecursive];
const types = [EventType.nodeCreated, EventType.nodeDeleted, EventType.nodeDataChanged, EventType.nodeChildrenChanged];

/** The model: `${kind} ${path}` → mask, with ZooKeeper's matching written out plainly. */
class Model {
  readonly m = new Map<string, number>();
  register(worker: number, kind: number, path: string): void {
    const k = `${kind === WatchKind.exist ? WatchKind.data : kind} ${path}`;
    this.m.set(k, (this.m.get(k) ?? 0) | (1 << worker));
  }
  route(path: string, type: number): number {
    let w = 0;
    const take = (kind: number, consume: boolean): void => {
      const k = `${kind} ${path}`;
      w |= this.m.get(k) ?? 0;
      if (consume) this.m.delete(k);
    };
    if (type !== EventType.nodeChildrenChanged) take(WatchKind.data, true);
    if (type === EventType.nodeChildrenChanged || type === EventType.nodeDeleted) take(WatchKind.child, true);
    take(WatchKind.persistent, false);
    if (type !== EventType.nodeChildrenChanged) {
      for (const [k, mask] of this.m) {
        const [kind, p] = k.split(' ') as [string, string];
        if (Number(kind) !== WatchKind.persistentRecursive) continue;
        if (p === path || p === '/' || path.startsWith(`${p}/`)) w |= mask;
      }
    }
    return w >>> 0;
  }
  forgetPersistent(worker: number, path: string): void {
    for (const kind of [WatchKind.persistent, WatchKind.persistentRecursive]) {
      const k = `${kind} ${path}`;
      const m = (this.m.get(k) ?? 0) & ~(1 << worker);
      if (m === 0) this.m.delete(k);
      else this.m.set(k, m);
    }
  }
}

describe('WatchRouter', () => {
  it('routes as the model under random registrations, triggers and forgets', () => {
    const router = new WatchRouter();
    const model = new Model();
    let seed = 4242;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const paths = ['/', '/a', '/a/b', '/a/b/c', '/d', '/ab'];
    for (let step = 0; step < 20000; step++) {
      const path = paths[rnd(paths.length)]!;
      const worker = rnd(32);
      const op = rnd(10);
      if (op < 5) {
        const kind = kinds[rnd(kinds.length)]!;
        router.register(worker, kind, path);
        model.register(worker, kind, path);
      } else if (op < 9) {
        const type = types[rnd(types.length)]!;
        assert.equal(router.route(path, type), model.route(path, type), `step ${step}: route ${path} type ${type}`);
      } else {
        router.forgetPersistent(worker, path);
        model.forgetPersistent(worker, path);
      }
    }
  });

  it('consumes one-shot bits and keeps persistent ones; counts each watched path once', () => {
    const router = new WatchRouter();
    router.register(0, WatchKind.exist, '/a');
    router.register(1, WatchKind.child, '/a');
    router.register(2, WatchKind.persistent, '/a');
    router.register(31, WatchKind.data, '/b');
    assert.equal(router.pathCount, 2);
    assert.equal(router.route('/a', EventType.nodeDataChanged), 0b101);
    assert.equal(router.route('/a', EventType.nodeDataChanged), 0b100);
    assert.equal(router.route('/a', EventType.nodeDeleted), 0b110);
    assert.equal(router.route('/b', EventType.nodeDataChanged), 2 ** 31);
    assert.equal(router.pathCount, 1);
    router.forgetPersistent(2, '/a');
    assert.equal(router.route('/a', EventType.nodeDeleted), 0);
    assert.equal(router.pathCount, 0);
  });
});
