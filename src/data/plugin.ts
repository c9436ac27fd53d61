// Loads a user's data-source module (`--data-source ./my-source.js`) and checks what its factory
// returns against the DataSource contract, naming the module and the field at fault.

import { access } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassInfo } from '../model/manifest.js';
import { errorMessage, FileError } from '../system/errors.js';
import {
  type DataSource,
  type DataSourceFactory,
  type DataSourceOptions,
  IGNORE_LABEL,
  type SegmentationBatch,
} from './types.js';

const HINT = 'see docs/data-sources.md for the contract and a complete example';

export async function loadPluginFactory(modulePath: string): Promise<DataSourceFactory> {
  const path = resolve(modulePath);
  try {
    await access(path);
  } catch {
    throw new FileError(
      path,
      'is neither a built-in data source (kitti, cityscapes, synthetic-road) nor a file',
      {
        hint: 'pass a built-in name or the path to a module exporting a data-source factory',
      },
    );
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new FileError(path, `could not be imported: ${errorMessage(error)}`, { cause: error, hint: HINT });
  }
  const factory = typeof loaded.default === 'function' ? loaded.default : loaded.createDataSource;
  if (typeof factory !== 'function') {
    throw new FileError(path, 'exports neither a default function nor `createDataSource`', { hint: HINT });
  }
  return factory as DataSourceFactory;
}

function isRgb(value: unknown): value is [number, number, number] {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    value.every((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255)
  );
}

/** Checks a plugin's DataSource field by field; returns it with `classes` filled in from `labelColors` if needed. */
export function validateDataSource(source: unknown, origin: string): DataSource {
  const fail = (field: string, problem: string): never => {
    throw new FileError(origin, `data source field \`${field}\` ${problem}`, { hint: HINT });
  };
  if (typeof source !== 'object' || source === null) return fail('(factory result)', 'is not an object');
  const s = source as Record<string, unknown>;
  const size = s.imageSize as Record<string, unknown> | undefined;
  for (const side of ['height', 'width'] as const) {
    const value = size?.[side];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 32 || value % 32 !== 0) {
      fail(`imageSize.${side}`, `must be a positive multiple of 32 (FCN-8s downsamples by 32), got ${value}`);
    }
  }
  let classes: ClassInfo[];
  if (Array.isArray(s.classes)) {
    classes = s.classes.map((entry: unknown, index: number) => {
      const c = entry as Partial<ClassInfo> | null;
      if (typeof c?.name !== 'string' || c.name === '')
        fail(`classes[${index}].name`, 'must be a non-empty string');
      if (!isRgb(c?.color)) fail(`classes[${index}].color`, 'must be an [r, g, b] triple of integers 0-255');
      if (c?.id !== undefined && c.id !== index)
        fail(`classes[${index}].id`, `must equal its index ${index}`);
      return { id: index, name: c!.name!, color: c!.color!, ignore: c!.ignore === true };
    });
  } else if (Array.isArray(s.labelColors)) {
    const names = Array.isArray(s.classNames) ? (s.classNames as unknown[]) : [];
    classes = s.labelColors.map((color: unknown, index: number) => {
      if (!isRgb(color)) fail(`labelColors[${index}]`, 'must be an [r, g, b] triple of integers 0-255');
      const name = names[index];
      return {
        id: index,
        name: typeof name === 'string' ? name : `class${index}`,
        color: color as [number, number, number],
        ignore: false,
      };
    });
  } else {
    return fail('classes', 'is missing (give `classes` [{ name, color }] or `labelColors` [[r, g, b], ...])');
  }
  if (classes.length < 2) fail('classes', `needs at least 2 classes, got ${classes.length}`);
  if (classes.length > IGNORE_LABEL)
    fail('classes', `has ${classes.length} entries; at most ${IGNORE_LABEL} fit`);
  if (s.numClasses !== classes.length)
    fail('numClasses', `is ${s.numClasses} but there are ${classes.length} classes`);
  for (const field of ['numTraining', 'numValidation'] as const) {
    const value = s[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      fail(field, `must be a non-negative integer, got ${value}`);
    }
  }
  for (const field of ['trainGenerator', 'validGenerator'] as const) {
    if (typeof s[field] !== 'function')
      fail(field, `must be a function (batchSize) => AsyncGenerator, got ${typeof s[field]}`);
  }
  const imageSize = { height: size!.height as number, width: size!.width as number };
  const numClasses = classes.length;
  const checked = <A extends unknown[]>(
    field: string,
    make: (...args: A) => AsyncIterable<SegmentationBatch>,
  ) =>
    async function* (...args: A): AsyncGenerator<SegmentationBatch> {
      for await (const batch of make(...args)) {
        checkBatch(batch, imageSize, numClasses, (problem) => fail(field, `yielded a batch that ${problem}`));
        yield batch;
      }
    };
  const plugin = source as DataSource;
  return {
    name:
      typeof s.name === 'string' && s.name !== '' ? s.name : basename(origin).replace(/\.[cm]?[jt]s$/, ''),
    imageSize,
    numClasses,
    classes,
    labelColors: classes.map((c) => c.color),
    numTraining: s.numTraining as number,
    numValidation: s.numValidation as number,
    trainGenerator: checked('trainGenerator', plugin.trainGenerator.bind(plugin)),
    validGenerator: checked('validGenerator', plugin.validGenerator.bind(plugin)),
  };
}

function checkBatch(
  batch: SegmentationBatch,
  size: { height: number; width: number },
  numClasses: number,
  fail: (problem: string) => never,
): void {
  if (batch.height !== size.height || batch.width !== size.width) {
    fail(`is ${batch.height}x${batch.width}, not the declared imageSize ${size.height}x${size.width}`);
  }
  const pixels = size.height * size.width;
  if (!(batch.images instanceof Uint8Array) || batch.images.length !== batch.size * pixels * 3) {
    fail(
      `has images of length ${batch.images?.length}, expected size*H*W*3 = ${batch.size * pixels * 3} bytes`,
    );
  }
  if (!(batch.labels instanceof Uint8Array) || batch.labels.length !== batch.size * pixels) {
    fail(`has labels of length ${batch.labels?.length}, expected size*H*W = ${batch.size * pixels}`);
  }
  for (let i = 0; i < batch.labels.length; i++) {
    const id = batch.labels[i]!;
    if (id >= numClasses && id !== IGNORE_LABEL) {
      fail(
        `has label ${id} at pixel ${i % pixels} of sample ${Math.floor(i / pixels)} (valid: 0-${numClasses - 1} or ${IGNORE_LABEL})`,
      );
    }
  }
}

export async function loadPluginDataSource(
  modulePath: string,
  options: DataSourceOptions,
): Promise<DataSource> {
  const factory = await loadPluginFactory(modulePath);
  const path = resolve(modulePath);
  let source: unknown;
  try {
    source = await factory(options);
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw new FileError(path, `data-source factory failed: ${errorMessage(error)}`, {
      cause: error,
      hint: HINT,
    });
  }
  return validateDataSource(source, path);
}
