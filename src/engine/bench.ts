// `edgeseg bench`: per-stage timings (decode, preprocess, inference, postprocess) and throughput of
// the Segmenter on onnxruntime and on the tfjs fallback, against the bare onnxruntime session
// running the same model on the same input in a loop, the reference our glue must not slow down.

import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { renderSyntheticScene } from '../data/synthetic-road.js';
import type { ImageSize } from '../data/types.js';
import { errorMessage } from '../system/errors.js';
import { createEngine } from './create.js';
import type { OnnxEngine } from './onnx-engine.js';
import { decodeImageFile, Preprocessor } from './preprocess.js';
import { Segmenter } from './segmenter.js';
import type { EngineInfo, EngineOptions, InferenceEngine, RgbFrame } from './types.js';

export interface StageStats {
  medianMs: number;
  p90Ms: number;
}

export interface RuntimeBench {
  runtime: 'onnxruntime' | 'tfjs';
  engine: EngineInfo;
  frames: number;
  stages: { decode: StageStats; preprocess: StageStats; inference: StageStats; postprocess: StageStats };
  /** Median of preprocess + postprocess per frame: the glue's own cost. */
  prePostMedianMs: number;
  /** Frames/s through decode → preprocess → inference → postprocess, pipelined as `infer` runs. */
  endToEndFps: number;
}

export interface BenchReport {
  model: string;
  modelInput: string;
  frameSize: string;
  onnxruntime: RuntimeBench;
  tfjs: RuntimeBench | { skipped: string };
  bareSessionFps: number;
  bareSessionMedianMs: number;
  endToEndFps: number;
  ratio: number;
}

export interface BenchOptions {
  modelDir: string;
  /** Size of the frames fed in (decoded JPEGs); default: the model's input size. */
  frameSize?: ImageSize;
  frames: number;
  /** Frames for the tfjs fallback (it can be far slower); default min(frames, 5). */
  tfjsFrames?: number;
  engine: EngineOptions;
  /** Skip the tfjs fallback column. */
  skipTfjs?: boolean;
  onProgress?: (message: string) => void;
}

export function stageStats(samples: number[]): StageStats {
  if (samples.length === 0) return { medianMs: 0, p90Ms: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;
  return { medianMs: at(0.5), p90Ms: at(0.9) };
}

/** A few synthetic road scenes at `size`, JPEG-encoded once, so each frame pays a real decode. */
async function makeJpegs(size: ImageSize, count: number): Promise<Buffer[]> {
  const jpegs: Buffer[] = [];
  for (let seed = 0; seed < count; seed++) {
    const { image } = renderSyntheticScene(0x80000000 + seed, size);
    jpegs.push(
      await sharp(image, { raw: { width: size.width, height: size.height, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
  }
  return jpegs;
}

interface TimedFrame extends RgbFrame {
  decodeMs: number;
}

async function* decodedFrames(jpegs: Buffer[], count: number): AsyncGenerator<TimedFrame> {
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const frame = await decodeImageFile(jpegs[i % jpegs.length]!);
    yield { ...frame, decodeMs: performance.now() - started };
  }
}

async function benchRuntime(engine: InferenceEngine, jpegs: Buffer[], frames: number): Promise<RuntimeBench> {
  const segmenter = new Segmenter(engine);
  await segmenter.ready();
  // Warm-up frames through the whole path (first-run allocations, JIT) are not measured.
  await segmenter.segmentStream(decodedFrames(jpegs, 2), () => {});
  const decode: number[] = [];
  const preprocess: number[] = [];
  const inference: number[] = [];
  const postprocess: number[] = [];
  const prePost: number[] = [];
  const started = performance.now();
  await segmenter.segmentStream(decodedFrames(jpegs, frames), (result, frame) => {
    decode.push(frame.decodeMs);
    preprocess.push(result.timings.preprocessMs);
    inference.push(result.timings.inferenceMs);
    postprocess.push(result.timings.postprocessMs);
    prePost.push(result.timings.preprocessMs + result.timings.postprocessMs);
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    runtime: engine.info.runtime,
    engine: engine.info,
    frames,
    stages: {
      decode: stageStats(decode),
      preprocess: stageStats(preprocess),
      inference: stageStats(inference),
      postprocess: stageStats(postprocess),
    },
    prePostMedianMs: stageStats(prePost).medianMs,
    endToEndFps: frames / seconds,
  };
}

/** session.run in a loop on one preprocessed input: no pre/post, no buffer reuse tricks. */
async function benchBareSession(engine: OnnxEngine, jpegs: Buffer[], frames: number) {
  const session = engine.rawSession;
  const { input } = engine.manifest;
  const frame = await decodeImageFile(jpegs[0]!);
  const buffer = new Preprocessor(input).run(frame);
  const tensor = new ort.Tensor(
    input.dtype === 'uint8' ? 'uint8' : 'float32',
    input.dtype === 'uint8' ? Uint8Array.from(buffer) : buffer,
    engine.info.inputDims,
  );
  const feeds = { [input.name]: tensor };
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < frames; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  return { fps: frames / seconds, medianMs: stageStats(times).medianMs };
}

export async function benchModel(options: BenchOptions): Promise<BenchReport> {
  const say = options.onProgress ?? (() => {});
  // The reference: an in-process session with the same options, session.run in a plain loop.
  const bareEngine = (await createEngine(options.modelDir, {
    ...options.engine,
    runtime: 'onnxruntime',
    inferenceThread: 'main',
  })) as OnnxEngine;
  const { manifest } = bareEngine;
  const frameSize = options.frameSize ?? { height: manifest.input.height, width: manifest.input.width };
  const jpegs = await makeJpegs(frameSize, 4);
  let onnxBench: RuntimeBench;
  let bare: { fps: number; medianMs: number };
  try {
    const onnx = await createEngine(options.modelDir, {
      ...options.engine,
      runtime: 'onnxruntime',
      skipSha256: true,
    });
    try {
      // Bare session, then the pipeline, then bare again: the better bare run is the reference,
      // so a machine getting busier mid-run cannot flatter the ratio.
      say(`onnxruntime: bare session, ${options.frames} runs`);
      const bareFirst = await benchBareSession(bareEngine, jpegs, options.frames);
      say(`onnxruntime: segmenter, ${options.frames} frames`);
      onnxBench = await benchRuntime(onnx, jpegs, options.frames);
      const bareSecond = await benchBareSession(bareEngine, jpegs, options.frames);
      bare = bareFirst.fps >= bareSecond.fps ? bareFirst : bareSecond;
    } finally {
      await onnx.stop();
    }
  } finally {
    await bareEngine.stop();
  }
  let tfjsBench: RuntimeBench | { skipped: string };
  if (options.skipTfjs) tfjsBench = { skipped: 'not requested' };
  else if (!manifest.files.tfjs) tfjsBench = { skipped: 'the model directory has no tfjs copy (files.tfjs)' };
  else {
    const frames = options.tfjsFrames ?? Math.min(options.frames, 5);
    say(`tfjs: segmenter, ${frames} frames`);
    try {
      const tfjs = await createEngine(options.modelDir, {
        ...options.engine,
        runtime: 'tfjs',
        skipSha256: true,
      });
      try {
        tfjsBench = await benchRuntime(tfjs, jpegs, frames);
      } finally {
        await tfjs.stop();
      }
    } catch (error) {
      tfjsBench = { skipped: `tfjs engine failed: ${errorMessage(error)}` };
    }
  }
  return {
    model: options.modelDir,
    modelInput: `${manifest.input.height}x${manifest.input.width}`,
    frameSize: `${frameSize.height}x${frameSize.width}`,
    onnxruntime: onnxBench,
    tfjs: tfjsBench,
    bareSessionFps: bare.fps,
    bareSessionMedianMs: bare.medianMs,
    endToEndFps: onnxBench.endToEndFps,
    ratio: onnxBench.endToEndFps / bare.fps,
  };
}
