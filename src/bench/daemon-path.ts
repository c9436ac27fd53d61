// `edgeseg bench`: the daemon's real path (FrameLoop → Segmenter → engine, worker thread by default)
// on raw frames, against the bare session.run loop on the SAME session, in alternating rounds so
// that load from elsewhere on the machine falls on both alike; medians per stage, the ratio of
// their throughputs, CPU time per frame, and optionally the age of results from a camera process.
// Several engine variants (threads, spinning, worker vs main thread) can be compared in one run.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ImageSize } from '../data/types.js';
import { createEngine } from '../engine/create.js';
import type { EngineInfo, EngineOptions, InferenceEngine } from '../engine/types.js';
import { FrameLoop } from '../pipeline/frame-loop.js';
import { Segmenter } from '../segment/segmenter.js';
import { errorMessage } from '../system/errors.js';
import { type CameraSamples, cameraRound, LoopSamples, saturatedRound } from './rounds.js';
import {
  benchFrames,
  benchStream,
  mean,
  type RuntimeBench,
  type StageStats,
  stageStats,
  timeDecode,
  timeNoisyPostprocess,
} from './stages.js';

export type { RuntimeBench, StageStats } from './stages.js';

export interface BenchVariant {
  label: string;
  engine: Pick<EngineOptions, 'inferenceThread' | 'intraOpThreads' | 'allowSpinning'>;
}

export interface CameraReport {
  cameraFps: number;
  results: number;
  /** Capture → result ready. */
  ageMs: StageStats & { mean: number };
  meanMs: { queue: number; preprocess: number; inference: number; handoff: number; postprocess: number };
  /** Mean preprocess + inference + postprocess: the work a result needs. */
  workMeanMs: number;
  /** Mean age / mean work: 1 is a result as fresh as the work allows. */
  ageOverWork: number;
  resultsPerSecond: number;
}

export interface VariantReport {
  label: string;
  options: BenchVariant['engine'];
  engine: EngineInfo;
  frames: number;
  stages: { preprocess: StageStats; inference: StageStats; handoff: StageStats; postprocess: StageStats };
  prePostMedianMs: number;
  /** Results/s through the daemon's path fed by a camera faster than the model (a frame always waiting). */
  pipelineFps: number;
  /** session.run in a plain loop on the same session. */
  bareFps: number;
  bareMedianMs: number;
  ratio: number;
  /**
   * Median over rounds of each round's daemon-path / bare ratio: the two sides of a round run
   * back to back, so a burst of load from elsewhere hits one round, not the figure.
   */
  roundRatioMedian: number;
  /** Median over rounds of this variant's results/s over the first variant's in the same round. */
  vsFirstVariant: number;
  cpuMsPerFrame: { pipeline: number; bare: number };
  camera?: CameraReport;
}

export interface BenchReport {
  model: string;
  modelInput: string;
  frameSize: string;
  /** JPEG decode of a file input at the frame size: not part of the daemon's path (cameras give raw frames). */
  decode: StageStats;
  /** Post-processing of random logits: data-independent worst case. */
  noisyPostprocess: StageStats;
  variants: VariantReport[];
  /** The first variant's figures. */
  endToEndFps: number;
  bareSessionFps: number;
  ratio: number;
  tfjs: RuntimeBench | { skipped: string };
}

export interface BenchOptions {
  modelDir: string;
  /** Size of the raw frames fed in; default: the model's input size. */
  frameSize?: ImageSize;
  /** Frames per variant for each side, spread over `rounds` rounds. */
  frames: number;
  rounds?: number;
  engine: EngineOptions;
  /** Engine variants to compare; default: the engine options as given. */
  variants?: BenchVariant[];
  /** Also feed each variant from a camera process at this rate and report result ages. */
  cameraFps?: number;
  cameraResults?: number;
  tfjsFrames?: number;
  skipTfjs?: boolean;
  onProgress?: (message: string) => void;
}

/** Worker vs main thread (item: inference off the event loop). */
export function threadVariants(): BenchVariant[] {
  return [
    { label: 'worker thread', engine: { inferenceThread: 'worker' } },
    { label: 'main thread', engine: { inferenceThread: 'main' } },
  ];
}

/** Intra-op threads (1 and one per core) × spinning (on, off), in a worker thread. */
export function threadSpinVariants(): BenchVariant[] {
  const variants: BenchVariant[] = [];
  for (const threads of [...new Set([1, cpus().length])])
    for (const spinning of [true, false])
      variants.push({
        label: `${threads} thread${threads > 1 ? 's' : ''}, spinning ${spinning ? 'on' : 'off'}`,
        engine: { inferenceThread: 'worker', intraOpThreads: threads, allowSpinning: spinning },
      });
  return variants;
}

interface Running {
  variant: BenchVariant;
  engine: InferenceEngine;
  loop: FrameLoop;
  pipeline: LoopSamples;
  bare: { times: number[]; seconds: number; cpuMs: number };
  /** Per round: daemon-path results/s and bare runs/s. */
  rounds: Array<{ pipelineFps: number; bareFps: number }>;
  camera?: CameraSamples;
}

async function startVariant(options: BenchOptions, variant: BenchVariant, first: boolean): Promise<Running> {
  const engine = await createEngine(options.modelDir, {
    ...options.engine,
    ...variant.engine,
    runtime: 'onnxruntime',
    skipSha256: !first,
  });
  const segmenter = new Segmenter(engine);
  await segmenter.ready();
  const loop = new FrameLoop(segmenter);
  loop.start();
  return {
    variant,
    engine,
    loop,
    pipeline: new LoopSamples(),
    bare: { times: [], seconds: 0, cpuMs: 0 },
    rounds: [],
  };
}

async function timeBare(running: Running, runs: number): Promise<void> {
  const { engine, bare } = running;
  if (!engine.timeRuns) throw new Error(`${engine.info.runtime} engine cannot time bare runs`);
  const cpu = process.cpuUsage();
  const started = performance.now();
  bare.times.push(...(await engine.timeRuns(runs)));
  bare.seconds += (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  bare.cpuMs += (used.user + used.system) / 1000;
}

function cameraReport(samples: CameraSamples, cameraFps: number): CameraReport {
  const work = samples.preprocess.map((pre, i) => pre + samples.inference[i]! + samples.postprocess[i]!);
  const workMeanMs = mean(work);
  const ageMean = mean(samples.age);
  return {
    cameraFps,
    results: samples.frames,
    ageMs: { ...stageStats(samples.age), mean: ageMean },
    meanMs: {
      queue: mean(samples.queue),
      preprocess: mean(samples.preprocess),
      inference: mean(samples.inference),
      handoff: mean(samples.handoff),
      postprocess: mean(samples.postprocess),
    },
    workMeanMs,
    ageOverWork: workMeanMs > 0 ? ageMean / workMeanMs : 0,
    resultsPerSecond: samples.seconds > 0 ? samples.frames / samples.seconds : 0,
  };
}

function variantReport(running: Running, first: Running, cameraFps: number | undefined): VariantReport {
  const { pipeline: p, bare } = running;
  const median = (values: number[]) => stageStats(values).medianMs;
  const pipelineFps = p.seconds > 0 ? p.frames / p.seconds : 0;
  const bareFps = bare.seconds > 0 ? bare.times.length / bare.seconds : 0;
  return {
    label: running.variant.label,
    options: running.variant.engine,
    engine: running.engine.info,
    frames: p.frames,
    stages: {
      preprocess: stageStats(p.preprocess),
      inference: stageStats(p.inference),
      handoff: stageStats(p.handoff),
      postprocess: stageStats(p.postprocess),
    },
    prePostMedianMs: stageStats(p.preprocess.map((pre, i) => pre + p.postprocess[i]!)).medianMs,
    pipelineFps,
    bareFps,
    bareMedianMs: stageStats(bare.times).medianMs,
    ratio: bareFps > 0 ? pipelineFps / bareFps : 0,
    roundRatioMedian: median(running.rounds.map((round) => round.pipelineFps / round.bareFps)),
    vsFirstVariant: median(
      running.rounds.map((round, i) => round.pipelineFps / first.rounds[i]!.pipelineFps),
    ),
    cpuMsPerFrame: {
      pipeline: p.frames > 0 ? p.cpuMs / p.frames : 0,
      bare: bare.times.length > 0 ? bare.cpuMs / bare.times.length : 0,
    },
    ...(running.camera && cameraFps ? { camera: cameraReport(running.camera, cameraFps) } : {}),
  };
}

export async function benchModel(options: BenchOptions): Promise<BenchReport> {
  const say = options.onProgress ?? (() => {});
  const variants = options.variants ?? [
    {
      label: `${options.engine.inferenceThread ?? 'auto'} thread`,
      engine: { inferenceThread: 'auto', ...pick(options.engine) },
    },
  ];
  // One engine per variant, all alive, so that rounds can alternate between them.
  const running: Running[] = [];
  try {
    for (const [index, variant] of variants.entries()) {
      say(`starting ${variant.label}`);
      running.push(await startVariant(options, variant, index === 0));
    }
    const { manifest, info } = running[0]!.engine;
    const frameSize = options.frameSize ?? { height: manifest.input.height, width: manifest.input.width };
    const { jpegs, frames } = await benchFrames(frameSize, 4);
    // Warm-up (not measured); the bare runs also set the fast camera's rate for each variant.
    const intervals = new Map<Running, number>();
    for (const entry of running) {
      await saturatedRound(entry.loop, frames, 2, 10, new LoopSamples());
      const warm = (await entry.engine.timeRuns?.(5)) ?? [10];
      intervals.set(entry, Math.max(1, Math.floor(stageStats(warm).medianMs / 2)));
    }
    const rounds = Math.max(1, Math.min(options.rounds ?? 3, options.frames));
    const perRound = Math.ceil(options.frames / rounds);
    for (let round = 1; round <= rounds; round++) {
      for (const entry of running) {
        say(
          `round ${round}/${rounds}, ${entry.variant.label}: daemon path ${perRound} frames, bare session ${perRound} runs`,
        );
        const before = { frames: entry.pipeline.seconds, bare: entry.bare.seconds };
        // ABBA order: neither side always runs first after the other variant.
        if (round % 2 === 1) {
          await saturatedRound(entry.loop, frames, perRound, intervals.get(entry)!, entry.pipeline);
          await timeBare(entry, perRound);
        } else {
          await timeBare(entry, perRound);
          await saturatedRound(entry.loop, frames, perRound, intervals.get(entry)!, entry.pipeline);
        }
        entry.rounds.push({
          pipelineFps: perRound / (entry.pipeline.seconds - before.frames),
          bareFps: perRound / (entry.bare.seconds - before.bare),
        });
      }
    }
    if (options.cameraFps) {
      const results = options.cameraResults ?? 20;
      for (const entry of running) {
        say(`${entry.variant.label}: camera at ${options.cameraFps} frames/s, ${results} results`);
        entry.camera = await cameraRound(entry.loop, frameSize, options.cameraFps, results);
      }
    }
    const reports = running.map((entry) => variantReport(entry, running[0]!, options.cameraFps));
    const report: Omit<BenchReport, 'tfjs'> = {
      model: options.modelDir,
      modelInput: `${manifest.input.height}x${manifest.input.width}`,
      frameSize: `${frameSize.height}x${frameSize.width}`,
      decode: await timeDecode(jpegs, Math.max(10, options.frames)),
      noisyPostprocess: timeNoisyPostprocess(manifest.output, manifest.classes.length, info.outputDims, 20),
      variants: reports,
      endToEndFps: reports[0]!.pipelineFps,
      bareSessionFps: reports[0]!.bareFps,
      ratio: reports[0]!.ratio,
    };
    for (const entry of running.splice(0)) {
      await entry.loop.stop();
      await entry.engine.stop();
    }
    return { ...report, tfjs: await benchTfjs(options, manifest.files.tfjs !== undefined, frames, say) };
  } finally {
    for (const entry of running) await entry.engine.stop();
  }
}

function pick(engine: EngineOptions): BenchVariant['engine'] {
  return {
    ...(engine.inferenceThread ? { inferenceThread: engine.inferenceThread } : {}),
    ...(engine.intraOpThreads !== undefined ? { intraOpThreads: engine.intraOpThreads } : {}),
    ...(engine.allowSpinning !== undefined ? { allowSpinning: engine.allowSpinning } : {}),
  };
}

async function benchTfjs(
  options: BenchOptions,
  hasTfjsCopy: boolean,
  frames: Parameters<typeof benchStream>[1],
  say: (message: string) => void,
): Promise<RuntimeBench | { skipped: string }> {
  if (options.skipTfjs) return { skipped: 'not requested' };
  if (!hasTfjsCopy) return { skipped: 'the model directory has no tfjs copy (files.tfjs)' };
  const count = options.tfjsFrames ?? Math.min(options.frames, 5);
  say(`tfjs: segmenter, ${count} frames`);
  try {
    const tfjs = await createEngine(options.modelDir, {
      ...options.engine,
      runtime: 'tfjs',
      skipSha256: true,
    });
    try {
      return await benchStream(tfjs, frames, count);
    } finally {
      await tfjs.stop();
    }
  } catch (error) {
    return { skipped: `tfjs engine failed: ${errorMessage(error)}` };
  }
}
