// Flag parsers: one per kind of value (integer, number, size), used by every command. They throw
// ConfigError naming the flag, so every command reports a bad value the same way ("edgeseg:
// --frames: must be an integer from 1 to 1000000, got "abc""). The options made here are marked,
// so a test can find every numeric flag of every command through commander.

import { Option } from 'commander';
import type { ImageSize } from '../data/types.js';
import { ConfigError } from '../system/errors.js';

/** How every size flag takes a size and every output prints one: height first. */
export const SIZE_ORDER = 'HEIGHTxWIDTH, height first (e.g. 160x576: 160 rows, 576 columns)';

/** The bounds of a numeric flag; both ends included unless said otherwise. */
export interface NumberRange {
  min: number;
  max?: number;
  /** The value must be above min (e.g. a learning rate). */
  minExclusive?: boolean;
  /** The value must be below max (e.g. a dropout rate). */
  maxExclusive?: boolean;
}

/** Integers are bounded by default: a count of 1e15 frames is a typo, not a plan. */
const LARGEST_INTEGER = 1_000_000_000;

const numericOptions = new WeakSet<Option>();
const parsedOptions = new WeakSet<Option>();

/** True for an option made by integerOption or numberOption (what the every-flag test feeds `abc`). */
export function isNumericOption(option: Option): boolean {
  return numericOptions.has(option);
}

/** True for an option whose value is parsed here (any kind). */
export function isParsedOption(option: Option): boolean {
  return parsedOptions.has(option);
}

/** A number flag: `integer` (counts, seeds, ports; max defaults to a billion) or decimal (--lr 1e-4). */
export function numberOption(
  flags: string,
  description: string,
  range: NumberRange & { integer?: boolean },
  defaultValue?: number,
): Option {
  const parse = range.integer ? parseInteger : parseNumber;
  return numeric(new Option(flags, description), defaultValue, (text, flag) => parse(text, flag, range));
}

/** An integer flag in [min, max] (max defaults to a billion). */
export function integerOption(
  flags: string,
  description: string,
  range: NumberRange,
  defaultValue?: number,
): Option {
  return numberOption(flags, description, { ...range, integer: true }, defaultValue);
}

/** `auto` or an integer in the range (e.g. --micro-batch auto|4); the default is auto. */
export function autoOrIntegerOption(flags: string, description: string, range: NumberRange): Option {
  const option = new Option(flags, description).default('auto');
  const flag = option.long ?? option.flags;
  option.argParser((text: string) =>
    text.trim() === 'auto' ? 'auto' : parseInteger(text, flag, range, 'auto or '),
  );
  numericOptions.add(option);
  parsedOptions.add(option);
  return option;
}

/** An HxW size flag; `multipleOf` for sizes a network takes (FCN-8s: 32). */
export function sizeOption(flags: string, description: string, multipleOf = 1): Option {
  const option = new Option(flags, description);
  option.argParser((text: string) => parseImageSize(text, option.long ?? flags, multipleOf));
  parsedOptions.add(option);
  return option;
}

function numeric(
  option: Option,
  defaultValue: number | undefined,
  parse: (text: string, flag: string) => number,
): Option {
  const flag = option.long ?? option.flags;
  option.argParser((text: string) => parse(text, flag));
  if (defaultValue !== undefined) option.default(defaultValue);
  numericOptions.add(option);
  parsedOptions.add(option);
  return option;
}

/** Parses "HxW" (e.g. 160x576); with `multipleOf`, names the nearest valid size when a side is off. */
export function parseImageSize(text: string, flag = '--size', multipleOf = 1): ImageSize {
  const match = /^(\d{1,6})x(\d{1,6})$/i.exec(text.trim());
  if (!match) throw new ConfigError(flag, `must be ${SIZE_ORDER}, got ${JSON.stringify(text)}`);
  const size = { height: Number(match[1]), width: Number(match[2]) };
  if (size.height < 1 || size.width < 1)
    throw new ConfigError(flag, `both sides must be at least 1, got ${JSON.stringify(text)}`);
  if (size.height % multipleOf !== 0 || size.width % multipleOf !== 0) {
    const nearest = (side: number) => Math.max(multipleOf, Math.round(side / multipleOf) * multipleOf);
    throw new ConfigError(
      flag,
      `${size.height}x${size.width} (HxW): both sides must be divisible by ${multipleOf} (FCN-8s downsamples by 32); the nearest valid size is ${nearest(size.height)}x${nearest(size.width)}`,
    );
  }
  return size;
}

/** An integer in [min, max]. */
export function parseInteger(text: string, flag: string, range: NumberRange, alsoAccepted = ''): number {
  const max = range.max ?? LARGEST_INTEGER;
  const value = Number(text);
  if (!/^\s*-?\d+\s*$/.test(text) || value < range.min || value > max)
    throw new ConfigError(
      flag,
      `must be ${alsoAccepted}${describeIntegers(range.min, max)}, got ${JSON.stringify(text)}`,
    );
  return value;
}

/** A finite decimal number in the range. */
export function parseNumber(text: string, flag: string, range: NumberRange): number {
  const value = Number(text);
  const inRange =
    (range.minExclusive ? value > range.min : value >= range.min) &&
    (range.max === undefined || (range.maxExclusive ? value < range.max : value <= range.max));
  if (text.trim() === '' || !Number.isFinite(value) || !inRange)
    throw new ConfigError(flag, `must be ${describeNumbers(range)}, got ${JSON.stringify(text)}`);
  return value;
}

/** A positive integer flag value (e.g. --calibration-images 100). */
export function parsePositiveInteger(text: string, flag: string): number {
  return parseInteger(text, flag, { min: 1 });
}

/** A non-negative integer flag value (e.g. --seed 0). */
export function parseNonNegativeInteger(text: string, flag: string): number {
  return parseInteger(text, flag, { min: 0 });
}

/** A number in [min, max] (e.g. --max-drop 0.01). */
export function parseNumberInRange(text: string, flag: string, min: number, max: number): number {
  return parseNumber(text, flag, { min, max });
}

function describeIntegers(min: number, max: number): string {
  if (max === LARGEST_INTEGER) return min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
  return `an integer from ${min} to ${max}`;
}

function describeNumbers(range: NumberRange): string {
  const low = `${range.minExclusive ? 'above' : 'at least'} ${range.min}`;
  if (range.max === undefined)
    return range.min === 0 && range.minExclusive ? 'a positive number' : `a number ${low}`;
  return `a number ${low} and ${range.maxExclusive ? 'below' : 'at most'} ${range.max}`;
}
