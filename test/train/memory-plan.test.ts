import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/system/errors.js';
import { planMicroBatch, stepHeapBytes, WASM_HEAP_LIMIT_BYTES } from '../../src/train/memory-plan.js';

/** Full-width VGG16 FCN-8s: 134 M weights, fc6 7·7·512·4096 of them. */
const fullWidth = {
  backend: 'wasm',
  batchSize: 20,
  widthMultiplier: 1,
  parameterCount: 134_300_000,
  largestParameterCount: 7 * 7 * 512 * 4096,
};

test('the seed’s full-width runs on wasm split batch 20 into micro-batches that fit the 4 GiB heap', () => {
  const kitti = planMicroBatch({ ...fullWidth, height: 160, width: 576 });
  assert.ok(kitti.microBatchSize >= 1 && kitti.microBatchSize < 20, `micro-batch ${kitti.microBatchSize}`);
  assert.ok(kitti.heapBytes < WASM_HEAP_LIMIT_BYTES);
  // One more image per pass would not leave the allocator its margin.
  assert.ok(
    stepHeapBytes({ ...fullWidth, height: 160, width: 576 }, kitti.microBatchSize + 1) >
      0.8 * WASM_HEAP_LIMIT_BYTES,
  );
  const cityscapes = planMicroBatch({ ...fullWidth, height: 256, width: 512 });
  assert.ok(cityscapes.microBatchSize >= 1 && cityscapes.microBatchSize <= kitti.microBatchSize);
  // Measured: 4 full-width 160x576 images per pass overflowed the heap; 1 trained.
  assert.ok(kitti.microBatchSize < 4);
  // Adam's moments and the gradient sum live outside the heap: 3 × 4 bytes per weight.
  assert.equal(kitti.hostBytes, 3 * 4 * fullWidth.parameterCount);
});

test('too big even one image at a time is refused before the first step, saying what to use instead', () => {
  assert.throws(
    () => planMicroBatch({ ...fullWidth, height: 1024, width: 2048 }),
    (error: Error) =>
      error instanceof UserError &&
      /at 1024x2048 on the wasm backend needs about [\d.]+ GiB of its heap even one image at a time/.test(
        error.message,
      ) &&
      /tfjs-node/.test(String((error as UserError & { hint?: string }).hint)),
  );
  assert.throws(
    () => planMicroBatch({ ...fullWidth, height: 160, width: 576, requestedMicroBatch: 20 }),
    (error: Error) => error instanceof UserError && /--micro-batch 20 at 160x576/.test(error.message),
  );
});

test('a small model, or another backend, keeps whole batches', () => {
  const small = {
    ...fullWidth,
    widthMultiplier: 0.25,
    parameterCount: 8_400_000,
    largestParameterCount: 6_400_000,
  };
  assert.equal(planMicroBatch({ ...small, height: 96, width: 288, batchSize: 4 }).microBatchSize, 4);
  assert.equal(
    planMicroBatch({ ...fullWidth, backend: 'tensorflow', height: 1024, width: 2048 }).microBatchSize,
    20,
  );
});
