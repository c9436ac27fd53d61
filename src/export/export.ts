// `edgeseg export`: checkpoint → model directory with model.onnx, manifest.json and tfjs/ (the same
// weights for the tfjs fallback). Built in a temporary sibling folder and renamed into place, so a
// failed export never leaves a half-written model directory.

import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadModel, saveModel } from '../model/checkpoint.js';
import type { FcnModel } from '../model/fcn8s.js';
import {
  formatIssues,
  MANIFEST_FILE,
  type ModelManifest,
  ModelManifestSchema,
  ONNX_FILE,
  TFJS_DIR,
} from '../model/manifest.js';
import { initTf } from '../model/tf.js';
import { fsyncDirectory, sha256File, writeFileAtomic } from '../system/fs.js';
import { edgesegVersion } from '../system/version.js';
import { buildFcnOnnx } from './fcn-onnx.js';

export interface ExportOptions {
  name?: string;
  description?: string;
  training?: ModelManifest['training'];
}

/** Exports a checkpoint directory or an in-memory model; returns the manifest written. */
export async function exportModel(
  source: string | FcnModel,
  outDir: string,
  options: ExportOptions = {},
): Promise<ModelManifest> {
  await initTf('auto');
  const model = typeof source === 'string' ? await loadModel(source) : source;
  const target = resolve(outDir);
  const staging = join(dirname(target), `.${basename(target)}.export-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(staging, { recursive: true });
    const name = options.name ?? basename(target);
    const onnxBytes = await buildFcnOnnx(
      model,
      `edgeseg ${edgesegVersion} FCN-8s (${model.config.head} head) ${name}`,
    );
    const onnxPath = join(staging, ONNX_FILE);
    await writeFile(onnxPath, onnxBytes);
    await saveModel(join(staging, TFJS_DIR), model);
    const manifest = buildManifest(model, name, await sha256File(onnxPath), options);
    await writeFileAtomic(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await fsyncDirectory(staging);
    await replaceDirectory(staging, target);
    return manifest;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  } finally {
    if (typeof source === 'string') model.dispose();
  }
}

function buildManifest(
  model: FcnModel,
  name: string,
  onnxSha256: string,
  options: ExportOptions,
): ModelManifest {
  const { config } = model;
  const manifest = {
    formatVersion: 1,
    name,
    description:
      options.description ?? `FCN-8s (${config.head} head) on VGG16, width ${config.widthMultiplier}`,
    architecture: {
      family: 'fcn8s-vgg16',
      head: config.head,
      width: config.widthMultiplier,
      parameters: model.parameterCount(),
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
async function replaceDirectory(staging: string, target: string): Promise<void> {
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
