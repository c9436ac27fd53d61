// Shared machinery of the file-based sources: decoding one image / ground-truth pair with sharp
// (image resized bilinearly, labels decoded to class ids at native size then resized
// nearest-neighbour), the seeded validation split, and the FileDataSource built on them.

import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import type { ClassInfo } from '../model/manifest.js';
import { errorMessage, FileError } from '../system/errors.js';
import { epochOrder, generateBatches, identityOrder } from './batches.js';
import { type LabelCodec, resizeClassMap, UNKNOWN_CLASS } from './codec.js';
import { mixSeed, shuffledIndices } from './random.js';
import type { FileDataSource, ImageSize, LayoutProblem, SampleFiles } from './types.js';

/** Concurrent decodes per batch: sharp runs each on a libuv worker thread, so this spreads over cores. */
export const DECODE_CONCURRENCY = 4;

const CHECK_HINT = 'run `edgeseg check-data` on the data directory for a full report';

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Decodes an image, resized bilinearly to `size`, into `out` (H*W*3 RGB). */
export async function decodeImageInto(path: string, size: ImageSize, out: Uint8Array): Promise<void> {
  let data: Buffer;
  try {
    data = await sharp(path, { failOn: 'truncated' })
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size.width, size.height, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
  } catch (error) {
    throw new FileError(path, `cannot decode image: ${errorMessage(error)}`, {
      cause: error,
      hint: CHECK_HINT,
    });
  }
  out.set(data.subarray(0, out.length));
}

export interface RawLabel {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Reads a ground-truth image at its native size: RGB for colour labels, one byte for id labels. */
export async function readRawLabel(path: string, format: SampleFiles['labelFormat']): Promise<RawLabel> {
  try {
    const pipeline = sharp(path, { failOn: 'truncated' });
    const shaped =
      format === 'color' ? pipeline.removeAlpha().toColourspace('srgb') : pipeline.extractChannel(0);
    const { data, info } = await shaped.raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw new FileError(path, `cannot decode ground truth: ${errorMessage(error)}`, {
      cause: error,
      hint: CHECK_HINT,
    });
  }
}

/** Decodes `raw` into class ids at native size; returns the map and the count of unknown pixels. */
export function decodeRawLabel(
  raw: RawLabel,
  format: SampleFiles['labelFormat'],
  codec: LabelCodec,
): { classMap: Uint8Array; unknown: number } {
  const classMap = new Uint8Array(raw.width * raw.height);
  const unknown =
    format === 'color'
      ? codec.decodeColours(raw.data, raw.channels, classMap)
      : codec.decodeIds(raw.data, raw.channels, classMap);
  return { classMap, unknown };
}

/** Ground truth as class ids at `size` (nearest-neighbour); unknown colours are an error naming the file. */
export async function decodeLabelInto(
  sample: SampleFiles,
  codec: LabelCodec,
  size: ImageSize,
  out: Uint8Array,
): Promise<void> {
  const raw = await readRawLabel(sample.labelPath, sample.labelFormat);
  const { classMap, unknown } = decodeRawLabel(raw, sample.labelFormat, codec);
  if (unknown > 0) {
    const first = classMap.indexOf(UNKNOWN_CLASS);
    const o = first * raw.channels;
    const what =
      sample.labelFormat === 'color'
        ? `colour (${raw.data[o]}, ${raw.data[o + 1]}, ${raw.data[o + 2]})`
        : `label id ${raw.data[o]}`;
    throw new FileError(
      sample.labelPath,
      `${unknown} pixels match no class, first ${what} at x=${first % raw.width} y=${Math.floor(first / raw.width)}`,
      { hint: CHECK_HINT },
    );
  }
  resizeClassMap(classMap, { height: raw.height, width: raw.width }, out, size);
}

/**
 * Deterministic validation split for data sets without one: the samples sorted by name, shuffled
 * with `splitSeed`, the first round(n * fraction) become validation. Independent of the training
 * seed, so every run (and `edgeseg eval`) holds out the same samples.
 */
export function splitByFraction(
  samples: readonly SampleFiles[],
  fraction: number,
  splitSeed: number,
): { training: SampleFiles[]; validation: SampleFiles[] } {
  const sorted = [...samples].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const count = Math.round(sorted.length * fraction);
  const order = shuffledIndices(sorted.length, mixSeed(splitSeed, 0x5b117));
  const held = new Set<number>();
  for (let i = 0; i < count; i++) held.add(order[i]!);
  return {
    training: sorted.filter((_, i) => !held.has(i)),
    validation: sorted.filter((_, i) => held.has(i)),
  };
}

/** Refuses to build a source over a directory with pairing/layout problems, listing the first few. */
export function failOnProblems(dataDir: string, problems: readonly LayoutProblem[]): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).map((p) => `  ${p.path}: ${p.problem}`);
  const more = problems.length > 5 ? `\n  ... and ${problems.length - 5} more` : '';
  throw new FileError(
    dataDir,
    `${problems.length} problem(s) in the data directory:\n${shown.join('\n')}${more}`,
    {
      hint: CHECK_HINT,
    },
  );
}

export interface FileSourceSpec {
  name: string;
  dataDir: string;
  imageSize: ImageSize;
  classes: ClassInfo[];
  codec: LabelCodec;
  training: SampleFiles[];
  validation: SampleFiles[];
  seed: number;
}

export function createFileSource(spec: FileSourceSpec): FileDataSource {
  const { imageSize, codec, training, validation, seed } = spec;
  const loader =
    (samples: readonly SampleFiles[]) =>
    async (index: number, image: Uint8Array, label: Uint8Array): Promise<string> => {
      const sample = samples[index]!;
      await Promise.all([
        decodeImageInto(sample.imagePath, imageSize, image),
        decodeLabelInto(sample, codec, imageSize, label),
      ]);
      return sample.name;
    };
  return {
    name: spec.name,
    dataDir: spec.dataDir,
    imageSize,
    numClasses: spec.classes.length,
    classes: spec.classes,
    labelColors: spec.classes.map((c) => c.color),
    numTraining: training.length,
    numValidation: validation.length,
    trainGenerator(batchSize, options = {}) {
      const epoch = options.epoch ?? 0;
      return generateBatches(
        epochOrder(training.length, seed, epoch),
        batchSize,
        imageSize,
        loader(training),
        {
          concurrency: DECODE_CONCURRENCY,
          augmentSeed: options.augment ? mixSeed(seed, epoch, 0xa06) : undefined,
        },
      );
    },
    validGenerator(batchSize) {
      return generateBatches(identityOrder(validation.length), batchSize, imageSize, loader(validation), {
        concurrency: DECODE_CONCURRENCY,
      });
    },
    listSamples(split) {
      return split === 'training' ? training : validation;
    },
  };
}
