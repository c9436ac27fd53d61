// Offline inference (`edgeseg infer`): images or a video through the pipelined Segmenter, writing
// per frame an overlay, a paletted class-mask PNG and a JSON with class fractions and stage timings,
// or one video file of overlays or colour masks.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createEngine } from '../engine/create.js';
import type { EngineInfo, EngineOptions } from '../engine/types.js';
import type { FrameRate } from '../output/encoder-commands.js';
import { checkVideoTarget } from '../output/video-file.js';
import { resolveClassNames } from '../segment/class-filter.js';
import { FramePictures } from '../segment/frame-pictures.js';
import { type FilterMode, linearFilterProblem } from '../segment/score-upsample.js';
import { Segmenter } from '../segment/segmenter.js';
import { InterruptedError, UserError } from '../system/errors.js';
import { writeFileNamed } from '../system/fs.js';
import { createProgress } from '../system/progress.js';
import { VideoOutput, writeImageOutputs } from './infer-outputs.js';
import {
  imageFrames,
  type NamedFrame,
  probeVideo,
  resolveInput,
  type SkippedInput,
  type VideoInfo,
  videoFrames,
} from './inputs.js';

export interface InferRunOptions {
  modelDir: string;
  input: string;
  /** Output folder for per-frame files (unless videoOut is given). */
  outDir: string;
  /** Write one video file instead of per-frame files (video input only). */
  videoOut?: { path: string; content: 'overlay' | 'mask' };
  overlay: boolean;
  mask: boolean;
  stats: boolean;
  /** Weight of the class colours in the overlay. */
  alpha: number;
  overlayFormat: 'jpeg' | 'png';
  /** The original's `--samples-dir/--output-dir` form: one blended PNG per input, same file name. */
  sameNameOverlay?: boolean;
  /** point: nearest-neighbour mask (default); linear: class scores upsampled bilinearly first. */
  filterMode?: FilterMode;
  /** Class names left untinted in overlays and out of the fractions. */
  ignoreClasses?: readonly string[];
  engine: EngineOptions;
  progress?: boolean;
  /**
   * Aborted (with the signal's name as its reason) when the user stops the run: it stops after the
   * frame in hand, removes an unfinished video at once, and rejects with an InterruptedError.
   */
  signal?: AbortSignal;
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
  /** The video written, with its frame rate, when videoOut was given. */
  video?: { path: string; frames: number; frameRate: FrameRate };
  /** Inputs that could not be decoded (every other input was still written). */
  skipped: SkippedInput[];
}

/** A frame rate ffmpeg takes as NUM/DEN: the probed one, reduced to at most 6-digit terms. */
function encoderFrameRate(info: VideoInfo, file: string): FrameRate {
  const rate = info.frameRate;
  if (!rate)
    throw new UserError(`${file}: the container gives no frame rate, so the output video cannot keep it`, {
      hint: 'write per-frame files instead: --out DIR',
    });
  if (rate.num <= 1_000_000 && rate.den <= 1_000_000) return rate;
  return { num: Math.max(1, Math.round((rate.num / rate.den) * 1000)), den: 1000 };
}

export async function runInference(options: InferRunOptions): Promise<InferSummary> {
  const input = await resolveInput(options.input);
  if (options.videoOut && input.kind !== 'video')
    throw new UserError(`--out ${options.videoOut.path}: a video output needs a video --input`, {
      hint: 'for images give an output folder: --out DIR',
    });
  if (options.videoOut) await checkVideoTarget(options.videoOut.path);
  const engine = await createEngine(options.modelDir, options.engine);
  let video: VideoOutput | undefined;
  const { signal } = options;
  const interruption = () => {
    const name = signal?.reason as NodeJS.Signals;
    return new InterruptedError(
      name,
      options.videoOut
        ? `stopped by ${name}: the unfinished video was removed, nothing was written to ${options.videoOut.path}`
        : `stopped by ${name}; the outputs so far are in ${options.outDir}`,
    );
  };
  const stopIfInterrupted = () => {
    if (signal?.aborted) throw interruption();
  };
  // The encoder is stopped and its partial file removed at once, not after the frame in hand.
  // (The run's own catch awaits the same abort and reports a failure of it.)
  const abortVideo = () => void video?.abort().catch(() => {});
  signal?.addEventListener('abort', abortVideo, { once: true });
  try {
    const { manifest } = engine;
    const classes = manifest.classes;
    const filterMode = options.filterMode ?? 'point';
    const problem = filterMode === 'linear' ? linearFilterProblem(manifest.output) : undefined;
    if (problem) throw new UserError(`--filter-mode linear: ${problem}`);
    const pictures = new FramePictures(classes, manifest, {
      filterMode,
      ignoredClassIds: resolveClassNames(options.ignoreClasses ?? [], classes, '--ignore-class'),
      alpha: options.alpha,
    });
    const segmenter = new Segmenter(engine);
    await segmenter.ready();
    let total: number | undefined;
    let frames: AsyncIterable<NamedFrame>;
    let frameRate: FrameRate | undefined;
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
      if (options.videoOut) {
        frameRate = encoderFrameRate(info, input.file);
        stopIfInterrupted();
        video = await VideoOutput.open(options.videoOut.path, options.videoOut.content, {
          width: info.width,
          height: info.height,
          frameRate,
        });
      }
    }
    if (!video) await mkdir(options.outDir, { recursive: true });
    // Frames are read lazily, inside segmentStream: a skipped file ticks the bar created here.
    const progress = createProgress('infer', total ?? 0, {
      enabled: options.progress !== false,
      unit: input.kind === 'images' ? 'images' : 'frames',
    });
    const imageOptions = {
      outDir: options.outDir,
      overlay: options.overlay,
      mask: options.mask,
      overlayFormat: options.overlayFormat,
      sameNameOverlay: options.sameNameOverlay === true,
    };
    const sums = { decodeMs: 0, preprocessMs: 0, inferenceMs: 0, postprocessMs: 0, writeMs: 0 };
    const started = performance.now();
    stopIfInterrupted();
    const count = await segmenter.segmentStream(frames, async (result, frame) => {
      stopIfInterrupted();
      const writeStart = performance.now();
      let outputs: string[] = [];
      if (video) await video.write(pictures, result, frame);
      else outputs = await writeImageOutputs(pictures, imageOptions, result, frame);
      const timings = {
        decodeMs: frame.decodeMs,
        ...result.timings,
        writeMs: performance.now() - writeStart,
      };
      if (options.stats && !video) {
        const file = join(options.outDir, `${frame.name}.json`);
        outputs.push(file);
        const report: FrameReport = {
          input: frame.source,
          width: frame.width,
          height: frame.height,
          classFractions: pictures.classFractions(result),
          timings,
          outputs,
        };
        await writeFileNamed(file, `${JSON.stringify(report, null, 2)}\n`);
      }
      for (const key of Object.keys(sums) as Array<keyof typeof sums>) sums[key] += timings[key];
      progress.tick(1, `${result.timings.inferenceMs.toFixed(0)} ms/frame`);
    });
    progress.stop();
    stopIfInterrupted();
    const written = video ? await video.finish() : undefined;
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
      ...(video && written !== undefined && frameRate
        ? { video: { path: video.path, frames: written, frameRate } }
        : {}),
    };
  } catch (error) {
    await video?.abort();
    // Ctrl-C reaches ffmpeg too (one process group): its failure is the interruption's doing.
    throw signal?.aborted ? interruption() : error;
  } finally {
    signal?.removeEventListener('abort', abortVideo);
    await engine.stop();
  }
}
