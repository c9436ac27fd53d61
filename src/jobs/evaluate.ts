// `edgeseg eval`: a model against a data source's validation split through the same Segmenter the
// daemon uses: confusion matrix, pixel accuracy, IoU per class, mIoU, and KITTI's MaxF for
// two-class road data (on the road-class probability).

import { createDataSource, isBuiltInDataSource } from '../data/registry.js';
import { type DataSource, type DataSourceOptions, IGNORE_LABEL } from '../data/types.js';
import { createEngine } from '../engine/create.js';
import type { EngineInfo, EngineOptions } from '../engine/types.js';
import type { ClassInfo, ModelManifest } from '../model/manifest.js';
import { resampleNearest, upsampleMaskNearest } from '../segment/postprocess.js';
import { Segmenter } from '../segment/segmenter.js';
import { UserError } from '../system/errors.js';
import { createProgress } from '../system/progress.js';
import { ConfusionMatrix, MaxFAccumulator } from '../train/metrics.js';

export interface EvalOptions {
  modelDir: string;
  dataSource: string;
  dataSourceOptions: DataSourceOptions;
  engine: EngineOptions;
  /** Evaluate at most this many validation samples. */
  limit?: number;
  progress?: boolean;
  /** A source already opened with openHeldOutSource (quantize evaluates many models on one). */
  heldOut?: HeldOutSource;
}

export interface HeldOutSource {
  source: DataSource;
  /** Data-source options taken from the model's training record. */
  fromTraining: Record<string, string | number>;
}

export interface EvalReport {
  model: string;
  dataSource: string;
  samples: number;
  pixels: number;
  pixelAccuracy: number;
  mIoU: number;
  /** Class name → IoU (null where the class occurs in neither truth nor prediction, or is ignored). */
  perClassIoU: Record<string, number | null>;
  /** confusion[truth][predicted], pixel counts, rows and columns in class-id order. */
  confusion: number[][];
  classes: string[];
  /** Data-source options taken from the model's training record (the run's held-out split). */
  fromTraining: Record<string, string | number>;
  maxF?: { maxF: number; threshold: number; precision: number; recall: number; positiveClass: string };
  engine: EngineInfo;
}

/** Fails unless the data source's classes are the model's (same count; same names in the same order). */
export function assertSameClasses(
  modelClasses: readonly ClassInfo[],
  dataClasses: readonly ClassInfo[],
  modelDir: string,
  dataSource: string,
): void {
  const modelNames = modelClasses.map((cls) => cls.name.toLowerCase());
  const dataNames = dataClasses.map((cls) => cls.name.toLowerCase());
  if (modelNames.length !== dataNames.length || modelNames.some((name, i) => name !== dataNames[i])) {
    throw new UserError(
      `the model in ${modelDir} predicts ${modelNames.length} classes [${modelNames.join(', ')}] but data source ${dataSource} labels ${dataNames.length} classes [${dataNames.join(', ')}]`,
      {
        hint: 'evaluate a model on the data it was trained for (same class table, e.g. --class-table for Cityscapes)',
      },
    );
  }
}

/**
 * Opens `dataSource` at the model's input size with the held-out split and labelling the model was
 * trained with (options recorded in its manifest), unless the caller overrides them.
 */
export async function openHeldOutSource(
  manifest: ModelManifest,
  dataSource: string,
  dataSourceOptions: DataSourceOptions,
): Promise<HeldOutSource> {
  // Labels at the model's input size unless the caller chose one: the mask needs no resampling then.
  const base = { imageSize: { height: manifest.input.height, width: manifest.input.width } };
  // They are recorded under the source's name, which a plugin module (given by path) reports itself.
  const sourceName = isBuiltInDataSource(dataSource)
    ? dataSource
    : (await createDataSource(dataSource, { ...base, ...dataSourceOptions })).name;
  const recorded = manifest.training?.dataSource === sourceName ? manifest.training.dataSourceOptions : {};
  const fromTraining: Record<string, string | number> = Object.fromEntries(
    Object.entries(recorded ?? {}).filter(([key]) => dataSourceOptions[key] === undefined),
  );
  const source = await createDataSource(dataSource, { ...base, ...fromTraining, ...dataSourceOptions });
  return { source, fromTraining };
}

export async function evaluateModel(options: EvalOptions): Promise<EvalReport> {
  const engine = await createEngine(options.modelDir, options.engine);
  try {
    const { manifest } = engine;
    const { source, fromTraining } =
      options.heldOut ?? (await openHeldOutSource(manifest, options.dataSource, options.dataSourceOptions));
    assertSameClasses(manifest.classes, source.classes, options.modelDir, source.name);
    const numClasses = manifest.classes.length;
    const ignored = source.classes.filter((cls) => cls.ignore).map((cls) => cls.id);
    const confusion = new ConfusionMatrix(numClasses, ignored);
    const twoClassRoad = numClasses === 2;
    const namedRoad = manifest.classes.findIndex((cls) => /road/i.test(cls.name));
    const roadId = namedRoad >= 0 ? namedRoad : 1;
    const maxF = twoClassRoad ? new MaxFAccumulator() : undefined;
    const segmenter = new Segmenter(engine);
    await segmenter.ready();
    const { height, width } = source.imageSize;
    const pixels = height * width;
    const total = Math.min(source.numValidation, options.limit ?? Number.POSITIVE_INFINITY);
    const progress = createProgress('eval', total, { enabled: options.progress !== false, unit: 'images' });
    // Reused across samples: mask at label size, road probability at output and label size, 0/1 truth.
    const labelMask = new Uint8Array(pixels);
    const outputProbability = new Float32Array(segmenter.post.classMask.length);
    const labelProbability = new Float32Array(pixels);
    const roadTruth = new Uint8Array(pixels);
    let samples = 0;
    outer: for await (const batch of source.validGenerator(8)) {
      for (let i = 0; i < batch.size; i++) {
        if (samples >= total) break outer;
        const frame = { data: batch.images.subarray(i * pixels * 3, (i + 1) * pixels * 3), width, height };
        const labels = batch.labels.subarray(i * pixels, (i + 1) * pixels);
        const result = await segmenter.segment(frame);
        const sameSize =
          result.width === width &&
          result.height === height &&
          result.letterbox.offsetX === 0 &&
          result.letterbox.offsetY === 0;
        const predicted = sameSize
          ? result.classMask
          : upsampleMaskNearest(
              result.classMask,
              result.width,
              result.height,
              width,
              height,
              labelMask,
              result.letterbox,
            );
        confusion.add(predicted, labels);
        if (maxF) {
          segmenter.post.classProbability(result.rawOutput, roadId, outputProbability);
          let scores = outputProbability;
          if (!sameSize) {
            scores = resampleNearest(
              outputProbability,
              result.width,
              result.height,
              width,
              height,
              labelProbability,
              result.letterbox,
            );
          }
          for (let p = 0; p < pixels; p++) {
            const truth = labels[p]!;
            roadTruth[p] =
              truth === IGNORE_LABEL || ignored.includes(truth) ? IGNORE_LABEL : truth === roadId ? 1 : 0;
          }
          maxF.addScores(scores, roadTruth);
        }
        samples++;
        progress.tick(1);
      }
    }
    progress.stop();
    if (samples === 0)
      throw new UserError(`data source ${source.name} has no validation samples to evaluate`);
    const summary = confusion.summary();
    const report: EvalReport = {
      model: options.modelDir,
      dataSource: source.name,
      samples,
      pixels: summary.pixels,
      pixelAccuracy: summary.pixelAccuracy,
      mIoU: summary.mIoU,
      perClassIoU: Object.fromEntries(
        manifest.classes.map((cls) => [
          cls.name,
          Number.isNaN(summary.perClassIoU[cls.id]!) ? null : summary.perClassIoU[cls.id]!,
        ]),
      ),
      confusion: summary.confusion,
      classes: manifest.classes.map((cls) => cls.name),
      fromTraining,
      engine: engine.info,
    };
    if (maxF) report.maxF = { ...maxF.maxF(), positiveClass: manifest.classes[roadId]!.name };
    return report;
  } finally {
    await engine.stop();
  }
}
