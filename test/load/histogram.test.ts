// The load harness's latency histogram (src/load/histogram.ts): percentiles, and merging the
// wire form that worker processes send.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram } from '../../src/load/histogram.js';

test('histogram percentiles are within 2% and ordered', () => {
  const h = new Histogram();
  for (let i = 1; i <= 100000; i++) h.recordUs(i);
  const s = h.summaryMs();
  assert.equal(s.count, 100000);
  assert.ok(Math.abs(s.p50 - 50) / 50 < 0.02, `p50 ${s.p50}`);
  assert.ok(Math.abs(s.p99 - 99) / 99 < 0.02, `p99 ${s.p99}`);
  assert.ok(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
  assert.equal(s.max, 100);
  assert.equal(s.min, 0.001);
});

test('histograms merge across the wire form exactly', () => {
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let i = 0; i < 5000; i++) {
    const v = Math.floor(Math.random() * 1e6);
    (i % 2 === 0 ? a : b).recordUs(v);
    all.recordUs(v);
  }
  const m = Histogram.fromData(JSON.parse(JSON.stringify(a.toData())));
  m.merge(JSON.parse(JSON.stringify(b.toData())));
  assert.deepEqual(m.summaryMs(), all.summaryMs());
  assert.deepEqual(new Histogram().summaryMs().count, 0);
});
