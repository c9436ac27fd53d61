// Measures what the web features cost the daemon in segmented frames per second: the demo daemon
// (a subprocess, unthrottled: fps 120) in alternating rounds with nobody watching, with one
// /stream.mjpeg viewer, and with /metrics scraped every second; prints each round, the medians and
// the median of the per-round ratios (robust to the load of a shared machine drifting).
// Run: node --import tsx scripts/measure-web-cost.ts [rounds=6] [windowS=10] [streamMaxFps=5]

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [rounds = 6, windowS = 10, streamMaxFps = 5] = process.argv.slice(2).map(Number);
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'edgeseg-web-cost-'));
const override = join(dir, 'override.yaml');
await writeFile(override, `fps: 120\nhttp:\n  stream:\n    max_fps: ${streamMaxFps}\n`);
const httpPort = 18000 + Math.floor(Math.random() * 1000);
const daemon = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    'src/cli/index.ts',
    'run',
    '--demo',
    '--port',
    '0',
    '--http-port',
    String(httpPort),
    '--config',
    override,
  ],
  { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
daemon.stderr.on('data', (chunk: Buffer) => {
  stderr += chunk.toString();
});
const web = `http://127.0.0.1:${httpPort}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function framesOut(): Promise<number> {
  const health = (await (await fetch(`${web}/api/health`)).json()) as { frames: { out: number } };
  return health.frames.out;
}

type Mode = 'idle' | 'viewer' | 'scrape';

async function round(mode: Mode): Promise<{ fps: number; streamFrames: number }> {
  let streamFrames = 0;
  let stopViewer = () => {};
  if (mode === 'viewer')
    await new Promise<void>((resolve) => {
      const request = get(`${web}/stream.mjpeg`, (response) => {
        response.on('data', (chunk: Buffer) => {
          streamFrames += chunk.toString('latin1').split('--edgesegframe').length - 1;
        });
        resolve();
      });
      stopViewer = () => request.destroy();
    });
  await sleep(1000);
  const start = await framesOut();
  const started = Date.now();
  while (Date.now() - started < windowS * 1000) {
    if (mode === 'scrape') await (await fetch(`${web}/metrics`)).text();
    await sleep(1000);
  }
  const fps = ((await framesOut()) - start) / ((Date.now() - started) / 1000);
  stopViewer();
  return { fps, streamFrames };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
try {
  while (!stderr.includes('edgeseg demo running')) {
    if (daemon.exitCode !== null) throw new Error(`demo exited: ${stderr}`);
    await sleep(200);
  }
  await sleep(10_000);
  const results: Record<Mode, number[]> = { idle: [], viewer: [], scrape: [] };
  const orders: Mode[][] = [
    ['idle', 'viewer', 'scrape'],
    ['scrape', 'idle', 'viewer'],
    ['viewer', 'scrape', 'idle'],
  ];
  for (let r = 0; r < rounds; r++)
    for (const mode of orders[r % orders.length]!) {
      const { fps, streamFrames } = await round(mode);
      results[mode].push(fps);
      console.log(
        `round ${r + 1} ${mode.padEnd(6)} ${fps.toFixed(2)} frames/s${mode === 'viewer' ? ` (${streamFrames} stream frames)` : ''}`,
      );
    }
  // The load of a shared machine drifts between rounds: compare each round's windows with each other.
  for (const mode of ['viewer', 'scrape'] as const) {
    const ratios = results[mode].map((fps, r) => fps / results.idle[r]!);
    console.log(
      `${mode.padEnd(6)} median ${median(results[mode]).toFixed(2)} frames/s (idle ${median(results.idle).toFixed(2)}); ` +
        `median of per-round ratios to idle ${median(ratios).toFixed(3)} [${ratios.map((x) => x.toFixed(2)).join(' ')}]`,
    );
  }
} finally {
  daemon.kill('SIGINT');
  await sleep(500);
  await rm(dir, { recursive: true, force: true });
}
