// `edgeseg data export`: synthetic-road scenes written as a KITTI Road or a Cityscapes tree (real
// PNGs, the real names and colours), so every data command can be tried without a download.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { CITYSCAPES_LABELS } from './cityscapes-labels.js';
import { renderSyntheticScene, trainingSceneSeed } from './synthetic-road.js';
import type { ImageSize } from './types.js';

export const TREE_FORMATS = ['kitti', 'cityscapes'] as const;
export type TreeFormat = (typeof TREE_FORMATS)[number];

/** The size each format's real images are close to (KITTI is 375x1242, Cityscapes 1024x2048, scaled). */
export const TREE_DEFAULT_SIZES: Record<TreeFormat, ImageSize> = {
  kitti: { height: 160, width: 576 },
  cityscapes: { height: 256, width: 512 },
};

export interface TreeExportOptions {
  format: TreeFormat;
  outDir: string;
  count: number;
  size: ImageSize;
  seed: number;
  onScene?: (written: number) => void;
}

export interface TreeExportResult {
  /** The folder to give as --data-dir. */
  dataDir: string;
  images: number;
}

const KITTI_ROAD: [number, number, number] = [255, 0, 255];
const KITTI_NOT_ROAD: [number, number, number] = [255, 0, 0];
/** Synthetic class id → Cityscapes label name (sky, road, sidewalk, background, vehicle, person). */
const CITYSCAPES_NAMES = ['sky', 'road', 'sidewalk', 'vegetation', 'car', 'person'];
const KITTI_CATEGORIES = ['um', 'umm', 'uu'];

/** Writes `count` scenes; Cityscapes puts every fifth scene in val (frankfurt), the rest in train. */
export async function exportTree(options: TreeExportOptions): Promise<TreeExportResult> {
  const { height, width } = options.size;
  const cityscapes = CITYSCAPES_NAMES.map((name) => CITYSCAPES_LABELS.find((label) => label.name === name)!);
  for (let index = 0; index < options.count; index++) {
    const scene = renderSyntheticScene(trainingSceneSeed(options.seed, index), options.size);
    const number = String(index).padStart(6, '0');
    if (options.format === 'kitti') {
      const training = join(options.outDir, 'data_road', 'training');
      const category = KITTI_CATEGORIES[index % KITTI_CATEGORIES.length]!;
      const truth = colourLabels(scene.label, (id) => (id === 1 ? KITTI_ROAD : KITTI_NOT_ROAD));
      await writePng(join(training, 'image_2'), `${category}_${number}.png`, scene.image, width, height, 3);
      await writePng(join(training, 'gt_image_2'), `${category}_road_${number}.png`, truth, width, height, 3);
    } else {
      const val = index % 5 === 4;
      const city = val ? 'frankfurt' : 'aachen';
      const split = val ? 'val' : 'train';
      const stem = `${city}_${number}_000019`;
      const truthDir = join(options.outDir, 'gtFine', split, city);
      const colours = colourLabels(scene.label, (id) => [...cityscapes[id]!.color]);
      const ids = scene.label.map((id) => cityscapes[id]!.labelId);
      const imageDir = join(options.outDir, 'leftImg8bit', split, city);
      await writePng(imageDir, `${stem}_leftImg8bit.png`, scene.image, width, height, 3);
      await writePng(truthDir, `${stem}_gtFine_color.png`, colours, width, height, 3);
      await writePng(truthDir, `${stem}_gtFine_labelIds.png`, ids, width, height, 1);
    }
    options.onScene?.(index + 1);
  }
  return {
    dataDir: options.format === 'kitti' ? join(options.outDir, 'data_road') : options.outDir,
    images: options.count,
  };
}

function colourLabels(label: Uint8Array, colourOf: (id: number) => readonly number[]): Uint8Array {
  const rgb = new Uint8Array(label.length * 3);
  for (let i = 0; i < label.length; i++) rgb.set(colourOf(label[i]!), i * 3);
  return rgb;
}

async function writePng(
  folder: string,
  name: string,
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
): Promise<void> {
  await mkdir(folder, { recursive: true });
  await sharp(pixels, { raw: { width, height, channels } }).png().toFile(join(folder, name));
}
