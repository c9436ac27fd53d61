// A ProcessedFrame as the frame loop emits it, for tests of what consumes one (outputs, streams).

import { fullFrame } from '../../src/engine/preprocess.js';
import type { ProcessedFrame } from '../../src/pipeline/frame-loop.js';

/** A grey frame (level seq % 200) with the given class mask and fractions. */
export function processedFrame(
  seq: number,
  size: { width: number; height: number },
  classMask: Uint8Array,
  classFractions: Float64Array,
): ProcessedFrame {
  const { width, height } = size;
  return {
    seq,
    frame: {
      data: new Uint8Array(width * height * 3).fill(seq % 200),
      width,
      height,
      captureTimeMs: Date.now(),
    },
    result: {
      classMask,
      width,
      height,
      classFractions,
      timings: { preprocessMs: 0, inferenceMs: 0, handoffMs: 0, postprocessMs: 0 },
      letterbox: fullFrame(width, height),
      rawOutput: new Uint8Array(0),
    },
    queueMs: 0,
    resultAt: performance.now(),
  };
}
