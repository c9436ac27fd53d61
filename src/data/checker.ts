// The label checker behind `edgeseg check-data`: walks every sample of a data source, checks that
// each label pixel maps to exactly one class, that files pair up, decode and agree in size, counts
// per-class pixels and writes blended previews. File sources are read straight from disk (so a
// broken tree is still walked to the end); other sources (plugins, synthetic) through their generators.

import sharp from 'sharp';
import type { ClassInfo } from '../model/manifest.js';
import { errorMessage, FileError, isUserError, type UserError } from '../system/errors.js';
import { type CheckProblem, type CheckReport, classFrequencies } from './check-report.js';
import { LabelCodec, UNKNOWN_CLASS, type UnknownValue } from './codec.js';
import { decodeRawLabel, readRawLabel } from './files.js';
import { blendLabels, writePreview } from './preview.js';
import { createDataSource, type FileSourceLayout, fileSourceLayout } from './registry.js';
import { type DataSource, type DataSourceOptions, IGNORE_LABEL, type SampleFiles } from './types.js';

export interface CheckOptions {
  /** Passed to the data source (dataDir, kittiVoid, classTable, ...). */
  sourceOptions?: DataSourceOptions;
  /** Check only the first N samples. */
  limit?: number;
  previewsDir?: string;
  /** Previews for the first N checked samples (default 20). */
  previewCount?: number;
  /** Label opacity in previews (default 0.5). */
  alpha?: number;
  /** Pairs decoded at once (default 4; sharp decodes on libuv worker threads). */
  concurrency?: number;
  onProgress?: (checked: number, total: number) => void;
}

interface Tally {
  counts: Float64Array;
  problems: CheckProblem[];
  previews: string[];
}

export async function checkData(nameOrPath: string, options: CheckOptions = {}): Promise<CheckReport> {
  const started = performance.now();
  const sourceOptions = options.sourceOptions ?? {};
  const layout = fileSourceLayout(nameOrPath, sourceOptions);
  const tally: Tally = { counts: new Float64Array(256), problems: [], previews: [] };
  let classes: readonly ClassInfo[];
  let total: number;
  let checked: number;
  let dataDir: string | null = null;
  if (layout) {
    dataDir = typeof sourceOptions.dataDir === 'string' ? sourceOptions.dataDir : null;
    if (dataDir === null) {
      throw new FileError('--data-dir', `the ${nameOrPath} data source needs a data directory`);
    }
    classes = layout.classes;
    ({ total, checked } = await checkFiles(dataDir, layout, options, tally));
  } else {
    const source = await createDataSource(nameOrPath, sourceOptions);
    classes = source.classes;
    ({ total, checked } = await checkGenerated(source, options, tally));
  }
  const seconds = (performance.now() - started) / 1000;
  // Pairs finish in any order under concurrency; report in file order so runs compare line by line.
  tally.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const ignoredPixels = tally.counts[IGNORE_LABEL]!;
  const frequencies = classFrequencies(tally.counts, classes);
  return {
    dataSource: nameOrPath,
    dataDir,
    valid: tally.problems.length === 0,
    samples: { total, checked },
    filesWithProblems: new Set(tally.problems.map((p) => p.file)).size,
    problems: tally.problems,
    classFrequencies: frequencies,
    labelledPixels: frequencies.reduce((sum, c) => sum + c.pixels, 0),
    ignoredPixels,
    previews: tally.previews.sort(),
    seconds,
    samplesPerSecond: checked / Math.max(seconds, 1e-9),
  };
}

async function checkFiles(
  dataDir: string,
  layout: FileSourceLayout,
  options: CheckOptions,
  tally: Tally,
): Promise<{ total: number; checked: number }> {
  let samples: SampleFiles[];
  try {
    const scan = await layout.scan(dataDir);
    for (const p of scan.problems) tally.problems.push({ kind: p.kind, file: p.path, message: p.problem });
    samples = scan.samples;
  } catch (error) {
    if (!isUserError(error)) throw error;
    tally.problems.push({ kind: 'layout', ...problemAt(error, dataDir) });
    return { total: 0, checked: 0 };
  }
  const selected = samples.slice(0, options.limit ?? samples.length);
  let next = 0;
  let done = 0;
  options.onProgress?.(0, selected.length);
  const worker = async (): Promise<void> => {
    while (next < selected.length) {
      const index = next++;
      await checkPair(selected[index]!, index, layout, options, tally);
      options.onProgress?.(++done, selected.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return { total: samples.length, checked: selected.length };
}

async function checkPair(
  sample: SampleFiles,
  index: number,
  layout: FileSourceLayout,
  options: CheckOptions,
  tally: Tally,
): Promise<void> {
  const wantPreview = options.previewsDir !== undefined && index < (options.previewCount ?? 20);
  const [image, label] = await Promise.allSettled([
    sharp(sample.imagePath, { failOn: 'truncated' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true }),
    readRawLabel(sample.labelPath, sample.labelFormat),
  ]);
  if (image.status === 'rejected') {
    tally.problems.push({
      kind: 'unreadable',
      file: sample.imagePath,
      message: `cannot decode image (truncated or corrupt?): ${errorMessage(image.reason)}`,
    });
  }
  if (label.status === 'rejected') {
    tally.problems.push({
      kind: 'unreadable',
      file: sample.labelPath,
      message: errorMessage(label.reason).replace(`${sample.labelPath}: `, ''),
    });
    return;
  }
  const raw = label.value;
  const sizesAgree =
    image.status === 'fulfilled' &&
    image.value.info.width === raw.width &&
    image.value.info.height === raw.height;
  if (image.status === 'fulfilled' && !sizesAgree) {
    const { width, height } = image.value.info;
    tally.problems.push({
      kind: 'size-mismatch',
      file: sample.labelPath,
      message: `ground truth is ${raw.height}x${raw.width} (HxW) but its image ${sample.imagePath} is ${height}x${width}`,
    });
  }
  const { classMap, unknown } = decodeRawLabel(raw, sample.labelFormat, layout.codec);
  if (unknown > 0) {
    const values = LabelCodec.unknownValues(
      raw.data,
      raw.channels,
      classMap,
      raw.width,
      sample.labelFormat === 'color' ? 'colour' : 'ids',
    );
    const share = ((unknown / classMap.length) * 100).toFixed(2);
    tally.problems.push({
      kind: 'unknown-colour',
      file: sample.labelPath,
      message: `${unknown} pixels (${share} %) match no class (${values.length} distinct ${sample.labelFormat === 'color' ? 'colours' : 'values'}), e.g. ${describeFirst(values)}`,
      values,
    });
  }
  const counts = tally.counts;
  for (let i = 0; i < classMap.length; i++) counts[classMap[i]!]!++;
  if (wantPreview && image.status === 'fulfilled' && sizesAgree) {
    const { data, info } = image.value;
    const blended = blendLabels(data, info.channels, classMap, layout.classes, options.alpha ?? 0.5);
    tally.previews.push(
      await writePreview(options.previewsDir!, index, sample.name, blended, raw.width, raw.height),
    );
  }
}

/** The file a user error names (FileError) and its message without the repeated path. */
function problemAt(error: UserError, fallback: string): { file: string; message: string } {
  const file = error instanceof FileError ? error.path : fallback;
  return { file, message: error.message.replace(`${file}: `, '') };
}

function describeFirst(values: UnknownValue[]): string {
  const first = values[0]!;
  const what = first.value.length === 3 ? `colour (${first.value.join(', ')})` : `value ${first.value[0]}`;
  return `${what} at x=${first.x} y=${first.y}`;
}

/** Plugins and synthetic sources: walk the generators and check every id is a class or IGNORE_LABEL. */
async function checkGenerated(
  source: DataSource,
  options: CheckOptions,
  tally: Tally,
): Promise<{ total: number; checked: number }> {
  const total = source.numTraining + source.numValidation;
  const limit = Math.min(options.limit ?? total, total);
  if (total === 0) {
    tally.problems.push({ kind: 'empty', file: source.name, message: 'the data source has no samples' });
    return { total, checked: 0 };
  }
  const { height, width } = source.imageSize;
  const pixels = height * width;
  let checked = 0;
  options.onProgress?.(0, limit);
  try {
    for (const generator of [source.trainGenerator(8, { epoch: 0 }), source.validGenerator(8)]) {
      for await (const batch of generator) {
        for (let s = 0; s < batch.size && checked < limit; s++, checked++) {
          const labels = batch.labels.subarray(s * pixels, (s + 1) * pixels);
          const invalid = new Map<number, UnknownValue>();
          for (let i = 0; i < pixels; i++) {
            const id = labels[i]!;
            if (id < source.numClasses || id === IGNORE_LABEL) tally.counts[id]!++;
            else {
              const entry = invalid.get(id);
              if (entry) entry.count++;
              else invalid.set(id, { value: [id], count: 1, x: i % width, y: Math.floor(i / width) });
              tally.counts[UNKNOWN_CLASS]!++;
            }
          }
          const name = batch.names[s] ?? `sample ${checked}`;
          if (invalid.size > 0) {
            const values = [...invalid.values()].sort((a, b) => b.count - a.count);
            tally.problems.push({
              kind: 'invalid-label',
              file: name,
              message: `has class ids outside 0-${source.numClasses - 1} and ${IGNORE_LABEL}, e.g. ${describeFirst(values)}`,
              values,
            });
          }
          if (options.previewsDir !== undefined && checked < (options.previewCount ?? 20)) {
            const image = batch.images.subarray(s * pixels * 3, (s + 1) * pixels * 3);
            const blended = blendLabels(image, 3, labels, source.classes, options.alpha ?? 0.5);
            tally.previews.push(
              await writePreview(options.previewsDir, checked, name, blended, width, height),
            );
          }
          options.onProgress?.(checked + 1, limit);
        }
        if (checked >= limit) break;
      }
      if (checked >= limit) break;
    }
  } catch (error) {
    if (!isUserError(error)) throw error;
    tally.problems.push({ kind: 'unreadable', ...problemAt(error, source.name) });
  }
  return { total, checked };
}
