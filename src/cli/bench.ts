// `edgeseg bench`: the daemon's path against the bare onnxruntime session on the same session
// (engine variants side by side, result ages from a camera process), engine start time and memory
// (--startup), a speed table of several models (--models), a full-size random FCN-8s
// (--synthetic-vgg16), or training steps (--training).

import type { Command } from 'commander';
import { compareModels } from '../bench/compare.js';
import { benchModel, threadSpinVariants, threadVariants } from '../bench/daemon-path.js';
import { benchFeatures } from '../bench/features.js';
import { benchModelTable } from '../bench/model-table.js';
import { benchStartup } from '../bench/startup.js';
import { benchSyntheticVgg16 } from '../bench/synthetic-vgg16.js';
import { benchTraining } from '../bench/training.js';
import type { ImageSize } from '../data/types.js';
import type { TfBackendName } from '../model/tf.js';
import { UserError } from '../system/errors.js';
import {
  formatBench,
  formatCompare,
  formatFeatureCost,
  formatModelTable,
  formatStartup,
} from './bench-format.js';
import { addEngineFlags, type EngineFlags, engineOptionsFrom } from './infer.js';
import { integerOption, numberOption, sizeOption } from './parse.js';

interface BenchFlags extends EngineFlags {
  model?: string;
  compare?: string;
  models?: string[];
  size?: ImageSize;
  trainWidth?: number;
  trainBatch?: number;
  frames?: number;
  rounds?: number;
  tfjsFrames?: number;
  json?: boolean;
  tfjs: boolean;
  cameraFps?: number;
  cameraResults?: number;
  compareThreads?: boolean;
  sweepThreads?: boolean;
  startup?: boolean;
  repeats?: number;
  syntheticVgg16?: boolean;
  training?: boolean;
  features?: boolean;
  tfBackends?: string;
  trainWorkers?: string;
}

/** The flags that pick another benchmark than the daemon path; at most one is given. */
const BENCH_MODES: ReadonlyArray<readonly [keyof BenchFlags, string]> = [
  ['compare', '--compare'],
  ['models', '--models'],
  ['startup', '--startup'],
  ['features', '--features'],
  ['syntheticVgg16', '--synthetic-vgg16'],
  ['training', '--training'],
];

export function register(program: Command): void {
  const command = program
    .command('bench')
    .description(
      "benchmark the daemon's path against the bare onnxruntime session: per-stage median/p90, results/s, ratio; " +
        'or, with one mode flag, two models, start-up, feature cost, a full-size VGG16 or training',
    )
    .optionsGroup('Daemon path (the default: no mode flag):')
    .option('--model <dir>', 'model directory')
    .addOption(sizeOption('--size <HxW>', "raw frame size fed in (default: the model's input size)"))
    .addOption(
      integerOption(
        '--frames <n>',
        'frames per side (default 60; 6 with --synthetic-vgg16; with --compare per model and round, default 10)',
        { min: 1, max: 100_000 },
      ),
    )
    .addOption(
      integerOption('--rounds <n>', 'alternating rounds (default 3; 5 with --compare)', {
        min: 1,
        max: 1000,
      }),
    )
    .addOption(
      integerOption(
        '--camera-fps <n>',
        'also feed frames from a camera process at this rate and report result ages',
        { min: 1, max: 1000 },
      ),
    )
    .addOption(
      integerOption('--camera-results <n>', 'results to time from the camera (default 20)', {
        min: 1,
        max: 100_000,
      }),
    )
    .option('--compare-threads', 'compare onnxruntime in a worker thread with the main thread')
    .option('--sweep-threads', 'compare intra-op threads 1 and all cores, spinning on and off')
    .addOption(
      integerOption(
        '--tfjs-frames <n>',
        'frames for the tfjs fallback (default: min(frames, 5); 2 with --synthetic-vgg16)',
        { min: 1, max: 100_000 },
      ),
    )
    .option('--no-tfjs', 'skip the tfjs fallback column')
    .option('--json', 'print JSON')
    .optionsGroup('Modes (at most one):')
    .option('--compare <dir>', 'time a second model (e.g. its int8 copy) against --model, rounds alternating')
    .option(
      '--models <dirs...>',
      'a speed table: parameters, forward GFLOP and frame times of several models of any input sizes, rounds alternating over all, ratios to the first (default 3 rounds of 3 frames)',
    )
    .option('--startup', 'time engine starts and peak memory without / with the optimised-model cache')
    .addOption(
      integerOption('--repeats <n>', 'with --startup: repeats of each start (default 2)', {
        min: 1,
        max: 1000,
      }),
    )
    .option(
      '--features',
      'cost per frame of --filter-mode linear, --ignore-class and the RTP video output, at 360x640 and 720x1280 (or --size)',
    )
    .option('--synthetic-vgg16', 'benchmark a full-size random-weight FCN-8s at 160x576 and 512x1024 (HxW)')
    .option('--training', 'benchmark training steps instead (see docs/training.md)')
    .option('--tf-backends <list>', 'with --training: TensorFlow.js backends to compare (default wasm,cpu)')
    .option(
      '--train-workers <list>',
      'with --training: gradient worker counts to compare on wasm/cpu, e.g. 0,1 (default 0; see train --train-workers)',
    )
    .addOption(
      numberOption(
        '--train-width <multiplier>',
        'with --training: width multiplier (default 0.25; 1 is VGG16)',
        {
          min: 0,
          minExclusive: true,
          max: 1,
        },
      ),
    )
    .addOption(
      integerOption(
        '--train-batch <n>',
        'with --training: batch size (default 4); --size sets HxW (default 96x288)',
        { min: 1, max: 1000 },
      ),
    )
    .optionsGroup('Engine:');
  addEngineFlags(command).action(async (flags: BenchFlags) => {
    const modes = BENCH_MODES.filter(([key]) => flags[key] !== undefined && flags[key] !== false);
    if (modes.length > 1)
      throw new UserError(
        `${modes.map(([, flag]) => flag).join(' and ')} are different benchmarks: give one at a time`,
      );
    const synthetic = flags.syntheticVgg16 === true;
    const frames = flags.frames ?? (synthetic ? 6 : 60);
    const tfjsFrames = flags.tfjsFrames ?? (synthetic ? 2 : undefined);
    const engine = engineOptionsFrom(flags);
    const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
    const print = (json: unknown, text: string) =>
      process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
    if (flags.training) {
      progress('training steps per TensorFlow.js backend');
      const backends = flags.tfBackends?.split(',').map((name) => name.trim());
      for (const backend of backends ?? [])
        if (!['tensorflow', 'wasm', 'cpu'].includes(backend))
          throw new UserError(`--tf-backends: unknown backend "${backend}"`, {
            hint: 'use tensorflow, wasm, cpu',
          });
      const workers = flags.trainWorkers?.split(',').map((text) => {
        const count = Number(text.trim());
        if (!Number.isInteger(count) || count < 0 || count > 64)
          throw new UserError(`--train-workers: "${text}" is not a worker count`, {
            hint: 'a comma-separated list of integers from 0 to 64, e.g. 0,1',
          });
        return count;
      });
      const trainWidth = flags.trainWidth;
      const trainSize = flags.size;
      const report = await benchTraining({
        ...(backends ? { backends: backends as TfBackendName[] } : {}),
        ...(trainWidth !== undefined ? { widthMultiplier: trainWidth } : {}),
        ...(trainSize ? { height: trainSize.height, width: trainSize.width } : {}),
        ...(flags.trainBatch ? { batchSize: flags.trainBatch } : {}),
        ...(workers ? { workers } : {}),
      });
      print(
        report,
        [
          `training: FCN-8s width ${report.widthMultiplier}, ${report.height}x${report.width}, batch ${report.batchSize}`,
          ...report.results.map(
            (result) =>
              `  ${`${result.backend}${result.workers > 0 ? ` +${result.workers} worker${result.workers > 1 ? 's' : ''}` : ''}`.padEnd(18)} ${result.imagesPerSecond.toFixed(2)} images/s, ${result.gflopsPerSecond.toFixed(result.gflopsPerSecond < 10 ? 2 : 1)} GFLOP/s (${result.secondsPerStep.toFixed(2)} s/step, ${result.steps} steps)`,
          ),
        ].join('\n'),
      );
      return;
    }
    if (flags.features) {
      if (!flags.model) throw new UserError('bench --features needs --model DIR');
      const report = await benchFeatures({
        modelDir: flags.model,
        engine,
        frameSizes: flags.size
          ? [flags.size]
          : [
              { height: 360, width: 640 },
              { height: 720, width: 1280 },
            ],
        encoderFrames: flags.frames ?? 100,
        onProgress: progress,
      });
      print(report, formatFeatureCost(report));
      return;
    }
    if (flags.compareThreads && flags.sweepThreads)
      throw new UserError('--compare-threads and --sweep-threads compare different things: pick one');
    /** Alternating rounds of several models: --rounds and --frames, or the mode's defaults. */
    const roundOptions = (rounds: number, framesPerRound: number) => ({
      rounds: flags.rounds ?? rounds,
      framesPerRound: flags.frames ?? framesPerRound,
      engine,
      onProgress: progress,
    });
    if (flags.models) {
      if (flags.model)
        throw new UserError('bench --models takes every model itself: leave out --model', {
          hint: 'put the model the others are compared with first: --models A B C',
        });
      if (flags.models.length < 2) throw new UserError('bench --models needs at least two model directories');
      const report = await benchModelTable({ models: flags.models, ...roundOptions(3, 3) });
      print(report, formatModelTable(report));
      return;
    }
    if (flags.compare) {
      if (!flags.model) throw new UserError('bench --compare DIR needs --model DIR to compare it with');
      const report = await compareModels({
        modelA: flags.model,
        modelB: flags.compare,
        ...roundOptions(5, 10),
      });
      print(report, formatCompare(report));
      return;
    }
    const options = {
      frames,
      ...(flags.rounds !== undefined ? { rounds: flags.rounds } : {}),
      ...(tfjsFrames !== undefined ? { tfjsFrames } : {}),
      ...(flags.compareThreads ? { variants: threadVariants() } : {}),
      ...(flags.sweepThreads ? { variants: threadSpinVariants() } : {}),
      ...(flags.cameraFps !== undefined ? { cameraFps: flags.cameraFps } : {}),
      ...(flags.cameraResults !== undefined ? { cameraResults: flags.cameraResults } : {}),
      engine,
      skipTfjs: !flags.tfjs,
      onProgress: progress,
    };
    if (synthetic) {
      const reports = await benchSyntheticVgg16(options);
      print({ syntheticVgg16: reports }, reports.map(formatBench).join('\n\n'));
      return;
    }
    if (!flags.model) throw new UserError('bench needs --model DIR (or --synthetic-vgg16 / --training)');
    if (flags.startup) {
      const report = await benchStartup({
        modelDir: flags.model,
        engine,
        repeats: flags.repeats ?? 2,
        onProgress: progress,
      });
      print(report, formatStartup(report));
      return;
    }
    const report = await benchModel({
      modelDir: flags.model,
      ...(flags.size ? { frameSize: flags.size } : {}),
      ...options,
    });
    print(report, formatBench(report));
  });
}
