// The wasm memory plan against what training really did on this machine (docs/training.md, Memory).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, UserError } from '../../../src/system/errors.js';
import {
  describeWorkers,
  planMicroBatch,
  stepHeapBytes,
  WASM_HEAP_LIMIT_BYTES,
} from '../../../src/train/step/memory-plan.js';

/** Full-width VGG16 FCN-8s on KITTI's two classes: 134 M weights. */
const fullWidth = {
  backend: 'wasm',
  batchSize: 20,
  widthMultiplier: 1,
  numClasses: 2,
  parameterCount: 134_300_000,
};

test('full-width VGG16 at the seed’s sizes trains one image per pass on wasm; the plan never says less than was measured', () => {
  // scripts/step-heap.ts, heap after one step (MiB), with the per-tap fc6 kernels: 64x192 1 and 2
  // images 2068 / 2482, 160x576 1 image 2671, 256x512 1 image 2950 (2 images 4054: too much).
  const measured = [
    [64, 192, 1, 2068],
    [64, 192, 2, 2482],
    [160, 576, 1, 2671],
    [256, 512, 1, 2950],
  ] as const;
  for (const [height, width, images, mib] of measured) {
    const estimate = stepHeapBytes({ ...fullWidth, height, width }, images) / 2 ** 20;
    assert.ok(
      estimate >= mib,
      `${height}x${width}, ${images} image(s): estimate ${estimate} MiB < ${mib} measured`,
    );
  }
  for (const [height, width] of [
    [160, 576],
    [256, 512],
  ] as const)
    assert.equal(planMicroBatch({ ...fullWidth, height, width }).microBatchSize, 1, `${height}x${width}`);
  // Cityscapes at its own 512x1024 does not fit even one image: refused before the first step.
  assert.throws(
    () => planMicroBatch({ ...fullWidth, height: 512, width: 1024 }),
    (error: Error) =>
      error instanceof UserError &&
      /at 512x1024 on the wasm backend needs about [\d.]+ GiB of its heap even one image at a time/.test(
        error.message,
      ) &&
      /tfjs-node/.test(String(error.hint)),
  );
});

test('what trained on wasm is planned to fit, with the micro-batch that trained', () => {
  // Full width, 64x192: one and two images per pass trained (heap 2068 and 2482 MiB).
  const small = planMicroBatch({ ...fullWidth, height: 64, width: 192, batchSize: 2 });
  assert.equal(small.microBatchSize, 2);
  // The full-width integration test: 32x64, micro-batches of 1 of a KITTI-format batch.
  assert.ok(
    planMicroBatch({ ...fullWidth, height: 32, width: 64, requestedMicroBatch: 1 }).heapBytes <
      WASM_HEAP_LIMIT_BYTES,
  );
  // Width 0.5 at 64x192: the heap grew to 547 MiB for one image (996 MiB before the per-tap fc6
  // kernels); the plan must not say less.
  const half = { ...fullWidth, widthMultiplier: 0.5, parameterCount: 33_600_000, height: 64, width: 192 };
  assert.ok(stepHeapBytes(half, 1) >= 547 * 2 ** 20, `${stepHeapBytes(half, 1) / 2 ** 20} MiB`);
});

test('a narrow model on many classes counts the per-class values that do not narrow with the width', () => {
  // Width 0.0625, 6 classes, 256x512: 215 values per pixel per image measured, 188 from the width alone.
  const narrow = {
    ...fullWidth,
    widthMultiplier: 0.0625,
    numClasses: 6,
    parameterCount: 540_000,
    height: 256,
    width: 512,
  };
  const perImage = stepHeapBytes(narrow, 2) - stepHeapBytes(narrow, 1);
  assert.ok(perImage >= 215 * 4 * 256 * 512, `${perImage / (4 * 256 * 512)} values per pixel`);
});

test('a --micro-batch that does not fit is refused with the largest that does', () => {
  assert.throws(
    () => planMicroBatch({ ...fullWidth, height: 64, width: 192, requestedMicroBatch: 20 }),
    (error: Error) =>
      error instanceof UserError &&
      /--micro-batch 20 at 64x192/.test(error.message) &&
      /use --micro-batch \d+ or less/.test(String(error.hint)),
  );
});

test('a small model, or another backend, keeps whole batches', () => {
  const small = { ...fullWidth, widthMultiplier: 0.25, parameterCount: 8_400_000 };
  assert.equal(planMicroBatch({ ...small, height: 96, width: 288, batchSize: 4 }).microBatchSize, 4);
  const native = planMicroBatch({ ...fullWidth, backend: 'tensorflow', height: 1024, width: 2048 });
  assert.equal(native.microBatchSize, 20);
  // Adam's moments, the gradient sum and the weights' copy live outside the heap: 4 × 4 bytes per weight.
  assert.equal(native.hostBytes, 4 * 4 * fullWidth.parameterCount);
});

/** Width 0.25 at 96x288 on synthetic-road: 8.4 M weights, a heap estimate of about 0.5 GiB per image pair. */
const light = {
  backend: 'wasm',
  batchSize: 4,
  widthMultiplier: 0.25,
  numClasses: 6,
  parameterCount: 8_400_000,
  height: 96,
  width: 288,
  cores: 2,
  availableHostBytes: 16 * 2 ** 30,
};

test('auto gradient workers: cores − 1 on wasm and cpu, with a micro-batch that gives every thread a part', () => {
  for (const backend of ['wasm', 'cpu']) {
    const plan = planMicroBatch({ ...light, backend, requestedWorkers: 'auto' });
    assert.equal(plan.workers, 1, backend);
    assert.equal(plan.microBatchSize, 2, backend);
    assert.match(
      describeWorkers(plan),
      /^threads: the main thread and 1 gradient worker \(auto: 2 cores; each its own/,
    );
  }
  assert.equal(planMicroBatch({ ...light, requestedWorkers: 'auto', cores: 1 }).workers, 0);
  // Without the option (the library's default) nothing changes: no workers, whole batches.
  const plain = planMicroBatch(light);
  assert.equal(plain.workers, 0);
  assert.equal(plain.microBatchSize, 4);
});

test('workers are capped by the parts a batch has and by the free host memory, saying why', () => {
  // A resumed run's micro-batch of 4 is kept: one part per batch, nothing for a worker.
  const whole = planMicroBatch({ ...light, requestedWorkers: 1, requestedMicroBatch: 4 });
  assert.equal(whole.workers, 0);
  assert.match(
    describeWorkers(whole),
    /a batch of 4 in micro-batches of 4 has 1 part; --micro-batch 2 would give 1 worker a part/,
  );
  // Each worker is one more heap: with room for about one, 3 asked get 1.
  const oneHeap = stepHeapBytes(light, 2) + 2 * 4 * light.parameterCount;
  const tight = planMicroBatch({
    ...light,
    batchSize: 8,
    requestedWorkers: 3,
    availableHostBytes: (2 * oneHeap + 2 * 4 * light.parameterCount + 3 * 4 * light.parameterCount) / 0.8,
  });
  assert.equal(tight.workers, 1);
  assert.match(describeWorkers(tight), /3 wanted, but [\d.]+ GiB of free host memory holds 1 more heap/);
});

test('tfjs-node computes on every core itself: auto gives no workers, a number is refused naming the flag', () => {
  assert.equal(planMicroBatch({ ...light, backend: 'tensorflow', requestedWorkers: 'auto' }).workers, 0);
  assert.throws(
    () => planMicroBatch({ ...light, backend: 'tensorflow', requestedWorkers: 1 }),
    (error: Error) => error instanceof ConfigError && /--train-workers/.test(error.message),
  );
});
