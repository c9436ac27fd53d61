// Encoder command lines for raw RGB frames written to the encoder's stdin: ffmpeg into a video
// file, ffmpeg or GStreamer into an RTP stream. Every user value is one argv element of a form the
// tool cannot reinterpret: a file path behind ffmpeg's `file:` protocol, an RTP URL assembled from
// a parsed host and numbers, and for gst-launch (which joins argv into one pipeline description
// and parses it again) a quoted property whose grammar was checked (capture/gst-pipeline.ts).

import { isAbsolute } from 'node:path';
import { gstLaunchArgs } from '../capture/gst-pipeline.js';
import { type RtpTarget, rtpTargetProblem, urlHost } from './rtp-uri.js';

export interface EncoderCommand {
  command: string;
  args: string[];
}

/** A frame rate as a fraction (video files keep their source's, e.g. 30000/1001). */
export interface FrameRate {
  num: number;
  den: number;
}

export interface RawVideoFormat {
  width: number;
  height: number;
  frameRate: FrameRate;
}

/** Container formats a video file may be written in, by file extension. */
export const VIDEO_FILE_FORMATS = { '.mp4': 'mp4', '.mov': 'mov', '.mkv': 'matroska' } as const;
export type VideoContainer = (typeof VIDEO_FILE_FORMATS)[keyof typeof VIDEO_FILE_FORMATS];

function assertInteger(name: string, value: number, min: number, max: number): void {
  // Programmer errors: the values come from parsed, bounded config or probed video.
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`encoder ${name} must be an integer ${min}..${max}, got ${value}`);
}

function assertFormat(format: RawVideoFormat): void {
  assertInteger('width', format.width, 1, 16384);
  assertInteger('height', format.height, 1, 16384);
  assertInteger('frame rate numerator', format.frameRate.num, 1, 1_000_000);
  assertInteger('frame rate denominator', format.frameRate.den, 1, 1_000_000);
}

/** ffmpeg reading rgb24 frames of `format` from stdin. */
function rawInput(format: RawVideoFormat, extra: string[] = []): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-video_size',
    `${format.width}x${format.height}`,
    '-framerate',
    `${format.frameRate.num}/${format.frameRate.den}`,
    ...extra,
    '-i',
    'pipe:0',
    '-an',
  ];
}

/** A one-pixel black pad where a side is odd: libx264 in yuv420p takes even sides only. */
function evenSides(size: { width: number; height: number }): string[] {
  return size.width % 2 === 1 || size.height % 2 === 1 ? ['-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2'] : [];
}

/**
 * ffmpeg writing H.264 (yuv420p, as every player reads) into `path` in `container`. yuv420p needs
 * even sides, so an odd side is padded by one black pixel.
 */
export function fileEncoderCommand(
  path: string,
  container: VideoContainer,
  format: RawVideoFormat,
): EncoderCommand {
  assertFormat(format);
  if (!isAbsolute(path)) throw new RangeError(`encoder output path must be absolute, got ${path}`);
  return {
    command: 'ffmpeg',
    args: [
      ...rawInput(format),
      ...evenSides(format),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      '-f',
      container,
      '-y',
      // The file protocol takes the rest literally: no other protocol, no option, whatever the name.
      `file:${path}`,
    ],
  };
}

export interface RtpEncoderOptions {
  /** Encoder frame rate: frames are written at most this often. */
  fps: number;
  bitrateKbps: number;
}

/** H.264 over RTP (payload type 96) to `target`, with ffmpeg or GStreamer. */
export function rtpEncoderCommand(
  target: RtpTarget,
  backend: 'ffmpeg' | 'gstreamer',
  size: { width: number; height: number },
  options: RtpEncoderOptions,
): EncoderCommand {
  // Checked again here, whatever the caller did: the builder alone must be safe.
  const problem = rtpTargetProblem(target);
  if (problem) throw new RangeError(`RTP target refused: ${problem}`);
  assertFormat({ ...size, frameRate: { num: options.fps, den: 1 } });
  assertInteger('bitrate', options.bitrateKbps, 64, 20000);
  const keyframeInterval = String(2 * options.fps);
  if (backend === 'ffmpeg') {
    const query = [
      ...(target.ttl !== undefined ? [`ttl=${target.ttl}`] : []),
      ...(target.pktSize !== undefined ? [`pkt_size=${target.pktSize}`] : []),
    ].join('&');
    return {
      command: 'ffmpeg',
      args: [
        // Frames come when the pipeline makes them: stamp them with the time they arrive.
        ...rawInput({ ...size, frameRate: { num: options.fps, den: 1 } }, [
          '-use_wallclock_as_timestamps',
          '1',
        ]),
        // yuv420p needs even sides; the capture size may be odd (the file encoder pads the same way).
        ...evenSides(size),
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-pix_fmt',
        'yuv420p',
        '-g',
        keyframeInterval,
        '-b:v',
        `${options.bitrateKbps}k`,
        // The parameter sets with every keyframe, so a receiver that joins late can decode.
        '-bsf:v',
        'dump_extra',
        // Encode the frames given, never duplicates to fill a constant rate.
        '-vsync',
        'passthrough',
        '-f',
        'rtp',
        '-payload_type',
        '96',
        `rtp://${urlHost(target.host)}:${target.port}${query ? `?${query}` : ''}`,
      ],
    };
  }
  const ttl: Record<string, number> =
    target.ttl !== undefined ? { ttl: target.ttl, 'ttl-mc': target.ttl } : {};
  return {
    command: 'gst-launch-1.0',
    args: [
      '-q',
      // Constants and numbers, and the host as a quoted GStreamer string (its grammar checked above).
      ...gstLaunchArgs([
        { factory: 'fdsrc', properties: { fd: 0 } },
        {
          factory: 'rawvideoparse',
          properties: {
            width: size.width,
            height: size.height,
            format: 'rgb',
            framerate: `${options.fps}/1`,
          },
        },
        { factory: 'videoconvert' },
        {
          factory: 'x264enc',
          properties: {
            tune: 'zerolatency',
            'speed-preset': 'ultrafast',
            bitrate: options.bitrateKbps,
            'key-int-max': 2 * options.fps,
          },
        },
        {
          factory: 'rtph264pay',
          properties: {
            'config-interval': -1,
            pt: 96,
            ...(target.pktSize !== undefined ? { mtu: target.pktSize } : {}),
          },
        },
        {
          factory: 'udpsink',
          properties: { host: target.host, port: target.port, ...ttl, sync: false, async: false },
        },
      ]),
    ],
  };
}
