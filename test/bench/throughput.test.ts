// bench/throughput.ts: its latency histogram.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from '../../bench/throughput.js';

test('LatencyHistogram: percentiles within 2%', () => {
  const h = new LatencyHistogram();
  for (let us = 1; us <= 100000; us++) h.recordUs(us);
  const close = (got: number, want: number): void => assert.ok(Math.abs(got - want) / want < 0.02, `${got} vs ${want}`);
  close(h.percentileUs(50), 50000);
  close(h.percentileUs(99), 99000);
  close(h.percentileUs(99.9), 99900);
  assert.equal(h.count, 100000);
  assert.equal(h.summaryMs().max, 100);
  const small = new LatencyHistogram();
  for (const v of [3, 3, 3, 90]) small.recordUs(v);
  assert.equal(small.percentileUs(50), 3);
  assert.equal(small.percentileUs(100), 90);
});
