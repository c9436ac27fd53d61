// Segmenter: frame → class mask + class fractions + stage timings over any InferenceEngine. One
// frame at a time (segment), or pipelined (segmentStream): frame n+1 is preprocessed and frame n
// postprocessed while the engine runs, so the glue hides behind the inference.

import { performance } from 'node:perf_hooks';
import { Postprocessor, type RawOutput } from './postprocess.js';
import { type Letterbox, Preprocessor, type RgbPixels } from './preprocess.js';
import type { InferenceEngine, RgbFrame } from './types.js';

export { Postprocessor, upsampleMaskNearest } from './postprocess.js';
export { decodeImageFile, type Letterbox, Preprocessor, type RgbPixels } from './preprocess.js';
export {
  defaultTransparentClassIds,
  encodeClassMaskPng,
  type OverlayOptions,
  renderOverlay,
} from './render.js';

export interface StageTimings {
  preprocessMs: number;
  inferenceMs: number;
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

interface Slot {
  preprocessor: Preprocessor;
}

export class Segmenter {
  readonly engine: InferenceEngine;
  private readonly slots: Slot[] = [];
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
    // Two input buffers: the pipelined path fills one while the engine reads the other.
    for (let i = 0; i < 2; i++)
      this.slots.push({ preprocessor: new Preprocessor(manifest.input, this.engine.createInputBuffer?.()) });
    this.postprocessor = new Postprocessor(manifest.output, manifest.classes.length, info.outputDims);
  }

  private result(slot: Slot, rawOutput: RawOutput, timings: StageTimings): SegmentationResult {
    const post = this.post;
    return {
      classMask: post.classMask,
      width: post.width,
      height: post.height,
      classFractions: post.classFractions,
      timings,
      letterbox: slot.preprocessor.letterbox,
      rawOutput,
    };
  }

  /** Segments one frame. The returned mask and fractions are overwritten by the next call. */
  async segment(frame: RgbFrame | RgbPixels): Promise<SegmentationResult> {
    await this.ready();
    const slot = this.slots[0]!;
    const t0 = performance.now();
    const input = slot.preprocessor.run(frame);
    const t1 = performance.now();
    const rawOutput = await this.engine.run(input);
    const t2 = performance.now();
    this.post.run(rawOutput);
    const t3 = performance.now();
    return this.result(slot, rawOutput, {
      preprocessMs: t1 - t0,
      inferenceMs: t2 - t1,
      postprocessMs: t3 - t2,
    });
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
    interface Prepared {
      frame: F;
      slot: Slot;
      slotIndex: number;
      preprocessMs: number;
      input: Float32Array;
    }
    interface Launched extends Prepared {
      launchedAt: number;
      timing: { finishedAt: number };
      promise: Promise<RawOutput>;
    }
    const start = (frame: F, slotIndex: number): Prepared => {
      const slot = this.slots[slotIndex]!;
      const t0 = performance.now();
      const input = slot.preprocessor.run(frame);
      const preprocessMs = performance.now() - t0;
      return { frame, slot, slotIndex, preprocessMs, input };
    };
    const launch = (prepared: Prepared): Launched => {
      const launchedAt = performance.now();
      const timing = { finishedAt: 0 };
      // Stamp completion when it happens, not when we get round to awaiting it.
      const promise = this.engine.run(prepared.input).then((output) => {
        timing.finishedAt = performance.now();
        return output;
      });
      return { ...prepared, launchedAt, timing, promise };
    };
    // Always close the source (e.g. stop an ffmpeg decoder) when we stop early on an error.
    try {
      let count = 0;
      const first = await iterator.next();
      if (first.done) return 0;
      let pending: Launched | undefined = launch(start(first.value, 0));
      while (pending) {
        let following: Launched | undefined;
        let rawOutput: RawOutput;
        try {
          const next = await iterator.next();
          const prepared: Prepared | undefined = next.done
            ? undefined
            : start(next.value, 1 - pending.slotIndex);
          rawOutput = await pending.promise;
          following = prepared ? launch(prepared) : undefined;
        } catch (error) {
          // Do not leave the in-flight run's rejection unobserved.
          pending.promise.catch(() => {});
          throw error;
        }
        try {
          const t0 = performance.now();
          this.post.run(rawOutput);
          const postprocessMs = performance.now() - t0;
          await onResult(
            this.result(pending.slot, rawOutput, {
              preprocessMs: pending.preprocessMs,
              inferenceMs: pending.timing.finishedAt - pending.launchedAt,
              postprocessMs,
            }),
            pending.frame,
          );
        } catch (error) {
          following?.promise.catch(() => {});
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
