// `model init`: a fresh FCN-8s checkpoint, optionally with ImageNet encoder weights imported from ONNX.

import { UserError } from '../system/errors.js';
import { sha256File } from '../system/fs.js';
import { type EncoderName, FCN_HEADS, type FcnConfig, type FcnHead, validateConfig } from './architecture.js';
import { saveModel } from './checkpoint.js';
import { encoderInput, importEncoderWeights } from './encoder-weights.js';
import { createFcn8s } from './fcn8s.js';
import { initTf, type TfBackendInfo } from './tf.js';

export interface InitOptions {
  numClasses: number;
  size: { height: number; width: number };
  widthMultiplier: number;
  head: string;
  seed: number;
  outDir: string;
  encoder: EncoderName;
  /**
   * ImageNet ONNX file for the encoder: VGG16 (torchvision / ONNX model zoo; the 13 convolutions and
   * fc6/fc7), or torchvision's resnet18 / mobilenet_v3_large.
   */
  imagenet?: string;
}

export interface InitResult {
  outDir: string;
  head: FcnHead;
  parameters: number;
  backend: TfBackendInfo;
  config: FcnConfig;
  /** Number of parameters taken from the ImageNet file (0 without one). */
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
  // Imported weights expect their own preprocessing (torchvision: RGB, /255, mean/std); a random
  // VGG16 follows the paper's Caffe convention (BGR, mean subtraction).
  const config: FcnConfig = {
    encoder: options.encoder,
    numClasses: options.numClasses,
    height: options.size.height,
    width: options.size.width,
    widthMultiplier: options.widthMultiplier,
    head,
    ...encoderInput(options.encoder, options.imagenet !== undefined),
  };
  validateConfig(config);
  const imported = options.imagenet ? await importEncoderWeights(options.imagenet, config) : undefined;
  let importedParameters = 0;
  for (const entry of imported?.weights.values() ?? []) importedParameters += entry.values.length;
  const provenance: Record<string, unknown> = { createdBy: 'edgeseg model init', seed: options.seed };
  if (options.imagenet && imported)
    provenance[options.encoder === 'vgg16' ? 'vgg16' : 'imagenet'] = {
      file: options.imagenet,
      sha256: await sha256File(options.imagenet),
      layers: imported.sourceNodes,
      normalization: config.normalization.source,
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
