// The live page: one self-contained HTML document (no build step, no CDN, works offline) that
// shows the MJPEG overlay with the regions drawn on it, the class fractions, fps and latency over
// the last minutes, the source and MQTT state, the model and the version. It polls /api/*.

import { createHash } from 'node:crypto';

const STYLE = `
:root { --fg: #1d2329; --muted: #65707b; --line: #d9dee3; --bg: #f5f7f9; --fps: #1f6feb; --lat: #d9480f; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: baseline; padding: 10px 16px;
  background: #1d2329; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
header span { color: #b8c1ca; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(260px, 2fr); gap: 16px; padding: 16px; }
@media (max-width: 800px) { main { grid-template-columns: 1fr; } }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; }
h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
#view { position: relative; background: #000; line-height: 0; }
#view img { width: 100%; display: block; min-height: 120px; }
#view svg { position: absolute; inset: 0; width: 100%; height: 100%; }
#view polygon { fill: rgba(255,255,255,.08); stroke: #fff; stroke-width: 2; stroke-dasharray: 6 4; }
.label { position: absolute; transform: translate(-50%, -100%); background: rgba(0,0,0,.65); color: #fff;
  font-size: 12px; line-height: 1.3; padding: 1px 6px; border-radius: 3px; white-space: nowrap; }
.label.below { transform: translate(-50%, 4px); }
#streamNote { position: absolute; left: 12px; top: 12px; color: #fff; line-height: 1.3; }
.pills { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 12px; }
.pill { border-radius: 12px; padding: 2px 10px; background: #e9edf1; }
.ok { background: #d3f2dc; color: #0f5323; } .bad { background: #fde0dc; color: #8a1c0c; }
table { width: 100%; border-collapse: collapse; }
td { padding: 2px 4px; vertical-align: middle; }
td.bar-cell { width: 55%; }
td.num { text-align: right; font-variant-numeric: tabular-nums; width: 4.5em; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; }
.bar { height: 10px; background: #e9edf1; border-radius: 2px; overflow: hidden; }
.bar div { height: 100%; }
tr.region td { padding-top: 10px; font-weight: 600; }
#chart { width: 100%; height: 150px; display: block; }
#chart text { font-size: 11px; fill: var(--muted); }
.legend { display: flex; gap: 16px; color: var(--muted); }
.legend .fps { color: var(--fps); } .legend .lat { color: var(--lat); }
.below { margin-top: 16px; } #error { color: #8a1c0c; }
footer { padding: 0 16px 16px; color: var(--muted); }
footer a { color: inherit; margin-right: 12px; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
let info = null;
let regions = [];

async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(path + ': HTTP ' + response.status);
  return response.json();
}

function el(tag, attrs, text) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function pill(id, text, good) {
  const node = $(id);
  node.textContent = text;
  node.className = 'pill ' + (good === undefined ? '' : good ? 'ok' : 'bad');
}

async function loadInfo() {
  info = await getJson('/api/info');
  const config = await getJson('/api/config');
  regions = config.regions || [];
  $('device').textContent = info.deviceId;
  $('model').textContent = info.model.id + ' · ' + info.model.runtime + '/' + info.model.provider;
  $('version').textContent = 'edgeseg ' + info.version;
  $('source').textContent = info.source;
  drawRegions();
}

function drawRegions() {
  const svg = $('regions');
  svg.replaceChildren();
  for (const label of document.querySelectorAll('.label')) label.remove();
  for (const region of regions) {
    svg.append(el('svg:polygon', {
      points: region.polygon.map(([x, y]) => x + ',' + y).join(' '),
      'vector-effect': 'non-scaling-stroke',
    }));
    const top = region.polygon.reduce((a, b) => (b[1] < a[1] ? b : a));
    const label = el('div', { class: 'label', 'data-region': region.name }, region.name);
    // Kept inside the picture: below the top vertex when it touches the upper edge.
    label.style.left = Math.min(0.92, Math.max(0.08, top[0])) * 100 + '%';
    label.style.top = top[1] * 100 + '%';
    if (top[1] < 0.08) label.classList.add('below');
    $('view').append(label);
  }
}

function fractionRows(body, fractions, classes) {
  for (const cls of classes) {
    if (!(cls.name in fractions)) continue;
    const value = fractions[cls.name];
    const colour = 'rgb(' + cls.color.join(',') + ')';
    const row = el('tr', { 'data-class': cls.name });
    const name = el('td');
    name.append(el('span', { class: 'swatch' }), ' ' + cls.name);
    name.firstChild.style.background = colour;
    const bar = el('div', { class: 'bar' });
    const fill = el('div');
    fill.style.width = (value * 100).toFixed(1) + '%';
    fill.style.background = colour;
    bar.append(fill);
    const barCell = el('td', { class: 'bar-cell' });
    barCell.append(bar);
    row.append(name, barCell, el('td', { class: 'num' }, (value * 100).toFixed(1) + '%'));
    body.append(row);
  }
}

function drawFractions(stats) {
  const body = $('fractions');
  body.replaceChildren();
  fractionRows(body, stats.classFractions, info.model.classes);
  for (const [region, fractions] of Object.entries(stats.regions)) {
    const head = el('tr', { class: 'region' });
    head.append(el('td', { colspan: '3' }, 'region ' + region));
    body.append(head);
    fractionRows(body, fractions, info.model.classes);
  }
}

function drawChart(timeline) {
  const svg = $('chart');
  svg.replaceChildren();
  const width = 600, height = 150, left = 34, right = 58, top = 8, bottom = 20;
  const now = Date.now();
  const spanMs = 10 * 60 * 1000;
  const points = timeline.points.filter((p) => now - p.t <= spanMs);
  const maxFps = Math.max(1, ...points.map((p) => p.fps));
  const maxLatency = Math.max(1, ...points.map((p) => p.latencyMs));
  const x = (t) => left + ((t - (now - spanMs)) / spanMs) * (width - left - right);
  const y = (v, max) => top + (1 - v / max) * (height - top - bottom);
  svg.append(el('svg:line', { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom, stroke: '#d9dee3' }));
  const line = (key, max, colour) => svg.append(el('svg:polyline', {
    points: points.map((p) => x(p.t).toFixed(1) + ',' + y(p[key], max).toFixed(1)).join(' '),
    fill: 'none', stroke: colour, 'stroke-width': '1.5', class: 'series-' + key,
  }));
  line('fps', maxFps, '#1f6feb');
  line('latencyMs', maxLatency, '#d9480f');
  svg.append(el('svg:text', { x: 2, y: top + 10 }, maxFps.toFixed(1)));
  svg.append(el('svg:text', { x: width - right + 4, y: top + 10 }, maxLatency.toFixed(0) + ' ms'));
  svg.append(el('svg:text', { x: left, y: height - 4 }, '−10 min'));
  svg.append(el('svg:text', { x: width - right - 22, y: height - 4 }, 'now'));
  const last = points[points.length - 1];
  $('fpsNow').textContent = last ? last.fps.toFixed(1) + ' fps' : '–';
  $('latencyNow').textContent = last ? last.latencyMs.toFixed(0) + ' ms latency' : '–';
}

async function tick() {
  try {
    const [stats, timeline] = await Promise.all([getJson('/api/stats').catch(() => null), getJson('/api/timeline')]);
    if (stats && info && stats.modelId !== info.model.id) await loadInfo();
    if (stats && info) drawFractions(stats);
    drawChart(timeline);
    $('error').textContent = '';
  } catch (error) {
    $('error').textContent = 'daemon unreachable: ' + error.message;
  }
}

async function tickHealth() {
  try {
    const health = await getJson('/api/health');
    const source = health.source;
    pill('sourceState', 'source ' + (source.state === 'ok' ? 'running' : source.state + (source.reason ? ': ' + source.reason : '')), source.state === 'ok');
    pill('mqttState', health.mqtt.connected ? 'MQTT connected' : 'MQTT disconnected', health.mqtt.connected);
    pill('pausedState', health.paused ? 'paused' : 'segmenting', !health.paused);
    pill('restarts', health.sourceRestarts + ' source restarts · ' + health.mqtt.reconnects + ' MQTT reconnects');
  } catch (error) {
    pill('sourceState', 'no health', false);
  }
}

function startStream() {
  const img = $('stream');
  img.onload = () => { $('streamNote').textContent = ''; };
  img.onerror = () => {
    $('streamNote').textContent = 'stream unavailable (viewer limit reached or daemon restarting); retrying';
    setTimeout(() => { img.src = '/stream.mjpeg?retry=' + Date.now(); }, 5000);
  };
  img.src = '/stream.mjpeg';
}

loadInfo().then(tick).catch((error) => { $('error').textContent = error.message; });
tickHealth();
startStream();
setInterval(tick, 2000);
setInterval(tickHealth, 5000);
`;

const BODY = `
<header><h1>edgeseg · <span id="device">…</span></h1>
<span id="model"></span><span id="version"></span><span id="source"></span></header>
<main>
  <div>
    <section>
      <div id="view"><img id="stream" alt="live overlay"><svg id="regions" viewBox="0 0 1 1"
        preserveAspectRatio="none"></svg><div id="streamNote"></div></div>
    </section>
    <section class="below">
      <h2>Last 10 minutes</h2>
      <div class="legend"><span class="fps">■ <span id="fpsNow">–</span></span>
        <span class="lat">■ <span id="latencyNow">–</span></span></div>
      <svg id="chart" viewBox="0 0 600 150" preserveAspectRatio="none"></svg>
    </section>
  </div>
  <section>
    <div class="pills"><span id="sourceState" class="pill">…</span><span id="mqttState" class="pill">…</span>
      <span id="pausedState" class="pill">…</span><span id="restarts" class="pill">…</span></div>
    <div id="error"></div>
    <h2>Class fractions</h2>
    <table><tbody id="fractions"></tbody></table>
  </section>
</main>
<footer><a href="/api/status">/api/status</a><a href="/api/health">/api/health</a><a href="/api/info">/api/info</a>
<a href="/api/config">/api/config</a><a href="/api/stats">/api/stats</a><a href="/metrics">/metrics</a>
<a href="/stream.mjpeg">/stream.mjpeg</a></footer>
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page, and a Content-Security-Policy that allows its own inline script and style and nothing from elsewhere. */
export const LIVE_PAGE = {
  html: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgeseg live</title><style>${STYLE}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`,
  contentSecurityPolicy: [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
};
