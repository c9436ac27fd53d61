// `edgeseg bench`: stage timings and throughput of a model (onnxruntime vs the tfjs fallback vs the
// bare onnxruntime session), a full-size random FCN-8s (--synthetic-vgg16), or training (--training).

import type { Command } from 'commander';
import { type BenchReport, benchModel, type RuntimeBench } from '../engine/bench.js';
import { benchSyntheticVgg16 } from '../engine/bench-synthetic.js';
import { type CompareReport, compareModels } from '../engine/compare-models.js';
import type { TfBackendName } from '../model/tf.js';
import { UserError } from '../system/errors.js';
import { benchTraining } from '../train/bench.js';
import { addEngineFlags, type EngineFlags, engineOptionsFrom } from './infer.js';
import { parseImageSize } from './parse.js';

interface BenchFlags extends EngineFlags {
  model?: string;
  compare?: string;
  rounds?: string;
  size?: string;
  frames?: string;
  tfjsFrames?: string;
  json?: boolean;
  noTfjs?: boolean;
  tfjs: boolean;
  syntheticVgg16?: boolean;
  training?: boolean;
  tfBackends?: string;
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

function column(bench: RuntimeBench | { skipped: string }): string[] {
  if ('skipped' in bench) return [`skipped: ${bench.skipped}`];
  const s = bench.stages;
  return [
    `${bench.runtime}/${bench.engine.provider}, ${bench.frames} frames`,
    `  decode       median ${ms(s.decode.medianMs)}  p90 ${ms(s.decode.p90Ms)}`,
    `  preprocess   median ${ms(s.preprocess.medianMs)}  p90 ${ms(s.preprocess.p90Ms)}`,
    `  inference    median ${ms(s.inference.medianMs)}  p90 ${ms(s.inference.p90Ms)}`,
    `  postprocess  median ${ms(s.postprocess.medianMs)}  p90 ${ms(s.postprocess.p90Ms)}`,
    `  pre+post     median ${ms(bench.prePostMedianMs)}`,
    `  end to end   ${bench.endToEndFps.toFixed(2)} frames/s`,
  ];
}

export function formatBench(report: BenchReport): string {
  return [
    `model ${report.model} (input ${report.modelInput}), frames ${report.frameSize} JPEG`,
    ...column(report.onnxruntime),
    ...column(report.tfjs),
    `bare onnxruntime session: ${report.bareSessionFps.toFixed(2)} runs/s (median ${ms(report.bareSessionMedianMs)})`,
    `end-to-end / bare session: ${report.ratio.toFixed(3)}`,
  ].join('\n');
}

export function formatCompare(report: CompareReport): string {
  const side = (label: string, t: CompareReport['a']) =>
    `${label} ${t.model} (${t.precision}, ${t.engine.runtime}/${t.engine.provider}): frame median ${ms(t.frameMedianMs)}, inference median ${ms(t.inferenceMedianMs)}, ${t.framesPerSecond.toFixed(2)} frames/s`;
  return [
    `raw ${report.frameSize} frames, ${report.rounds.length} alternating rounds`,
    side('A', report.a),
    side('B', report.b),
    ...report.rounds.map(
      (round, i) =>
        `  round ${i + 1}: A ${ms(round.aFrameMedianMs)}  B ${ms(round.bFrameMedianMs)}  A/B ${round.speedup.toFixed(2)}`,
    ),
    `B is ${report.speedup.toFixed(2)}x as fast as A (median of the per-round ratios of frame medians)`,
  ].join('\n');
}

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new UserError(`${flag} must be a positive integer, got ${text}`);
  return value;
}

export function register(program: Command): void {
  const command = program
    .command('bench')
    .description('benchmark a model: per-stage median/p90, frames/s, onnxruntime vs tfjs vs the bare session')
    .option('--model <dir>', 'model directory')
    .option('--compare <dir>', 'time a second model (e.g. its int8 copy) against --model, rounds alternating')
    .option('--rounds <n>', 'with --compare: alternating rounds (default 5)')
    .option('--size <HxW>', "frame size fed in (default: the model's input size)")
    .option('--frames <n>', 'frames to time (default 50; 5 with --synthetic-vgg16)')
    .option(
      '--tfjs-frames <n>',
      'frames for the tfjs fallback (default: min(frames, 5); 2 with --synthetic-vgg16)',
    )
    .option('--no-tfjs', 'skip the tfjs fallback column')
    .option('--json', 'print JSON (endToEndFps, bareSessionFps, ratio, stages)')
    .option('--synthetic-vgg16', 'benchmark a full-size random-weight FCN-8s at 576x160 and 1024x512')
    .option('--training', 'benchmark training steps instead (see docs/training.md)')
    .option('--tf-backends <list>', 'with --training: TensorFlow.js backends to compare (default wasm,cpu)');
  addEngineFlags(command).action(async (flags: BenchFlags) => {
    const synthetic = flags.syntheticVgg16 === true;
    const frames = positive(flags.frames, '--frames') ?? (synthetic ? 5 : 50);
    const tfjsFrames = positive(flags.tfjsFrames, '--tfjs-frames') ?? (synthetic ? 2 : undefined);
    const engine = engineOptionsFrom(flags);
    const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
    if (flags.training) {
      progress('training steps per TensorFlow.js backend');
      const backends = flags.tfBackends?.split(',').map((name) => name.trim());
      for (const backend of backends ?? [])
        if (!['tensorflow', 'wasm', 'cpu'].includes(backend))
          throw new UserError(`--tf-backends: unknown backend "${backend}"`, {
            hint: 'use tensorflow, wasm, cpu',
          });
      const report = await benchTraining(backends ? { backends: backends as TfBackendName[] } : {});
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        process.stdout.write(
          `training: FCN-8s width ${report.widthMultiplier}, ${report.height}x${report.width}, batch ${report.batchSize}\n`,
        );
        for (const result of report.results)
          process.stdout.write(
            `  ${result.backend.padEnd(10)} ${result.imagesPerSecond.toFixed(2)} images/s (${result.secondsPerStep.toFixed(2)} s/step, ${result.steps} steps)\n`,
          );
      }
      return;
    }
    if (synthetic) {
      const reports = await benchSyntheticVgg16({
        frames,
        ...(tfjsFrames !== undefined ? { tfjsFrames } : {}),
        engine,
        skipTfjs: !flags.tfjs,
        onProgress: progress,
      });
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ syntheticVgg16: reports }, null, 2)}\n`
          : `${reports.map(formatBench).join('\n\n')}\n`,
      );
      return;
    }
    if (!flags.model) throw new UserError('bench needs --model DIR (or --synthetic-vgg16 / --training)');
    if (flags.compare) {
      const report = await compareModels({
        modelA: flags.model,
        modelB: flags.compare,
        rounds: positive(flags.rounds, '--rounds') ?? 5,
        framesPerRound: positive(flags.frames, '--frames') ?? 10,
        engine,
        onProgress: progress,
      });
      process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCompare(report)}\n`,
      );
      return;
    }
    const report = await benchModel({
      modelDir: flags.model,
      ...(flags.size ? { frameSize: parseImageSize(flags.size) } : {}),
      frames,
      ...(tfjsFrames !== undefined ? { tfjsFrames } : {}),
      engine,
      skipTfjs: !flags.tfjs,
      onProgress: progress,
    });
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatBench(report)}\n`);
  });
}
