// The model a fresh training run starts from: another checkpoint's weights (--init), VGG16 weights
// from ONNX for the encoder (--vgg16, which brings torchvision's preprocessing), or random weights.

import type { DataSource } from '../data/types.js';
import { CAFFE_VGG_NORMALIZATION, type FcnConfig, TORCHVISION_NORMALIZATION } from '../model/architecture.js';
import { loadModel } from '../model/checkpoint.js';
import { createFcn8s, type FcnModel } from '../model/fcn8s.js';
import type { ClassInfo } from '../model/manifest.js';
import { importVgg16Onnx } from '../model/vgg16-import.js';
import { FileError } from '../system/errors.js';

export interface InitialModelOptions {
  widthMultiplier: number;
  head: 'fcn8s' | 'original';
  seed: number;
  initFrom?: string;
  vgg16File?: string;
  log: (line: string) => void;
}

/** An FCN-8s sized for `source`, with weights from --init, --vgg16, or random from the seed. */
export async function createInitialModel(
  source: DataSource,
  options: InitialModelOptions,
): Promise<FcnModel> {
  const config: FcnConfig = {
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
    numClasses: source.numClasses,
    height: source.imageSize.height,
    width: source.imageSize.width,
    widthMultiplier: options.widthMultiplier,
    head: options.head,
  };
  if (options.initFrom) return await initialModelFrom(options.initFrom, config, source.classes);
  if (!options.vgg16File) return createFcn8s(config, { seed: options.seed, classes: [...source.classes] });
  // Imported VGG16 weights expect their own preprocessing (torchvision: RGB, /255, mean/std).
  const vggConfig: FcnConfig = {
    ...config,
    inputChannelOrder: 'RGB',
    normalization: TORCHVISION_NORMALIZATION,
  };
  const imported = await importVgg16Onnx(options.vgg16File, vggConfig);
  options.log(`encoder initialised from ${options.vgg16File} (${imported.weights.size} tensors)`);
  return createFcn8s(vggConfig, {
    seed: options.seed,
    classes: [...source.classes],
    weights: imported.weights,
  });
}

/** A model with the data source's size and classes, its weights taken from checkpoint `dir`. */
async function initialModelFrom(dir: string, config: FcnConfig, classes: readonly ClassInfo[]) {
  const start = await loadModel(dir);
  try {
    const mismatch = (['widthMultiplier', 'head', 'numClasses'] as const).filter(
      (key) => start.config[key] !== config[key],
    );
    if (mismatch.length > 0) {
      throw new FileError(
        dir,
        `checkpoint differs from this run in ${mismatch.map((k) => `${k} (${start.config[k]} vs ${config[k]})`).join(', ')}`,
        { hint: 'pass the same --width, --head and a data source with the same number of classes' },
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
