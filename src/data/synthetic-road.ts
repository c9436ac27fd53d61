// The synthetic-road data source: procedurally generated road scenes, deterministic from a seed,
// any count and size. It feeds the tests, the demo model and the daemon's test camera.

import type { ClassInfo } from '../model/manifest.js';
import { ConfigError } from '../system/errors.js';
import { epochOrder, generateBatches, identityOrder } from './batches.js';
import { imageSizeOption, integerOption } from './options.js';
import { mixSeed, Random } from './random.js';
import { renderObjects } from './synthetic-objects.js';
import { applyLighting, makeGeometry, makePalette, renderBackground } from './synthetic-scene.js';
import type { DataSource, DataSourceOptions, ImageSize } from './types.js';

/** The six synthetic classes; lane markings and kerbs belong to road and sidewalk respectively. */
export const SYNTHETIC_ROAD_CLASSES: ClassInfo[] = [
  { id: 0, name: 'sky', color: [70, 130, 180], ignore: false },
  { id: 1, name: 'road', color: [128, 64, 128], ignore: false },
  { id: 2, name: 'sidewalk', color: [244, 35, 232], ignore: false },
  { id: 3, name: 'background', color: [107, 142, 35], ignore: false },
  { id: 4, name: 'vehicle', color: [0, 0, 142], ignore: false },
  { id: 5, name: 'person', color: [220, 20, 60], ignore: false },
];

export const SYNTHETIC_DEFAULT_SIZE: ImageSize = { height: 128, width: 384 };
/** Validation scenes use seeds from here on, disjoint from any training seed (those stay below 2^31). */
export const SYNTHETIC_VALIDATION_SEED_BASE = 0x80000000;

export interface SyntheticScene {
  /** H*W*3 RGB bytes. */
  image: Uint8Array;
  /** H*W class ids from SYNTHETIC_ROAD_CLASSES. */
  label: Uint8Array;
}

/**
 * Renders scene `seed` at `size`. Pass `out` to render into existing buffers (the demo camera
 * reuses one pair per frame); the same seed and size always give the same pixels.
 */
export function renderSyntheticScene(seed: number, size: ImageSize, out?: SyntheticScene): SyntheticScene {
  const { height, width } = size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 8 || width < 8) {
    throw new ConfigError('size', `synthetic scenes need integer sides >= 8, got ${height}x${width}`);
  }
  const image = out?.image ?? new Uint8Array(height * width * 3);
  const label = out?.label ?? new Uint8Array(height * width);
  if (image.length !== height * width * 3 || label.length !== height * width) {
    throw new Error(`renderSyntheticScene: output buffers do not match ${height}x${width}`);
  }
  const canvas = {
    width,
    height,
    image: new Uint8ClampedArray(image.buffer, image.byteOffset, image.length),
    label,
  };
  const sceneSeed = mixSeed(seed >>> 0, Math.floor(seed / 4294967296), 0x5ce9e);
  const random = new Random(sceneSeed);
  const geometry = makeGeometry(random, width, height);
  const palette = makePalette(random);
  renderBackground(canvas, geometry, palette, random, sceneSeed);
  renderObjects(canvas, geometry, palette, random);
  applyLighting(canvas, random, sceneSeed);
  return { image, label };
}

/** Scene seed of training sample `index` for source seed `seed` (always below 2^31). */
export function trainingSceneSeed(seed: number, index: number): number {
  return (mixSeed(seed, 0x7a11) + index) % SYNTHETIC_VALIDATION_SEED_BASE;
}

/**
 * Options: imageSize (default 128x384), seed (default 0), numTraining (default 2000),
 * numValidation (default 200), validationSeed (first held-out scene seed, default 2^31).
 */
export function createSyntheticRoadSource(options: DataSourceOptions = {}): DataSource {
  const imageSize = imageSizeOption(options, SYNTHETIC_DEFAULT_SIZE);
  const seed = integerOption(options, 'seed', 0);
  const numTraining = integerOption(options, 'numTraining', 2000);
  const numValidation = integerOption(options, 'numValidation', 200);
  const validationSeed = integerOption(options, 'validationSeed', SYNTHETIC_VALIDATION_SEED_BASE);
  const render =
    (sceneSeed: (index: number) => number) =>
    (index: number, image: Uint8Array, label: Uint8Array): string => {
      const s = sceneSeed(index);
      renderSyntheticScene(s, imageSize, { image, label });
      return `synthetic-${s}`;
    };
  return {
    name: 'synthetic-road',
    imageSize,
    numClasses: SYNTHETIC_ROAD_CLASSES.length,
    classes: SYNTHETIC_ROAD_CLASSES,
    labelColors: SYNTHETIC_ROAD_CLASSES.map((c) => c.color),
    numTraining,
    numValidation,
    trainGenerator(batchSize, generatorOptions = {}) {
      const epoch = generatorOptions.epoch ?? 0;
      return generateBatches(
        epochOrder(numTraining, seed, epoch),
        batchSize,
        imageSize,
        render((index) => trainingSceneSeed(seed, index)),
        { augmentSeed: generatorOptions.augment ? mixSeed(seed, epoch, 0xa06) : undefined },
      );
    },
    validGenerator(batchSize) {
      return generateBatches(
        identityOrder(numValidation),
        batchSize,
        imageSize,
        render((index) => validationSeed + index),
      );
    },
  };
}
