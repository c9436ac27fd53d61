// A data source whose held-out samples live in memory: read once, then replayed for every model
// evaluated on them (quantize measures several candidate models on the same images).

import type { DataSource, SegmentationBatch } from './types.js';
import { IGNORE_LABEL } from './types.js';

/** Reads up to `limit` validation samples of `source` into memory; training batches still come from `source`. */
export async function withValidationInMemory(source: DataSource, limit?: number): Promise<DataSource> {
  const { height, width } = source.imageSize;
  const pixels = height * width;
  const count = Math.min(source.numValidation, limit ?? Number.POSITIVE_INFINITY);
  const images = new Uint8Array(count * pixels * 3);
  const labels = new Uint8Array(count * pixels).fill(IGNORE_LABEL);
  const names: string[] = [];
  outer: for await (const batch of source.validGenerator(8)) {
    for (let i = 0; i < batch.size; i++) {
      if (names.length >= count) break outer;
      images.set(batch.images.subarray(i * pixels * 3, (i + 1) * pixels * 3), names.length * pixels * 3);
      labels.set(batch.labels.subarray(i * pixels, (i + 1) * pixels), names.length * pixels);
      names.push(batch.names[i]!);
    }
  }
  const held = names.length;
  return {
    name: source.name,
    imageSize: source.imageSize,
    numClasses: source.numClasses,
    classes: source.classes,
    labelColors: source.labelColors,
    numTraining: source.numTraining,
    numValidation: held,
    trainGenerator: (batchSize, options) => source.trainGenerator(batchSize, options),
    async *validGenerator(batchSize): AsyncGenerator<SegmentationBatch> {
      for (let start = 0; start < held; start += batchSize) {
        const end = Math.min(held, start + batchSize);
        yield {
          size: end - start,
          height,
          width,
          images: images.subarray(start * pixels * 3, end * pixels * 3),
          labels: labels.subarray(start * pixels, end * pixels),
          names: names.slice(start, end),
        };
      }
    },
  };
}
