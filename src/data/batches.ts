// Turns "load sample i into these buffers" into the DataSource generators: fixed-size batches,
// per-epoch seeded shuffles, seeded augmentation, and a one-batch prefetch so decoding the next
// batch overlaps with training on the current one.

import { ConfigError } from '../system/errors.js';
import { mixSeed, Random, shuffledIndices } from './random.js';
import type { ImageSize, SegmentationBatch } from './types.js';

/** Fills `image` (H*W*3 RGB) and `label` (H*W class ids) for sample `index`; returns its name. */
export type SampleLoader = (index: number, image: Uint8Array, label: Uint8Array) => Promise<string> | string;

export interface BatchOptions {
  /** Samples decoded at once within a batch (file sources: libvips work runs off the main thread). */
  concurrency?: number;
  /** When set, each sample is augmented with a generator seeded by (augmentSeed, sample index). */
  augmentSeed?: number;
}

export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
  }
}

/** Training order for an epoch: depends only on the source seed and the epoch number. */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  return shuffledIndices(count, mixSeed(seed, epoch, 0x0ede));
}

export function identityOrder(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}

/**
 * Horizontal flip (half the time), brightness x0.75-1.25 and contrast x0.8-1.2, in place.
 * Labels only ever move with the flip; their values are never touched.
 */
export function augmentSample(image: Uint8Array, label: Uint8Array, size: ImageSize, random: Random): void {
  const { height, width } = size;
  if (random.chance(0.5)) {
    for (let y = 0; y < height; y++) {
      for (let left = 0, right = width - 1; left < right; left++, right--) {
        const a = y * width + left;
        const b = y * width + right;
        const swapLabel = label[a]!;
        label[a] = label[b]!;
        label[b] = swapLabel;
        for (let c = 0; c < 3; c++) {
          const swap = image[a * 3 + c]!;
          image[a * 3 + c] = image[b * 3 + c]!;
          image[b * 3 + c] = swap;
        }
      }
    }
  }
  const brightness = random.range(0.75, 1.25);
  const contrast = random.range(0.8, 1.2);
  // value' = ((value * brightness) - 128) * contrast + 128, tabulated once per sample.
  const table = new Uint8ClampedArray(256);
  for (let v = 0; v < 256; v++) table[v] = (v * brightness - 128) * contrast + 128;
  for (let i = 0; i < image.length; i++) image[i] = table[image[i]!]!;
}

async function loadBatch(
  order: ArrayLike<number>,
  start: number,
  batchSize: number,
  size: ImageSize,
  load: SampleLoader,
  options: BatchOptions,
): Promise<SegmentationBatch> {
  const count = Math.min(batchSize, order.length - start);
  const pixels = size.height * size.width;
  const images = new Uint8Array(count * pixels * 3);
  const labels = new Uint8Array(count * pixels);
  const names = new Array<string>(count).fill('');
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const slot = next++;
      const index = order[start + slot]!;
      const image = images.subarray(slot * pixels * 3, (slot + 1) * pixels * 3);
      const label = labels.subarray(slot * pixels, (slot + 1) * pixels);
      names[slot] = await load(index, image, label);
      if (options.augmentSeed !== undefined) {
        augmentSample(image, label, size, new Random(mixSeed(options.augmentSeed, index, 0xa09)));
      }
    }
  };
  const workers: Array<Promise<void>> = [];
  for (let w = 0; w < Math.max(1, Math.min(options.concurrency ?? 1, count)); w++) workers.push(worker());
  await Promise.all(workers);
  return { size: count, height: size.height, width: size.width, images, labels, names };
}

/** Yields batches over `order`, loading batch k+1 while the consumer works on batch k. */
export async function* generateBatches(
  order: ArrayLike<number>,
  batchSize: number,
  size: ImageSize,
  load: SampleLoader,
  options: BatchOptions = {},
): AsyncGenerator<SegmentationBatch> {
  checkBatchSize(batchSize);
  if (order.length === 0) return;
  let pending = loadBatch(order, 0, batchSize, size, load, options);
  for (let start = 0; start < order.length; start += batchSize) {
    const batch = await pending;
    const nextStart = start + batchSize;
    if (nextStart < order.length) {
      pending = loadBatch(order, nextStart, batchSize, size, load, options);
      // If the consumer stops early, the prefetched batch's failure must not surface as unhandled.
      pending.catch(() => {});
    }
    yield batch;
  }
}
