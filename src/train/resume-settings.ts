// A resumed run keeps the settings it started with: they fix the data order, the batches already
// done, the learning-rate curve and the dropout masks. The settings are recorded in every checkpoint;
// `--resume` takes them from there, and a setting given again with another value is refused (it
// would silently break the bit-exact continuation). Only --epochs may change, to lengthen a run.

import { DATA_OPTION_KEYS } from '../data/options.js';
import { ConfigError } from '../system/errors.js';

/** The command-line flag of each recorded setting, for messages and for `--resume` defaults. */
export const SETTING_FLAGS = {
  dataSource: '--data-source',
  imageSize: '--size',
  epochs: '--epochs',
  batchSize: '--batch-size',
  learningRate: '--lr',
  learningRateSchedule: '--lr-schedule',
  dropoutRate: '--dropout',
  encoder: '--encoder',
  widthMultiplier: '--width',
  head: '--head',
  seed: '--seed',
  classWeights: '--class-weights',
} as const;

/** The flag of each recorded data-source option (`settings.dataSourceOptions`): `--` + kebab-case. */
export const DATA_OPTION_FLAGS: Record<string, string> = Object.fromEntries(
  ['dataDir', ...DATA_OPTION_KEYS].map((key) => [
    key,
    `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  ]),
);

function show(value: unknown): string {
  if (value === undefined) return 'the default';
  if (Array.isArray(value))
    return `[${value.map((v) => (typeof v === 'number' ? +v.toPrecision(4) : v)).join(', ')}]`;
  if (value && typeof value === 'object' && 'height' in value && 'width' in value)
    return `${(value as { height: number }).height}x${(value as { width: number }).width}`;
  return JSON.stringify(value);
}

/**
 * Throws a ConfigError naming the first flag whose value differs from the run being resumed.
 * Settings the checkpoint does not record (older runs) are not compared; neither is the data
 * directory (the same data set may have moved). Returns a note when --epochs changes.
 */
export function checkResumeSettings(
  recorded: Record<string, unknown>,
  current: Record<string, unknown>,
): string | undefined {
  const refuse = (flag: string, was: unknown, now: unknown): never => {
    throw new ConfigError(
      flag,
      `is ${show(now)} but the run being resumed has ${show(was)}; a resumed run keeps its settings`,
      {
        hint: `leave ${flag} out (--resume takes it from the checkpoint), or start a new run in another --out`,
      },
    );
  };
  for (const [key, flag] of Object.entries(SETTING_FLAGS)) {
    if (key === 'epochs' || !(key in recorded) || !(key in current)) continue;
    if (JSON.stringify(recorded[key]) !== JSON.stringify(current[key]))
      refuse(flag, recorded[key], current[key]);
  }
  const recordedData = recorded.dataSourceOptions as Record<string, unknown> | undefined;
  const currentData = (current.dataSourceOptions ?? {}) as Record<string, unknown>;
  if (recordedData)
    for (const [key, flag] of Object.entries(DATA_OPTION_FLAGS)) {
      if (key === 'dataDir') continue;
      if (JSON.stringify(recordedData[key]) !== JSON.stringify(currentData[key]))
        refuse(flag, recordedData[key], currentData[key]);
    }
  if (typeof recorded.epochs === 'number' && recorded.epochs !== current.epochs)
    return (
      `--epochs ${current.epochs} instead of the run's ${recorded.epochs}` +
      (current.learningRateSchedule === 'cosine'
        ? ": the cosine schedule now spans the new length (the learning rate jumps to that curve's value)"
        : '')
    );
  return undefined;
}
