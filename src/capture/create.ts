// Picks the frame source for a source URI: parsed and checked by its scheme's grammar first
// (capture/uri.ts), so every source works from a typed spec, never from the raw string.

import { ImageFolderFrameSource } from './images.js';
import { type CaptureCredentials, isSubprocessSpec } from './pipelines.js';
import { SubprocessFrameSource } from './subprocess.js';
import { SyntheticFrameSource } from './synthetic.js';
import type { FrameSource, FrameSourceOptions } from './types.js';
import { parseSourceUri, redactSourceUri } from './uri.js';

export function createFrameSource(
  uri: string,
  options: FrameSourceOptions,
  credentials: CaptureCredentials = {},
): FrameSource {
  const spec = parseSourceUri(uri);
  const label = redactSourceUri(uri);
  if (spec.scheme === 'test') return new SyntheticFrameSource(label, options);
  if (spec.scheme === 'images') return new ImageFolderFrameSource(label, spec.pattern, options);
  if (!isSubprocessSpec(spec)) throw new Error('unreachable: every other scheme is a subprocess');
  return new SubprocessFrameSource(label, spec, options, credentials);
}
