// Where a wasm training step's time goes, per kernel (tf.profile), plus the JavaScript parts
// (data feeding, the Adam update): the profile in docs/training.md.
// Usage: node --import tsx scripts/profile-training-step.ts [width] [HxW] [batch]

import { syntheticBatch, trainingBenchSetup } from '../src/bench/training.js';
import { tf } from '../src/model/tf.js';
import { initTrainingTf } from '../src/train/kernels/tf-training.js';
import { imagesTensor, trainStep } from '../src/train/step/step.js';

const widthMultiplier = Number(process.argv[2] ?? 0.25);
const [height, width] = (process.argv[3] ?? '96x288').split('x').map(Number) as [number, number];
const batchSize = Number(process.argv[4] ?? 4);
await initTrainingTf('wasm');
const { model, variables, optimizer, weights } = trainingBenchSetup({
  widthMultiplier,
  height,
  width,
  head: 'fcn8s',
});
const batch = syntheticBatch(batchSize, height, width);
trainStep(model, optimizer, variables, batch, weights, 0, 'BGR'); // warm-up

const started = performance.now();
trainStep(model, optimizer, variables, batch, weights, 1, 'BGR');
const stepMs = performance.now() - started;
let adamMs = performance.now();
optimizer.update();
adamMs = performance.now() - adamMs;
let feedMs = performance.now();
imagesTensor(batch, 'BGR').dispose();
feedMs = performance.now() - feedMs;

const profile = await tf.profile(() => {
  trainStep(model, optimizer, variables, batch, weights, 2, 'BGR');
});
const byKernel = new Map<string, number>();
for (const kernel of profile.kernels)
  byKernel.set(kernel.name, (byKernel.get(kernel.name) ?? 0) + Number(kernel.kernelTimeMs));
const kernelMs = [...byKernel.values()].reduce((a, b) => a + b, 0);
console.log(`width ${widthMultiplier} ${height}x${width} batch ${batchSize}: step ${stepMs.toFixed(0)} ms`);
console.log(
  `  Adam update (JS) ${adamMs.toFixed(0)} ms, image feeding ${feedMs.toFixed(1)} ms, kernels ${kernelMs.toFixed(0)} ms`,
);
for (const [name, ms] of [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14))
  console.log(
    `  ${name.padEnd(24)} ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / kernelMs).toFixed(1).padStart(5)} %`,
  );
