// Writes small KITTI Road and Cityscapes trees with the real on-disk naming and colours (real PNGs
// through sharp), plus ways to break them, for the loader, checker and CLI tests.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { CITYSCAPES_LABELS, ORIGINAL_29_NAMES } from '../../src/data/cityscapes-labels.js';
import type { SegmentationBatch } from '../../src/data/types.js';

export type Colour = [number, number, number];
export const MAGENTA: Colour = [255, 0, 255];
export const RED: Colour = [255, 0, 0];
export const BLACK: Colour = [0, 0, 0];

export async function writePng(path: string, width: number, height: number, rgb: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

export async function writeGreyPng(
  path: string,
  width: number,
  height: number,
  values: Uint8Array,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await sharp(values, { raw: { width, height, channels: 1 } })
    .png()
    .toFile(path);
}

/** A camera-like image: smooth gradients with a per-sample offset. */
export function photo(width: number, height: number, sample: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      rgb[o] = (x * 3 + sample * 17) & 255;
      rgb[o + 1] = (y * 5 + sample * 29) & 255;
      rgb[o + 2] = (x + y + sample * 7) & 255;
    }
  }
  return rgb;
}

/** Label image filled by `colourAt(x, y)`. */
export function labelImage(
  width: number,
  height: number,
  colourAt: (x: number, y: number) => Colour,
): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgb.set(colourAt(x, y), (y * width + x) * 3);
  }
  return rgb;
}

export interface KittiTree {
  /** DIR/data_road */
  dataRoad: string;
  training: string;
  images: string[];
  truths: string[];
}

/**
 * KITTI Road ground truth as distributed: road (magenta) in the right part of the lower half,
 * not-road (red) elsewhere, and (with `voidRows`) black unannotated rows at the top.
 */
export async function writeKittiTree(
  root: string,
  options: { count?: number; width?: number; height?: number; voidRows?: number } = {},
): Promise<KittiTree> {
  const { count = 10, width = 124, height = 38, voidRows = 4 } = options;
  const training = join(root, 'data_road', 'training');
  const images: string[] = [];
  const truths: string[] = [];
  const categories = ['um', 'umm', 'uu'];
  for (let i = 0; i < count; i++) {
    const category = categories[i % 3]!;
    const number = String(i).padStart(6, '0');
    const image = join(training, 'image_2', `${category}_${number}.png`);
    const truth = join(training, 'gt_image_2', `${category}_road_${number}.png`);
    await writePng(image, width, height, photo(width, height, i));
    await writePng(
      truth,
      width,
      height,
      labelImage(width, height, (x, y) =>
        y < voidRows ? BLACK : y >= height / 2 && x >= width / 2 ? MAGENTA : RED,
      ),
    );
    if (category === 'um') {
      // Lane ground truth exists in the real set for um only; it must be ignored.
      await writePng(
        join(training, 'gt_image_2', `um_lane_${number}.png`),
        width,
        height,
        photo(width, height, 99),
      );
    }
    images.push(image);
    truths.push(truth);
  }
  return { dataRoad: join(root, 'data_road'), training, images, truths };
}

const colourOf = (name: string): Colour => [...CITYSCAPES_LABELS.find((l) => l.name === name)!.color];
const labelIdOf = (name: string): number => CITYSCAPES_LABELS.find((l) => l.name === name)!.labelId;

/** Horizontal bands of these classes, top to bottom. */
export const CITYSCAPES_BANDS = ['sky', 'building', 'unlabeled', 'car', 'road', 'dynamic'] as const;

export interface CityscapesTree {
  root: string;
  images: string[];
  truths: string[];
}

/**
 * A Cityscapes tree: official layout (DIR/leftImg8bit, DIR/gtFine) or the original project's
 * (DIR/samples/leftImg8bit, DIR/labels/gtFine), colour or labelIds ground truth.
 */
export async function writeCityscapesTree(
  root: string,
  options: {
    layout?: 'official' | 'original';
    format?: 'color' | 'labelIds';
    splits?: Array<'train' | 'val'>;
    perCity?: number;
    width?: number;
    height?: number;
  } = {},
): Promise<CityscapesTree> {
  const {
    layout = 'official',
    format = 'color',
    splits = ['train', 'val'],
    perCity = 2,
    width = 128,
    height = 64,
  } = options;
  const imageRoot = layout === 'official' ? join(root, 'leftImg8bit') : join(root, 'samples', 'leftImg8bit');
  const truthRoot = layout === 'official' ? join(root, 'gtFine') : join(root, 'labels', 'gtFine');
  const images: string[] = [];
  const truths: string[] = [];
  const bandOf = (y: number) => CITYSCAPES_BANDS[Math.floor((y * CITYSCAPES_BANDS.length) / height)]!;
  for (const split of splits) {
    for (const city of split === 'train' ? ['aachen', 'bremen'] : ['frankfurt']) {
      for (let i = 0; i < perCity; i++) {
        const stem = `${city}_${String(i).padStart(6, '0')}_000019`;
        const image = join(imageRoot, split, city, `${stem}_leftImg8bit.png`);
        await writePng(image, width, height, photo(width, height, i + city.length));
        let truth: string;
        if (format === 'color') {
          truth = join(truthRoot, split, city, `${stem}_gtFine_color.png`);
          await writePng(
            truth,
            width,
            height,
            labelImage(width, height, (_x, y) => colourOf(bandOf(y))),
          );
        } else {
          truth = join(truthRoot, split, city, `${stem}_gtFine_labelIds.png`);
          const ids = new Uint8Array(width * height);
          for (let y = 0; y < height; y++) ids.fill(labelIdOf(bandOf(y)), y * width, (y + 1) * width);
          await writeGreyPng(truth, width, height, ids);
        }
        images.push(image);
        truths.push(truth);
      }
    }
  }
  return { root, images, truths };
}

export const ORIGINAL_29 = ORIGINAL_29_NAMES;

/** Overwrites a file with its first `keep` bytes: a download cut short. */
export async function truncateFile(path: string, keep: number): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(path);
  await writeFile(path, bytes.subarray(0, keep));
}

/** Drains a generator into a list of batches. */
export async function collect(generator: AsyncGenerator<SegmentationBatch>): Promise<SegmentationBatch[]> {
  const batches: SegmentationBatch[] = [];
  for await (const batch of generator) batches.push(batch);
  return batches;
}
