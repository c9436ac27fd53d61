// How many images one forward/backward pass may hold on the wasm backend, decided before the first
// step: the backend has a single heap of at most 4 GiB (wasm32) that it never returns, and a step
// that outgrows it fails (src/train/step/wasm-heap.ts). Too big even one image at a time: refused
// with what it needs and what to use instead. Also how many gradient workers (gradient-workers.ts)
// the cores and the host memory allow: each is one more heap with the weights and a micro-batch.

import { ConfigError, UserError } from '../../system/errors.js';

/** tfjs-backend-wasm 4.22's heap limit (Emscripten's getHeapMax: 4 GiB minus one 64 KiB page). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30 - 2 ** 16;
/**
 * The share of the heap a plan may fill. The figures below are heap high-water marks, which already
 * include the allocator's holes and the heap's growth steps (up to 96 MiB at a time).
 */
const HEAP_BUDGET = 0.95;

/**
 * Heap bytes per byte of weights, whatever the images. Besides the weights and their gradients the
 * heap holds XNNPACK's packed copy of every convolution's filter, the turned filters of the
 * input-gradient convolutions, and the holes these leave. Measured with scripts/step-heap.ts
 * (VGG16 FCN-8s, width 1, 512 MiB of weights) after the kernels of src/train/kernels/ stopped
 * packing fc6 for XNNPACK (wasm-small-map-conv.ts): heap 2068 MiB with one 64x192 image per pass,
 * 2671 MiB at 160x576 and 2950 MiB at 256x512, so 3.9 times the weights besides the images (it was
 * 6.9-7.4 before). 4.5 leaves room for the other widths, which were not measured again.
 */
const HEAP_BYTES_PER_WEIGHT_BYTE = 4.5;

/**
 * Float32 values one image keeps alive per input pixel, at width 1, during a step: measured 1984
 * (width 1), 2081 (0.5) and 2275 (0.25) as tensors (tf.profile's peakBytes, scripts/step-heap.ts);
 * 3000 leaves room for the allocator's holes.
 */
const VALUES_PER_PIXEL_AT_WIDTH_1 = 3000;

/**
 * Values per pixel and class that do not narrow with --width: the full-size logits, the one-hot
 * labels, log-softmax and their gradients. At width 0.0625 with 6 classes a step held 215 values per
 * pixel, more than the 188 the width alone gives.
 */
const VALUES_PER_PIXEL_PER_CLASS = 16;

export interface MemoryPlanInput {
  backend: string;
  batchSize: number;
  /** --micro-batch when given; otherwise the largest that fits. */
  requestedMicroBatch?: number;
  height: number;
  width: number;
  widthMultiplier: number;
  numClasses: number;
  parameterCount: number;
  /** --train-workers: a number, or auto (cores − 1 on wasm and cpu, as memory allows); default 0. */
  requestedWorkers?: number | 'auto';
  /** Cores this process may use (os.availableParallelism()). */
  cores?: number;
  /** Host memory free for more heaps (os.freemem(): MemAvailable on Linux). */
  availableHostBytes?: number;
}

export interface MemoryPlan {
  microBatchSize: number;
  /** Estimated peak of the backend heap (wasm) for that micro-batch. */
  heapBytes: number;
  /** Adam's two moments and the gradient sum, in JavaScript memory (src/train/step/host-adam.ts). */
  hostBytes: number;
  /** Gradient workers to start (0: the main thread computes every part). */
  workers: number;
  /** Why that many, for the start-up log. */
  workersReason: string;
}

/** Float32 values per weight in JavaScript memory: Adam's two moments, the gradient sum and HostAdam's copy of the weights. */
const HOST_VALUES_PER_WEIGHT = 4;

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Estimated heap bytes for one step of `images` images at a time. */
export function stepHeapBytes(input: MemoryPlanInput, images: number): number {
  const fixed = HEAP_BYTES_PER_WEIGHT_BYTE * input.parameterCount * 4;
  const perPixel =
    VALUES_PER_PIXEL_AT_WIDTH_1 * input.widthMultiplier + VALUES_PER_PIXEL_PER_CLASS * input.numClasses + 4;
  return fixed + images * input.height * input.width * perPixel * 4;
}

/**
 * The micro-batch for this run. Off wasm (tfjs-node, cpu) memory is the machine's, not a fixed
 * heap: the whole batch unless --micro-batch says otherwise.
 */
export function planMicroBatch(input: MemoryPlanInput): MemoryPlan {
  const hostBytes = HOST_VALUES_PER_WEIGHT * input.parameterCount * 4;
  const batch = input.batchSize;
  const requested =
    input.requestedMicroBatch === undefined ? undefined : Math.min(batch, input.requestedMicroBatch);
  if (input.backend !== 'wasm') return withWorkers(input, requested, batch, hostBytes);
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
  return withWorkers(input, requested, fits, hostBytes);
}

/** Host bytes a worker adds besides its heap: its gradient buffer and the weights it copies in. */
const WORKER_WEIGHT_COPIES = 2;
/** The share of the free host memory the heaps of the main thread and the workers may take. */
const HOST_BUDGET = 0.8;

/**
 * The workers and the micro-batch: `requested` (--micro-batch, or the resumed run's) as given, else
 * the largest that fits (`fits`) but small enough that every thread gets a part. Workers are capped
 * by the spare cores (auto), the parts a batch has, and the free host memory.
 */
function withWorkers(
  input: MemoryPlanInput,
  requested: number | undefined,
  fits: number,
  hostBytes: number,
): MemoryPlan {
  const batch = input.batchSize;
  const cores = input.cores ?? 1;
  const asked = input.requestedWorkers ?? 0;
  if (input.backend !== 'wasm' && input.backend !== 'cpu') {
    if (typeof asked === 'number' && asked > 0)
      throw new ConfigError(
        '--train-workers',
        `applies to the wasm and cpu backends; ${input.backend} already computes on every core`,
        { hint: 'leave --train-workers out (auto) or give 0' },
      );
    const microBatchSize = requested ?? batch;
    return {
      microBatchSize,
      heapBytes: stepHeapBytes(input, microBatchSize),
      hostBytes,
      workers: 0,
      workersReason: `${input.backend} computes on every core itself`,
    };
  }
  const wanted = asked === 'auto' ? Math.max(0, cores - 1) : asked;
  const microBatchSize = requested ?? Math.min(fits, Math.ceil(batch / (wanted + 1)));
  const heapBytes = stepHeapBytes(input, microBatchSize);
  const parts = Math.ceil(batch / microBatchSize);
  const weightBytes = 4 * input.parameterCount;
  const perWorker = heapBytes + WORKER_WEIGHT_COPIES * weightBytes;
  const free =
    (input.availableHostBytes ?? Number.POSITIVE_INFINITY) * HOST_BUDGET -
    heapBytes -
    hostBytes -
    weightBytes;
  const byMemory = Math.max(0, Math.floor(free / perWorker));
  const workers = Math.min(wanted, parts - 1, byMemory);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  let workersReason: string;
  if (workers < wanted && workers === parts - 1)
    workersReason =
      `a batch of ${batch} in micro-batches of ${microBatchSize} has ${plural(parts, 'part')}` +
      (microBatchSize > 1
        ? `; --micro-batch ${Math.ceil(batch / (wanted + 1))} would give ${plural(wanted, 'worker')} a part`
        : '');
  else if (workers < wanted)
    workersReason = `${wanted} wanted, but ${gib(input.availableHostBytes ?? 0)} of free host memory holds ${plural(workers, 'more heap')} of about ${gib(perWorker)}`;
  else if (asked === 'auto') workersReason = `auto: ${plural(cores, 'core')}`;
  else
    workersReason =
      `--train-workers ${asked}` +
      (asked > cores - 1 ? `, more than the ${plural(cores - 1, 'spare core')}: threads share cores` : '');
  if (workers > 0) workersReason += `; each its own ${input.backend} heap of about ${gib(heapBytes)}`;
  return { microBatchSize, heapBytes, hostBytes, workers, workersReason };
}

export function describeMemoryPlan(plan: MemoryPlan, batchSize: number, backend: string): string {
  const split =
    plan.microBatchSize < batchSize
      ? `micro-batches of ${plan.microBatchSize} (gradients summed to the batch of ${batchSize})`
      : `whole batches of ${batchSize}`;
  const heap = backend === 'wasm' ? `, wasm heap about ${gib(plan.heapBytes)}` : '';
  return `memory: ${split}${heap}, Adam state and a copy of the weights ${gib(plan.hostBytes)} outside it`;
}

export function describeWorkers(plan: MemoryPlan): string {
  const workers =
    plan.workers === 0
      ? 'the main thread only'
      : `the main thread and ${plan.workers} gradient worker${plan.workers > 1 ? 's' : ''}`;
  return `threads: ${workers} (${plan.workersReason})`;
}
