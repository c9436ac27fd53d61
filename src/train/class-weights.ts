// Per-class loss weights: 1 for every class, 0 for classes flagged `ignore`, or median-frequency
// balancing from a class-frequency file (the output of `edgeseg check-data --json`).

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { ClassInfo } from '../model/manifest.js';
import { formatIssues } from '../model/manifest.js';
import { errorMessage, FileError } from '../system/errors.js';

const FrequencyEntry = z.object({
  id: z.number().int().min(0),
  name: z.string().optional(),
  pixels: z.number().nonnegative().optional(),
  fraction: z.number().nonnegative().optional(),
  weight: z.number().nonnegative().nullable().optional(),
});

const ClassWeightsFile = z.union([
  z.object({ classFrequencies: z.array(FrequencyEntry).min(1) }).passthrough(),
  z.object({ weights: z.array(z.number().nonnegative()).min(1) }),
  z.array(z.number().nonnegative()).min(1),
]);

/** Equal weights, with ignored classes at 0 so they add nothing to the loss. */
export function uniformClassWeights(classes: readonly ClassInfo[]): Float32Array {
  return Float32Array.from(classes, (c) => (c.ignore ? 0 : 1));
}

/** median(f) / f_c over the classes that occur; classes that never occur keep weight 1. */
export function medianFrequencyWeights(
  fractions: readonly number[],
  classes: readonly ClassInfo[],
): Float32Array {
  const present = classes
    .filter((c) => !c.ignore && (fractions[c.id] ?? 0) > 0)
    .map((c) => fractions[c.id]!)
    .sort((a, b) => a - b);
  if (present.length === 0) return uniformClassWeights(classes);
  const middle = present.length / 2;
  const median =
    present.length % 2 === 1 ? present[Math.floor(middle)]! : (present[middle - 1]! + present[middle]!) / 2;
  return Float32Array.from(classes, (c) => {
    if (c.ignore) return 0;
    const fraction = fractions[c.id] ?? 0;
    return fraction > 0 ? median / fraction : 1;
  });
}

/**
 * Reads `--class-weights FILE`: `edgeseg check-data --json` output (its per-class frequencies),
 * `{ "weights": [...] }`, or a bare array with one weight per class id.
 */
export async function readClassWeights(path: string, classes: readonly ClassInfo[]): Promise<Float32Array> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new FileError(path, `cannot read class weights: ${errorMessage(error)}`, {
      hint: 'pass the output of `edgeseg check-data --json`, or {"weights": [w0, w1, ...]}',
    });
  }
  const parsed = ClassWeightsFile.safeParse(json);
  if (!parsed.success) {
    throw new FileError(path, `not a class-weights file: ${formatIssues(parsed.error)}`, {
      hint: 'expected `edgeseg check-data --json` output, {"weights": [...]}, or an array of numbers',
    });
  }
  const data = parsed.data;
  const weights: number[] | undefined = Array.isArray(data)
    ? data
    : 'classFrequencies' in data
      ? undefined
      : data.weights;
  if (weights) {
    if (weights.length !== classes.length)
      throw new FileError(
        path,
        `has ${weights.length} weights but the data source has ${classes.length} classes`,
      );
    return Float32Array.from(classes, (c, i) => (c.ignore ? 0 : weights[i]!));
  }
  if (!('classFrequencies' in data))
    throw new Error('unreachable: parsed class-weights file has no frequencies');
  const fractions = new Array<number>(classes.length).fill(0);
  const totalPixels = data.classFrequencies.reduce((sum, entry) => sum + (entry.pixels ?? 0), 0);
  for (const entry of data.classFrequencies) {
    if (entry.id >= classes.length)
      throw new FileError(
        path,
        `class id ${entry.id} does not exist (the data source has ${classes.length} classes)`,
      );
    fractions[entry.id] = entry.fraction ?? (totalPixels > 0 ? (entry.pixels ?? 0) / totalPixels : 0);
  }
  return medianFrequencyWeights(fractions, classes);
}
