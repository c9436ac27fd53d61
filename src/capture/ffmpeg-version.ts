// Which ffmpeg the capture children run, asked once per process: the concat demuxer's per-file
// `option` directive (how an RTSP URL with a password reaches ffmpeg without its argv, with
// rtsp_transport tcp) exists from ffmpeg 5.0 on; Ubuntu 18.04 to 22.04 (JetPack 4 to 6) ship 3.4 to 4.4.

import { execFile } from 'node:child_process';
import { childEnvironment } from '../system/child-env.js';

/** The major version in `ffmpeg -version` output ("ffmpeg version 5.1.6-0+deb12u1", "n4.4.2"); git builds have none. */
export function parseFfmpegMajorVersion(versionOutput: string): number | undefined {
  const match = /^ffmpeg version n?(\d+)\.\d+/m.exec(versionOutput);
  return match ? Number(match[1]) : undefined;
}

let asked: Promise<number | undefined> | undefined;

/** ffmpeg's major version on the children's PATH, or undefined (not installed, a git build). */
export function ffmpegMajorVersion(): Promise<number | undefined> {
  asked ??= new Promise((resolve) => {
    execFile(
      'ffmpeg',
      ['-hide_banner', '-version'],
      { env: childEnvironment(), timeout: 10_000 },
      (error, stdout) => resolve(error ? undefined : parseFfmpegMajorVersion(stdout)),
    );
  });
  return asked;
}

/** Whether ffmpeg's concat lists take per-file options (ffmpeg 5.0 and newer). */
export async function ffconcatTakesOptions(): Promise<boolean> {
  return ((await ffmpegMajorVersion()) ?? 0) >= 5;
}
