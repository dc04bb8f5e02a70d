// The load harness's pieces that need no server: the histogram, option parsing, the HTML charts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram } from '../../src/load/histogram.js';
import { parseSourceAddrs, runLoad, SCENARIOS } from '../../src/load/cli.js';
import { renderHtml, svgChart } from '../../src/load/report/html.js';
import { shares } from '../../src/load/pool.js';

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

test('shares split evenly', () => {
  assert.deepEqual(shares(10, 3), [4, 3, 3]);
  assert.deepEqual(shares(2, 4), [1, 1, 0, 0]);
});

test('source address ranges', () => {
  const a = parseSourceAddrs('127.0.0.2-127.0.0.254');
  assert.equal(a.length, 253);
  assert.equal(a[0], '127.0.0.2');
  assert.equal(a[252], '127.0.0.254');
  assert.deepEqual(parseSourceAddrs('127.0.0.5,127.0.0.9-10'), ['127.0.0.5', '127.0.0.9', '127.0.0.10']);
  assert.throws(() => parseSourceAddrs('localhost'));
});

test('usage: --help per scenario, unknown scenario and bad options exit 2', async () => {
  let out = '';
  let err = '';
  const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
  assert.equal((await runLoad(['--help'], io)).code, 0);
  for (const name of SCENARIOS.keys()) assert.match(out, new RegExp(`\\b${name}\\b`));
  for (const name of SCENARIOS.keys()) {
    out = '';
    assert.equal((await runLoad([name, '--help'], io)).code, 0);
    assert.match(out, new RegExp(`usage: zkts load ${name}`));
    assert.match(out, /--connect/);
  }
  assert.equal((await runLoad(['nope'], io)).code, 2);
  assert.equal((await runLoad(['connect', '--sessions', 'x'], io)).code, 2);
  assert.equal((await runLoad(['connect', '--bogus'], io)).code, 2);
  assert.equal((await runLoad(['read', '--depth', '0'], io)).code, 2);
  assert.equal((await runLoad([], io)).code, 2);
  assert.match(err, /unknown scenario 'nope'/);
});

test('charts render as inline SVG', () => {
  const svg = svgChart({ title: 'x <y>', xLabel: 's', yLabel: 'ms', logY: true, series: [{ name: 'p99', points: [[0, 0.5], [1, 20], [2, 3]] }] });
  assert.match(svg, /^<svg [^>]*xmlns/);
  assert.match(svg, /x &lt;y&gt;/);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  const empty = svgChart({ title: 'e', xLabel: 's', yLabel: 'n', series: [{ name: 'a', points: [] }] });
  assert.doesNotMatch(empty, /NaN|Infinity/);
  const html = renderHtml({
    tool: 'zkts load', formatVersion: 1, scenario: 'connect', label: null, target: 't', startedAt: 'now', wallS: 1, ok: true, problems: [], options: {},
    environment: { node: 'v20', platform: 'linux', cpus: 2, workers: 1, workerPids: [], workerRssBytes: [] },
    summary: {}, figures: [['a', 'b']], series: [], charts: [{ title: 'c', xLabel: 's', yLabel: 'n', series: [{ name: 'a', points: [[0, 1], [1, 2]] }] }], warnings: [],
  });
  assert.match(html, /<svg/);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
});
