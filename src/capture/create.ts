// Picks the frame source for a URI.

import { UserError } from '../system/errors.js';
import { ImageFolderFrameSource, imageFolderPattern } from './images.js';
import { SubprocessFrameSource } from './subprocess.js';
import { SyntheticFrameSource } from './synthetic.js';
import type { FrameSource, FrameSourceOptions } from './types.js';

export function createFrameSource(uri: string, options: FrameSourceOptions): FrameSource {
  if (uri.startsWith('test://')) {
    if (uri !== 'test://synthetic-road')
      throw new UserError(`${uri}: unknown test source (use test://synthetic-road)`);
    return new SyntheticFrameSource(uri, options);
  }
  if (uri.startsWith('dir://') || !/^[a-z0-9+.-]+:\/\//i.test(uri)) {
    return new ImageFolderFrameSource(uri, imageFolderPattern(uri), options);
  }
  return new SubprocessFrameSource(uri, options);
}
