// A gradient worker's thread: builds the training model on the main thread's backend from the
// shared weights, and for each request runs one part's forward and backward pass (partGradients,
// exactly what the single-threaded step runs) and writes its loss and gradients back.

import { parentPort, workerData } from 'node:worker_threads';
import type { SegmentationBatch } from '../../data/types.js';
import type { NamedWeights } from '../../model/architecture.js';
import { createFcn8s } from '../../model/fcn8s.js';
import { tf } from '../../model/tf.js';
import { initTrainingTf } from '../kernels/tf-training.js';
import type * as protocol from './gradient-protocol.js';
import { CONTROL_VERSION } from './gradient-protocol.js';
import { partGradients, trainableVariables } from './step.js';
import { guardWasmHeap, isWasmHeapFailure, WasmHeapExhausted, wasmHeapBytes } from './wasm-heap.js';

const data = workerData as protocol.GradientWorkerData;
const port = parentPort!;
const post = (reply: protocol.GradientWorkerReply) => port.postMessage(reply);

/** Views of the shared weights, one per parameter, in variable order. */
function parameterViews(buffer: SharedArrayBuffer): Float32Array[] {
  let offset = 0;
  return data.parameters.map(({ shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const view = new Float32Array(buffer, offset * 4, size);
    offset += size;
    return view;
  });
}

/**
 * A test hook (EDGESEG_TEST_GRADIENT_WORKER_FAIL=worker:part:how): worker `worker` fails at its
 * `part`-th part, by asking its wasm heap for 4 GiB (`heap`: the real allocation guard answers) or
 * by exiting (`exit`: the thread dies). Everything above it is the production path.
 */
function injectedFailure(partsDone: number): void {
  const [worker, part, how] = (process.env.EDGESEG_TEST_GRADIENT_WORKER_FAIL ?? '').split(':');
  if (Number(worker) !== data.worker || Number(part) !== partsDone + 1) return;
  if (how === 'exit') process.exit(3);
  // tf.fill allocates on the backend at once (tf.zeros would first make a 4 GiB JavaScript array).
  if (how === 'heap') tf.fill([2 ** 30], 0).dispose();
}

async function main(): Promise<void> {
  await initTrainingTf(data.backend);
  guardWasmHeap();
  const weightViews = parameterViews(data.weights);
  const gradientViews = parameterViews(data.gradients);
  const initial: NamedWeights = new Map(
    data.parameters.map(({ name, shape }, i) => [name, { shape, values: weightViews[i]!.slice() }]),
  );
  const model = createFcn8s(data.config, { weights: initial });
  const variables = trainableVariables(model);
  if (variables.length !== data.parameters.length)
    throw new Error(`gradient worker: ${variables.length} variables, ${data.parameters.length} shared`);
  const control = new Int32Array(data.control);
  let loadedVersion = Atomics.load(control, CONTROL_VERSION);
  const classWeights = tf.tensor1d(data.classWeights);
  const images = new Uint8Array(data.images);
  const labels = new Uint8Array(data.labels);
  let partsDone = 0;

  const runPart = (request: protocol.PartRequest) => {
    const version = Atomics.load(control, CONTROL_VERSION);
    if (version !== loadedVersion) {
      // A copy: the cpu backend keeps the array a tensor was made from, and the main thread
      // rewrites the shared weights before the next step.
      variables.forEach((variable, i) => {
        const next = tf.tensor(weightViews[i]!.slice(), variable.shape, 'float32');
        variable.assign(next);
        next.dispose();
      });
      loadedVersion = version;
    }
    injectedFailure(partsDone);
    const pixels = request.size * request.height * request.width;
    const micro: SegmentationBatch = {
      size: request.size,
      height: request.height,
      width: request.width,
      images: images.subarray(0, pixels * 3),
      labels: labels.subarray(0, pixels),
      names: [],
    };
    const { loss, gradients } = partGradients(model, variables, micro, {
      classWeights,
      channelOrder: data.channelOrder,
      dropoutRate: data.dropoutRate,
      denominator: request.denominator,
      dropoutSeed: request.dropoutSeed,
    });
    gradients.forEach((gradient, i) => {
      gradientViews[i]!.set(gradient.dataSync() as Float32Array);
      gradient.dispose();
    });
    partsDone += 1;
    return loss;
  };

  port.on('message', (request: protocol.PartRequest) => {
    try {
      post({ type: 'done', id: request.id, loss: runPart(request) });
    } catch (error) {
      post({ type: 'failed', id: request.id, failure: describeFailure(error) });
    }
  });
  post({ type: 'ready' });
}

/** The failure as the main thread reports it; a heap failure says what ran out, as wasm-heap.ts does. */
function describeFailure(error: unknown): protocol.WorkerFailure {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  if (!isWasmHeapFailure(error)) return { name, message, outOfMemory: false };
  if (error instanceof WasmHeapExhausted) return { name, message, outOfMemory: true };
  const heap = ((wasmHeapBytes() ?? 0) / 2 ** 30).toFixed(2);
  return {
    name,
    message: `its wasm backend failed (${name}: ${message}) with its heap at ${heap} GiB: it ran out of memory inside a kernel`,
    outOfMemory: true,
  };
}

main().catch((error: unknown) => post({ type: 'failed', failure: describeFailure(error) }));
