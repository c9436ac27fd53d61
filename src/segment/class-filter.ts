// Classes left out of the picture and the statistics (segnet's --ignore-class): names are checked
// against the model's classes once, at the border, and fractions are renormalised over the pixels
// that still count.

import type { ClassInfo } from '../model/manifest.js';
import { ConfigError } from '../system/errors.js';

/**
 * The class ids of `names`; an unknown name is an error that names it (under `key`, the flag or
 * config key it came from) and lists the model's classes.
 */
export function resolveClassNames(
  names: readonly string[],
  classes: readonly ClassInfo[],
  key: string,
): number[] {
  const ids: number[] = [];
  for (const name of names) {
    const found = classes.find((cls) => cls.name === name);
    if (!found)
      throw new ConfigError(
        key,
        `no class named ${JSON.stringify(name)} in this model; its classes are: ${classes.map((cls) => cls.name).join(', ')}`,
      );
    if (!ids.includes(found.id)) ids.push(found.id);
  }
  return ids;
}

/**
 * Fractions (summing to 1 over all classes) renormalised over the classes not ignored, into `out`:
 * ignored classes get 0 and the rest sum to 1, or all 0 when only ignored classes were seen.
 */
export function countedFractions(
  fractions: ArrayLike<number>,
  ignoredIds: readonly number[],
  out: Float64Array,
): Float64Array {
  let ignoredShare = 0;
  for (const id of ignoredIds) ignoredShare += fractions[id] ?? 0;
  const counted = 1 - ignoredShare;
  // Rounding leaves a few ulps when everything seen was ignored: treat that as nothing counted.
  const scale = counted > 1e-9 ? 1 / counted : 0;
  for (let c = 0; c < out.length; c++) out[c] = (fractions[c] ?? 0) * scale;
  for (const id of ignoredIds) if (id < out.length) out[id] = 0;
  return out;
}
