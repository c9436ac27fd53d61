// `model init`: a fresh FCN-8s checkpoint, optionally with VGG16 encoder weights imported from ONNX.

import { UserError } from '../system/errors.js';
import { sha256File } from '../system/fs.js';
import {
  CAFFE_VGG_NORMALIZATION,
  FCN_HEADS,
  type FcnConfig,
  type FcnHead,
  TORCHVISION_NORMALIZATION,
  validateConfig,
} from './architecture.js';
import { saveModel } from './checkpoint.js';
import { createFcn8s } from './fcn8s.js';
import { initTf, type TfBackendInfo } from './tf.js';
import { importVgg16Onnx } from './vgg16-import.js';

export interface InitOptions {
  numClasses: number;
  size: { height: number; width: number };
  widthMultiplier: number;
  head: string;
  seed: number;
  outDir: string;
  /** VGG16 ONNX file (torchvision / ONNX model zoo) for the 13 convolutions and fc6/fc7. */
  vgg16?: string;
}

export interface InitResult {
  outDir: string;
  head: FcnHead;
  parameters: number;
  backend: TfBackendInfo;
  config: FcnConfig;
  /** Number of parameters taken from the VGG16 file (0 without --vgg16). */
  importedParameters: number;
}

export function parseHead(head: string): FcnHead {
  const known = FCN_HEADS.find((name) => name === head);
  if (!known) throw new UserError(`--head must be ${FCN_HEADS.join(' or ')}, got "${head}"`);
  return known;
}

export async function initModel(options: InitOptions): Promise<InitResult> {
  const head = parseHead(options.head);
  const backend = await initTf('auto');
  // Imported VGG16 weights expect their own preprocessing (torchvision: RGB, /255, mean/std);
  // random ones follow the paper's Caffe VGG convention (BGR, mean subtraction).
  const config: FcnConfig = {
    numClasses: options.numClasses,
    height: options.size.height,
    width: options.size.width,
    widthMultiplier: options.widthMultiplier,
    head,
    inputChannelOrder: options.vgg16 ? 'RGB' : 'BGR',
    normalization: options.vgg16 ? TORCHVISION_NORMALIZATION : CAFFE_VGG_NORMALIZATION,
  };
  validateConfig(config);
  const imported = options.vgg16 ? await importVgg16Onnx(options.vgg16, config) : undefined;
  let importedParameters = 0;
  for (const entry of imported?.weights.values() ?? []) importedParameters += entry.values.length;
  const provenance: Record<string, unknown> = { createdBy: 'edgeseg model init', seed: options.seed };
  if (options.vgg16 && imported)
    provenance.vgg16 = {
      file: options.vgg16,
      sha256: await sha256File(options.vgg16),
      layers: imported.sourceNodes,
      normalization: TORCHVISION_NORMALIZATION.source,
    };
  const model = createFcn8s(config, {
    seed: options.seed,
    ...(imported ? { weights: imported.weights } : {}),
  });
  try {
    await saveModel(options.outDir, model, { provenance });
    return {
      outDir: options.outDir,
      head,
      parameters: model.parameterCount(),
      backend,
      config,
      importedParameters,
    };
  } finally {
    model.dispose();
  }
}
