// Training steps without and with gradient workers in ONE process, alternating step by step
// (A B, B A, ...), so that a machine whose load drifts still gives a fair ratio: the medians of
// each, the median of the paired ratios, and the CPU time per wall second each used (2 = both cores).
// Usage: node --import tsx scripts/train-workers-ratio.ts [width] [HxW] [batch] [pairs] [workers]

import { cpuUsage } from 'node:process';
import { syntheticBatch, trainingBenchSetup } from '../src/bench/training.js';
import { TRAINING_DEFAULTS } from '../src/train/defaults.js';
import { initTrainingTf } from '../src/train/kernels/tf-training.js';
import { GradientWorkers } from '../src/train/step/gradient-workers.js';
import { trainStep } from '../src/train/step/step.js';

const widthMultiplier = Number(process.argv[2] ?? 0.25);
const [height, width] = (process.argv[3] ?? '96x288').split('x').map(Number) as [number, number];
const batchSize = Number(process.argv[4] ?? 4);
const pairs = Number(process.argv[5] ?? 6);
const workerCount = Number(process.argv[6] ?? 1);
await initTrainingTf('wasm');
const batch = syntheticBatch(batchSize, height, width);
const shape = { widthMultiplier, height, width, head: 'fcn8s' } as const;
const single = trainingBenchSetup(shape);
const parallel = trainingBenchSetup(shape);
const microBatchSize = Math.ceil(batchSize / (workerCount + 1));
const workers = await GradientWorkers.start({
  count: workerCount,
  model: parallel.model,
  variables: parallel.variables,
  backend: 'wasm',
  classWeights: parallel.weights.dataSync() as Float32Array,
  channelOrder: 'BGR',
  dropoutRate: TRAINING_DEFAULTS.dropoutRate,
  maxPartImages: microBatchSize,
  height,
  width,
});

/** One step's wall seconds and CPU seconds (all threads). */
async function timed(step: () => unknown): Promise<{ wall: number; cpu: number }> {
  const cpu = cpuUsage();
  const started = performance.now();
  await step();
  const used = cpuUsage(cpu);
  return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}
const stepSingle = (seed: number) => () =>
  trainStep(single.model, single.optimizer, single.variables, batch, single.weights, seed, 'BGR');
const stepParallel = (seed: number) => () =>
  workers.trainStep(parallel.optimizer, batch, parallel.weights, seed, microBatchSize);

await timed(stepSingle(0));
await timed(stepParallel(0));
const a: Array<{ wall: number; cpu: number }> = [];
const b: Array<{ wall: number; cpu: number }> = [];
for (let pair = 1; pair <= pairs; pair++) {
  if (pair % 2) {
    a.push(await timed(stepSingle(pair)));
    b.push(await timed(stepParallel(pair)));
  } else {
    b.push(await timed(stepParallel(pair)));
    a.push(await timed(stepSingle(pair)));
  }
  console.log(
    `pair ${pair}: 0 workers ${a.at(-1)!.wall.toFixed(2)} s, ${workerCount} worker(s) ${b.at(-1)!.wall.toFixed(2)} s`,
  );
}
await workers.stop();
const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const wallA = median(a.map((s) => s.wall));
const wallB = median(b.map((s) => s.wall));
console.log(
  `width ${widthMultiplier} ${height}x${width} batch ${batchSize}, ${pairs} pairs: ` +
    `0 workers ${(batchSize / wallA).toFixed(2)} images/s (median step ${wallA.toFixed(2)} s, ` +
    `${median(a.map((s) => s.cpu / s.wall)).toFixed(2)} CPU s per s), ` +
    `${workerCount} worker(s), micro-batches of ${microBatchSize}: ${(batchSize / wallB).toFixed(2)} images/s ` +
    `(median step ${wallB.toFixed(2)} s, ${median(b.map((s) => s.cpu / s.wall)).toFixed(2)} CPU s per s); ` +
    `ratio of medians ${(wallA / wallB).toFixed(2)}x, median paired ratio ${median(a.map((s, i) => s.wall / b[i]!.wall)).toFixed(2)}x`,
);
console.log(
  `load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
