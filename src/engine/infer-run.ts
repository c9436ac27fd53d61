// Offline inference (`edgeseg infer`): images or a video through the pipelined Segmenter, writing
// per frame an overlay, a paletted class-mask PNG and a JSON with class fractions and stage timings.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createProgress } from '../system/progress.js';
import { createEngine } from './create.js';
import {
  imageFrames,
  type NamedFrame,
  probeVideo,
  resolveInput,
  type SkippedInput,
  videoFrames,
} from './inputs.js';
import { upsampleMaskNearest } from './postprocess.js';
import { encodeClassMaskPng, renderOverlay } from './render.js';
import { Segmenter } from './segmenter.js';
import type { EngineInfo, EngineOptions } from './types.js';

export interface InferRunOptions {
  modelDir: string;
  input: string;
  outDir: string;
  overlay: boolean;
  mask: boolean;
  stats: boolean;
  /** Weight of the class colours in the overlay. */
  alpha: number;
  overlayFormat: 'jpeg' | 'png';
  /** The original's `--samples-dir/--output-dir` form: one blended PNG per input, same file name. */
  sameNameOverlay?: boolean;
  engine: EngineOptions;
  progress?: boolean;
}

export interface FrameReport {
  input: string;
  width: number;
  height: number;
  classFractions: Record<string, number>;
  timings: {
    decodeMs: number;
    preprocessMs: number;
    inferenceMs: number;
    postprocessMs: number;
    writeMs: number;
  };
  outputs: string[];
}

export interface InferSummary {
  frames: number;
  seconds: number;
  framesPerSecond: number;
  engine: EngineInfo;
  meanTimings: FrameReport['timings'];
  outDir: string;
  /** Inputs that could not be decoded (every other input was still written). */
  skipped: SkippedInput[];
}

export async function runInference(options: InferRunOptions): Promise<InferSummary> {
  const input = await resolveInput(options.input);
  const engine = await createEngine(options.modelDir, options.engine);
  try {
    const segmenter = new Segmenter(engine);
    await segmenter.ready();
    await mkdir(options.outDir, { recursive: true });
    const classes = engine.manifest.classes;
    let total: number | undefined;
    let frames: AsyncIterable<NamedFrame>;
    const skipped: SkippedInput[] = [];
    if (input.kind === 'images') {
      total = input.files.length;
      frames = imageFrames(input.files, (skip) => {
        skipped.push(skip);
        progress.tick(1, 'skipped an unreadable file');
      });
    } else {
      const info = await probeVideo(input.file);
      total = info.frames;
      frames = videoFrames(input.file, info);
    }
    // Frames are read lazily, inside segmentStream: a skipped file ticks the bar created here.
    const progress = createProgress('infer', total ?? 0, {
      enabled: options.progress !== false,
      unit: input.kind === 'images' ? 'images' : 'frames',
    });
    const sums = { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0, writeMs: 0 };
    // Frame-size buffers reused across frames of one size (video) and regrown for bigger images.
    let frameMask = new Uint8Array(0);
    let overlayScratch = new Uint8Array(0);
    const started = performance.now();
    const count = await segmenter.segmentStream(frames, async (result, frame) => {
      const writeStart = performance.now();
      const outputs: string[] = [];
      const pixels = frame.width * frame.height;
      if (overlayScratch.length !== pixels * 3) overlayScratch = new Uint8Array(pixels * 3);
      if (options.overlay || options.sameNameOverlay) {
        const sameName = options.sameNameOverlay === true;
        const bytes = await renderOverlay(frame, result.classMask, result.width, result.height, classes, {
          alpha: options.alpha,
          format: sameName ? 'png' : options.overlayFormat,
          letterbox: result.letterbox,
          scratch: overlayScratch,
        });
        const file = sameName
          ? join(options.outDir, `${frame.name}.png`)
          : join(options.outDir, `${frame.name}.overlay.${options.overlayFormat === 'png' ? 'png' : 'jpg'}`);
        await writeFile(file, bytes);
        outputs.push(file);
      }
      if (options.mask) {
        if (frameMask.length !== pixels) frameMask = new Uint8Array(pixels);
        upsampleMaskNearest(
          result.classMask,
          result.width,
          result.height,
          frame.width,
          frame.height,
          frameMask,
          result.letterbox,
        );
        const file = join(options.outDir, `${frame.name}.mask.png`);
        await writeFile(file, encodeClassMaskPng(frameMask, frame.width, frame.height, classes));
        outputs.push(file);
      }
      const timings = {
        decodeMs: frame.decodeMs,
        ...result.timings,
        writeMs: performance.now() - writeStart,
      };
      if (options.stats) {
        const file = join(options.outDir, `${frame.name}.json`);
        outputs.push(file);
        const report: FrameReport = {
          input: frame.source,
          width: frame.width,
          height: frame.height,
          classFractions: Object.fromEntries(
            classes.map((cls) => [cls.name, result.classFractions[cls.id]!]),
          ),
          timings,
          outputs,
        };
        await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
      }
      for (const key of Object.keys(sums) as Array<keyof typeof sums>) sums[key] += timings[key];
      progress.tick(1, `${result.timings.inferenceMs.toFixed(0)} ms/frame`);
    });
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    const meanTimings = Object.fromEntries(
      Object.entries(sums).map(([key, value]) => [key, count > 0 ? value / count : 0]),
    ) as FrameReport['timings'];
    return {
      frames: count,
      seconds,
      framesPerSecond: seconds > 0 ? count / seconds : 0,
      engine: engine.info,
      meanTimings,
      outDir: options.outDir,
      skipped,
    };
  } finally {
    await engine.stop();
  }
}
