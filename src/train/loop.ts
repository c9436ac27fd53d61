// The training run: epochs of Adam steps over a DataSource, validation and metrics each epoch,
// TensorBoard events, atomic checkpoints with exact resume, and the best model exported at the end.

import { join } from 'node:path';
import { mixSeed } from '../data/random.js';
import type { DataSource } from '../data/types.js';
import type { FcnModel } from '../model/fcn8s.js';
import { tf } from '../model/tf.js';
import { ConfigError } from '../system/errors.js';
import { createProgress } from '../system/progress.js';
import {
  type EpochMetrics,
  loadLatestCheckpoint,
  prepareFreshRunDir,
  pruneCheckpoints,
  type SaveCheckpointHooks,
  saveCheckpoint,
  type TrainingState,
} from './checkpoints.js';
import { TRAINING_DEFAULTS } from './defaults.js';
import { EventFileWriter } from './event-file.js';
import { encodePreviews } from './previews.js';
import { type ChannelOrder, trainableVariables, trainStep, validate } from './step.js';

export interface TrainOptions {
  source: DataSource;
  runDir: string;
  /** Builds the initial model (fresh run only; a resume loads the checkpoint's). */
  createModel: () => FcnModel | Promise<FcnModel>;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** constant (the original) or cosine decay from learningRate to 1 % of it over the whole run. */
  learningRateSchedule?: 'constant' | 'cosine';
  seed?: number;
  /** Dropout after fc6 and fc7 (default: the original's, TRAINING_DEFAULTS). */
  dropoutRate?: number;
  /** One weight per class id; 0 for ignored classes. */
  classWeights: Float32Array;
  resume?: boolean;
  /** A fresh run into a folder that holds an earlier run deletes that run first (else it is refused). */
  overwrite?: boolean;
  /** Image summaries every N epochs (and after the last one). */
  imageSummaryEvery?: number;
  previewCount?: number;
  /** Stops cleanly after the current step and saves a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  progress?: boolean;
  /** Recorded in the checkpoints and compared on resume. */
  settings?: Record<string, unknown>;
  hooks?: SaveCheckpointHooks & { afterStep?: (globalStep: number) => void };
}

export interface TrainResult {
  state: TrainingState;
  /** The last checkpoint written. */
  checkpoint: string;
  interrupted: boolean;
  model: FcnModel;
  /** PNG previews from the last image-summary epoch, for the HTML report. */
  previews: Awaited<ReturnType<typeof encodePreviews>>;
}

function perClassForJson(values: number[]): Array<number | null> {
  return values.map((v) => (Number.isNaN(v) ? null : v));
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s).padStart(2, '0')}s`;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const epochs = options.epochs ?? TRAINING_DEFAULTS.epochs;
  const batchSize = options.batchSize ?? TRAINING_DEFAULTS.batchSize;
  const learningRate = options.learningRate ?? TRAINING_DEFAULTS.learningRate;
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  const imageSummaryEvery = options.imageSummaryEvery ?? TRAINING_DEFAULTS.imageSummaryEvery;
  const previewCount = options.previewCount ?? TRAINING_DEFAULTS.previewCount;
  const log = options.log ?? (() => {});
  const { source, runDir } = options;
  if (options.resume && options.overwrite)
    throw new ConfigError('--overwrite', 'cannot be combined with --resume');
  if (!options.resume) await prepareFreshRunDir(runDir, options.overwrite === true);

  let model: FcnModel;
  let optimizer: tf.AdamOptimizer;
  let state: TrainingState;
  if (options.resume) {
    const loaded = await loadLatestCheckpoint(runDir);
    model = loaded.model;
    optimizer = loaded.optimizer;
    state = loaded.state;
    // A run lengthened with --epochs records its new length, so the next resume compares with that.
    if (typeof state.settings.epochs === 'number') state.settings.epochs = epochs;
    log(
      `resuming from ${loaded.name}: epoch ${state.epoch + 1}, batch ${state.stepInEpoch + 1}, step ${state.globalStep}`,
    );
  } else {
    model = await options.createModel();
    optimizer = tf.train.adam(learningRate);
    state = {
      formatVersion: 1,
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      seed,
      epochLossSum: 0,
      history: [],
      best: null,
      settings: options.settings ?? {},
      startedAt: new Date().toISOString(),
    };
  }
  const channelOrder = model.config.inputChannelOrder as ChannelOrder;
  // A resumed run keeps the rate it started with (dropout masks are part of bit-exact resume).
  const dropoutRate =
    typeof state.settings.dropoutRate === 'number'
      ? state.settings.dropoutRate
      : (options.dropoutRate ?? TRAINING_DEFAULTS.dropoutRate);
  const variables = trainableVariables(model);
  const classWeights = tf.tensor1d(options.classWeights);
  const events = await EventFileWriter.create(join(runDir, 'logs'));
  let checkpoint = '';
  let interrupted = false;
  let previews: TrainResult['previews'] = [];
  const totalSteps = epochs * Math.ceil(source.numTraining / batchSize);
  // A function of the step number only, so a resumed run continues the same curve.
  const rateAt = (step: number): number =>
    options.learningRateSchedule === 'cosine'
      ? learningRate *
        (0.01 + 0.99 * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps)))
      : learningRate;
  const runStarted = performance.now();
  let imagesThisRun = 0;

  try {
    while (state.epoch < epochs && !interrupted) {
      const epochStarted = performance.now();
      const skip = state.stepInEpoch;
      const progress = createProgress(`epoch ${state.epoch + 1}/${epochs}`, source.numTraining, {
        enabled: options.progress !== false,
        unit: 'images',
      });
      let batchIndex = 0;
      let epochImages = 0;
      for await (const batch of source.trainGenerator(batchSize, { epoch: state.epoch, augment: true })) {
        // A resumed epoch replays the same deterministic batch order and skips what was done.
        if (batchIndex++ < skip) {
          progress.tick(batch.size);
          continue;
        }
        (optimizer as unknown as { learningRate: number }).learningRate = rateAt(state.globalStep);
        const loss = trainStep(
          model,
          optimizer,
          variables,
          batch,
          classWeights,
          mixSeed(state.seed, state.globalStep, 0xd209),
          channelOrder,
          dropoutRate,
        );
        state.globalStep += 1;
        state.stepInEpoch += 1;
        state.epochLossSum += loss;
        epochImages += batch.size;
        imagesThisRun += batch.size;
        const rate = imagesThisRun / ((performance.now() - runStarted) / 1000);
        const remaining = (epochs - state.epoch) * source.numTraining - state.stepInEpoch * batchSize;
        progress.tick(
          batch.size,
          `loss ${loss.toFixed(4)} | ${rate.toFixed(1)} img/s | run ETA ${formatDuration(remaining / rate)}`,
        );
        options.hooks?.afterStep?.(state.globalStep);
        // Steps are synchronous and prefetched batches resolve as microtasks: give signal handlers
        // (Ctrl-C) a turn of the event loop, or they would only run when the epoch ends.
        await new Promise((resolve) => setImmediate(resolve));
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
      }
      progress.stop();
      if (interrupted) {
        checkpoint = await saveCheckpoint(
          runDir,
          model,
          optimizer,
          learningRate,
          state,
          false,
          options.hooks,
        );
        log(`interrupted: saved checkpoint ${checkpoint} (resume with --resume)`);
        break;
      }

      const trainLoss = state.epochLossSum / Math.max(1, state.stepInEpoch);
      const trainSeconds = (performance.now() - epochStarted) / 1000;
      const validation = await validate(model, source, batchSize, classWeights, channelOrder, previewCount);
      const epochNumber = state.epoch + 1;
      const metrics: EpochMetrics = {
        epoch: epochNumber,
        step: state.globalStep,
        trainLoss,
        validationLoss: validation.loss,
        pixelAccuracy: validation.metrics.pixelAccuracy,
        mIoU: validation.metrics.mIoU,
        perClassIoU: perClassForJson(validation.metrics.perClassIoU),
        imagesPerSecond: epochImages / trainSeconds,
        seconds: (performance.now() - epochStarted) / 1000,
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
          checkpoint: `epoch-${String(epochNumber).padStart(4, '0')}`,
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
      await events.scalars(state.globalStep, scalars);
      if (epochNumber % imageSummaryEvery === 0 || epochNumber === epochs) {
        previews = await encodePreviews(validation.previews, source.classes);
        await events.images(
          state.globalStep,
          previews.flatMap((p, i) => [
            { tag: `validation/${i}/prediction`, png: p.predictionPng, height: p.height, width: p.width },
            { tag: `validation/${i}/ground_truth`, png: p.truthPng, height: p.height, width: p.width },
          ]),
        );
      }
      checkpoint = await saveCheckpoint(runDir, model, optimizer, learningRate, state, isBest, options.hooks);
      await pruneCheckpoints(runDir);
      log(
        `epoch ${epochNumber}/${epochs}: train loss ${trainLoss.toFixed(4)}, val loss ${validation.loss.toFixed(4)}, ` +
          `pixel acc ${(metrics.pixelAccuracy * 100).toFixed(2)} %, mIoU ${metrics.mIoU.toFixed(4)}` +
          `${isBest ? ' (best)' : ''}, ${metrics.imagesPerSecond.toFixed(1)} img/s, ${formatDuration(metrics.seconds)}`,
      );
      if (options.signal?.aborted) interrupted = true;
    }
  } finally {
    classWeights.dispose();
    await events.close();
  }
  return { state, checkpoint, interrupted, model, previews };
}
