// The workers' figures for the Prometheus exporter (src/shm/metrics.ts): log-linear buckets,
// quantiles from them, one row per worker written without Atomics, read and folded by the main
// thread across u32 wrap-around, and a sliding window for the quantiles.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  MetricsGauge,
  MetricsHistogram,
  MetricsReader,
  MetricsWriter,
  bucketLower,
  bucketOf,
  bucketUpper,
  createMetricsBuffer,
  metricsBuckets,
  metricsRowCells,
  quantilesOf,
} from '../../src/shm/metrics.js';

describe('metrics buckets', () => {
  it('cover every u32 value, in order, each value in exactly its bucket', () => {
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(3), 3);
    assert.equal(bucketOf(2 ** 32 - 1), metricsBuckets - 1);
    assert.equal(bucketOf(2 ** 40), metricsBuckets - 1, 'clamped');
    assert.equal(bucketOf(-5), 0);
    assert.equal(bucketOf(Number.NaN), 0);
    for (let i = 1; i < metricsBuckets; i++) assert.equal(bucketLower(i), bucketUpper(i - 1), `bucket ${i} follows ${i - 1}`);
    for (const v of [4, 5, 7, 8, 9, 100, 1000, 12_345, 999_999, 2 ** 31, 2 ** 31 + 12345, 2 ** 32 - 1]) {
      const b = bucketOf(v);
      assert.ok(bucketLower(b) <= v && v < bucketUpper(b), `${v} in [${bucketLower(b)}, ${bucketUpper(b)})`);
      assert.ok((bucketUpper(b) - bucketLower(b)) / bucketLower(b) <= 0.25, 'a bucket spans at most 25% of its values');
    }
  });

  it('give quantiles within 12.5% of the exact ones, exact for 0..3, NaN when empty', () => {
    const buckets = new Float64Array(metricsBuckets);
    const values: number[] = [];
    for (let v = 1; v <= 10_000; v++) {
      values.push(v * 37);
      buckets[bucketOf(v * 37)]! += 1;
    }
    const qs = [0.5, 0.9, 0.99];
    const got = quantilesOf(buckets, qs);
    qs.forEach((q, i) => {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      assert.ok(Math.abs(got[i]! - exact) / exact <= 0.125, `q${q}: ${got[i]} vs ${exact}`);
    });
    const small = new Float64Array(metricsBuckets);
    small[0] = 50;
    small[2] = 50;
    assert.deepEqual(quantilesOf(small, [0.5, 0.51, 1]), [0, 2, 2]);
    assert.ok(quantilesOf(new Float64Array(metricsBuckets), [0.5]).every(Number.isNaN));
  });
});

describe('MetricsWriter / MetricsReader', () => {
  it('reads each worker row, sums workers, and keeps totals across u32 wrap-around', () => {
    const buffer = createMetricsBuffer(2);
    assert.equal(buffer.byteLength, 2 * metricsRowCells * 4);
    const w0 = new MetricsWriter(buffer, 0);
    const w1 = new MetricsWriter(buffer, 1);
    const r = new MetricsReader(buffer, { nowMs: 0 });
    w0.setGauge(MetricsGauge.sessionsGlobal, 12);
    w1.setGauge(MetricsGauge.sessionsGlobal, 30);
    w1.setGauge(MetricsGauge.connections, 31);
    assert.equal(r.gauge(0, MetricsGauge.sessionsGlobal), 12);
    assert.equal(r.gauge(1, MetricsGauge.sessionsGlobal), 30);
    assert.equal(r.gauge(1, MetricsGauge.connections), 31);
    for (let i = 0; i < 100; i++) w0.record(MetricsHistogram.readLatencyUs, 1000);
    for (let i = 0; i < 100; i++) w1.record(MetricsHistogram.readLatencyUs, 3000);
    w1.record(MetricsHistogram.updateLatencyUs, 5);
    r.fold(1);
    const all = r.summary(MetricsHistogram.readLatencyUs, -1, [0.25, 0.75]);
    assert.equal(all.count, 200);
    assert.equal(all.sum, 100 * 1000 + 100 * 3000);
    assert.ok(Math.abs(all.quantiles[0]! - 1000) <= 125 && Math.abs(all.quantiles[1]! - 3000) <= 375, String(all.quantiles));
    assert.equal(r.summary(MetricsHistogram.readLatencyUs, 1, [0.5]).count, 100);
    assert.equal(r.summary(MetricsHistogram.updateLatencyUs, -1, [0.5]).sum, 5);
    // Sums past 2^32: the cell wraps, the totals do not (folded before any cell moves 2^32).
    for (let i = 0; i < 6; i++) {
      w0.record(MetricsHistogram.tickDelayUs, 2 ** 31 + 1);
      r.fold(2);
    }
    const big = r.summary(MetricsHistogram.tickDelayUs, 0, [0.5]);
    assert.equal(big.count, 6);
    assert.equal(big.sum, 6 * (2 ** 31 + 1));
  });

  it('takes quantiles over the last window or two, totals since start', () => {
    const buffer = createMetricsBuffer(1);
    const w = new MetricsWriter(buffer, 0);
    const r = new MetricsReader(buffer, { nowMs: 0, windowMs: 1000 });
    for (let i = 0; i < 100; i++) w.record(MetricsHistogram.fanoutSessions, 1000);
    r.fold(1000); // rotation 1: the window still starts at 0
    const first = r.summary(MetricsHistogram.fanoutSessions, 0, [0.5]).quantiles[0]!;
    assert.ok(first >= bucketLower(bucketOf(1000)) && first < bucketUpper(bucketOf(1000)), String(first));
    for (let i = 0; i < 10; i++) w.record(MetricsHistogram.fanoutSessions, 2);
    r.fold(2000); // rotation 2: the window starts at the first rotation's totals
    const s = r.summary(MetricsHistogram.fanoutSessions, 0, [0.5, 0.99]);
    assert.deepEqual(s.quantiles, [2, 2], 'the old values left the window');
    assert.equal(s.count, 110);
    assert.equal(s.sum, 100 * 1000 + 10 * 2);
  });

  it('a real worker thread writes its row; the main thread reads it without a message', async () => {
    const buffer = createMetricsBuffer(3);
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.url).then(({ MetricsWriter, MetricsHistogram, MetricsGauge }) => {
        const m = new MetricsWriter(workerData.buffer, 2);
        for (let i = 0; i < 100000; i++) m.record(MetricsHistogram.updateLatencyUs, i % 1000);
        m.setGauge(MetricsGauge.watches, 77);
        parentPort.postMessage('done');
      });`;
    const url = new URL('../../src/shm/metrics.js', import.meta.url).href;
    const worker = new Worker(code, { eval: true, workerData: { buffer, url } });
    const r = new MetricsReader(buffer, { nowMs: 0 });
    let folds = 0;
    const done = new Promise((resolve) => worker.once('message', resolve));
    // Fold while the worker writes: every fold sees a consistent-enough prefix, totals add up.
    while ((await Promise.race([done, new Promise((res) => setImmediate(() => res('tick')))])) === 'tick') {
      r.fold(0);
      folds++;
    }
    r.fold(0);
    await worker.terminate();
    const s = r.summary(MetricsHistogram.updateLatencyUs, 2, [0.5]);
    assert.equal(s.count, 100_000);
    assert.equal(s.sum, 100 * ((999 * 1000) / 2));
    assert.equal(r.gauge(2, MetricsGauge.watches), 77);
    assert.equal(r.summary(MetricsHistogram.updateLatencyUs, 0, [0.5]).count, 0, 'other rows untouched');
    assert.ok(folds >= 1);
  });

  it('gauges are float64 (counts past 2^31, fractions, -1); serverStats combines the rows as mntr does', () => {
    const buffer = createMetricsBuffer(3);
    const [a, b, c] = [0, 1, 2].map((i) => new MetricsWriter(buffer, i)) as [MetricsWriter, MetricsWriter, MetricsWriter];
    const r = new MetricsReader(buffer, { nowMs: 0 });
    a.setGauge(MetricsGauge.packetsSent, 2 ** 40 + 3);
    b.setGauge(MetricsGauge.packetsSent, 0.5);
    assert.equal(r.gauge(0, MetricsGauge.packetsSent), 2 ** 40 + 3);
    assert.equal(r.gaugeSum(MetricsGauge.packetsSent), 2 ** 40 + 3.5);
    // Histograms beside the gauges are unaffected by them.
    a.record(MetricsHistogram.readLatencyUs, 7);
    r.fold(0);
    assert.equal(r.summary(MetricsHistogram.readLatencyUs, 0, [0.5]).sum, 7);
    for (const w of [a, b, c]) {
      w.setGauge(MetricsGauge.responseSizeLast, -1);
      w.setGauge(MetricsGauge.responseSizeMin, -1);
      w.setGauge(MetricsGauge.responseSizeMax, -1);
    }
    assert.deepEqual(r.serverStats(), {
      minLatencyMs: 0,
      maxLatencyMs: 0,
      avgLatencyMs: 0,
      responseSizeMin: -1,
      responseSizeMax: -1,
      responseSizeLast: -1,
    });
    a.setGauge(MetricsGauge.latencyCount, 1);
    a.setGauge(MetricsGauge.latencyMinMs, 5);
    a.setGauge(MetricsGauge.latencyMaxMs, 5);
    a.setGauge(MetricsGauge.latencyTotalMs, 5);
    c.setGauge(MetricsGauge.latencyCount, 3);
    c.setGauge(MetricsGauge.latencyMinMs, 1);
    c.setGauge(MetricsGauge.latencyMaxMs, 2);
    c.setGauge(MetricsGauge.latencyTotalMs, 4);
    a.setGauge(MetricsGauge.responseSizeMin, 16);
    a.setGauge(MetricsGauge.responseSizeMax, 50);
    a.setGauge(MetricsGauge.responseSizeLast, 20);
    c.setGauge(MetricsGauge.responseSizeMin, 30);
    c.setGauge(MetricsGauge.responseSizeMax, 90);
    c.setGauge(MetricsGauge.responseSizeLast, 30);
    assert.deepEqual(r.serverStats(), {
      minLatencyMs: 1,
      maxLatencyMs: 5,
      avgLatencyMs: 9 / 4,
      responseSizeMin: 16,
      responseSizeMax: 90,
      responseSizeLast: 30,
    });
  });

  it('refuses a row outside the buffer', () => {
    assert.throws(() => new MetricsWriter(createMetricsBuffer(2), 2));
    assert.throws(() => createMetricsBuffer(0));
  });
});
