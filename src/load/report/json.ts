// The JSON result: the per-second series from the pool, the standard charts, writing the file.

import fs from 'node:fs';
import type { WorkerPool } from '../pool.js';
import type { Chart, ChartSeries, LoadResult, Scenario, SeriesRow } from '../types.js';

export function buildSeries(pool: WorkerPool): SeriesRow[] {
  const rows = pool.series();
  const first = rows[0]?.sec ?? 0;
  return rows.map((s) => {
    const counters: Record<string, number> = {};
    for (const [k, v] of s.counters) counters[k] = v;
    const latencyMs: SeriesRow['latencyMs'] = {};
    for (const [k, h] of s.hists) latencyMs[k] = h.summaryMs();
    return { t: s.sec - first, counters, latencyMs, connected: s.connected };
  });
}

const nonEmpty = (s: ChartSeries): boolean => s.points.some(([, y]) => y !== 0);

/** Throughput (events per second), latency percentiles per second, and connected sessions. */
export function standardCharts(series: SeriesRow[], scenario: Scenario): Chart[] {
  const charts: Chart[] = [];
  const rates: ChartSeries[] = [];
  for (const m of scenario.latencyMetrics) rates.push({ name: `${m} /s`, points: series.map((r) => [r.t, r.latencyMs[m]?.count ?? 0]) });
  for (const c of scenario.rateCounters) rates.push({ name: `${c} /s`, points: series.map((r) => [r.t, r.counters[c] ?? 0]) });
  const shown = rates.filter(nonEmpty);
  if (shown.length > 0) charts.push({ title: 'Throughput per second', xLabel: 'seconds', yLabel: 'per second', series: shown });
  for (const m of scenario.latencyMetrics) {
    const rows = series.filter((r) => (r.latencyMs[m]?.count ?? 0) > 0);
    if (rows.length === 0) continue;
    const pick = (f: 'p50' | 'p99' | 'p999' | 'max'): ChartSeries => ({ name: f === 'p999' ? 'p99.9' : f, points: rows.map((r) => [r.t, r.latencyMs[m]![f]]) });
    charts.push({ title: `${m} latency per second`, xLabel: 'seconds', yLabel: 'ms', logY: true, series: [pick('p50'), pick('p99'), pick('p999'), pick('max')] });
  }
  const conn = series.filter((r) => r.connected !== null);
  if (conn.some((r) => (r.connected ?? 0) > 0)) {
    charts.push({ title: 'Sessions connected', xLabel: 'seconds', yLabel: 'sessions', series: [{ name: 'connected', points: conn.map((r) => [r.t, r.connected ?? 0]) }] });
  }
  return charts;
}

export function writeJson(file: string, result: LoadResult): void {
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}
