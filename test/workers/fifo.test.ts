// A session's request FIFO (src/workers/fifo.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestFifo } from '../../src/workers/fifo.js';

describe('request fifo', () => {
  it('keeps requests in order, with their arguments, across compaction', () => {
    const f = new RequestFifo();
    for (let i = 0; i < 10; i++) f.push(i, 4, i % 2, i * 1.5, null);
    assert.equal(f.countFor(1), 5);
    for (let i = 0; i < 10; i++) {
      assert.equal(f.headXid, i);
      assert.equal(f.headStartMs, i * 1.5);
      assert.equal(f.headArg, null);
      f.shift();
    }
    assert.equal(f.size, 0);
    // Never empty: always a few in flight while thousands go through.
    let next = 0;
    let expect = 0;
    for (let round = 0; round < 3000; round++) {
      while (f.size < 3) {
        f.push(next, 18, 1, 0, next % 7 === 0 ? { path: `/p${next}`, type: 2 } : null);
        next++;
      }
      assert.equal(f.headXid, expect);
      assert.deepEqual(f.headArg, expect % 7 === 0 ? { path: `/p${expect}`, type: 2 } : null);
      f.shift();
      expect++;
    }
    assert.equal(f.size, 2);
  });
});
