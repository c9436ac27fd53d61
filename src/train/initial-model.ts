// The model a fresh training run starts from: another checkpoint's weights (--init), ImageNet weights
// from ONNX for the encoder (--imagenet / --vgg16, which bring torchvision's preprocessing), or random.

import type { DataSource } from '../data/types.js';
import { type EncoderName, encoderOf, type FcnConfig } from '../model/architecture.js';
import { loadModel } from '../model/checkpoint.js';
import { encoderInput, importEncoderWeights } from '../model/encoder-weights.js';
import { createFcn8s, type FcnModel } from '../model/fcn8s.js';
import type { ClassInfo } from '../model/manifest.js';
import { FileError } from '../system/errors.js';

export interface InitialModelOptions {
  /** Default vgg16. */
  encoder?: EncoderName;
  widthMultiplier: number;
  head: 'fcn8s' | 'original';
  seed: number;
  initFrom?: string;
  /** ImageNet ONNX file for the encoder (VGG16, torchvision resnet18 or mobilenet_v3_large). */
  imagenetFile?: string;
  log: (line: string) => void;
}

/** An FCN-8s sized for `source`, with weights from --init, --imagenet, or random from the seed. */
export async function createInitialModel(
  source: DataSource,
  options: InitialModelOptions,
): Promise<FcnModel> {
  const encoder = options.encoder ?? 'vgg16';
  const config: FcnConfig = {
    encoder,
    ...encoderInput(encoder, options.imagenetFile !== undefined),
    numClasses: source.numClasses,
    height: source.imageSize.height,
    width: source.imageSize.width,
    widthMultiplier: options.widthMultiplier,
    head: options.head,
  };
  if (options.initFrom) return await initialModelFrom(options.initFrom, config, source.classes);
  if (!options.imagenetFile) return createFcn8s(config, { seed: options.seed, classes: [...source.classes] });
  const imported = await importEncoderWeights(options.imagenetFile, config);
  options.log(`encoder initialised from ${options.imagenetFile} (${imported.weights.size} tensors)`);
  return createFcn8s(config, {
    seed: options.seed,
    classes: [...source.classes],
    weights: imported.weights,
  });
}

/** A model with the data source's size and classes, its weights taken from checkpoint `dir`. */
async function initialModelFrom(dir: string, config: FcnConfig, classes: readonly ClassInfo[]) {
  const start = await loadModel(dir);
  try {
    const startConfig = { ...start.config, encoder: encoderOf(start.config) };
    const mismatch = (['encoder', 'widthMultiplier', 'head', 'numClasses'] as const).filter(
      (key) => startConfig[key] !== config[key],
    );
    if (mismatch.length > 0) {
      throw new FileError(
        dir,
        `checkpoint differs from this run in ${mismatch.map((k) => `${k} (${startConfig[k]} vs ${config[k]})`).join(', ')}`,
        {
          hint: 'pass the same --encoder, --width, --head and a data source with the same number of classes',
        },
      );
    }
    const weights = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const [name, variable] of start.params)
      weights.set(name, { shape: variable.shape, values: (await variable.data()) as Float32Array });
    // Weights do not depend on the input size, so the run's own size and class table apply.
    return createFcn8s(
      {
        ...config,
        inputChannelOrder: start.config.inputChannelOrder,
        normalization: start.config.normalization,
      },
      { weights, classes: [...classes] },
    );
  } finally {
    start.dispose();
  }
}
