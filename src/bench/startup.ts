// `edgeseg bench --startup`: engine start time and peak memory without the optimised-model cache,
// with it on a first start (optimise and store) and on a later start (load the stored graph), each
// in a fresh process (bench/startup-probe) so that peaks do not mix; the modes alternate.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EngineOptions } from '../engine/types.js';
import { siblingModuleArgs } from '../system/sibling-module.js';
import { type StageStats, stageStats } from './stages.js';

const run = promisify(execFile);

export type StartMode = 'no cache' | 'cache, first start' | 'cache, later start';

export interface StartupProbe {
  mode: StartMode;
  startMs: number;
  modelCache: string;
  /** VmHWM: the most memory the process held at once. */
  peakMb: number;
  /** VmRSS after the start and a few frames. */
  steadyMb: number;
}

export interface StartupReport {
  model: string;
  probes: StartupProbe[];
  modes: Array<{
    mode: StartMode;
    startMs: StageStats;
    peakMb: number;
    steadyMb: number;
    peakOverSteady: number;
  }>;
}

async function probe(
  modelDir: string,
  options: Omit<EngineOptions, 'logger'>,
  mode: StartMode,
): Promise<StartupProbe> {
  const argument = JSON.stringify({ modelDir, options, runs: 3 });
  const { stdout } = await run(
    process.execPath,
    [...siblingModuleArgs(import.meta.url, 'startup-probe'), argument],
    {
      maxBuffer: 1 << 20,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as Omit<StartupProbe, 'mode'>;
  return { mode, ...result };
}

export async function benchStartup(options: {
  modelDir: string;
  engine: EngineOptions;
  repeats: number;
  onProgress?: (message: string) => void;
}): Promise<StartupReport> {
  const say = options.onProgress ?? (() => {});
  const { logger: _logger, ...engine } = { ...options.engine, runtime: 'onnxruntime' as const };
  const probes: StartupProbe[] = [];
  for (let repeat = 1; repeat <= options.repeats; repeat++) {
    const cacheDir = await mkdtemp(join(tmpdir(), 'edgeseg-model-cache-'));
    try {
      say(`repeat ${repeat}/${options.repeats}: start without a cache`);
      probes.push(await probe(options.modelDir, engine, 'no cache'));
      say(`repeat ${repeat}/${options.repeats}: first start with an empty cache`);
      probes.push(
        await probe(options.modelDir, { ...engine, optimizedModelCacheDir: cacheDir }, 'cache, first start'),
      );
      say(`repeat ${repeat}/${options.repeats}: later start from the cache`);
      probes.push(
        await probe(options.modelDir, { ...engine, optimizedModelCacheDir: cacheDir }, 'cache, later start'),
      );
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  const modes = (['no cache', 'cache, first start', 'cache, later start'] as const).map((mode) => {
    const mine = probes.filter((entry) => entry.mode === mode);
    const median = (values: number[]) => stageStats(values).medianMs;
    const peakMb = median(mine.map((entry) => entry.peakMb));
    const steadyMb = median(mine.map((entry) => entry.steadyMb));
    return {
      mode,
      startMs: stageStats(mine.map((entry) => entry.startMs)),
      peakMb,
      steadyMb,
      peakOverSteady: peakMb / steadyMb,
    };
  });
  return { model: options.modelDir, probes, modes };
}
