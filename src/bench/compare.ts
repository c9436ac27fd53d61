// `edgeseg bench --model A --compare B`: two models with the same input contract (typically fp32
// and its int8 copy) timed in one process on the same raw frames, in alternating rounds, so load
// from elsewhere on a shared machine falls on both alike. The result is a ratio of medians.

import { performance } from 'node:perf_hooks';
import { renderSyntheticScene } from '../data/synthetic-road.js';
import { createEngine } from '../engine/create.js';
import type { EngineInfo, EngineOptions, InferenceEngine } from '../engine/types.js';
import { Segmenter } from '../segment/segmenter.js';
import { UserError } from '../system/errors.js';
import { stageStats } from './stages.js';

export interface CompareOptions {
  modelA: string;
  modelB: string;
  rounds: number;
  /** Frames per model per round. */
  framesPerRound: number;
  engine: EngineOptions;
  onProgress?: (message: string) => void;
}

export interface ModelTiming {
  model: string;
  precision: string;
  engine: EngineInfo;
  /** Median over all rounds of the model's inference per frame. */
  inferenceMedianMs: number;
  /** Median over all rounds of preprocess + inference + postprocess per frame. */
  frameMedianMs: number;
  framesPerSecond: number;
}

export interface CompareReport {
  frameSize: string;
  a: ModelTiming;
  b: ModelTiming;
  rounds: Array<{ aFrameMedianMs: number; bFrameMedianMs: number; speedup: number }>;
  /** Median over rounds of (A's frame median / B's frame median): how many times faster B is. */
  speedup: number;
}

export const median = (values: number[]) => stageStats(values).medianMs;

export interface Side {
  model: string;
  engine: InferenceEngine;
  segmenter: Segmenter;
  frameMs: number[];
  inferenceMs: number[];
}

async function timeRound(
  side: Side,
  frame: { data: Uint8Array; width: number; height: number },
  frames: number,
) {
  const round: number[] = [];
  for (let i = 0; i < frames; i++) {
    const started = performance.now();
    const result = await side.segmenter.segment(frame);
    const frameMs = performance.now() - started;
    round.push(frameMs);
    side.frameMs.push(frameMs);
    side.inferenceMs.push(result.timings.inferenceMs);
  }
  return median(round);
}

export function timing(side: Side): ModelTiming {
  const frameMedianMs = median(side.frameMs);
  return {
    model: side.model,
    precision: side.engine.manifest.precision,
    engine: side.engine.info,
    inferenceMedianMs: median(side.inferenceMs),
    frameMedianMs,
    framesPerSecond: frameMedianMs > 0 ? 1000 / frameMedianMs : 0,
  };
}

/** Loaded models with their timings so far; each is fed a raw frame at its own input size. */
export interface TimedModels {
  sides: Side[];
  /** Per round, each model's median frame time, in the order the models were given. */
  roundMedians: number[][];
}

/**
 * Loads `models`, checks them with `check` (before any timing), warms each up with one frame, then
 * runs `rounds` rounds of `framesPerRound` raw frames through each model's Segmenter. Round r
 * starts with model r-1 (mod n) so that no model always runs right after the same one's burst; load
 * from elsewhere falls on all alike. `use` gets the timings; the engines are stopped after it.
 */
export async function withAlternatingRounds<T>(
  options: Omit<CompareOptions, 'modelA' | 'modelB'> & { models: readonly string[] },
  check: (sides: readonly Side[]) => void,
  use: (timed: TimedModels) => Promise<T> | T,
): Promise<T> {
  const say = options.onProgress ?? (() => {});
  const sides: Side[] = [];
  try {
    for (const model of options.models) {
      say(`loading ${model}`);
      const engine = await createEngine(model, options.engine);
      const segmenter = new Segmenter(engine);
      sides.push({ model, engine, segmenter, frameMs: [], inferenceMs: [] });
      await segmenter.ready();
    }
    check(sides);
    // A raw frame at each model's size, as a camera delivers it: no decode, no resize.
    const frames = sides.map((side) => {
      const size = { height: side.engine.manifest.input.height, width: side.engine.manifest.input.width };
      return { data: renderSyntheticScene(0x80000000, size).image, ...size };
    });
    for (const [index, side] of sides.entries()) await side.segmenter.segment(frames[index]!);
    const roundMedians: number[][] = [];
    for (let round = 1; round <= options.rounds; round++) {
      say(`round ${round}/${options.rounds}: ${options.framesPerRound} frames of each model`);
      const medians: number[] = new Array(sides.length).fill(0);
      for (let step = 0; step < sides.length; step++) {
        const index = (round - 1 + step) % sides.length;
        medians[index] = await timeRound(sides[index]!, frames[index]!, options.framesPerRound);
      }
      roundMedians.push(medians);
    }
    return await use({ sides, roundMedians });
  } finally {
    for (const side of sides) await side.engine.stop();
  }
}

export async function compareModels(options: CompareOptions): Promise<CompareReport> {
  return await withAlternatingRounds(
    { ...options, models: [options.modelA, options.modelB] },
    ([a, b]) => {
      const inputA = a!.engine.manifest.input;
      const inputB = b!.engine.manifest.input;
      if (inputA.height !== inputB.height || inputA.width !== inputB.width)
        throw new UserError(
          `--compare: ${options.modelB} takes ${inputB.height}x${inputB.width} frames, ${options.modelA} ${inputA.height}x${inputA.width}`,
          {
            hint: 'compare two versions of one model (e.g. fp32 and its int8 copy from edgeseg quantize); --models times models of different sizes',
          },
        );
    },
    ({ sides, roundMedians }) => {
      const [a, b] = sides as [Side, Side];
      const input = a.engine.manifest.input;
      const rounds = roundMedians.map(([aMs, bMs]) => ({
        aFrameMedianMs: aMs!,
        bFrameMedianMs: bMs!,
        speedup: aMs! / bMs!,
      }));
      return {
        frameSize: `${input.height}x${input.width}`,
        a: timing(a),
        b: timing(b),
        rounds,
        speedup: median(rounds.map((round) => round.speedup)),
      };
    },
  );
}
