// `edgeseg export`: checkpoint → model directory with model.onnx, manifest.json and tfjs/ (the same
// weights for the tfjs fallback). Built in a temporary sibling folder and renamed into place, so a
// failed export never leaves a half-written model directory.

import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { encoderOf, type FcnConfig } from '../model/architecture.js';
import {
  CHECKPOINT_FILE,
  checkCheckpointWeights,
  readCheckpointJson,
  readCheckpointWeights,
  saveModel,
} from '../model/checkpoint.js';
import type { FcnModel } from '../model/fcn8s.js';
import {
  type ClassInfo,
  formatIssues,
  MANIFEST_FILE,
  type ModelManifest,
  ModelManifestSchema,
  ONNX_FILE,
  TFJS_DIR,
} from '../model/manifest.js';
import { fsyncDirectory, sha256File, writeFileAtomic, writeFileNamed } from '../system/fs.js';
import { edgesegVersion } from '../system/version.js';
import { buildFcnOnnx, type WeightSource } from './fcn-onnx.js';

export interface ExportOptions {
  name?: string;
  description?: string;
  training?: ModelManifest['training'];
}

/** What the exporter needs from a model, whether it is live in tfjs or a checkpoint on disk. */
interface ExportSource {
  config: FcnConfig;
  classes: ClassInfo[];
  parameters: number;
  weights: WeightSource;
  writeTfjs(dir: string): Promise<void>;
}

function modelSource(model: FcnModel): ExportSource {
  return {
    config: model.config,
    classes: model.classes,
    parameters: model.parameterCount(),
    weights: async (name) => {
      const variable = model.params.get(name);
      if (!variable) throw new Error(`the model has no parameter ${name}`);
      return (await variable.data()) as Float32Array;
    },
    writeTfjs: async (dir) => {
      await saveModel(dir, model);
    },
  };
}

/**
 * A checkpoint is exported from its files without TensorFlow.js: no tensor copies, and the tfjs/
 * folder is a byte copy of the checkpoint's weights (a width-1 export holds ~1 GB less).
 */
async function checkpointSource(dir: string): Promise<ExportSource> {
  const json = await readCheckpointJson(dir);
  const weights = await readCheckpointWeights(dir, json);
  const config = json.config as FcnConfig;
  checkCheckpointWeights(dir, config, weights);
  let parameters = 0;
  for (const entry of weights.values()) parameters += entry.values.length;
  const weightsFile = json.weightsManifest[0]!.paths[0]!;
  return {
    config,
    classes: json.classes,
    parameters,
    weights: async (name) => {
      const entry = weights.get(name);
      if (!entry) throw new Error(`checkpoint ${dir} has no parameter ${name}`);
      // Each parameter is read once; dropping it lets the original go once its ONNX copy exists.
      weights.delete(name);
      return entry.values;
    },
    writeTfjs: async (target) => {
      await mkdir(target, { recursive: true });
      await copyFile(join(dir, weightsFile), join(target, weightsFile));
      const handle = await open(join(target, weightsFile), 'r');
      await handle.sync();
      await handle.close();
      const { provenance: _provenance, ...tfjsJson } = json;
      await writeFileAtomic(join(target, CHECKPOINT_FILE), `${JSON.stringify(tfjsJson, null, 2)}\n`);
      await fsyncDirectory(target);
    },
  };
}

/** Exports a checkpoint directory or an in-memory model; returns the manifest written. */
export async function exportModel(
  source: string | FcnModel,
  outDir: string,
  options: ExportOptions = {},
): Promise<ModelManifest> {
  const model = typeof source === 'string' ? await checkpointSource(source) : modelSource(source);
  const target = resolve(outDir);
  const staging = join(dirname(target), `.${basename(target)}.export-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(staging, { recursive: true });
    const name = options.name ?? basename(target);
    const onnxBytes = await buildFcnOnnx(
      model.config,
      model.weights,
      `edgeseg ${edgesegVersion} FCN-8s (${model.config.head} head) ${name}`,
    );
    const onnxPath = join(staging, ONNX_FILE);
    await writeFileNamed(onnxPath, onnxBytes);
    await model.writeTfjs(join(staging, TFJS_DIR));
    const manifest = buildManifest(model, name, await sha256File(onnxPath), options);
    await writeFileAtomic(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await fsyncDirectory(staging);
    await replaceDirectory(staging, target);
    return manifest;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

function buildManifest(
  model: ExportSource,
  name: string,
  onnxSha256: string,
  options: ExportOptions,
): ModelManifest {
  const { config } = model;
  const manifest = {
    formatVersion: 1,
    name,
    description:
      options.description ??
      `FCN-8s (${config.head} head) on ${encoderOf(config)}, width ${config.widthMultiplier}`,
    architecture: {
      family: `fcn8s-${encoderOf(config)}` as const,
      head: config.head,
      width: config.widthMultiplier,
      parameters: model.parameters,
    },
    classes: model.classes,
    input: {
      name: 'image',
      layout: 'NCHW',
      height: config.height,
      width: config.width,
      channelOrder: config.inputChannelOrder,
      dtype: 'float32',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch',
      inModelNormalization: config.normalization,
    },
    output: { name: 'logits', kind: 'logits', layout: 'NCHW' },
    files: { onnx: ONNX_FILE, onnxSha256, tfjs: TFJS_DIR },
    ...(options.training ? { training: options.training } : {}),
  };
  const parsed = ModelManifestSchema.safeParse(manifest);
  if (!parsed.success) throw new Error(`export produced an invalid manifest: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** Moves `staging` to `target`, replacing an existing model directory only once the new one is complete. */
export async function replaceDirectory(staging: string, target: string): Promise<void> {
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await rename(staging, target);
  } else {
    const old = `${staging}.old`;
    await rename(target, old);
    await rename(staging, target);
    await rm(old, { recursive: true, force: true });
  }
  await fsyncDirectory(dirname(target));
}
