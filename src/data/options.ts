// Reading and checking data-source options (from the CLI or a plugin's caller): each bad value is
// reported under its option name.

import { ConfigError, FileError } from '../system/errors.js';
import type { DataSourceOptions, ImageSize } from './types.js';

/**
 * The options that decide which samples are held out and what their ground truth says. Training
 * records them in the model manifest so that `edgeseg eval` measures the same held-out split.
 */
export const HELD_OUT_OPTION_KEYS = [
  'validationFraction',
  'splitSeed',
  'numValidation',
  'kittiVoid',
  'classTable',
  'labelFormat',
] as const;

/** Every source option that changes the samples a run sees (the held-out ones and the training count). */
export const DATA_OPTION_KEYS = [...HELD_OUT_OPTION_KEYS, 'numTraining'] as const;

/** Those of `keys` that `options` sets, numeric strings (from the command line) as numbers. */
export function pickDataOptions(
  options: DataSourceOptions,
  keys: readonly string[] = HELD_OUT_OPTION_KEYS,
): Record<string, string | number> {
  const picked: Record<string, string | number> = {};
  for (const key of keys) {
    const value = options[key];
    if (typeof value === 'number') picked[key] = value;
    else if (typeof value === 'string')
      picked[key] = value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return picked;
}

/** The required data directory of a file-backed source; `holding` says what a user must point it at. */
export function dataDirOption(options: DataSourceOptions, source: string, holding: string): string {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new FileError('--data-dir', `the ${source} data source needs a data directory (${holding})`);
  }
  return options.dataDir;
}

/** A non-negative integer option (strings from the command line are accepted). */
export function integerOption(options: DataSourceOptions, key: string, fallback: number, min = 0): number {
  const raw = options[key];
  if (raw === undefined || raw === null) return fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(key, `must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function fractionOption(options: DataSourceOptions, key: string, fallback: number): number {
  const raw = options[key];
  if (raw === undefined || raw === null) return fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new ConfigError(key, `must be a number in [0, 1), got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function choiceOption<T extends string>(
  options: DataSourceOptions,
  key: string,
  choices: readonly T[],
  fallback: T,
): T {
  const raw = options[key];
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'string' || !choices.includes(raw as T)) {
    throw new ConfigError(key, `must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

/** Throws unless both sides are positive multiples of 32 (FCN-8s pools five times). */
export function checkImageSize(size: ImageSize, key = 'imageSize'): void {
  for (const side of ['height', 'width'] as const) {
    const value = size[side];
    if (!Number.isInteger(value) || value < 32 || value % 32 !== 0) {
      throw new ConfigError(`${key}.${side}`, `must be a positive multiple of 32, got ${value}`, {
        hint: 'FCN-8s downsamples by 32; pick e.g. 160x576 (KITTI) or 256x512 (Cityscapes)',
      });
    }
  }
}

export function imageSizeOption(options: DataSourceOptions, fallback: ImageSize): ImageSize {
  const size = options.imageSize ?? fallback;
  checkImageSize(size);
  return { height: size.height, width: size.width };
}
