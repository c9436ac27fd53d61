// Calibration: runs the float model on onnxruntime over calibration images with the tensors to be
// quantised exposed as extra graph outputs, and collects each tensor's extremes (first pass) and a
// histogram over them (second pass). Two passes keep the histograms exact without storing values.

import ort from 'onnxruntime-node';
import { onnx } from '../export/onnx-graph.js';
import { floatOutput, type ModelProto, type OnnxModelView } from './onnx-model.js';
import type { TensorStats } from './ranges.js';

export const HISTOGRAM_BINS = 2048;

export interface CalibrationOptions {
  inputName: string;
  inputDims: number[];
  /** Yields model inputs (already preprocessed); called once per pass, must yield the same images. */
  images: () => AsyncIterable<Float32Array>;
  /** Called after each image of each pass (two passes). */
  onImage?: () => void;
  intraOpThreads?: number;
}

/** The model with `tensors` added as float outputs, encoded for onnxruntime. */
function withOutputs(view: OnnxModelView, tensors: readonly string[]): Uint8Array {
  const graph = view.graph;
  const extra = tensors.filter((name) => !view.isGraphOutput(name)).map(floatOutput);
  const model: ModelProto = {
    ...view.model,
    graph: { ...graph, output: [...(graph.output ?? []), ...extra] },
  };
  return onnx.ModelProto.encode(model).finish();
}

export async function calibrate(
  view: OnnxModelView,
  tensors: readonly string[],
  options: CalibrationOptions,
): Promise<Map<string, TensorStats>> {
  const session = await ort.InferenceSession.create(withOutputs(view, tensors), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.intraOpThreads ?? 0,
  });
  try {
    const run = async (input: Float32Array) => {
      const feeds = { [options.inputName]: new ort.Tensor('float32', input, options.inputDims) };
      return await session.run(feeds, [...tensors]);
    };
    const extremes = new Map(tensors.map((name) => [name, { min: Infinity, max: -Infinity }]));
    let images = 0;
    for await (const input of options.images()) {
      const outputs = await run(input);
      for (const name of tensors) {
        const values = outputs[name]!.data as Float32Array;
        const seen = extremes.get(name)!;
        let { min, max } = seen;
        for (let i = 0; i < values.length; i++) {
          const value = values[i]!;
          if (value < min) min = value;
          if (value > max) max = value;
        }
        seen.min = min;
        seen.max = max;
      }
      images++;
      options.onImage?.();
    }
    if (images === 0) throw new Error('calibration got no images');

    const stats = new Map<string, TensorStats>();
    for (const [name, { min, max }] of extremes) {
      stats.set(name, {
        min,
        max,
        low: Math.min(min, 0),
        high: Math.max(max, 0),
        histogram: new Float64Array(HISTOGRAM_BINS),
      });
    }
    for await (const input of options.images()) {
      const outputs = await run(input);
      for (const name of tensors) addToHistogram(stats.get(name)!, outputs[name]!.data as Float32Array);
      options.onImage?.();
    }
    return stats;
  } finally {
    await session.release();
  }
}

function addToHistogram(stats: TensorStats, values: Float32Array): void {
  const { histogram, low, high } = stats;
  const bins = histogram.length;
  if (high === low) {
    histogram[0]! += values.length;
    return;
  }
  const perUnit = bins / (high - low);
  const last = bins - 1;
  for (let i = 0; i < values.length; i++) {
    const bin = ((values[i]! - low) * perUnit) | 0;
    histogram[bin < 0 ? 0 : Math.min(bin, last)]!++;
  }
}
