// Capture commands per source scheme (pure functions, testable without a camera): GStreamer for CSI
// cameras on Jetson, ffmpeg (or GStreamer) for V4L2, RTSP and files; every pipeline writes raw RGB
// frames of width×height×3 bytes to stdout, each behind a header that says its size (capture/framing.ts:
// PPM from ffmpeg, multipartmux parts from GStreamer), so a wrong size is refused, not re-chunked. Commands are built from a parsed SourceSpec:
// each user value is one argv element that the tool cannot read as an option, a protocol or a
// pipeline element (ffmpeg: a protocol whitelist and file: paths; GStreamer: quoted properties).

import { type FrameFraming, MULTIPART_BOUNDARY } from './framing.js';
import { type GstStage, gstLaunchArgs } from './gst-pipeline.js';
import { rtspUrl, type SourceSpec } from './uri.js';

export interface CaptureCommand {
  command: string;
  args: string[];
  /** How the child marks each frame on stdout. */
  framing: FrameFraming;
  /** Written to the child's stdin, then closed (what must not be in its argv). */
  stdin?: string;
}

export type CaptureBackend = 'ffmpeg' | 'gstreamer';

export interface CaptureCredentials {
  username?: string | undefined;
  password?: string | undefined;
}

/** What ffmpeg may open for each input: nothing beyond the scheme's own transport. */
const FFMPEG_PROTOCOLS = {
  file: 'file',
  rtsp: 'rtsp,rtp,udp,tcp',
  rtsps: 'rtsp,rtsps,rtp,udp,tcp,tls',
} as const;

export type SubprocessSpec = Extract<
  SourceSpec,
  { scheme: 'csi' | 'v4l2' | 'rtsp' | 'rtsps' | 'file' | 'videotest' }
>;

export function isSubprocessSpec(spec: SourceSpec): spec is SubprocessSpec {
  return spec.scheme !== 'images' && spec.scheme !== 'test';
}

/** What the installed tools can do (capture/ffmpeg-version.ts). */
export interface ToolCapabilities {
  /** ffmpeg 5.0+: concat lists take per-file options, so an RTSP password can stay out of argv. */
  ffconcatOptions: boolean;
}

export function captureCommand(
  spec: SubprocessSpec,
  backend: CaptureBackend,
  size: { width: number; height: number },
  loop: boolean,
  credentials: CaptureCredentials = {},
  tools: ToolCapabilities = { ffconcatOptions: false },
): CaptureCommand {
  const { width, height } = size;
  const gst = (...source: GstStage[]): CaptureCommand => ({
    command: 'gst-launch-1.0',
    framing: 'multipart',
    args: [
      '-q',
      ...gstLaunchArgs([
        ...source,
        { factory: 'videoconvert' },
        { factory: 'videoscale' },
        { caps: `video/x-raw,format=RGB,width=${width},height=${height}` },
        // One part per buffer with its Content-Length: a buffer with row padding (RGB rows are
        // padded to 4 bytes when width×3 is not a multiple of 4) is refused, not misread.
        { factory: 'multipartmux', properties: { boundary: MULTIPART_BOUNDARY } },
        { factory: 'fdsink', properties: { fd: 1, sync: false } },
      ]),
    ],
  });
  const ffmpeg = (input: string[]): CaptureCommand => ({
    command: 'ffmpeg',
    framing: 'ppm',
    args: [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      ...input,
      '-an',
      '-vf',
      `scale=${width}:${height}`,
      '-pix_fmt',
      'rgb24',
      // Binary PPM per frame: a header "P6 W H 255" in front of W×H×3 RGB bytes.
      '-f',
      'image2pipe',
      '-c:v',
      'ppm',
      'pipe:1',
    ],
  });
  switch (spec.scheme) {
    case 'csi':
      // nvarguscamerasrc delivers NVMM buffers; nvvidconv copies them to system memory as BGRx.
      return gst(
        { factory: 'nvarguscamerasrc', properties: { 'sensor-id': spec.sensorId } },
        { caps: `video/x-raw(memory:NVMM),width=${width},height=${height}` },
        { factory: 'nvvidconv' },
        { caps: 'video/x-raw,format=BGRx' },
      );
    case 'v4l2':
      return backend === 'gstreamer'
        ? gst({ factory: 'v4l2src', properties: { device: spec.device } })
        : ffmpeg(['-f', 'v4l2', '-i', spec.device]);
    case 'rtsp':
    case 'rtsps': {
      const username = spec.username ?? credentials.username;
      const password = spec.username === undefined ? credentials.password : spec.password;
      if (backend === 'gstreamer') {
        // rtspsrc takes the credentials as properties, so the location carries none.
        const auth: Record<string, string> = {};
        if (username !== undefined) auth['user-id'] = username;
        if (password !== undefined) auth['user-pw'] = password;
        return gst(
          {
            factory: 'rtspsrc',
            properties: { location: rtspUrl(spec, {}), latency: 100, ...auth },
          },
          { factory: 'decodebin' },
        );
      }
      // Before ffmpeg 5.0 a concat list cannot carry rtsp_transport: the URL stays in argv there
      // (docs/capture.md, "Camera credentials").
      if (password === undefined || !tools.ffconcatOptions)
        return ffmpeg([
          '-protocol_whitelist',
          FFMPEG_PROTOCOLS[spec.scheme],
          '-rtsp_transport',
          'tcp',
          '-i',
          rtspUrl(spec, { username, password }),
        ]);
      // ffmpeg (up to 6.x) reads an input URL only from argv, which every user of the board can
      // read. Its concat demuxer reads URLs from a list instead, here from stdin (never a file),
      // with the RTSP options as per-file options: the password is in no argv and on no disk.
      return {
        ...ffmpeg([
          '-protocol_whitelist',
          `pipe,${FFMPEG_PROTOCOLS[spec.scheme]}`,
          '-f',
          'concat',
          '-safe',
          '0',
          '-i',
          'pipe:0',
        ]),
        stdin: ffconcatList(rtspUrl(spec, { username, password }), { rtsp_transport: 'tcp' }),
      };
    }
    case 'file':
      if (backend === 'gstreamer')
        return gst({ factory: 'filesrc', properties: { location: spec.path } }, { factory: 'decodebin' });
      // -re paces a file at its native rate, like a camera; the daemon's fps limit drops the rest.
      // "file:" keeps ffmpeg from reading a path such as concat:a|b as another protocol.
      return ffmpeg([
        '-protocol_whitelist',
        FFMPEG_PROTOCOLS.file,
        '-re',
        ...(loop ? ['-stream_loop', '-1'] : []),
        '-i',
        `file:${spec.path}`,
      ]);
    case 'videotest':
      // A GStreamer/ffmpeg test pattern: handy for checking a board's capture path without a camera.
      return backend === 'gstreamer'
        ? gst({ factory: 'videotestsrc', properties: { 'is-live': true } })
        : ffmpeg(['-re', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=30`]);
  }
}

/** An ffconcat list of one input with its options; every value is single-quoted, ' written as '\\''. */
export function ffconcatList(url: string, options: Readonly<Record<string, string>>): string {
  const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
  const lines = ['ffconcat version 1.0', `file ${quote(url)}`];
  for (const [name, value] of Object.entries(options)) lines.push(`option ${name} ${quote(value)}`);
  return `${lines.join('\n')}\n`;
}

/** csi needs GStreamer; everything else prefers ffmpeg. */
export function chooseBackend(spec: SourceSpec, preference: 'auto' | CaptureBackend): CaptureBackend {
  if (spec.scheme === 'csi') return 'gstreamer';
  return preference === 'auto' ? 'ffmpeg' : preference;
}
