// `edgeseg quantize`: a float model directory → an int8 (static QDQ) model directory. Calibrates
// activation ranges on training images of a data source, measures each candidate model's held-out
// mIoU through the same engine and evaluation as `edgeseg eval`, keeps the best, and writes
// model.onnx + manifest.json (precision, calibration set, accuracy) like `edgeseg export` does.

import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withValidationInMemory } from '../data/memory.js';
import { pickDataOptions } from '../data/options.js';
import type { DataSource, DataSourceOptions } from '../data/types.js';
import { int8KernelFamily } from '../engine/int8-kernels.js';
import { Preprocessor } from '../engine/preprocess.js';
import type { EngineOptions } from '../engine/types.js';
import { replaceDirectory } from '../export/export.js';
import { assertSameClasses, evaluateModel, type HeldOutSource, openHeldOutSource } from '../jobs/evaluate.js';
import type { Int8KernelFamily, ModelManifest, Quantization } from '../model/manifest.js';
import { loadModelDir, type ModelDir } from '../model/model-dir.js';
import { ConfigError, FileError, UserError } from '../system/errors.js';
import { createProgress } from '../system/progress.js';
import { edgesegVersion } from '../system/version.js';
import { calibrate } from './calibrate.js';
import { planQuantization, type QuantizationPlan } from './layers.js';
import { OnnxModelView } from './onnx-model.js';
import { checkOutDir, writeModelDir } from './output.js';
import { buildQdqModel, type WeightBits } from './qdq.js';
import {
  type ActivationType,
  activationRange,
  CALIBRATION_METHODS,
  type CalibrationMethod,
  DEFAULT_PERCENTILE,
  type Range,
  type TensorStats,
} from './ranges.js';
import { type Candidate, type SearchResult, searchQuantization } from './search.js';

/** Held-out images of the recorded quick check (`eval --limit`): minutes, not hours, under qemu. */
export const QUICK_CHECK_SAMPLES = 10;

export interface QuantizeOptions {
  modelDir: string;
  outDir: string;
  /** Replace an existing model directory at outDir. */
  overwrite?: boolean;
  name?: string;
  /** Default: the data source the model was trained on (from its manifest). */
  dataSource?: string;
  dataSourceOptions: DataSourceOptions;
  calibrationImages: number;
  /** Shuffle seed of the training split the calibration images are drawn from. */
  seed: number;
  method: CalibrationMethod | 'auto';
  percentile?: number;
  activations: ActivationType;
  /** Significant bits of the int8 weights (7: exact on every onnxruntime CPU kernel family). */
  weightBits: WeightBits;
  floatLayers: 'auto' | readonly string[];
  maxDrop: number;
  /** Held-out images each candidate is measured on (default: the whole validation split). */
  evalImages?: number;
  sensitivity?: boolean;
  intraOpThreads?: number;
  /** The command line, recorded in the manifest. */
  command?: string;
  progress?: boolean;
  onStep?: (message: string) => void;
}

export interface QuantizeReport {
  outDir: string;
  manifest: ModelManifest;
  quantization: Quantization;
  fp32Bytes: number;
  int8Bytes: number;
  seconds: number;
}

/** The first `count` images of the training split in the source's seeded order, as model inputs. */
async function* calibrationInputs(
  source: DataSource,
  count: number,
  preprocessor: Preprocessor,
): AsyncGenerator<Float32Array> {
  const { height, width } = source.imageSize;
  const size = height * width * 3;
  let seen = 0;
  for await (const batch of source.trainGenerator(8, { epoch: 0 })) {
    for (let i = 0; i < batch.size; i++) {
      if (seen >= count) return;
      yield preprocessor.run({ data: batch.images.subarray(i * size, (i + 1) * size), width, height });
      seen++;
    }
  }
}

function checkFloatLayers(requested: QuantizeOptions['floatLayers'], known: readonly string[]): void {
  if (requested === 'auto') return;
  for (const layer of requested)
    if (!known.includes(layer))
      throw new ConfigError('--float-layers', `unknown layer "${layer}"`, {
        hint: `quantisable layers of this model: ${known.join(', ')}`,
      });
}

/** Everything checked and opened before any work: the source model, its plan, the data. */
interface Prepared {
  model: ModelDir;
  target: string;
  fp32Bytes: Uint8Array;
  view: OnnxModelView;
  plan: QuantizationPlan;
  dataSource: string;
  /** The data source with its held-out split in memory (calibration reads its training split). */
  data: HeldOutSource;
  images: number;
}

async function prepare(options: QuantizeOptions): Promise<Prepared> {
  const model = await loadModelDir(options.modelDir);
  const { manifest } = model;
  if (manifest.precision === 'int8')
    throw new FileError(model.manifestPath, 'the model is already int8 (precision "int8")', {
      hint: 'quantize the fp32 model it was made from',
    });
  const target = await checkOutDir(options.outDir, options.modelDir, options.overwrite === true);
  const fp32Bytes = await readFile(model.onnxPath);
  const view = new OnnxModelView(fp32Bytes, model.onnxPath);
  const plan = planQuantization(view);
  if (plan.layers.length === 0)
    throw new FileError(model.onnxPath, 'has no Conv layer with constant weights to quantize');
  checkFloatLayers(
    options.floatLayers,
    plan.layers.map((layer) => layer.name),
  );
  const dataSource = options.dataSource ?? manifest.training?.dataSource;
  if (!dataSource)
    throw new ConfigError(
      '--data-source',
      'is needed: the manifest does not say what the model was trained on',
      {
        hint: 'name the data source to calibrate on, e.g. --data-source kitti --data-dir data_road',
      },
    );
  const opened = await openHeldOutSource(manifest, dataSource, {
    ...options.dataSourceOptions,
    seed: options.seed,
  });
  const { name } = opened.source;
  assertSameClasses(manifest.classes, opened.source.classes, options.modelDir, name);
  const images = Math.min(options.calibrationImages, opened.source.numTraining);
  if (images === 0) throw new UserError(`data source ${name} has no training images to calibrate on`);
  const data = { ...opened, source: await withValidationInMemory(opened.source, options.evalImages) };
  if (data.source.numValidation === 0)
    throw new UserError(`data source ${name} has no validation images to measure accuracy on`);
  return { model, target, fp32Bytes, view, plan, dataSource, data, images };
}

async function calibrateModel(prepared: Prepared, options: QuantizeOptions) {
  const { model, view, plan, data, images } = prepared;
  const { input } = model.manifest;
  const preprocessor = new Preprocessor(input);
  const progress = createProgress('calibrate', 2 * images, {
    enabled: options.progress !== false,
    unit: 'runs',
  });
  try {
    return await calibrate(view, plan.calibrationTensors, {
      inputName: input.name,
      inputDims: [1, 3, input.height, input.width],
      images: () => calibrationInputs(data.source, images, preprocessor),
      onImage: () => progress.tick(1),
      ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
    });
  } finally {
    progress.stop();
  }
}

export async function quantizeModel(options: QuantizeOptions): Promise<QuantizeReport> {
  const started = Date.now();
  const step = options.onStep ?? (() => {});
  const prepared = await prepare(options);
  const { model, target, view, plan, dataSource, data, images } = prepared;
  const { manifest } = model;
  step(
    `calibrating ${plan.calibrationTensors.length} tensors of ${plan.layers.length} layers on ${images} training images of ${data.source.name}`,
  );
  const stats = await calibrateModel(prepared, options);

  const engine: EngineOptions = {
    runtime: 'onnxruntime',
    executionProviders: ['cpu'],
    ...(options.intraOpThreads !== undefined ? { intraOpThreads: options.intraOpThreads } : {}),
  };
  const measureDir = async (modelDir: string, limit?: number) =>
    (
      await evaluateModel({
        modelDir,
        dataSource,
        dataSourceOptions: {},
        engine,
        heldOut: data,
        progress: false,
        ...(limit !== undefined ? { limit } : {}),
      })
    ).mIoU;
  const rangesFor = rangeTable(stats, options.activations, options.percentile);
  const build = (candidate: Candidate) =>
    buildQdqModel(view, plan, {
      activations: options.activations,
      weightBits: options.weightBits,
      floatLayers: candidate.floatLayers,
      ranges: rangesFor(candidate.method),
    });
  // Candidates and the result keep the source's contract and training record (the held-out split),
  // not its tfjs copy (fp32 weights).
  const { files: _files, ...contract } = manifest;
  const writeModel = (dir: string, bytes: Uint8Array, extra: Partial<ModelManifest> = {}) =>
    writeModelDir(dir, bytes, { ...contract, precision: 'int8', ...extra });

  const workDir = join(dirname(target), `.${basename(target)}.quantize-${randomBytes(4).toString('hex')}`);
  try {
    const fp32MIoU = await measureDir(model.dir);
    step(`fp32: held-out mIoU ${(fp32MIoU * 100).toFixed(2)} on ${data.source.numValidation} images`);
    const candidateDir = join(workDir, 'candidate');
    const result = await searchQuantization({
      methods: options.method === 'auto' ? CALIBRATION_METHODS : [options.method],
      layers: plan.layers.map((layer) => layer.name),
      floatLayers: options.floatLayers,
      fp32MIoU,
      maxDrop: options.maxDrop,
      sensitivity: options.sensitivity === true,
      onStep: step,
      measure: async (candidate) => {
        await writeModel(candidateDir, build(candidate).bytes);
        return await measureDir(candidateDir);
      },
    });
    const final = build({
      method: result.method,
      floatLayers: new Set(result.floatLayers.map((f) => f.layer)),
    });
    const modelDir = join(workDir, 'model');
    const identity = {
      name: options.name ?? basename(target),
      description: `${manifest.description ?? manifest.name}; int8 (QDQ, ${options.activations} activations, ${result.method} calibration)`,
    };
    await writeModel(modelDir, final.bytes, identity);
    const quickSamples = Math.min(QUICK_CHECK_SAMPLES, data.source.numValidation);
    const quantization = quantizationRecord(options, prepared, result, final.quantizedLayers, {
      fp32MIoU,
      kernels: await int8KernelFamily(),
      quickCheck: { samples: quickSamples, int8MIoU: await measureDir(modelDir, quickSamples) },
    });
    const written = await writeModel(modelDir, final.bytes, { ...identity, quantization });
    await replaceDirectory(join(workDir, 'model'), target);
    return {
      outDir: target,
      manifest: written,
      quantization,
      fp32Bytes: prepared.fp32Bytes.length,
      int8Bytes: final.bytes.length,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function quantizationRecord(
  options: QuantizeOptions,
  prepared: Prepared,
  result: SearchResult,
  quantizedLayers: string[],
  measured: {
    fp32MIoU: number;
    kernels: Int8KernelFamily;
    quickCheck: NonNullable<Quantization['accuracy']['quickCheck']>;
  },
): Quantization {
  const { data, model, plan } = prepared;
  return {
    format: 'qdq',
    weights: 'int8-per-channel-symmetric',
    weightBits: options.weightBits,
    activations: options.activations,
    calibration: {
      dataSource: data.source.name,
      ...calibrationOptions(options.dataSourceOptions, data.fromTraining),
      images: prepared.images,
      split: 'training',
      seed: options.seed,
      method: result.method,
      ...(result.method === 'percentile' ? { percentile: options.percentile ?? DEFAULT_PERCENTILE } : {}),
    },
    methods: result.methods,
    quantizedLayers,
    floatLayers: [...result.floatLayers, ...plan.alwaysFloat],
    ...(result.sensitivity ? { layerSensitivity: result.sensitivity } : {}),
    accuracy: {
      dataSource: data.source.name,
      samples: data.source.numValidation,
      fp32MIoU: measured.fp32MIoU,
      int8MIoU: result.mIoU,
      int8Kernels: [measured.kernels],
      quickCheck: measured.quickCheck,
    },
    source: { name: model.manifest.name, onnxSha256: model.manifest.files.onnxSha256 },
    ...(options.command ? { command: options.command } : {}),
    edgesegVersion,
    quantizedAt: new Date().toISOString(),
  };
}

/** Range of every calibrated tensor for each method, computed once per method. */
function rangeTable(
  stats: ReadonlyMap<string, TensorStats>,
  activations: ActivationType,
  percentile: number | undefined,
): (method: CalibrationMethod) => Map<string, Range> {
  const cache = new Map<CalibrationMethod, Map<string, Range>>();
  return (method) => {
    let ranges = cache.get(method);
    if (!ranges) {
      ranges = new Map();
      for (const [tensor, tensorStats] of stats)
        ranges.set(
          tensor,
          activationRange(tensorStats, method, activations, percentile === undefined ? {} : { percentile }),
        );
      cache.set(method, ranges);
    }
    return ranges;
  };
}

/** The data-source options that decided which images calibration saw (split, labelling, counts). */
function calibrationOptions(
  flags: DataSourceOptions,
  fromTraining: Record<string, string | number>,
): { dataSourceOptions?: Record<string, string | number> } {
  const picked = {
    ...fromTraining,
    ...pickDataOptions(flags, [
      ...Object.keys(flags).filter((key) => key !== 'dataDir' && key !== 'imageSize'),
    ]),
  };
  return Object.keys(picked).length > 0 ? { dataSourceOptions: picked } : {};
}
