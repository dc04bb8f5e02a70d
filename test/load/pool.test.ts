// How the load harness splits a command's work over its worker processes (src/load/pool.ts shares).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shares } from '../../src/load/pool.js';

test('shares split evenly', () => {
  assert.deepEqual(shares(10, 3), [4, 3, 3]);
  assert.deepEqual(shares(2, 4), [1, 1, 0, 0]);
});
