// Test videos made by ffmpeg from its lavfi sources (test patterns, colour stripes).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** Writes `seconds` of the lavfi source `source` (e.g. testsrc=size=160x90:rate=10) to `path`. */
export function makeLavfiVideo(
  path: string,
  source: string,
  seconds: number,
  codec = ['-pix_fmt', 'yuv420p'],
): void {
  const made = spawnSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    source,
    '-t',
    String(seconds),
    ...codec,
    path,
  ]);
  assert.equal(made.status, 0, made.stderr?.toString());
}
