// Training speed per TensorFlow.js backend on the same small FCN-8s and the same synthetic batch:
// what `edgeseg bench --training` prints (wasm with our Conv2DBackpropFilter vs the cpu backend,
// and wasm without and with gradient workers).

import { renderSyntheticScene, SYNTHETIC_ROAD_CLASSES } from '../data/synthetic-road.js';
import type { SegmentationBatch } from '../data/types.js';
import { CAFFE_VGG_NORMALIZATION, type FcnConfig, fcnGraph } from '../model/architecture.js';
import { createFcn8s } from '../model/fcn8s.js';
import type { LayerSpec } from '../model/graph-ops.js';
import { type TfBackendName, tf } from '../model/tf.js';
import { uniformClassWeights } from '../train/class-weights.js';
import { TRAINING_DEFAULTS } from '../train/defaults.js';
import { initTrainingTf } from '../train/kernels/tf-training.js';
import { GradientWorkers } from '../train/step/gradient-workers.js';
import { HostAdam } from '../train/step/host-adam.js';
import { type ChannelOrder, trainableVariables, trainStep } from '../train/step/step.js';

export interface TrainingBenchOptions {
  widthMultiplier?: number;
  height?: number;
  width?: number;
  batchSize?: number;
  /** Timed steps per backend, after one untimed warm-up step. */
  steps?: number;
  backends?: TfBackendName[];
  head?: 'fcn8s' | 'original';
  /** Gradient workers to time on wasm and cpu, one result each (default [0]); micro-batches ⌈batch / (workers + 1)⌉. */
  workers?: number[];
}

export interface TrainingBenchResult {
  backend: TfBackendName;
  /** Gradient workers besides the main thread (src/train/step/gradient-workers.ts). */
  workers: number;
  microBatchSize: number;
  imagesPerSecond: number;
  /** Useful work: 3x the forward pass's multiply-adds x 2 per image (forward, input and weight gradients). */
  gflopsPerSecond: number;
  secondsPerStep: number;
  steps: number;
}

export interface TrainingBenchReport {
  widthMultiplier: number;
  height: number;
  width: number;
  batchSize: number;
  results: TrainingBenchResult[];
}

/**
 * Forward FLOPs of one image (2 per multiply-add of every convolution, depthwise convolution,
 * squeeze-excitation and transposed convolution), from the graph: each tensor's resolution follows
 * the strides and pools from the input. (bench/model-cost counts the exported ONNX graph instead.)
 */
export function forwardFlopsPerImage(config: FcnConfig): number {
  const graph = fcnGraph(config);
  const scale = new Map<string, number>([[graph.input, 1]]);
  const pixelsAt = (tensorScale: number) => (config.height / tensorScale) * (config.width / tensorScale);
  // A depthwise convolution has one k×k filter per channel: no sum over input channels.
  const macsPerPixel = (layer: LayerSpec) =>
    layer.kernel * layer.kernel * (layer.depthwise ? 1 : layer.inChannels) * layer.outChannels;
  let macs = 0;
  for (const op of [...graph.encoder, ...graph.head]) {
    const input = op.op === 'add' ? op.inputs[0]! : op.input;
    const inScale = scale.get(input) ?? 1;
    let outScale = inScale;
    if (op.op === 'maxPool') outScale = inScale * (op.stride ?? op.size);
    if (op.op === 'conv') {
      outScale = inScale * op.layer.stride;
      macs += macsPerPixel(op.layer) * pixelsAt(outScale);
    }
    // A transposed convolution does its work at the input's resolution.
    if (op.op === 'upsample') {
      outScale = inScale / op.layer.stride;
      macs += macsPerPixel(op.layer) * pixelsAt(inScale);
    }
    // Both 1x1 convolutions run on the globally pooled vector: one pixel.
    if (op.op === 'squeezeExcite') macs += macsPerPixel(op.reduce) + macsPerPixel(op.expand);
    scale.set(op.output, outScale);
  }
  return 2 * macs;
}

export function syntheticBatch(size: number, height: number, width: number): SegmentationBatch {
  const images = new Uint8Array(size * height * width * 3);
  const labels = new Uint8Array(size * height * width);
  for (let i = 0; i < size; i++) {
    const scene = renderSyntheticScene(1000 + i, { height, width });
    images.set(scene.image, i * height * width * 3);
    labels.set(scene.label, i * height * width);
  }
  return { size, height, width, images, labels, names: [] };
}

/**
 * The network a training benchmark steps: a BGR FCN-8s for synthetic-road's classes (seed 1), its
 * trainable variables, Adam at 1e-4 and uniform class weights. bench --training and
 * scripts/profile-training-step.ts time the same thing; the caller disposes model and weights.
 */
export function trainingBenchSetup(shape: {
  widthMultiplier: number;
  height: number;
  width: number;
  head: FcnConfig['head'];
}): {
  config: FcnConfig;
  model: ReturnType<typeof createFcn8s>;
  variables: ReturnType<typeof trainableVariables>;
  optimizer: HostAdam;
  weights: tf.Tensor1D;
} {
  const config: FcnConfig = {
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
    numClasses: SYNTHETIC_ROAD_CLASSES.length,
    ...shape,
  };
  const model = createFcn8s(config, { seed: 1, classes: SYNTHETIC_ROAD_CLASSES });
  const variables = trainableVariables(model);
  return {
    config,
    model,
    variables,
    optimizer: new HostAdam(variables, 1e-4),
    weights: tf.tensor1d(uniformClassWeights(SYNTHETIC_ROAD_CLASSES)),
  };
}

export async function benchTraining(options: TrainingBenchOptions = {}): Promise<TrainingBenchReport> {
  const widthMultiplier = options.widthMultiplier ?? 0.25;
  const height = options.height ?? 96;
  const width = options.width ?? 288;
  const batchSize = options.batchSize ?? 4;
  const steps = options.steps ?? 3;
  const backends = options.backends ?? ['wasm', 'cpu'];
  const batch = syntheticBatch(batchSize, height, width);
  const results: TrainingBenchResult[] = [];
  for (const backend of backends) {
    await initTrainingTf(backend);
    // tfjs-node computes on every core itself: no workers there.
    const workerCounts = backend === 'tensorflow' ? [0] : (options.workers ?? [0]);
    for (const workers of workerCounts) {
      const shape = { widthMultiplier, height, width, head: options.head ?? 'fcn8s' } as const;
      results.push(await timeTrainingSteps(backend as 'wasm' | 'cpu', shape, batch, steps, workers));
    }
  }
  return { widthMultiplier, height, width, batchSize, results };
}

/** One warm-up step, then `steps` timed steps of a fresh model with `workers` gradient workers. */
async function timeTrainingSteps(
  backend: TfBackendName,
  shape: Parameters<typeof trainingBenchSetup>[0],
  batch: SegmentationBatch,
  steps: number,
  workers: number,
): Promise<TrainingBenchResult> {
  const { config, model, variables, optimizer, weights } = trainingBenchSetup(shape);
  const order = model.config.inputChannelOrder as ChannelOrder;
  const microBatchSize = Math.ceil(batch.size / (workers + 1));
  const parallel =
    workers > 0 && backend !== 'tensorflow'
      ? await GradientWorkers.start({
          count: workers,
          model,
          variables,
          backend,
          classWeights: weights.dataSync() as Float32Array,
          channelOrder: order,
          dropoutRate: TRAINING_DEFAULTS.dropoutRate,
          maxPartImages: microBatchSize,
          height: batch.height,
          width: batch.width,
        })
      : undefined;
  const step = (seed: number) =>
    parallel
      ? parallel.trainStep(optimizer, batch, weights, seed, microBatchSize)
      : trainStep(model, optimizer, variables, batch, weights, seed, order);
  try {
    await step(0);
    const started = performance.now();
    for (let seed = 1; seed <= steps; seed++) await step(seed);
    const seconds = (performance.now() - started) / 1000;
    const imagesPerSecond = (steps * batch.size) / seconds;
    return {
      backend,
      workers: parallel ? workers : 0,
      microBatchSize: parallel ? microBatchSize : batch.size,
      imagesPerSecond,
      gflopsPerSecond: (imagesPerSecond * 3 * forwardFlopsPerImage(config)) / 1e9,
      secondsPerStep: seconds / steps,
      steps,
    };
  } finally {
    await parallel?.stop();
    weights.dispose();
    model.dispose();
  }
}
