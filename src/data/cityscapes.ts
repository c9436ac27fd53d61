// The Cityscapes source: leftImg8bit/{train,val}/<city>/<name>_leftImg8bit.png with
// gtFine/{train,val}/<city>/<name>_gtFine_color.png (or _gtFine_labelIds.png), in the official
// layout (DIR/leftImg8bit, DIR/gtFine) or the original project's (DIR/samples/..., DIR/labels/...).

import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FileError } from '../system/errors.js';
import { type CityscapesClassTable, cityscapesTable } from './cityscapes-labels.js';
import { LabelCodec } from './codec.js';
import { createFileSource, failOnProblems, isDirectory, splitByFraction } from './files.js';
import { choiceOption, dataDirOption, fractionOption, imageSizeOption, integerOption } from './options.js';
import type {
  DataSourceOptions,
  DatasetScan,
  FileDataSource,
  ImageSize,
  LayoutProblem,
  SampleFiles,
} from './types.js';

export const CITYSCAPES_DEFAULT_SIZE: ImageSize = { height: 256, width: 512 };
const IMAGE_SUFFIX = '_leftImg8bit.png';
const COLOR_SUFFIX = '_gtFine_color.png';
const IDS_SUFFIX = '_gtFine_labelIds.png';

export type CityscapesLabelFormat = 'auto' | 'color' | 'labelIds';

export function cityscapesCodec(table: CityscapesClassTable = 'original29'): LabelCodec {
  const { classes, extraColours, labelIds } = cityscapesTable(table);
  return new LabelCodec(classes, extraColours, labelIds);
}

async function layoutOf(dir: string): Promise<{ images: string; truths: string }> {
  const official = { images: join(dir, 'leftImg8bit'), truths: join(dir, 'gtFine') };
  const original = { images: join(dir, 'samples', 'leftImg8bit'), truths: join(dir, 'labels', 'gtFine') };
  for (const layout of [official, original]) {
    if (!(await isDirectory(layout.images))) continue;
    if (!(await isDirectory(layout.truths))) {
      throw new FileError(layout.truths, 'is missing: Cityscapes ground truth must sit beside leftImg8bit');
    }
    return layout;
  }
  throw new FileError(dir, 'contains no Cityscapes leftImg8bit folder', {
    hint: 'expected DIR/leftImg8bit + DIR/gtFine (official) or DIR/samples/leftImg8bit + DIR/labels/gtFine (original)',
  });
}

async function scanSplit(
  images: string,
  truths: string,
  format: CityscapesLabelFormat,
  problems: LayoutProblem[],
): Promise<SampleFiles[]> {
  const samples: SampleFiles[] = [];
  if (!(await isDirectory(images))) return samples;
  for (const city of (await readdir(images)).sort()) {
    const imageCity = join(images, city);
    if (!(await isDirectory(imageCity))) continue;
    const truthCity = join(truths, city);
    const truthFiles = (await isDirectory(truthCity)) ? await readdir(truthCity) : [];
    const present = new Set(truthFiles);
    const orphans = new Set(truthFiles.filter((f) => f.endsWith(COLOR_SUFFIX) || f.endsWith(IDS_SUFFIX)));
    for (const file of (await readdir(imageCity)).filter((f) => f.endsWith(IMAGE_SUFFIX)).sort()) {
      const stem = file.slice(0, -IMAGE_SUFFIX.length);
      const color = `${stem}${COLOR_SUFFIX}`;
      const ids = `${stem}${IDS_SUFFIX}`;
      orphans.delete(color);
      orphans.delete(ids);
      const imagePath = join(imageCity, file);
      let labelFormat: SampleFiles['labelFormat'] | undefined;
      if (format !== 'labelIds' && present.has(color)) labelFormat = 'color';
      else if (format !== 'color' && present.has(ids)) labelFormat = 'labelIds';
      if (!labelFormat) {
        const expected =
          format === 'auto'
            ? `${join(truthCity, color)} or ${ids}`
            : join(truthCity, format === 'color' ? color : ids);
        problems.push({
          path: imagePath,
          problem: `has no ground truth: expected ${expected}`,
          kind: 'unpaired',
        });
        continue;
      }
      const labelPath = join(truthCity, labelFormat === 'color' ? color : ids);
      samples.push({ name: stem, imagePath, labelPath, labelFormat });
    }
    for (const orphan of [...orphans].sort()) {
      const stem = orphan.replace(COLOR_SUFFIX, '').replace(IDS_SUFFIX, '');
      problems.push({
        path: join(truthCity, orphan),
        problem: `is ground truth without an image: expected ${join(imageCity, stem + IMAGE_SUFFIX)}`,
        kind: 'unpaired',
      });
    }
  }
  return samples;
}

/** Pairs the train and val splits (test has no public ground truth and is skipped). */
export async function scanCityscapes(
  dataDir: string,
  format: CityscapesLabelFormat = 'auto',
): Promise<DatasetScan> {
  const dir = resolve(dataDir);
  const layout = await layoutOf(dir);
  const problems: LayoutProblem[] = [];
  const training = await scanSplit(
    join(layout.images, 'train'),
    join(layout.truths, 'train'),
    format,
    problems,
  );
  const validation = await scanSplit(
    join(layout.images, 'val'),
    join(layout.truths, 'val'),
    format,
    problems,
  );
  if (training.length === 0 && validation.length === 0) {
    problems.push({
      path: layout.images,
      problem: 'holds no train/<city>/*_leftImg8bit.png or val/<city>/*_leftImg8bit.png images',
      kind: 'empty',
    });
  }
  return { root: dir, samples: [...training, ...validation], validation, problems };
}

/**
 * Options: dataDir (required), imageSize (default 256x512), seed (shuffle), classTable
 * ('original29' | 'official19'), labelFormat ('auto' | 'color' | 'labelIds'); without a val split,
 * validationFraction (default 0.1) and splitSeed (default 0) hold out part of train.
 */
export async function createCityscapesSource(options: DataSourceOptions): Promise<FileDataSource> {
  const dataDir = dataDirOption(options, 'cityscapes', 'holding leftImg8bit and gtFine');
  const imageSize = imageSizeOption(options, CITYSCAPES_DEFAULT_SIZE);
  const table = choiceOption(options, 'classTable', ['original29', 'official19'] as const, 'original29');
  const format = choiceOption(options, 'labelFormat', ['auto', 'color', 'labelIds'] as const, 'auto');
  const fraction = fractionOption(options, 'validationFraction', 0.1);
  const scan = await scanCityscapes(dataDir, format);
  failOnProblems(scan.root, scan.problems);
  const held = new Set(scan.validation);
  let training = scan.samples.filter((s) => !held.has(s));
  let validation = scan.validation ?? [];
  if (validation.length === 0) {
    ({ training, validation } = splitByFraction(training, fraction, integerOption(options, 'splitSeed', 0)));
  }
  const { classes } = cityscapesTable(table);
  return createFileSource({
    name: 'cityscapes',
    dataDir: scan.root,
    imageSize,
    classes,
    codec: cityscapesCodec(table),
    training,
    validation,
    seed: integerOption(options, 'seed', 0),
  });
}
