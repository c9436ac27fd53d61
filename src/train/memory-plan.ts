// How many images one forward/backward pass may hold on the wasm backend, decided before the first
// step: the backend has a single heap of at most 4 GiB (wasm32) that it never returns, and a step
// that outgrows it ends in `RuntimeError: Aborted()`. Too big even one image at a time: refused
// with what it needs and what to use instead.

import { UserError } from '../system/errors.js';

/** tfjs-backend-wasm 4.22's heap limit (Emscripten's getHeapMax: 4 GiB minus one 64 KiB page). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30 - 2 ** 16;
/** The share of the heap a plan may fill: the allocator fragments, and a tensor needs one contiguous block. */
const HEAP_BUDGET = 0.8;

/**
 * Float32 values one image keeps alive per input pixel, at width 1, during a step. VGG16's conv
 * outputs alone are 270 per pixel (conv1 2·64, conv2 2·128/4, conv3 3·256/16, conv4 3·512/64,
 * conv5 3·512/256); with the ReLU outputs kept for backpropagation, the gradients in flight and
 * the allocator's fragmentation, measured full width at 160x576: 1 image per pass trained, 4 per
 * pass ended in "memory access out of bounds" (so more than ~1900 per pixel). 3000 keeps 160x576
 * at 1 image per pass; 2 per pass is not verified.
 */
const VALUES_PER_PIXEL_AT_WIDTH_1 = 3000;

export interface MemoryPlanInput {
  backend: string;
  batchSize: number;
  /** --micro-batch when given; otherwise the largest that fits. */
  requestedMicroBatch?: number;
  height: number;
  width: number;
  widthMultiplier: number;
  parameterCount: number;
  /** The largest single weight (fc6 at width 1: 7·7·512·4096 values). */
  largestParameterCount: number;
}

export interface MemoryPlan {
  microBatchSize: number;
  /** Estimated peak of the backend heap (wasm) for that micro-batch. */
  heapBytes: number;
  /** Adam's two moments and the gradient sum, in JavaScript memory (src/train/host-adam.ts). */
  hostBytes: number;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Estimated heap bytes for one step of `images` images at a time. */
export function stepHeapBytes(input: MemoryPlanInput, images: number): number {
  const weights = input.parameterCount * 4;
  // The weights, all their gradients at the end of backpropagation, and one weight-sized
  // temporary (the weight gradient kernel's output, the updated weight being written back).
  const fixed = 2 * weights + input.largestParameterCount * 4;
  const perImage = input.height * input.width * input.widthMultiplier * VALUES_PER_PIXEL_AT_WIDTH_1 * 4;
  return fixed + images * perImage;
}

/**
 * The micro-batch for this run. Off wasm (tfjs-node, cpu) memory is the machine's, not a fixed
 * heap: the whole batch unless --micro-batch says otherwise.
 */
export function planMicroBatch(input: MemoryPlanInput): MemoryPlan {
  const hostBytes = 3 * input.parameterCount * 4;
  const batch = input.batchSize;
  const requested =
    input.requestedMicroBatch === undefined ? undefined : Math.min(batch, input.requestedMicroBatch);
  if (input.backend !== 'wasm') {
    const microBatchSize = requested ?? batch;
    return { microBatchSize, heapBytes: stepHeapBytes(input, microBatchSize), hostBytes };
  }
  const budget = WASM_HEAP_LIMIT_BYTES * HEAP_BUDGET;
  let fits = 0;
  for (let images = 1; images <= batch && stepHeapBytes(input, images) <= budget; images++) fits = images;
  const size = `${input.height}x${input.width}`;
  if (fits === 0)
    throw new UserError(
      `training this model (width ${input.widthMultiplier}, ${(input.parameterCount / 1e6).toFixed(0)} M weights) at ${size} ` +
        `on the wasm backend needs about ${gib(stepHeapBytes(input, 1))} of its heap even one image at a time; ` +
        `the wasm heap holds at most ${gib(WASM_HEAP_LIMIT_BYTES)}`,
      {
        hint: 'train with tfjs-node (npm install @tensorflow/tfjs-node, or -gpu on a CUDA workstation: docs/training.md), a smaller --size, or a smaller --width',
      },
    );
  if (requested !== undefined && requested > fits)
    throw new UserError(
      `--micro-batch ${requested} at ${size} needs about ${gib(stepHeapBytes(input, requested))} of the wasm heap ` +
        `(at most ${gib(WASM_HEAP_LIMIT_BYTES)})`,
      { hint: `use --micro-batch ${fits} or less, or --micro-batch auto` },
    );
  const microBatchSize = requested ?? fits;
  return { microBatchSize, heapBytes: stepHeapBytes(input, microBatchSize), hostBytes };
}

export function describeMemoryPlan(plan: MemoryPlan, batchSize: number, backend: string): string {
  const split =
    plan.microBatchSize < batchSize
      ? `micro-batches of ${plan.microBatchSize} (gradients summed to the batch of ${batchSize})`
      : `whole batches of ${batchSize}`;
  const heap = backend === 'wasm' ? `, wasm heap about ${gib(plan.heapBytes)}` : '';
  return `memory: ${split}${heap}, Adam state ${gib(plan.hostBytes)} outside it`;
}
