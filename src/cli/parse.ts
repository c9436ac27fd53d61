// Option parsers shared by the commands; they throw commander's InvalidArgumentError so the
// message names the option.

import { InvalidArgumentError } from 'commander';

/** "HxW" (e.g. "160x576") → { height, width }. */
export function parseSize(value: string): { height: number; width: number } {
  const match = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected HEIGHTxWIDTH such as 160x576, got "${value}"`);
  return { height: Number(match[1]), width: Number(match[2]) };
}
