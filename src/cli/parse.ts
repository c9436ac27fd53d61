// Option parsers shared by the commands; they throw commander's InvalidArgumentError so the
// message names the option.

import { InvalidArgumentError } from 'commander';
import { matchImageSize, SIZE_ORDER } from '../data/cli-options.js';

/** "HxW" (e.g. "160x576") → { height, width }. */
export function parseSize(value: string): { height: number; width: number } {
  const size = matchImageSize(value);
  if (!size) throw new InvalidArgumentError(`expected ${SIZE_ORDER}, got "${value}"`);
  return size;
}
