// Segmenter: frame → class mask + class fractions + stage timings over any InferenceEngine. One
// frame at a time (segment), pipelined (segmentStream: frame n+1 is preprocessed and frame n
// postprocessed while the engine runs), or in stages (prepare / launch / finish) for the daemon's
// frame loop, which picks the newest frame the moment the engine is free.

import { performance } from 'node:perf_hooks';
import type { RgbFrame } from '../capture/types.js';
import { type Letterbox, letterboxFor, Preprocessor, type RgbPixels } from '../engine/preprocess.js';
import type { InferenceEngine, RawOutput, StreamedResult } from '../engine/types.js';
import { Postprocessor } from './postprocess.js';

export { decodeImageFile, type Letterbox, Preprocessor, type RgbPixels } from '../engine/preprocess.js';
export { Postprocessor, upsampleMaskNearest } from './postprocess.js';
export {
  defaultTransparentClassIds,
  encodeClassMaskPng,
  type OverlayOptions,
  renderOverlay,
} from './render.js';

export interface StageTimings {
  preprocessMs: number;
  /** The engine's own run time (on its worker thread for a worker-thread engine). */
  inferenceMs: number;
  /** Launch → post-processing start, minus the inference: thread hand-off and any wait. */
  handoffMs: number;
  postprocessMs: number;
}

export interface SegmentationResult {
  /** Class id per pixel at the model's output resolution; reused by the next frame. */
  classMask: Uint8Array;
  width: number;
  height: number;
  /** Fraction of pixels per class id, summing to 1; reused by the next frame. */
  classFractions: Float64Array;
  timings: StageTimings;
  /** Where the frame sits in the model input (for mapping the mask back onto the frame). */
  letterbox: Letterbox;
  /** The engine's raw output for this frame (e.g. for class probabilities); reused. */
  rawOutput: RawOutput;
}

/** A frame preprocessed into one of the two input slots, not yet handed to the engine. */
export interface PreparedFrame<F extends RgbPixels = RgbPixels> {
  frame: F;
  slotIndex: number;
  preprocessMs: number;
}

/** A frame the engine is running; `output` settles when its raw output is back on this thread. */
export interface LaunchedFrame<F extends RgbPixels = RgbPixels> extends PreparedFrame<F> {
  launchedAt: number;
  output: Promise<RawOutput>;
  /** Set when `output` resolves. */
  inferenceMs: number;
}

export class Segmenter {
  readonly engine: InferenceEngine;
  private readonly preprocessors: Preprocessor[] = [];
  private postprocessor: Postprocessor | undefined;

  constructor(engine: InferenceEngine) {
    this.engine = engine;
  }

  /** The post-processor (and its reused mask); valid after the first frame or ready(). */
  get post(): Postprocessor {
    if (!this.postprocessor) throw new Error('Segmenter: used before ready()');
    return this.postprocessor;
  }

  /** Starts the engine (idempotent) and sizes the reused buffers. */
  async ready(): Promise<void> {
    if (this.postprocessor) return;
    await this.engine.start();
    const { manifest, info } = this.engine;
    // Two input slots: one can be filled while the engine reads the other.
    for (let i = 0; i < 2; i++)
      this.preprocessors.push(new Preprocessor(manifest.input, this.engine.createInputBuffer?.()));
    this.postprocessor = new Postprocessor(manifest.output, manifest.classes.length, info.outputDims);
  }

  /** Preprocesses `frame` into input slot `slotIndex` (0 or 1). Valid after ready(). */
  prepare<F extends RgbPixels>(frame: F, slotIndex: number): PreparedFrame<F> {
    const preprocessor = this.preprocessors[slotIndex];
    if (!preprocessor) throw new Error('Segmenter: used before ready()');
    const t0 = performance.now();
    preprocessor.run(frame);
    return { frame, slotIndex, preprocessMs: performance.now() - t0 };
  }

  /** Hands a prepared frame to the engine; the slot must not be prepared again until `output` settles. */
  launch<F extends RgbPixels>(prepared: PreparedFrame<F>): LaunchedFrame<F> {
    const launchedAt = performance.now();
    const input = this.preprocessors[prepared.slotIndex]!.buffer;
    const launched: LaunchedFrame<F> = {
      ...prepared,
      launchedAt,
      inferenceMs: 0,
      output: this.engine.run(input).then((output) => {
        // Read now: the engine overwrites lastRunMs with the next run.
        launched.inferenceMs = this.engine.lastRunMs ?? performance.now() - launchedAt;
        return output;
      }),
    };
    return launched;
  }

  /** Post-processes a launched frame's output. The result's buffers are reused by the next call. */
  finish(launched: LaunchedFrame, rawOutput: RawOutput): SegmentationResult {
    const postStart = performance.now();
    return this.postprocess(rawOutput, this.preprocessors[launched.slotIndex]!.letterbox, postStart, {
      preprocessMs: launched.preprocessMs,
      inferenceMs: launched.inferenceMs,
      handoffMs: Math.max(0, postStart - launched.launchedAt - launched.inferenceMs),
    });
  }

  /** Post-processes a frame the engine's own thread preprocessed and ran (engine/frame-stream). */
  finishStreamed(streamed: StreamedResult): SegmentationResult {
    const postStart = performance.now();
    const { input } = this.engine.manifest;
    const { width, height } = streamed.frame;
    const ranUntil = streamed.takenAtMs + streamed.preprocessMs + streamed.inferenceMs;
    return this.postprocess(
      streamed.output,
      letterboxFor(input.resize, width, height, input.width, input.height),
      postStart,
      {
        preprocessMs: streamed.preprocessMs,
        inferenceMs: streamed.inferenceMs,
        // Date.now() on both threads, like the capture time: the parts then add up to the age.
        handoffMs: Math.max(0, Date.now() - ranUntil),
      },
    );
  }

  private postprocess(
    rawOutput: RawOutput,
    letterbox: Letterbox,
    postStart: number,
    timings: Omit<StageTimings, 'postprocessMs'>,
  ): SegmentationResult {
    const post = this.post;
    post.run(rawOutput);
    return {
      classMask: post.classMask,
      width: post.width,
      height: post.height,
      classFractions: post.classFractions,
      timings: { ...timings, postprocessMs: performance.now() - postStart },
      letterbox,
      rawOutput,
    };
  }

  /** Segments one frame. The returned mask and fractions are overwritten by the next call. */
  async segment(frame: RgbFrame | RgbPixels): Promise<SegmentationResult> {
    await this.ready();
    const launched = this.launch(this.prepare(frame, 0));
    return this.finish(launched, await launched.output);
  }

  /**
   * Segments every frame of `frames`, overlapping pre/post-processing with inference, and calls
   * `onResult` in order; the result's buffers are valid until `onResult` returns (or resolves).
   */
  async segmentStream<F extends RgbPixels>(
    frames: AsyncIterable<F> | Iterable<F>,
    onResult: (result: SegmentationResult, frame: F) => void | Promise<void>,
  ): Promise<number> {
    await this.ready();
    const iterator =
      Symbol.asyncIterator in frames
        ? (frames as AsyncIterable<F>)[Symbol.asyncIterator]()
        : (frames as Iterable<F>)[Symbol.iterator]();
    // Always close the source (e.g. stop an ffmpeg decoder) when we stop early on an error.
    try {
      let count = 0;
      const first = await iterator.next();
      if (first.done) return 0;
      let pending: LaunchedFrame<F> | undefined = this.launch(this.prepare(first.value, 0));
      while (pending) {
        let following: LaunchedFrame<F> | undefined;
        let rawOutput: RawOutput;
        try {
          // The next frame's decode and preprocessing overlap the current inference.
          const next = await iterator.next();
          const prepared: PreparedFrame<F> | undefined = next.done
            ? undefined
            : this.prepare(next.value, 1 - pending.slotIndex);
          rawOutput = await pending.output;
          following = prepared ? this.launch(prepared) : undefined;
        } catch (error) {
          // Do not leave the in-flight run's rejection unobserved.
          pending.output.catch(() => {});
          throw error;
        }
        try {
          await onResult(this.finish(pending, rawOutput), pending.frame);
        } catch (error) {
          following?.output.catch(() => {});
          throw error;
        }
        count++;
        pending = following;
      }
      return count;
    } finally {
      await iterator.return?.();
    }
  }
}
