// The load report's HTML page and its inline SVG charts (src/load/report/html.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderHtml, svgChart } from '../../../src/load/report/html.js';

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
