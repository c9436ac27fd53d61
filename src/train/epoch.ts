// One epoch of a training run: its Adam steps (skipping those a resumed checkpoint already did,
// stopping after the current step on Ctrl-C), then validation, metrics, TensorBoard summaries and
// the epoch's checkpoint.

import { mixSeed } from '../data/random.js';
import type { DataSource } from '../data/types.js';
import type { FcnModel } from '../model/fcn8s.js';
import type { tf } from '../model/tf.js';
import { createProgress } from '../system/progress.js';
import {
  checkpointName,
  type EpochMetrics,
  pruneCheckpoints,
  type SaveCheckpointHooks,
  saveCheckpoint,
  type TrainingState,
} from './checkpoints.js';
import { formatDuration, remainingImages, type StepClock } from './eta.js';
import type { EventFileWriter } from './event-file.js';
import { type EncodedPreview, encodePreviews } from './previews.js';
import type { GradientWorkers } from './step/gradient-workers.js';
import type { HostAdam } from './step/host-adam.js';
import { type ChannelOrder, trainStep, validate } from './step/step.js';

export type TrainHooks = SaveCheckpointHooks & { afterStep?: (globalStep: number) => void };

/** What every epoch of a run works with; `state` and `throughput` change as it goes. */
export interface TrainingRun {
  source: DataSource;
  runDir: string;
  model: FcnModel;
  optimizer: HostAdam;
  variables: tf.Variable[];
  /** Gradient workers that compute some of each batch's parts (none: the main thread does all). */
  workers?: GradientWorkers;
  classWeights: tf.Tensor1D;
  channelOrder: ChannelOrder;
  dropoutRate: number;
  epochs: number;
  batchSize: number;
  /** Images per forward/backward pass (gradient accumulation when below batchSize). */
  microBatchSize: number;
  /** Adam's base rate, recorded with the optimizer in each checkpoint. */
  learningRate: number;
  /** The rate for a global step (a function of the step only, so a resumed run continues the curve). */
  rateAt: (step: number) => number;
  state: TrainingState;
  events: EventFileWriter;
  imageSummaryEvery: number;
  previewCount: number;
  signal?: AbortSignal;
  progress: boolean;
  hooks?: TrainHooks;
  log: (line: string) => void;
  /** Measured step times, for the ETAs (seeded from the checkpoint's rate on resume). */
  clock: StepClock;
}

/** Runs the epoch's remaining steps; `interrupted` when Ctrl-C stopped it after a step. */
export async function trainEpochSteps(run: TrainingRun): Promise<{ interrupted: boolean; images: number }> {
  const { source, state, batchSize, epochs, clock } = run;
  const skip = state.stepInEpoch;
  // A resumed epoch starts the bar where it stopped; ETAs come from measured step times only.
  const done = Math.min(source.numTraining, skip * batchSize);
  const progress = createProgress(`epoch ${state.epoch + 1}/${epochs}`, source.numTraining, {
    enabled: run.progress,
    unit: 'images',
    initial: done,
    builtInEta: false,
  });
  let batchIndex = 0;
  let images = 0;
  let interrupted = false;
  let stepStarted = performance.now();
  // A step that fails (a full wasm heap) still stops the bar, whose timer would keep the process alive.
  try {
    for await (const batch of source.trainGenerator(batchSize, { epoch: state.epoch, augment: true })) {
      // A resumed epoch replays the same deterministic batch order and skips what was done.
      if (batchIndex++ < skip) {
        stepStarted = performance.now();
        continue;
      }
      run.optimizer.learningRate = run.rateAt(state.globalStep);
      const dropoutSeed = mixSeed(state.seed, state.globalStep, 0xd209);
      // The bar moves with each micro-batch: a full-width step on wasm is minutes long, and its ETA
      // is there from the first micro-batch on (from that step's own pace until a step has ended).
      let ticked = 0;
      const onImages = (count: number) => {
        // The step's last micro-batch ticks below, with the step's loss.
        if (ticked + count >= batch.size) return;
        ticked += count;
        const partial = { images: ticked, seconds: (performance.now() - stepStarted) / 1000 };
        progress.tick(count, `step ${state.globalStep + 1} | ${etaStatus(run, partial)}`);
      };
      const loss = run.workers
        ? await run.workers.trainStep(
            run.optimizer,
            batch,
            run.classWeights,
            dropoutSeed,
            run.microBatchSize,
            onImages,
          )
        : trainStep(
            run.model,
            run.optimizer,
            run.variables,
            batch,
            run.classWeights,
            dropoutSeed,
            run.channelOrder,
            run.dropoutRate,
            run.microBatchSize,
            onImages,
          );
      // Wall time from the previous step's end: data loading and feeding count, as they do in the ETA.
      const stepEnded = performance.now();
      clock.record(batch.size, (stepEnded - stepStarted) / 1000);
      stepStarted = stepEnded;
      state.globalStep += 1;
      state.stepInEpoch += 1;
      state.epochLossSum += loss;
      state.secondsPerImage = clock.secondsPerImage();
      images += batch.size;
      progress.tick(batch.size - ticked, `loss ${loss.toFixed(4)} | ${etaStatus(run)}`);
      run.hooks?.afterStep?.(state.globalStep);
      // Steps are synchronous and prefetched batches resolve as microtasks: give signal handlers
      // (Ctrl-C) a turn of the event loop, or they would only run when the epoch ends.
      await new Promise((resolve) => setImmediate(resolve));
      if (run.signal?.aborted) {
        interrupted = true;
        break;
      }
    }
  } finally {
    progress.stop();
  }
  return { interrupted, images };
}

/**
 * "1.3 img/s | epoch ETA 4m10s | run ETA 41m40s" from the clock's measured rate (training steps
 * only); `inStep`: the images and seconds of the step under way, whose micro-batches are done.
 */
export function etaStatus(
  run: Pick<TrainingRun, 'clock' | 'state' | 'epochs' | 'batchSize' | 'source'>,
  inStep?: { images: number; seconds: number },
): string {
  const { clock, state, epochs, batchSize, source } = run;
  const left = remainingImages(
    state.epoch,
    epochs,
    Math.min(source.numTraining, state.stepInEpoch * batchSize + (inStep?.images ?? 0)),
    source.numTraining,
  );
  // Within the process's first step nothing is measured yet but the step's own micro-batches.
  const pace = inStep !== undefined && inStep.images > 0 ? inStep.seconds / inStep.images : undefined;
  const secondsPerImage = clock.secondsPerImage(pace);
  const rate = secondsPerImage === undefined ? '?' : (1 / secondsPerImage).toFixed(2);
  return (
    `${rate} img/s | epoch ETA ${formatDuration(clock.secondsFor(left.epoch, pace))}` +
    ` | run ETA ${formatDuration(clock.secondsFor(left.run, pace))}`
  );
}

/**
 * Closes a finished epoch: validation, the metrics in the history and TensorBoard, image summaries
 * every `imageSummaryEvery` epochs and after the last, the best so far, the epoch's checkpoint.
 * Returns the checkpoint's name and the previews when image summaries were written.
 */
export async function finishEpoch(
  run: TrainingRun,
  epochStartedMs: number,
  epochImages: number,
): Promise<{ checkpoint: string; previews?: EncodedPreview[] }> {
  const { source, state } = run;
  const trainLoss = state.epochLossSum / Math.max(1, state.stepInEpoch);
  const trainSeconds = (performance.now() - epochStartedMs) / 1000;
  // In micro-batches too: a forward pass keeps every activation until its tidy() ends, so a whole
  // batch of 20 full-width images would not fit the wasm heap any better than in training.
  const validation = await validate(
    run.model,
    source,
    run.microBatchSize,
    run.classWeights,
    run.channelOrder,
    run.previewCount,
  );
  const epochNumber = state.epoch + 1;
  const metrics: EpochMetrics = {
    epoch: epochNumber,
    step: state.globalStep,
    trainLoss,
    validationLoss: validation.loss,
    pixelAccuracy: validation.metrics.pixelAccuracy,
    mIoU: validation.metrics.mIoU,
    perClassIoU: validation.metrics.perClassIoU.map((v) => (Number.isNaN(v) ? null : v)),
    imagesPerSecond: epochImages / trainSeconds,
    seconds: (performance.now() - epochStartedMs) / 1000,
  };
  state.history.push(metrics);
  state.epoch = epochNumber;
  state.stepInEpoch = 0;
  state.epochLossSum = 0;
  const isBest = state.best === null || metrics.mIoU > state.best.mIoU;
  if (isBest)
    state.best = {
      epoch: epochNumber,
      mIoU: metrics.mIoU,
      checkpoint: checkpointName(state),
    };

  const scalars: Record<string, number> = {
    'loss/train': trainLoss,
    'loss/validation': validation.loss,
    'metrics/pixel_accuracy': metrics.pixelAccuracy,
    'metrics/mIoU': metrics.mIoU,
    'speed/images_per_second': metrics.imagesPerSecond,
  };
  validation.metrics.perClassIoU.forEach((iou, id) => {
    scalars[`iou/${source.classes[id]?.name ?? id}`] = iou;
  });
  await run.events.scalars(state.globalStep, scalars);
  let previews: EncodedPreview[] | undefined;
  if (epochNumber % run.imageSummaryEvery === 0 || epochNumber === run.epochs) {
    previews = await encodePreviews(validation.previews, source.classes);
    await run.events.images(
      state.globalStep,
      previews.flatMap((p, i) => [
        { tag: `validation/${i}/prediction`, png: p.predictionPng, height: p.height, width: p.width },
        { tag: `validation/${i}/ground_truth`, png: p.truthPng, height: p.height, width: p.width },
      ]),
    );
  }
  const checkpoint = await saveCheckpoint(
    run.runDir,
    run.model,
    run.optimizer,
    run.learningRate,
    state,
    isBest,
    run.hooks,
  );
  await pruneCheckpoints(run.runDir);
  run.log(
    `epoch ${epochNumber}/${run.epochs}: train loss ${trainLoss.toFixed(4)}, val loss ${validation.loss.toFixed(4)}, ` +
      `pixel acc ${(metrics.pixelAccuracy * 100).toFixed(2)} %, mIoU ${metrics.mIoU.toFixed(4)}` +
      `${isBest ? ' (best)' : ''}, ${metrics.imagesPerSecond.toFixed(1)} img/s, ${formatDuration(metrics.seconds)}`,
  );
  return previews ? { checkpoint, previews } : { checkpoint };
}
