// src/client/deque.ts: the ring FIFO behind the client's pending queue.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deque } from '../../src/client/deque.js';

test('Deque: FIFO across growth and wrap-around', () => {
  const q = new Deque<number>(2);
  const ref: number[] = [];
  let next = 0;
  for (let round = 0; round < 200; round++) {
    const pushes = (round * 7) % 13;
    for (let i = 0; i < pushes; i++) {
      q.push(next);
      ref.push(next++);
    }
    const shifts = (round * 5) % 11;
    for (let i = 0; i < shifts; i++) assert.equal(q.shift(), ref.shift());
    assert.equal(q.length, ref.length);
    assert.equal(q.peek(), ref[0]);
  }
  assert.deepEqual(q.drain(), ref);
  assert.equal(q.shift(), undefined);
});
