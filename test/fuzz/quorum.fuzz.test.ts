// The quorum fuzzer's short run (test/fuzz/harness/quorum-fuzzer.ts): seeded, deterministic, a few
// seconds. Random, mutated and replayed frames through the frame reader, the codec, the
// driver's arrival checks and the Zab core of a live ensemble: nothing may throw. The long run
// is `npm run bench:quorum-fuzz` (bench/quorum-fuzz.ts).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runQuorumFuzz } from './harness/quorum-fuzzer.js';
import { runSocketFuzz } from './harness/quorum-socket-fuzz.js';

describe('quorum fuzz', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: 6000 hostile frames, no crash`, () => {
      const stats = runQuorumFuzz({ seed, frames: 6000 });
      assert.equal(stats.firstCrash, null);
      assert.equal(stats.crashes, 0);
      // The run reached every layer (so a regression that refuses everything early shows).
      assert.ok(stats.refusedByCodec > 0, 'some frames refused by the codec');
      assert.ok(stats.stepped > 1000, 'many frames reached the Zab core');
      assert.ok(stats.rejected > 0, 'the core rejected impossible messages');
      assert.ok(stats.delivered > 1000, 'the ensemble kept running between hostile frames');
    });
  }

  test('the same seed gives the same run', () => {
    assert.deepStrictEqual(runQuorumFuzz({ seed: 7, frames: 1500 }), runQuorumFuzz({ seed: 7, frames: 1500 }));
  });
});

describe('quorum fuzz over sockets', () => {
  test('a transport fed 1500 hostile frames closes bad links and still serves a real peer', async () => {
    const stats = await runSocketFuzz(5, 1500);
    assert.equal(stats.frames, 1500);
    assert.ok(stats.closedByTransport > 10, 'bad frames closed links');
    assert.ok(stats.batchesRead > 10, 'batches of frames were read through');
    assert.ok(stats.messages > 0, 'well-formed frames were delivered');
    assert.ok(stats.servedAfter, 'a real peer connected and got a message afterwards');
  });
});
