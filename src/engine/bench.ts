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
import { OnnxEngine } from './onnx-engine.js';
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

/**
 * Decode alone, one JPEG after another. Inside the pipeline a decode's wall time also counts the
 * wait for a JS thread blocked by an in-process inference, so the decode stage is timed here.
 */
async function timeDecode(jpegs: Buffer[], count: number): Promise<StageStats> {
  const times: number[] = [];
  for await (const frame of decodedFrames(jpegs, count)) times.push(frame.decodeMs);
  return stageStats(times);
}

/** Per-stage samples accumulated over one or more timed runs of the pipeline. */
class StageSamples {
  readonly decode: number[] = [];
  readonly preprocess: number[] = [];
  readonly inference: number[] = [];
  readonly postprocess: number[] = [];
  readonly prePost: number[] = [];
  frames = 0;
  seconds = 0;

  summary(engine: InferenceEngine): RuntimeBench {
    return {
      runtime: engine.info.runtime,
      engine: engine.info,
      frames: this.frames,
      stages: {
        decode: stageStats(this.decode),
        preprocess: stageStats(this.preprocess),
        inference: stageStats(this.inference),
        postprocess: stageStats(this.postprocess),
      },
      prePostMedianMs: stageStats(this.prePost).medianMs,
      endToEndFps: this.seconds > 0 ? this.frames / this.seconds : 0,
    };
  }
}

/** Times `frames` frames through the pipelined Segmenter (as `infer` runs), adding to `samples`. */
async function timePipeline(segmenter: Segmenter, jpegs: Buffer[], frames: number, samples: StageSamples) {
  const started = performance.now();
  await segmenter.segmentStream(decodedFrames(jpegs, frames), (result, frame) => {
    samples.decode.push(frame.decodeMs);
    samples.preprocess.push(result.timings.preprocessMs);
    samples.inference.push(result.timings.inferenceMs);
    samples.postprocess.push(result.timings.postprocessMs);
    samples.prePost.push(result.timings.preprocessMs + result.timings.postprocessMs);
  });
  samples.seconds += (performance.now() - started) / 1000;
  samples.frames += frames;
}

async function benchRuntime(engine: InferenceEngine, jpegs: Buffer[], frames: number): Promise<RuntimeBench> {
  const segmenter = new Segmenter(engine);
  await segmenter.ready();
  // Warm-up frames through the whole path (first-run allocations, JIT) are not measured.
  await segmenter.segmentStream(decodedFrames(jpegs, 2), () => {});
  const samples = new StageSamples();
  await timePipeline(segmenter, jpegs, frames, samples);
  return samples.summary(engine);
}

/** The reference: session.run in a plain loop on one preprocessed input, no pre/post at all. */
class BareSession {
  readonly times: number[] = [];
  seconds = 0;
  private readonly engine: OnnxEngine;
  private feeds: Record<string, ort.Tensor> = {};

  constructor(engine: OnnxEngine) {
    this.engine = engine;
  }

  async prepare(jpeg: Buffer): Promise<void> {
    const { input } = this.engine.manifest;
    const buffer = new Preprocessor(input).run(await decodeImageFile(jpeg));
    const data = input.dtype === 'uint8' ? Uint8Array.from(buffer) : buffer;
    this.feeds = { [input.name]: new ort.Tensor(input.dtype, data, this.engine.info.inputDims) };
    for (let i = 0; i < 2; i++) await this.engine.rawSession.run(this.feeds);
  }

  async time(runs: number): Promise<void> {
    const started = performance.now();
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await this.engine.rawSession.run(this.feeds);
      this.times.push(performance.now() - t0);
    }
    this.seconds += (performance.now() - started) / 1000;
  }

  get fps(): number {
    return this.seconds > 0 ? this.times.length / this.seconds : 0;
  }
}

export async function benchModel(options: BenchOptions): Promise<BenchReport> {
  const say = options.onProgress ?? (() => {});
  // The reference: an in-process session with the same options, session.run in a plain loop.
  const bareEngine = new OnnxEngine(options.modelDir, { ...options.engine, runtime: 'onnxruntime' });
  await bareEngine.start();
  const { manifest } = bareEngine;
  const frameSize = options.frameSize ?? { height: manifest.input.height, width: manifest.input.width };
  const jpegs = await makeJpegs(frameSize, 4);
  const samples = new StageSamples();
  const bare = new BareSession(bareEngine);
  let onnxBench: RuntimeBench;
  try {
    const onnx = await createEngine(options.modelDir, {
      ...options.engine,
      runtime: 'onnxruntime',
      skipSha256: true,
    });
    try {
      const segmenter = new Segmenter(onnx);
      await segmenter.ready();
      await segmenter.segmentStream(decodedFrames(jpegs, 2), () => {});
      await bare.prepare(jpegs[0]!);
      // Bare and pipelined runs alternate in rounds, so that load from elsewhere on the machine
      // falls on both alike instead of skewing the ratio.
      const rounds = Math.min(3, options.frames);
      const perRound = Math.ceil(options.frames / rounds);
      for (let round = 1; round <= rounds; round++) {
        say(
          `onnxruntime round ${round}/${rounds}: bare session ${perRound} runs, segmenter ${perRound} frames`,
        );
        await bare.time(perRound);
        await timePipeline(segmenter, jpegs, perRound, samples);
      }
      onnxBench = samples.summary(onnx);
      onnxBench.stages.decode = await timeDecode(jpegs, Math.max(10, options.frames));
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
        tfjsBench.stages.decode = onnxBench.stages.decode;
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
    bareSessionMedianMs: stageStats(bare.times).medianMs,
    endToEndFps: onnxBench.endToEndFps,
    ratio: onnxBench.endToEndFps / bare.fps,
  };
}
