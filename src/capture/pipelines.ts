// Capture commands per URI scheme (pure functions, so they are testable without a camera):
// GStreamer for CSI cameras on Jetson, ffmpeg (or GStreamer) for V4L2, RTSP and files; every
// pipeline writes raw RGB frames of exactly width×height×3 bytes to stdout.

import { UserError } from '../system/errors.js';

export interface CaptureCommand {
  command: string;
  args: string[];
}

export type CaptureBackend = 'ffmpeg' | 'gstreamer';

export function captureCommand(
  uri: string,
  backend: CaptureBackend,
  size: { width: number; height: number },
  loop: boolean,
): CaptureCommand {
  const { width, height } = size;
  const url = new URL(uri);
  const scheme = url.protocol.replace(/:$/, '');
  const rgbCaps = `video/x-raw,format=RGB,width=${width},height=${height}`;
  const gst = (source: string): CaptureCommand => ({
    command: 'gst-launch-1.0',
    args: ['-q', ...`${source} ! videoconvert ! videoscale ! ${rgbCaps} ! fdsink fd=1 sync=false`.split(' ')],
  });
  const ffmpeg = (input: string[]): CaptureCommand => ({
    command: 'ffmpeg',
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
      '-f',
      'rawvideo',
      'pipe:1',
    ],
  });
  switch (scheme) {
    case 'csi': {
      const sensor = Number.parseInt(url.hostname || '0', 10);
      if (!Number.isInteger(sensor) || sensor < 0)
        throw new UserError(`${uri}: expected csi://<sensor-id>, e.g. csi://0`);
      // nvarguscamerasrc delivers NVMM buffers; nvvidconv copies them to system memory as BGRx.
      return gst(
        `nvarguscamerasrc sensor-id=${sensor} ! video/x-raw(memory:NVMM),width=${width},height=${height} ! nvvidconv ! video/x-raw,format=BGRx`,
      );
    }
    case 'v4l2': {
      const device = url.pathname || '/dev/video0';
      return backend === 'gstreamer' ? gst(`v4l2src device=${device}`) : ffmpeg(['-f', 'v4l2', '-i', device]);
    }
    case 'rtsp':
    case 'rtsps':
      return backend === 'gstreamer'
        ? gst(`rtspsrc location=${uri} latency=100 ! decodebin`)
        : ffmpeg(['-rtsp_transport', 'tcp', '-i', uri]);
    case 'file': {
      const path = decodeURIComponent(url.pathname);
      if (backend === 'gstreamer') return gst(`filesrc location=${path} ! decodebin`);
      // -re paces a file at its native rate, like a camera; the daemon's fps limit drops the rest.
      return ffmpeg(['-re', ...(loop ? ['-stream_loop', '-1'] : []), '-i', path]);
    }
    case 'videotest':
      // A GStreamer/ffmpeg test pattern: handy for checking a board's capture path without a camera.
      return backend === 'gstreamer'
        ? gst('videotestsrc is-live=true')
        : ffmpeg(['-re', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=30`]);
    default:
      throw new UserError(`${uri}: unsupported source scheme "${scheme}"`, {
        hint: 'use csi://0, v4l2:///dev/video0, rtsp://..., file:///path/video.mp4, dir:///path, videotest://, or test://synthetic-road',
      });
  }
}

/** csi needs GStreamer; everything else prefers ffmpeg. */
export function chooseBackend(uri: string, preference: 'auto' | CaptureBackend): CaptureBackend {
  if (uri.startsWith('csi:')) return 'gstreamer';
  return preference === 'auto' ? 'ffmpeg' : preference;
}
