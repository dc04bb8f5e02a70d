// WatchTable (src/workers/watches/table.ts) against a model, under random operations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatcherType } from '../../../src/common/zk.js';
import { WatchBit, WatchTable, watchKindBits, watcherTypeBits } from '../../../src/workers/watches/table.js';

describe('WatchTable', () => {
  it('swap-removes consistently under random adds, removes, triggers and session drops', () => {
    const table = new WatchTable();
    const model = new Map<string, number>(); // `${slot} ${path}` → bits
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const paths = ['/', '/a', '/a/b', '/a/b/c', '/d'];
    const hits: number[] = [];
    const sink = { hit: (slot: number): void => void hits.push(slot) };
    for (let step = 0; step < 5000; step++) {
      const slot = rnd(20);
      const path = paths[rnd(paths.length)]!;
      const k = `${slot} ${path}`;
      const op = rnd(10);
      if (op < 5) {
        const kind = 1 + rnd(5);
        table.add(slot, path, kind);
        model.set(k, (model.get(k) ?? 0) | watchKindBits(kind));
      } else if (op < 7) {
        const bits = watcherTypeBits(1 + rnd(5));
        table.remove(slot, path, bits);
        const left = (model.get(k) ?? 0) & ~bits;
        if (left === 0) model.delete(k);
        else model.set(k, left);
      } else if (op < 9) {
        const type = 1 + rnd(4);
        hits.length = 0;
        const n = table.trigger(type, path, sink);
        assert.equal(n, hits.length);
        assert.equal(new Set(hits).size, hits.length, 'a session is notified once per trigger');
        const data = WatchBit.data | WatchBit.exist;
        const consume = type === 4 ? WatchBit.child : type === 2 ? data | WatchBit.child : data;
        const fire = type === 4 ? WatchBit.child | WatchBit.persistentChild : type === 2 ? 0x7f : watcherTypeBits(WatcherType.data);
        for (const [key, bits] of model) {
          if (!key.endsWith(` ${path}`) || key.split(' ')[1] !== path) continue;
          if ((bits & fire) !== 0) assert.ok(hits.includes(Number(key.split(' ')[0])), `step ${step}: ${key} notified`);
          const left = bits & ~consume;
          if (left === 0) model.delete(key);
          else model.set(key, left);
        }
      } else {
        table.dropSession(slot);
        for (const key of [...model.keys()]) if (key.startsWith(`${slot} `)) model.delete(key);
      }
      if (step % 250 === 0) {
        for (let s = 0; s < 20; s++) {
          for (const p of paths) {
            assert.equal(table.bitsOf(s, p), model.get(`${s} ${p}`) ?? 0, `step ${step}`);
          }
        }
        assert.equal(table.pairCount, model.size);
        assert.equal(table.sessionCount, new Set([...model.keys()].map((key) => key.split(' ')[0])).size);
        assert.equal(table.pathCount, new Set([...model.keys()].map((key) => key.split(' ')[1])).size);
        let weight = 0;
        for (const bits of model.values()) {
          weight += (bits & watcherTypeBits(WatcherType.data)) !== 0 ? 1 : 0;
          weight += (bits & watcherTypeBits(WatcherType.children)) !== 0 ? 1 : 0;
        }
        assert.equal(table.watchCount, weight);
      }
    }
  });
});
