// The DataSource contract: the seven attributes of the original design (image size, class count,
// label colours, training/validation counts and generators), typed. Any pixel-labelled data set
// plugs in by implementing it; see docs/data-sources.md.

import type { ClassInfo } from '../model/manifest.js';

/** Label value for pixels excluded from loss and metrics (void / unannotated). */
export const IGNORE_LABEL = 255;

export interface ImageSize {
  height: number;
  width: number;
}

/**
 * A batch of `size` samples at the source's `imageSize`:
 * `images` is N×H×W×3 RGB bytes, `labels` is N×H×W class ids (IGNORE_LABEL for void).
 */
export interface SegmentationBatch {
  size: number;
  height: number;
  width: number;
  images: Uint8Array;
  labels: Uint8Array;
  /** One name per sample (file stem or synthetic seed), for reports and previews. */
  names: string[];
}

export interface GeneratorOptions {
  /** Epoch number; with the source's seed it fixes the shuffle order, so a resumed run sees the same order. */
  epoch?: number;
  /** Random flips / brightness / contrast (training only). */
  augment?: boolean;
}

export interface DataSource {
  /** Short name for logs and manifests, e.g. "kitti". */
  readonly name: string;
  readonly imageSize: ImageSize;
  readonly numClasses: number;
  /** Class names, colours and ignore flags, indexed by class id. */
  readonly classes: readonly ClassInfo[];
  /** `classes[i].color`, as in the original contract. */
  readonly labelColors: ReadonlyArray<readonly [number, number, number]>;
  readonly numTraining: number;
  readonly numValidation: number;
  /** Yields training batches (the last one may be smaller), shuffled per epoch with the source's seed. */
  trainGenerator(batchSize: number, options?: GeneratorOptions): AsyncGenerator<SegmentationBatch>;
  /** Yields validation batches in a fixed order. */
  validGenerator(batchSize: number): AsyncGenerator<SegmentationBatch>;
}

/** Options every data-source factory receives from the CLI (`--data-dir`, `--size`, `--seed`, ...). */
export interface DataSourceOptions {
  dataDir?: string;
  imageSize?: ImageSize;
  seed?: number;
  /** Source-specific options (e.g. `kittiVoid`, `classTable`), passed through from the CLI. */
  [key: string]: unknown;
}

/** What a user's plugin module exports (as `default` or `createDataSource`). */
export type DataSourceFactory = (options: DataSourceOptions) => DataSource | Promise<DataSource>;

/** One image and its ground truth on disk (file-based sources). */
export interface SampleFiles {
  /** File stem without the image suffix, e.g. "um_000012" or "aachen_000000_000019". */
  name: string;
  imagePath: string;
  labelPath: string;
  /** How the ground truth encodes classes: colour-coded RGB, or one id byte per pixel. */
  labelFormat: 'color' | 'labelIds';
}

/** A file that could not be paired, or a layout problem, found while listing a data directory. */
export interface LayoutProblem {
  path: string;
  problem: string;
  /** unpaired: an image without ground truth or the reverse; empty: a folder without samples. */
  kind: 'unpaired' | 'empty';
}

/** Extra surface of file-based sources (kitti, cityscapes): what the checker walks. */
export interface FileDataSource extends DataSource {
  readonly dataDir: string;
  listSamples(split: 'training' | 'validation'): readonly SampleFiles[];
}

/** What listing a data directory found: the paired samples and every pairing/layout problem. */
export interface DatasetScan {
  /** The folder the samples were found in. */
  root: string;
  samples: SampleFiles[];
  problems: LayoutProblem[];
  /** Samples already assigned to the data set's own validation split (Cityscapes `val`). */
  validation?: SampleFiles[];
}
