// Option parsers shared by the commands. They throw ConfigError naming the flag, so every command
// reports a bad value the same way ("edgeseg: --size: must look like ...").

import type { ImageSize } from '../data/types.js';
import { ConfigError } from '../system/errors.js';

/** Parses "HxW" (e.g. 160x576) into an image size. */
export function parseImageSize(text: string, flag = '--size'): ImageSize {
  const match = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!match)
    throw new ConfigError(flag, `must look like HEIGHTxWIDTH (e.g. 160x576), got ${JSON.stringify(text)}`);
  return { height: Number(match[1]), width: Number(match[2]) };
}

/** A positive integer option value (e.g. --calibration-images 100). */
export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return number;
}

/** A non-negative integer option value (e.g. --seed 0). */
export function parseNonNegativeInteger(value: string): number {
  if (value.trim() === '0') return 0;
  return parsePositiveInteger(value);
}

/** A number in [min, max] (e.g. --max-drop 0.01). */
export function numberInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got "${value}"`);
    return number;
  };
}
