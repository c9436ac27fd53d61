// Shared by the quantisation tests: the bundled demo model calibrated on a few synthetic training
// scenes, model inputs from held-out scenes, and argmax agreement between two models' logits.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { renderSyntheticScene, trainingSceneSeed } from '../../src/data/synthetic-road.js';
import { Preprocessor } from '../../src/engine/preprocess.js';
import { type InputContract, readManifest } from '../../src/model/manifest.js';
import { calibrate } from '../../src/quantize/calibrate.js';
import { planQuantization, type QuantizationPlan } from '../../src/quantize/layers.js';
import { OnnxModelView } from '../../src/quantize/onnx-model.js';
import { buildQdqModel, DEFAULT_WEIGHT_BITS, type WeightBits } from '../../src/quantize/qdq.js';
import {
  type ActivationType,
  activationRange,
  type CalibrationMethod,
  type TensorStats,
} from '../../src/quantize/ranges.js';
import { repoRoot } from '../helpers/cli.js';

export const DEMO_DIR = join(repoRoot, 'models/synthetic-road-fcn8s');

/** The input contract of a test graph: `image`, NCHW BGR 0-255 floats, normalised in the graph. */
export function rawBgrInput(height: number, width: number): InputContract {
  return {
    name: 'image',
    layout: 'NCHW',
    height,
    width,
    channelOrder: 'BGR',
    dtype: 'float32',
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'stretch',
  };
}

/** Model inputs for synthetic scenes `seeds` (copies, so they can be kept). */
export function sceneInputs(input: InputContract, seeds: readonly number[]): Float32Array[] {
  const preprocessor = new Preprocessor(input);
  const size = { height: input.height, width: input.width };
  return seeds.map((seed) =>
    preprocessor.run({ data: renderSyntheticScene(seed, size).image, ...size }).slice(),
  );
}

/** Held-out scenes (validation seeds, never used for calibration). */
export function heldOutInputs(input: InputContract, count: number): Float32Array[] {
  return sceneInputs(
    input,
    Array.from({ length: count }, (_, i) => 0x80000000 + 1000 + i),
  );
}

export interface Calibrated {
  input: InputContract;
  classes: number;
  view: OnnxModelView;
  plan: QuantizationPlan;
  stats: Map<string, TensorStats>;
}

/** Calibrates a float model on `images` synthetic training scenes at its input size. */
export async function calibrateBytes(
  bytes: Uint8Array,
  input: InputContract,
  classes: number,
  images: number,
): Promise<Calibrated> {
  const view = new OnnxModelView(bytes);
  const plan = planQuantization(view);
  const inputs = sceneInputs(
    input,
    Array.from({ length: images }, (_, i) => trainingSceneSeed(0, i)),
  );
  const stats = await calibrate(view, plan.calibrationTensors, {
    inputName: input.name,
    inputDims: [1, 3, input.height, input.width],
    images: async function* () {
      yield* inputs;
    },
  });
  return { input, classes, view, plan, stats };
}

export async function calibrateModel(modelDir: string, images: number): Promise<Calibrated> {
  const manifest = await readManifest(modelDir);
  const bytes = await readFile(join(modelDir, manifest.files.onnx));
  return await calibrateBytes(bytes, manifest.input, manifest.classes.length, images);
}

/** The calibrated model quantised with every layer in int8 and `method` ranges. */
export function quantizeCalibrated(
  calibrated: Calibrated,
  activations: ActivationType,
  method: CalibrationMethod = 'minmax',
  weightBits: WeightBits = DEFAULT_WEIGHT_BITS,
): Uint8Array {
  const ranges = new Map(
    [...calibrated.stats].map(([tensor, stats]) => [tensor, activationRange(stats, method, activations)]),
  );
  return buildQdqModel(calibrated.view, calibrated.plan, {
    activations,
    weightBits,
    floatLayers: new Set(),
    ranges,
  }).bytes;
}

/** The logits of `model` (bytes or path) for each input. */
export async function runModel(model: Uint8Array | string, input: InputContract, inputs: Float32Array[]) {
  const options = { graphOptimizationLevel: 'all' } as const;
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  try {
    const outputs: Float32Array[] = [];
    for (const data of inputs) {
      const feeds = { [input.name]: new ort.Tensor('float32', data, [1, 3, input.height, input.width]) };
      const result = await session.run(feeds);
      outputs.push((Object.values(result)[0]!.data as Float32Array).slice());
    }
    return outputs;
  } finally {
    await session.release();
  }
}
