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

const median = (values: number[]) => stageStats(values).medianMs;

interface Side {
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

function timing(model: string, side: Side): ModelTiming {
  const frameMedianMs = median(side.frameMs);
  return {
    model,
    precision: side.engine.manifest.precision,
    engine: side.engine.info,
    inferenceMedianMs: median(side.inferenceMs),
    frameMedianMs,
    framesPerSecond: frameMedianMs > 0 ? 1000 / frameMedianMs : 0,
  };
}

export async function compareModels(options: CompareOptions): Promise<CompareReport> {
  const say = options.onProgress ?? (() => {});
  const engines: InferenceEngine[] = [];
  try {
    const sides: Side[] = [];
    for (const model of [options.modelA, options.modelB]) {
      say(`loading ${model}`);
      const engine = await createEngine(model, options.engine);
      engines.push(engine);
      const segmenter = new Segmenter(engine);
      await segmenter.ready();
      sides.push({ engine, segmenter, frameMs: [], inferenceMs: [] });
    }
    const [a, b] = sides as [Side, Side];
    const inputA = a.engine.manifest.input;
    const inputB = b.engine.manifest.input;
    if (inputA.height !== inputB.height || inputA.width !== inputB.width)
      throw new UserError(
        `--compare: ${options.modelB} takes ${inputB.height}x${inputB.width} frames, ${options.modelA} ${inputA.height}x${inputA.width}`,
        { hint: 'compare two versions of one model (e.g. fp32 and its int8 copy from edgeseg quantize)' },
      );
    // A raw frame at the model's size, as a camera delivers it: no decode, no resize on either side.
    const size = { height: inputA.height, width: inputA.width };
    const frame = { data: renderSyntheticScene(0x80000000, size).image, ...size };
    for (const side of sides) await side.segmenter.segment(frame);
    const rounds: CompareReport['rounds'] = [];
    for (let round = 1; round <= options.rounds; round++) {
      say(`round ${round}/${options.rounds}: ${options.framesPerRound} frames of each model`);
      // Alternate which model goes first, so neither always runs right after the other's burst.
      const order = round % 2 === 1 ? [a, b] : [b, a];
      const medians = new Map<Side, number>();
      for (const side of order) medians.set(side, await timeRound(side, frame, options.framesPerRound));
      const aMs = medians.get(a)!;
      const bMs = medians.get(b)!;
      rounds.push({ aFrameMedianMs: aMs, bFrameMedianMs: bMs, speedup: aMs / bMs });
    }
    return {
      frameSize: `${size.height}x${size.width}`,
      a: timing(options.modelA, a),
      b: timing(options.modelB, b),
      rounds,
      speedup: median(rounds.map((round) => round.speedup)),
    };
  } finally {
    for (const engine of engines) await engine.stop();
  }
}
