// `edgeseg bench`: the daemon's path against the bare onnxruntime session on the same session
// (engine variants side by side, result ages from a camera process), engine start time and memory
// (--startup), a full-size random FCN-8s (--synthetic-vgg16), or training steps (--training).

import type { Command } from 'commander';
import { type CompareReport, compareModels } from '../bench/compare.js';
import {
  type BenchReport,
  benchModel,
  type RuntimeBench,
  threadSpinVariants,
  threadVariants,
  type VariantReport,
} from '../bench/daemon-path.js';
import { benchFeatures, type FeatureCostReport } from '../bench/features.js';
import { benchStartup, type StartupReport } from '../bench/startup.js';
import { benchSyntheticVgg16 } from '../bench/synthetic-vgg16.js';
import { benchTraining } from '../bench/training.js';
import type { ImageSize } from '../data/types.js';
import type { TfBackendName } from '../model/tf.js';
import { UserError } from '../system/errors.js';
import { addEngineFlags, type EngineFlags, engineLabel, engineOptionsFrom } from './infer.js';
import { integerOption, numberOption, sizeOption } from './parse.js';

interface BenchFlags extends EngineFlags {
  model?: string;
  compare?: string;
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
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

function variantLines(variant: VariantReport): string[] {
  const s = variant.stages;
  const stage = (name: string, stats: { medianMs: number; p90Ms: number }) =>
    `  ${name.padEnd(12)} median ${ms(stats.medianMs)}  p90 ${ms(stats.p90Ms)}`;
  const lines = [
    `[${variant.label}] ${engineLabel(variant.engine)} on the ${variant.engine.thread ?? 'main'} thread, ${variant.frames} frames each side`,
    stage('preprocess', s.preprocess),
    stage('inference', s.inference),
    stage('handoff', s.handoff),
    stage('postprocess', s.postprocess),
    `  pre+post     median ${ms(variant.prePostMedianMs)}`,
    `  daemon path  ${variant.pipelineFps.toFixed(2)} results/s, CPU ${ms(variant.cpuMsPerFrame.pipeline)}/frame`,
    `  bare session ${variant.bareFps.toFixed(2)} runs/s (median ${ms(variant.bareMedianMs)}), CPU ${ms(variant.cpuMsPerFrame.bare)}/run`,
    `  daemon path / bare session: ${variant.ratio.toFixed(3)} (median of per-round ratios ${variant.roundRatioMedian.toFixed(3)})`,
  ];
  if (variant.vsFirstVariant !== 1)
    lines.push(
      `  results/s against the first variant, median per round: ${variant.vsFirstVariant.toFixed(3)}`,
    );
  const camera = variant.camera;
  if (camera) {
    const m = camera.meanMs;
    lines.push(
      `  camera ${camera.cameraFps} frames/s, ${camera.results} results (${camera.resultsPerSecond.toFixed(2)}/s): age mean ${ms(camera.ageMs.mean)} (median ${ms(camera.ageMs.medianMs)}, p90 ${ms(camera.ageMs.p90Ms)})`,
      `    = queue ${ms(m.queue)} + pre ${ms(m.preprocess)} + inference ${ms(m.inference)} + handoff ${ms(m.handoff)} + post ${ms(m.postprocess)}`,
      `    age / (pre + inference + post = ${ms(camera.workMeanMs)}): ${camera.ageOverWork.toFixed(3)}`,
    );
  }
  return lines;
}

function tfjsLines(bench: RuntimeBench | { skipped: string }): string[] {
  if ('skipped' in bench) return [`tfjs: skipped: ${bench.skipped}`];
  const s = bench.stages;
  return [
    `[tfjs] ${bench.runtime}/${bench.engine.provider}, ${bench.frames} frames: inference median ${ms(s.inference.medianMs)}, pre+post ${ms(bench.prePostMedianMs)}, ${bench.endToEndFps.toFixed(2)} frames/s`,
  ];
}

export function formatBench(report: BenchReport): string {
  return [
    `model ${report.model} (input ${report.modelInput}), raw frames ${report.frameSize}`,
    `JPEG decode of a file input at that size (not in the daemon's path): median ${ms(report.decode.medianMs)}`,
    `post-processing of random logits: median ${ms(report.noisyPostprocess.medianMs)}`,
    ...report.variants.flatMap(variantLines),
    ...tfjsLines(report.tfjs),
  ].join('\n');
}

export function formatStartup(report: StartupReport): string {
  return [
    `engine start, ${report.model}:`,
    ...report.modes.map(
      (mode) =>
        `  ${mode.mode.padEnd(20)} start median ${(mode.startMs.medianMs / 1000).toFixed(2)} s, peak ${mode.peakMb.toFixed(0)} MB, steady ${mode.steadyMb.toFixed(0)} MB, peak/steady ${mode.peakOverSteady.toFixed(2)}`,
    ),
  ].join('\n');
}

export function formatCompare(report: CompareReport): string {
  const side = (label: string, t: CompareReport['a']) =>
    `${label} ${t.model} (${t.precision}, ${engineLabel(t.engine)}): frame median ${ms(t.frameMedianMs)}, inference median ${ms(t.inferenceMedianMs)}, ${t.framesPerSecond.toFixed(2)} frames/s`;
  return [
    `raw ${report.frameSize} frames, ${report.rounds.length} alternating rounds`,
    side('A', report.a),
    side('B', report.b),
    ...report.rounds.map(
      (round, i) =>
        `  round ${i + 1}: A ${ms(round.aFrameMedianMs)}  B ${ms(round.bFrameMedianMs)}  A/B ${round.speedup.toFixed(2)}`,
    ),
    compareVerdict(report),
  ].join('\n');
}

/**
 * The sentence under a --compare: which model is faster and by how much, from the median of the
 * per-round ratios; when the medians over all frames point the other way, the load changed during
 * the run and the sentence says so instead of naming a winner.
 */
export function compareVerdict(report: CompareReport): string {
  const perRound = report.speedup;
  const overall = report.a.frameMedianMs / report.b.frameMedianMs;
  const ratios = `median of the per-round A/B ratios ${perRound.toFixed(2)}, A/B over all frames ${overall.toFixed(2)}`;
  if (Math.sign(perRound - 1) !== Math.sign(overall - 1))
    return `inconclusive: the rounds and the whole run disagree on which is faster (${ratios}); the machine's load changed during the run: rerun with more --rounds on a quieter machine`;
  if (perRound >= 1) return `B is ${perRound.toFixed(2)}x as fast as A (${ratios})`;
  return `B is ${(1 / perRound).toFixed(2)}x slower than A (${ratios})`;
}

export function formatFeatureCost(report: FeatureCostReport): string {
  const ab = (name: string, a: string, b: string, result: { aMs: number; bMs: number; costMs: number }) =>
    `  ${name.padEnd(14)} ${a} ${ms(result.aMs)}, ${b} ${ms(result.bMs)}: ${result.costMs >= 0 ? '+' : ''}${ms(result.costMs)} per frame`;
  return [
    `model ${report.model}: medians of ${report.rounds} alternating rounds over ${report.scenes} scenes`,
    ...report.rows.flatMap((row) => [
      `frames ${row.frame} (HxW)`,
      ab('mask', 'point', 'linear', row.mask),
      ab('overlay', 'point', 'linear', row.overlay),
      ab('ignore-class', 'none', 'one', row.ignoreClass),
      ...(row.encoder
        ? [
            `  RTP encoder    ffmpeg libx264 ultrafast: ${ms(row.encoder.cpuMsPerFrame)} CPU per frame (${row.encoder.frames} frames)`,
          ]
        : []),
    ]),
  ].join('\n');
}

/** The flags that pick another benchmark than the daemon path; at most one is given. */
const BENCH_MODES: ReadonlyArray<readonly [keyof BenchFlags, string]> = [
  ['compare', '--compare'],
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
      const trainWidth = flags.trainWidth;
      const trainSize = flags.size;
      const report = await benchTraining({
        ...(backends ? { backends: backends as TfBackendName[] } : {}),
        ...(trainWidth !== undefined ? { widthMultiplier: trainWidth } : {}),
        ...(trainSize ? { height: trainSize.height, width: trainSize.width } : {}),
        ...(flags.trainBatch ? { batchSize: flags.trainBatch } : {}),
      });
      print(
        report,
        [
          `training: FCN-8s width ${report.widthMultiplier}, ${report.height}x${report.width}, batch ${report.batchSize}`,
          ...report.results.map(
            (result) =>
              `  ${result.backend.padEnd(10)} ${result.imagesPerSecond.toFixed(2)} images/s, ${result.gflopsPerSecond.toFixed(result.gflopsPerSecond < 10 ? 2 : 1)} GFLOP/s (${result.secondsPerStep.toFixed(2)} s/step, ${result.steps} steps)`,
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
    if (flags.compare) {
      if (!flags.model) throw new UserError('bench --compare DIR needs --model DIR to compare it with');
      const report = await compareModels({
        modelA: flags.model,
        modelB: flags.compare,
        rounds: flags.rounds ?? 5,
        framesPerRound: flags.frames ?? 10,
        engine,
        onProgress: progress,
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
