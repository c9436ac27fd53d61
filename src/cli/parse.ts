// Option parsers shared by the commands; they throw commander's InvalidArgumentError so the
// message names the option.

import { InvalidArgumentError } from 'commander';

/** "HxW" (e.g. "160x576") → { height, width }. */
export function parseSize(value: string): { height: number; width: number } {
  const match = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected HEIGHTxWIDTH such as 160x576, got "${value}"`);
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
