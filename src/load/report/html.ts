// The HTML report: one self-contained file (inline CSS and SVG, no script, no external asset)
// with the run's key figures, its problems and warnings, its options and the charts.

import fs from 'node:fs';
import type { Chart, LoadResult } from '../types.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function niceStep(span: number, ticks: number): number {
  const raw = span / Math.max(1, ticks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return String(+v.toFixed(2));
  return String(+v.toPrecision(2));
}

/** One line chart as an inline <svg>. */
export function svgChart(c: Chart, width = 760, height = 300): string {
  const m = { l: 64, r: 16, t: 28, b: 44 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const pts = c.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = xs.length > 0 ? Math.min(...xs) : 0;
  let x1 = xs.length > 0 ? Math.max(...xs) : 1;
  if (x1 === x0) x1 = x0 + 1;
  const log = c.logY === true && ys.some((y) => y > 0);
  let y0: number;
  let y1: number;
  if (log) {
    const pos = ys.filter((y) => y > 0);
    y0 = 10 ** Math.floor(Math.log10(Math.min(...pos)));
    y1 = 10 ** Math.ceil(Math.log10(Math.max(...pos)));
    if (y1 <= y0) y1 = y0 * 10;
  } else {
    y0 = 0;
    y1 = ys.length > 0 ? Math.max(...ys) : 1;
    if (y1 <= 0) y1 = 1;
    const step = niceStep(y1, 5);
    y1 = Math.ceil(y1 / step) * step;
  }
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * w;
  const sy = (y: number): number => {
    if (log) {
      const v = Math.log10(Math.max(y, y0));
      return m.t + h - ((v - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * h;
    }
    return m.t + h - ((y - y0) / (y1 - y0)) * h;
  };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(c.title)}">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${m.l}" y="18" font-size="14" font-weight="bold">${esc(c.title)}</text>`);
  // y grid and labels
  const yt: number[] = [];
  if (log) for (let v = y0; v <= y1 * 1.0001; v *= 10) yt.push(v);
  else {
    const step = niceStep(y1 - y0, 5);
    for (let v = y0; v <= y1 + step / 1000; v += step) yt.push(v);
  }
  for (const v of yt) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${m.l + w}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  const xstep = niceStep(x1 - x0, 8);
  for (let v = Math.ceil(x0 / xstep) * xstep; v <= x1 + xstep / 1000; v += xstep) {
    const x = sx(v).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + h}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x}" y="${m.t + h + 16}" font-size="11" text-anchor="middle">${fmt(v)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${m.l + w / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${esc(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.t + h / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(c.yLabel)}${log ? ' (log)' : ''}</text>`);
  c.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    if (s.points.length === 0) return;
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    if (s.points.length <= 60) for (const p of s.points) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.2" fill="${color}"/>`);
    const lx = m.l + 8 + i * 110;
    parts.push(`<rect x="${lx}" y="${m.t + 6}" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="${m.t + 15}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function renderHtml(r: LoadResult): string {
  const rows = (pairs: Array<[string, string]>): string => pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const opts = Object.entries(r.options).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  const status = r.error !== undefined ? `<p class="bad">Run failed: ${esc(r.error)}</p>` : r.ok ? '<p class="ok">OK: no problems found.</p>' : '';
  const list = (title: string, items: string[], cls: string): string => (items.length === 0 ? '' : `<h2>${title}</h2><ul class="${cls}">${items.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zkts load ${esc(r.scenario)}${r.label !== null ? ` (${esc(r.label)})` : ''}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:980px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{text-align:left;padding:3px 12px 3px 0;vertical-align:top}
th{font-weight:600;color:#555}.ok{color:#186a1a}.bad{color:#a40000}.warn{color:#8a5a00}
svg{display:block;margin:12px 0;border:1px solid #eee}code{background:#f4f4f4;padding:1px 4px}
</style></head><body>
<h1>zkts load: ${esc(r.scenario)}</h1>
<p>Target <code>${esc(r.target)}</code>${r.label !== null ? `, ${esc(r.label)}` : ''}; started ${esc(r.startedAt)}; ${r.wallS.toFixed(1)} s wall; ${r.environment.workers} worker process(es); Node ${esc(r.environment.node)}, ${r.environment.cpus} CPUs.</p>
${status}
<h2>Figures</h2><table>${rows(r.figures)}</table>
${list('Problems', r.problems, 'bad')}
${list('Warnings', r.warnings, 'warn')}
<h2>Charts</h2>
${r.charts.map((c) => svgChart(c)).join('\n')}
<h2>Options</h2><table>${rows(opts)}</table>
</body></html>
`;
}

export function writeHtml(file: string, r: LoadResult): void {
  fs.writeFileSync(file, renderHtml(r));
}
