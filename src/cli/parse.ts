// Option parsers shared by the commands. They throw ConfigError naming the flag, so every command
// reports a bad value the same way ("edgeseg: --size: must be HEIGHTxWIDTH, height first ...").

import type { ImageSize } from '../data/types.js';
import { ConfigError } from '../system/errors.js';

/** How every size flag takes a size and every output prints one: height first. */
export const SIZE_ORDER = 'HEIGHTxWIDTH, height first (e.g. 160x576: 160 rows, 576 columns)';

/** Parses "HxW" (e.g. 160x576) into an image size. */
export function parseImageSize(text: string, flag = '--size'): ImageSize {
  const match = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!match) throw new ConfigError(flag, `must be ${SIZE_ORDER}, got ${JSON.stringify(text)}`);
  return { height: Number(match[1]), width: Number(match[2]) };
}

/** A positive integer flag value (e.g. --calibration-images 100). */
export function parsePositiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value <= 0)
    throw new ConfigError(flag, `must be a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

/** A non-negative integer flag value (e.g. --seed 0). */
export function parseNonNegativeInteger(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw new ConfigError(flag, `must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** A number in [min, max] (e.g. --max-drop 0.01). */
export function parseNumberInRange(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max)
    throw new ConfigError(flag, `must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}
