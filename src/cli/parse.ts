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
