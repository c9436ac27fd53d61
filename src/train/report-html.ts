// The self-contained HTML training report: loss and mIoU curves as inline SVG, the per-class IoU
// table, and sample predictions as inline base64 PNGs. It opens from disk without any server.

import type { ClassInfo } from '../model/manifest.js';
import type { EpochMetrics } from './checkpoints.js';
import type { EncodedPreview } from './previews.js';

export interface TrainingReport {
  title: string;
  dataSource: string;
  command: string;
  backend: string;
  classes: readonly ClassInfo[];
  history: readonly EpochMetrics[];
  best: { epoch: number; mIoU: number } | null;
  previews: readonly EncodedPreview[];
  settings: Record<string, unknown>;
  finishedAt: string;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Series {
  name: string;
  color: string;
  values: number[];
}

/** A small line chart: epochs on x, the series on y, with axis labels. */
function lineChart(title: string, series: Series[], yMin?: number, yMax?: number): string {
  const width = 520;
  const height = 240;
  const margin = { left: 52, right: 12, top: 24, bottom: 34 };
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  if (all.length === 0) return `<p>${escapeHtml(title)}: no data yet.</p>`;
  const low = yMin ?? Math.min(...all);
  const high = yMax ?? Math.max(...all);
  const span = high - low || 1;
  const count = Math.max(...series.map((s) => s.values.length));
  const x = (i: number) =>
    margin.left + (count <= 1 ? 0 : (i / (count - 1)) * (width - margin.left - margin.right));
  const y = (v: number) => margin.top + (1 - (v - low) / span) * (height - margin.top - margin.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => low + f * span);
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>` +
        `<text x="${margin.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${t.toPrecision(3)}</text>`,
    )
    .join('');
  const lines = series
    .map((s) => {
      const points = s.values
        .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : ''))
        .filter(Boolean)
        .join(' ');
      const dots = s.values
        .map((v, i) =>
          Number.isFinite(v)
            ? `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`
            : '',
        )
        .join('');
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>${dots}`;
    })
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${margin.left + 10 + i * 150}" y="6" width="12" height="4" fill="${s.color}"/>` +
        `<text x="${margin.left + 26 + i * 150}" y="12" font-size="11">${escapeHtml(s.name)}</text>`,
    )
    .join('');
  return (
    `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `${grid}${lines}${legend}` +
    `<text x="${(width / 2).toFixed(0)}" y="${height - 6}" text-anchor="middle" font-size="11">epoch (1–${count})</text>` +
    `</svg><figcaption>${escapeHtml(title)}</figcaption></figure>`
  );
}

const percent = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`;

const base64Png = (png: Uint8Array): string => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

export function renderTrainingReport(report: TrainingReport): string {
  const { history, classes } = report;
  const last = history.at(-1);
  const bestMetrics = report.best ? history.find((h) => h.epoch === report.best!.epoch) : undefined;
  const shown = bestMetrics ?? last;
  const classRows = classes
    .map((c) => {
      const swatch = `<span class="swatch" style="background:rgb(${c.color.join(',')})"></span>`;
      const iou = shown?.perClassIoU[c.id];
      return `<tr><td>${c.id}</td><td>${swatch}${escapeHtml(c.name)}${c.ignore ? ' (ignored)' : ''}</td><td>${percent(iou)}</td></tr>`;
    })
    .join('');
  const epochRows = history
    .map(
      (h) =>
        `<tr><td>${h.epoch}</td><td>${h.step}</td><td>${h.trainLoss.toFixed(4)}</td><td>${h.validationLoss.toFixed(4)}</td>` +
        `<td>${percent(h.pixelAccuracy)}</td><td>${h.mIoU.toFixed(4)}</td><td>${h.imagesPerSecond.toFixed(1)}</td><td>${h.seconds.toFixed(0)} s</td></tr>`,
    )
    .join('');
  const previews = report.previews
    .map(
      (p) =>
        `<div class="sample"><div><img alt="ground truth ${escapeHtml(p.name)}" src="${base64Png(p.truthPng)}" width="${p.width}" height="${p.height}"><br>ground truth</div>` +
        `<div><img alt="prediction ${escapeHtml(p.name)}" src="${base64Png(p.predictionPng)}" width="${p.width}" height="${p.height}"><br>prediction</div>` +
        `<p>${escapeHtml(p.name)}</p></div>`,
    )
    .join('');
  const settings = Object.entries(report.settings)
    .filter(([key]) => key !== 'command') // shown above the table
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(JSON.stringify(v))}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:nth-child(2){text-align:left}figure{display:inline-block;margin:0 1em 1em 0}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle;border:1px solid #888}
.sample{display:flex;gap:8px;align-items:flex-start;margin-bottom:1em}.sample div{text-align:center;font-size:12px}
img{image-rendering:pixelated;max-width:520px;height:auto}code{background:#f4f4f4;padding:2px 4px}
</style></head><body>
<h1>${escapeHtml(report.title)}</h1>
<p>Data source <b>${escapeHtml(report.dataSource)}</b>, backend ${escapeHtml(report.backend)}, finished ${escapeHtml(report.finishedAt)}.<br>
Command: <code>${escapeHtml(report.command)}</code></p>
<p><b>Best validation mIoU ${report.best ? report.best.mIoU.toFixed(4) : '–'}</b> (epoch ${report.best?.epoch ?? '–'}), pixel accuracy ${percent(bestMetrics?.pixelAccuracy)}.</p>
<h2>Curves</h2>
${lineChart('loss (cross-entropy)', [
  { name: 'training loss', color: '#1f77b4', values: history.map((h) => h.trainLoss) },
  { name: 'validation loss', color: '#d62728', values: history.map((h) => h.validationLoss) },
])}
${lineChart(
  'validation mIoU and pixel accuracy',
  [
    { name: 'mIoU', color: '#2ca02c', values: history.map((h) => h.mIoU) },
    { name: 'pixel accuracy', color: '#9467bd', values: history.map((h) => h.pixelAccuracy) },
  ],
  0,
  1,
)}
<h2>Per-class IoU (epoch ${shown?.epoch ?? '–'})</h2>
<table><tr><th>id</th><th>class</th><th>IoU</th></tr>${classRows}</table>
<h2>Sample predictions (validation)</h2>
${previews || '<p>No samples recorded.</p>'}
<h2>Epochs</h2>
<table><tr><th>epoch</th><th>step</th><th>train loss</th><th>val loss</th><th>pixel acc</th><th>mIoU</th><th>img/s</th><th>time</th></tr>${epochRows}</table>
<h2>Settings</h2>
<table>${settings}</table>
</body></html>
`;
}
