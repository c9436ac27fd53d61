// Test videos made by ffmpeg from its lavfi sources (test patterns, colour stripes).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * x264's fastest preset, for long inputs whose content does not matter beyond being a moving
 * picture: 40 s at 320x180 takes 0.8 s of CPU to make instead of 3.6 s.
 */
export const FAST_H264 = ['-pix_fmt', 'yuv420p', '-preset', 'ultrafast'];

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
