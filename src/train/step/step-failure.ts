// What a training run does when a step cannot finish for want of memory or a lost gradient worker:
// says plainly what ran out (and in which thread), saves the last finished step when it is whole,
// and tells what to use instead. Also starts the run's gradient workers, whose failures end here.

import { tf } from '../../model/tf.js';
import { errorMessage, UserError } from '../../system/errors.js';
import { readLatestPointer, saveCheckpoint } from '../checkpoints.js';
import type { TrainingRun } from '../epoch.js';
import { GradientWorkerFailed, GradientWorkers } from './gradient-workers.js';
import { isWasmHeapFailure, WasmHeapExhausted, wasmHeapBytes } from './wasm-heap.js';

/** The run's gradient workers (none when `count` is 0 or off wasm/cpu); a worker that cannot start is said plainly. */
export async function startWorkers(
  run: TrainingRun,
  count: number,
  classWeights: Float32Array,
): Promise<GradientWorkers | undefined> {
  const backend = tf.getBackend();
  if (count === 0 || (backend !== 'wasm' && backend !== 'cpu')) return undefined;
  try {
    return await GradientWorkers.start({
      count,
      model: run.model,
      variables: run.variables,
      backend,
      classWeights,
      channelOrder: run.channelOrder,
      dropoutRate: run.dropoutRate,
      maxPartImages: run.microBatchSize,
      height: run.source.imageSize.height,
      width: run.source.imageSize.width,
    });
  } catch (error) {
    if (!(error instanceof GradientWorkerFailed)) throw error;
    throw new UserError(`could not start ${count} gradient worker${count > 1 ? 's' : ''}: ${error.message}`, {
      cause: error,
      hint: 'train without them: --train-workers 0',
    });
  }
}

/**
 * A step (or validation) that the wasm heap could not hold, or whose gradient worker failed, said
 * plainly: what ran out and where, at which micro-batch and size, and what to use instead. The
 * weights and Adam state of the last finished step are saved as a step checkpoint when they are
 * known to be whole (our allocation guard stopped the step before anything was written, or the
 * worker failed before the update, and no update was cut short); otherwise the checkpoints already
 * on disk are left as they are. Any other error is passed on.
 */
export async function stepFailure(
  run: TrainingRun,
  error: unknown,
  phase: 'step' | 'validation',
): Promise<never> {
  const lostWorker = error instanceof GradientWorkerFailed ? error : undefined;
  if (!lostWorker && !isWasmHeapFailure(error)) throw error;
  const { state, source, model, batchSize, microBatchSize } = run;
  const size = `${source.imageSize.height}x${source.imageSize.width}`;
  const heap = wasmHeapBytes();
  const what = lostWorker
    ? lostWorker.what
    : error instanceof WasmHeapExhausted
      ? error.message
      : `the wasm backend failed (${errorMessage(error)}) with its heap at ${((heap ?? 0) / 2 ** 30).toFixed(2)} GiB: it ran out of memory inside a kernel`;
  const during =
    phase === 'step'
      ? `during step ${state.globalStep + 1} (micro-batches of ${microBatchSize} of the batch of ${batchSize}`
      : `during validation after epoch ${state.epoch + 1} (batches of ${microBatchSize}`;
  const pointer = await readLatestPointer(run.runDir);
  let saved = '';
  if (
    (error instanceof WasmHeapExhausted || lostWorker) &&
    run.optimizer.consistent &&
    state.globalStep !== (pointer?.globalStep ?? 0)
  ) {
    run.optimizer.discardAccumulated();
    saved = await saveCheckpoint(run.runDir, model, run.optimizer, run.learningRate, state, false);
  }
  const latest = saved || pointer?.checkpoint;
  const kept = saved
    ? `saved checkpoint ${saved}, the last finished step`
    : latest
      ? `checkpoint ${latest} is intact`
      : 'no checkpoint was written yet';
  const resume = latest ? `; continue with --out ${run.runDir} --resume` : '';
  const context = `${during}, ${size} images, width ${model.config.widthMultiplier}): ${what}; ${kept}`;
  if (lostWorker && !lostWorker.outOfMemory)
    throw new UserError(`training stopped: gradient worker ${lostWorker.worker} failed ${context}`, {
      cause: error,
      hint: `train without gradient workers: --train-workers 0${resume}`,
    });
  const who = lostWorker ? ` stopped: gradient worker ${lostWorker.worker}` : '';
  throw new UserError(`training${who} ran out of wasm memory ${context}`, {
    cause: error,
    hint:
      `use a smaller --micro-batch${microBatchSize > 1 ? ` (e.g. ${Math.floor(microBatchSize / 2)})` : ''}, --size or --width, ` +
      (lostWorker ? 'fewer --train-workers, ' : '') +
      `or train with tfjs-node (npm install @tensorflow/tfjs-node; docs/training.md)` +
      (latest ? `${resume} --micro-batch N` : ''),
  });
}
