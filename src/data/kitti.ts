// The KITTI Road source: data_road/training/image_2/{um,umm,uu}_NNNNNN.png with ground truth
// gt_image_2/{um,umm,uu}_road_NNNNNN.png (road magenta, not-road red, unannotated black).

import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ClassInfo } from '../model/manifest.js';
import { FileError } from '../system/errors.js';
import { LabelCodec } from './codec.js';
import { createFileSource, failOnProblems, isDirectory, splitByFraction } from './files.js';
import { choiceOption, dataDirOption, fractionOption, imageSizeOption, integerOption } from './options.js';
import {
  type DataSourceOptions,
  type DatasetScan,
  type FileDataSource,
  IGNORE_LABEL,
  type ImageSize,
  type LayoutProblem,
  type SampleFiles,
} from './types.js';

export const KITTI_CLASSES: ClassInfo[] = [
  { id: 0, name: 'background', color: [255, 0, 0], ignore: false },
  { id: 1, name: 'road', color: [255, 0, 255], ignore: false },
];
export const KITTI_VOID_COLOUR: [number, number, number] = [0, 0, 0];
export const KITTI_DEFAULT_SIZE: ImageSize = { height: 160, width: 576 };

export type KittiVoid = 'ignore' | 'background';

/** Black (unannotated) pixels: excluded from loss and metrics, or background as in the original. */
export function kittiCodec(kittiVoid: KittiVoid = 'ignore'): LabelCodec {
  const voidClass = kittiVoid === 'ignore' ? IGNORE_LABEL : 0;
  return new LabelCodec(KITTI_CLASSES, [{ color: KITTI_VOID_COLOUR, classId: voidClass }]);
}

const IMAGE_NAME = /^(um|umm|uu)_(\d{6})\.png$/;
const ROAD_TRUTH_NAME = /^(um|umm|uu)_road_(\d{6})\.png$/;

/** Finds the training folder (DIR = data_road, its parent, or data_road/training) and pairs its files. */
export async function scanKitti(dataDir: string): Promise<DatasetScan> {
  const dir = resolve(dataDir);
  const candidates = [join(dir, 'data_road', 'training'), join(dir, 'training'), dir];
  let root: string | undefined;
  for (const candidate of candidates) {
    if (await isDirectory(join(candidate, 'image_2'))) {
      root = candidate;
      break;
    }
  }
  if (!root) {
    throw new FileError(dir, 'contains no KITTI Road image_2 folder', {
      hint: 'expected DIR/data_road/training/image_2, DIR/training/image_2 or DIR/image_2 (with gt_image_2 beside it)',
    });
  }
  const imageDir = join(root, 'image_2');
  const truthDir = join(root, 'gt_image_2');
  if (!(await isDirectory(truthDir))) {
    throw new FileError(truthDir, 'is missing: KITTI ground truth (gt_image_2) must sit beside image_2', {
      hint: 'the KITTI testing split has no ground truth; point --data-dir at the training data',
    });
  }
  const images = (await readdir(imageDir)).filter((f) => IMAGE_NAME.test(f)).sort();
  const truths = new Set((await readdir(truthDir)).filter((f) => ROAD_TRUTH_NAME.test(f)));
  const samples: SampleFiles[] = [];
  const problems: LayoutProblem[] = [];
  for (const file of images) {
    const [, category, number] = IMAGE_NAME.exec(file)!;
    const truth = `${category}_road_${number}.png`;
    const imagePath = join(imageDir, file);
    const labelPath = join(truthDir, truth);
    if (!truths.delete(truth)) {
      problems.push({
        path: imagePath,
        problem: `has no ground truth: expected ${labelPath}`,
        kind: 'unpaired',
      });
      continue;
    }
    samples.push({ name: file.slice(0, -4), imagePath, labelPath, labelFormat: 'color' });
  }
  for (const truth of [...truths].sort()) {
    const image = truth.replace('_road_', '_');
    problems.push({
      path: join(truthDir, truth),
      problem: `is ground truth without an image: expected ${join(imageDir, image)}`,
      kind: 'unpaired',
    });
  }
  if (images.length === 0) {
    problems.push({ path: imageDir, problem: 'holds no images named {um,umm,uu}_NNNNNN.png', kind: 'empty' });
  }
  return { root, samples, problems };
}

/**
 * Options: dataDir (required), imageSize (default 160x576), seed (shuffle), kittiVoid
 * ('ignore' | 'background'), validationFraction (default 0.1), splitSeed (default 0).
 */
export async function createKittiSource(options: DataSourceOptions): Promise<FileDataSource> {
  const dataDir = dataDirOption(options, 'kitti', 'the KITTI data_road folder');
  const imageSize = imageSizeOption(options, KITTI_DEFAULT_SIZE);
  const kittiVoid = choiceOption(options, 'kittiVoid', ['ignore', 'background'] as const, 'ignore');
  const fraction = fractionOption(options, 'validationFraction', 0.1);
  const scan = await scanKitti(dataDir);
  failOnProblems(scan.root, scan.problems);
  const { training, validation } = splitByFraction(
    scan.samples,
    fraction,
    integerOption(options, 'splitSeed', 0),
  );
  return createFileSource({
    name: 'kitti',
    dataDir: scan.root,
    imageSize,
    classes: KITTI_CLASSES,
    codec: kittiCodec(kittiVoid),
    training,
    validation,
    seed: integerOption(options, 'seed', 0),
  });
}
