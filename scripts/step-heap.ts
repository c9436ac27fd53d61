// The tensor memory a wasm training step really holds at its peak (tf.profile's peakBytes), next
// to the memory plan's estimate (src/train/step/memory-plan.ts), for 1 and 2 images per pass.
// Usage: node --import tsx scripts/step-heap.ts [width] [HxW]

import { syntheticBatch, trainingBenchSetup } from '../src/bench/training.js';
import { tf } from '../src/model/tf.js';
import { initTrainingTf } from '../src/train/kernels/tf-training.js';
import { stepHeapBytes } from '../src/train/step/memory-plan.js';
import { trainStep } from '../src/train/step/step.js';

const widthMultiplier = Number(process.argv[2] ?? 0.25);
const [height, width] = (process.argv[3] ?? '96x288').split('x').map(Number) as [number, number];
await initTrainingTf('wasm');
const { model, variables, optimizer, weights, config } = trainingBenchSetup({
  widthMultiplier,
  height,
  width,
  head: 'fcn8s',
});
const parameterCount = model.parameterCount();
const planInput = {
  backend: 'wasm',
  batchSize: 2,
  height,
  width,
  widthMultiplier,
  numClasses: config.numClasses,
  parameterCount,
};
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const peaks: number[] = [];
for (const images of [1, 2]) {
  const batch = syntheticBatch(images, height, width);
  const profile = await tf.profile(() => {
    trainStep(model, optimizer, variables, batch, weights, images, 'BGR');
  });
  peaks.push(profile.peakBytes);
  console.log(
    `width ${widthMultiplier} ${height}x${width}, ${images} image(s) per pass: peak tensor memory ${mib(profile.peakBytes)}, ` +
      `plan ${mib(stepHeapBytes(planInput, images))}, wasm heap ${mib((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length)}`,
  );
}
const perImage = peaks[1]! - peaks[0]!;
console.log(
  `per image: ${mib(perImage)} = ${(perImage / 4 / (height * width)).toFixed(0)} float32 values per pixel ` +
    `(${(perImage / 4 / (height * width) / widthMultiplier).toFixed(0)} per pixel at width 1 if it scaled with the width)`,
);
