// Engine-level pieces of `edgeseg bench` (the daemon-path bench is bench/daemon-path): the frames
// (synthetic road scenes, JPEG-encoded once so that a file input's decode is timed as its own
// stage), post-processing on noisy logits, and the Segmenter on the tfjs fallback.

import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { RgbFrame } from '../capture/types.js';
import { renderSyntheticScene } from '../data/synthetic-road.js';
import type { ImageSize } from '../data/types.js';
import { decodeImageFile } from '../engine/preprocess.js';
import type { EngineInfo, InferenceEngine } from '../engine/types.js';
import type { OutputContract } from '../model/manifest.js';
import { Postprocessor } from '../segment/postprocess.js';
import { Segmenter } from '../segment/segmenter.js';

export interface StageStats {
  medianMs: number;
  p90Ms: number;
}

export function stageStats(samples: readonly number[]): StageStats {
  if (samples.length === 0) return { medianMs: 0, p90Ms: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;
  return { medianMs: at(0.5), p90Ms: at(0.9) };
}

export function mean(samples: readonly number[]): number {
  return samples.length === 0 ? 0 : samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** Synthetic road scenes at `size`, JPEG-encoded once, and their decoded raw frames. */
export async function benchFrames(
  size: ImageSize,
  count: number,
): Promise<{ jpegs: Buffer[]; frames: RgbFrame[] }> {
  const jpegs: Buffer[] = [];
  const frames: RgbFrame[] = [];
  for (let seed = 0; seed < count; seed++) {
    const { image } = renderSyntheticScene(0x80000000 + seed, size);
    const jpeg = await sharp(image, { raw: { width: size.width, height: size.height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    jpegs.push(jpeg);
    frames.push(await decodeImageFile(jpeg));
  }
  return { jpegs, frames };
}

/** Decode of a file input alone, one JPEG after another: a stage of its own, outside the pipeline. */
export async function timeDecode(jpegs: readonly Buffer[], count: number): Promise<StageStats> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await decodeImageFile(jpegs[i % jpegs.length]!);
    times.push(performance.now() - started);
  }
  return stageStats(times);
}

/**
 * Post-processing of uniformly random logits (every pixel a coin toss between classes): the worst
 * case for a data-dependent argmax, so the figure holds for any model output.
 */
export function timeNoisyPostprocess(
  output: OutputContract,
  numClasses: number,
  outputDims: readonly number[],
  runs: number,
): StageStats {
  const post = new Postprocessor(output, numClasses, outputDims);
  if (output.kind === 'classIds') return { medianMs: 0, p90Ms: 0 };
  const scores = new Float32Array(post.width * post.height * numClasses);
  let seed = 1;
  for (let i = 0; i < scores.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    scores[i] = (seed / 2 ** 32 - 0.5) * 20;
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    post.run(scores);
    times.push(performance.now() - started);
  }
  return stageStats(times);
}

export interface RuntimeBench {
  runtime: 'onnxruntime' | 'tfjs';
  engine: EngineInfo;
  frames: number;
  stages: { preprocess: StageStats; inference: StageStats; postprocess: StageStats };
  prePostMedianMs: number;
  /** Frames/s through preprocess → inference → postprocess, pipelined as `infer` runs. */
  endToEndFps: number;
}

/** The Segmenter's pipelined stream over raw frames (as `infer` runs), e.g. on the tfjs fallback. */
export async function benchStream(
  engine: InferenceEngine,
  frames: readonly RgbFrame[],
  count: number,
): Promise<RuntimeBench> {
  const segmenter = new Segmenter(engine);
  await segmenter.ready();
  const stream = (n: number) => Array.from({ length: n }, (_, i) => frames[i % frames.length]!);
  // Warm-up frames (first-run allocations, JIT) are not measured.
  await segmenter.segmentStream(stream(2), () => {});
  const preprocess: number[] = [];
  const inference: number[] = [];
  const postprocess: number[] = [];
  const started = performance.now();
  await segmenter.segmentStream(stream(count), (result) => {
    preprocess.push(result.timings.preprocessMs);
    inference.push(result.timings.inferenceMs);
    postprocess.push(result.timings.postprocessMs);
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    runtime: engine.info.runtime,
    engine: engine.info,
    frames: count,
    stages: {
      preprocess: stageStats(preprocess),
      inference: stageStats(inference),
      postprocess: stageStats(postprocess),
    },
    prePostMedianMs: stageStats(preprocess.map((pre, i) => pre + postprocess[i]!)).medianMs,
    endToEndFps: count / seconds,
  };
}
