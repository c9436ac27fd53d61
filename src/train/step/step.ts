// One optimizer step and one validation pass: data bytes to tensors, forward, loss, metrics.

import { mixSeed } from '../../data/random.js';
import type { DataSource, SegmentationBatch } from '../../data/types.js';
import type { FcnModel } from '../../model/fcn8s.js';
import { tf } from '../../model/tf.js';
import { TRAINING_DEFAULTS } from '../defaults.js';
import { segmentationLoss, weightedLossTerms } from '../loss.js';
import { ConfusionMatrix, type MetricsSummary } from '../metrics.js';
import type { PreviewSample } from '../previews.js';
import type { HostAdam } from './host-adam.js';

export type ChannelOrder = 'RGB' | 'BGR';

/**
 * RGB bytes → float32 raw 0-255 pixels in the model's channel order. A fresh array per batch on
 * purpose: the cpu backend keeps a reference to the array a tensor was made from.
 */
export function imagesTensor(batch: SegmentationBatch, channelOrder: ChannelOrder): tf.Tensor4D {
  const values = new Float32Array(batch.images.length);
  const source = batch.images;
  if (channelOrder === 'RGB') {
    for (let i = 0; i < source.length; i++) values[i] = source[i]!;
  } else {
    for (let i = 0; i < source.length; i += 3) {
      values[i] = source[i + 2]!;
      values[i + 1] = source[i + 1]!;
      values[i + 2] = source[i]!;
    }
  }
  return tf.tensor4d(values, [batch.size, batch.height, batch.width, 3]);
}

export function labelsTensor(batch: SegmentationBatch): tf.Tensor3D {
  return tf.tensor3d(Int32Array.from(batch.labels), [batch.size, batch.height, batch.width], 'int32');
}

/** The trainable variables in a fixed order (Adam pairs its moments with variables by position). */
export function trainableVariables(model: FcnModel): tf.Variable[] {
  const params = model.params as unknown as Map<string, tf.Variable> | Record<string, tf.Variable>;
  const entries = params instanceof Map ? [...params.entries()] : Object.entries(params);
  return entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, variable]) => variable)
    .filter((variable) => variable.trainable);
}

/** Images [start, end) of a batch, as a batch of their own (views, no copies). */
export function sliceBatch(batch: SegmentationBatch, start: number, end: number): SegmentationBatch {
  const pixels = batch.height * batch.width;
  return {
    ...batch,
    size: end - start,
    images: batch.images.subarray(start * pixels * 3, end * pixels * 3),
    labels: batch.labels.subarray(start * pixels, end * pixels),
    names: batch.names.slice(start, end),
  };
}

/** Σ w[label] over the batch's labelled pixels: the loss's denominator for the whole batch. */
function batchWeight(labels: Uint8Array, classWeights: Float32Array): number {
  let weight = 0;
  for (const label of labels) weight += label < classWeights.length ? classWeights[label]! : 0;
  return weight;
}

/** The micro-batches a batch of `batchSize` runs as: consecutive parts of `microBatchSize` images. */
export function batchParts(batchSize: number, microBatchSize: number): Array<{ start: number; end: number }> {
  const parts: Array<{ start: number; end: number }> = [];
  for (let start = 0; start < batchSize; start += microBatchSize)
    parts.push({ start, end: Math.min(batchSize, start + microBatchSize) });
  return parts;
}

/** Each micro-batch draws its own dropout masks, still a function of (seed, step) only. */
export function partDropoutSeed(dropoutSeed: number, part: number): number {
  return part === 0 ? dropoutSeed : mixSeed(dropoutSeed, part, 0x6d62);
}

/** What one micro-batch's forward and backward pass needs besides the model and the images. */
export interface PartSettings {
  classWeights: tf.Tensor1D;
  channelOrder: ChannelOrder;
  dropoutRate: number;
  /** The whole batch's labelled weight (batchDenominator), so the parts' losses sum to the batch's. */
  denominator: number;
  dropoutSeed: number;
}

/** The whole batch's labelled weight: the denominator every micro-batch's loss is divided by. */
export function batchDenominator(batch: SegmentationBatch, classWeights: tf.Tensor1D): number {
  return Math.max(batchWeight(batch.labels, classWeights.dataSync() as Float32Array), 1e-6);
}

/**
 * One micro-batch's loss and gradients (in variable order; the caller disposes them). The main
 * thread and the gradient workers (gradient-worker.ts) both run exactly this.
 */
export function partGradients(
  model: FcnModel,
  variables: tf.Variable[],
  micro: SegmentationBatch,
  settings: PartSettings,
): { loss: number; gradients: tf.Tensor[] } {
  const images = imagesTensor(micro, settings.channelOrder);
  const labels = labelsTensor(micro);
  try {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const logits = model.forward(images, {
            training: true,
            dropoutSeed: settings.dropoutSeed,
            dropoutRate: settings.dropoutRate,
          });
          return tf.div(
            weightedLossTerms(logits as tf.Tensor4D, labels, settings.classWeights).total,
            settings.denominator,
          );
        }) as tf.Scalar,
      variables,
    );
    const loss = value.dataSync()[0]!;
    value.dispose();
    return { loss, gradients: variables.map((variable) => grads[variable.name]!) };
  } finally {
    images.dispose();
    labels.dispose();
  }
}

/**
 * One Adam step on one batch; returns the batch loss. With `microBatchSize` below the batch size
 * the batch runs as micro-batches whose gradients are summed before the update (gradient
 * accumulation): each micro-batch's loss is its weighted sum over the whole batch's weight, so the
 * sum is the gradient of the whole batch's mean loss, while the backend holds one micro-batch's
 * activations at a time. (gradient-workers.ts spreads the same parts over threads.) `onImages`
 * hears of each micro-batch done, so that a progress bar moves within a long step.
 */
export function trainStep(
  model: FcnModel,
  optimizer: HostAdam,
  variables: tf.Variable[],
  batch: SegmentationBatch,
  classWeights: tf.Tensor1D,
  dropoutSeed: number,
  channelOrder: ChannelOrder,
  dropoutRate: number = TRAINING_DEFAULTS.dropoutRate,
  microBatchSize: number = batch.size,
  onImages?: (images: number) => void,
): number {
  const denominator = batchDenominator(batch, classWeights);
  let loss = 0;
  batchParts(batch.size, microBatchSize).forEach(({ start, end }, part) => {
    const result = partGradients(model, variables, sliceBatch(batch, start, end), {
      classWeights,
      channelOrder,
      dropoutRate,
      denominator,
      dropoutSeed: partDropoutSeed(dropoutSeed, part),
    });
    loss += result.loss;
    optimizer.accumulate(result.gradients);
    onImages?.(end - start);
  });
  optimizer.update();
  return loss;
}

export interface ValidationResult {
  loss: number;
  metrics: MetricsSummary;
  previews: PreviewSample[];
  images: number;
}

/** Runs the whole validation split: mean loss, confusion-matrix metrics, the first `previewCount` samples. */
export async function validate(
  model: FcnModel,
  source: DataSource,
  batchSize: number,
  classWeights: tf.Tensor1D,
  channelOrder: ChannelOrder,
  previewCount: number,
): Promise<ValidationResult> {
  const ignored = source.classes.filter((c) => c.ignore).map((c) => c.id);
  const confusion = new ConfusionMatrix(source.numClasses, ignored);
  const previews: PreviewSample[] = [];
  let lossSum = 0;
  let batches = 0;
  let images = 0;
  for await (const batch of source.validGenerator(batchSize)) {
    const imageTensor = imagesTensor(batch, channelOrder);
    const labelTensor = labelsTensor(batch);
    const { loss, predicted } = tf.tidy(() => {
      const logits = model.forward(imageTensor, { training: false }) as tf.Tensor4D;
      return {
        loss: segmentationLoss(logits, labelTensor, classWeights).dataSync()[0]!,
        predicted: tf.argMax(logits, -1).dataSync() as Int32Array,
      };
    });
    imageTensor.dispose();
    labelTensor.dispose();
    confusion.add(predicted, batch.labels);
    lossSum += loss;
    batches += 1;
    images += batch.size;
    const pixels = batch.height * batch.width;
    for (let i = 0; i < batch.size && previews.length < previewCount; i++) {
      previews.push({
        name: batch.names[i] ?? `sample-${previews.length}`,
        height: batch.height,
        width: batch.width,
        image: batch.images.slice(i * pixels * 3, (i + 1) * pixels * 3),
        truth: batch.labels.slice(i * pixels, (i + 1) * pixels),
        predicted: Uint8Array.from(predicted.subarray(i * pixels, (i + 1) * pixels)),
      });
    }
  }
  return {
    loss: batches > 0 ? lossSum / batches : Number.NaN,
    metrics: confusion.summary(),
    previews,
    images,
  };
}
