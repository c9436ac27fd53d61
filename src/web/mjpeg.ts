// The overlay as an MJPEG stream (multipart/x-mixed-replace, what browsers, VLC and ffmpeg open).
// A frame is encoded only while someone watches, at most max_fps times a second, one encode at a
// time, and written once to every viewer; a viewer whose socket has not taken the previous frame
// yet skips this one (memory per viewer stays at about one frame), and one stalled for too long
// is dropped. The number of viewers is capped.

import type { ServerResponse } from 'node:http';
import type { ClassInfo } from '../model/manifest.js';
import type { ProcessedFrame } from '../pipeline/frame-loop.js';
import { renderOverlay } from '../segment/render.js';
import { asError } from '../system/errors.js';

export const MJPEG_BOUNDARY = 'edgesegframe';

export interface MjpegOptions {
  maxFps: number;
  maxViewers: number;
  jpegQuality: number;
  /** Weight of the class colours in the overlay. */
  alpha: number;
  /** A viewer that has taken no frame for this long is disconnected. */
  stallTimeoutMs: number;
}

export interface MjpegStats {
  viewers: number;
  /** JPEG encodes done for the stream (zero while nobody watches). */
  framesEncoded: number;
  /** Frames a slow viewer skipped because it had not taken the previous one. */
  framesSkipped: number;
  viewersRefused: number;
  /** Bytes written to viewers and not yet taken by their sockets. */
  bufferedBytes: number;
}

interface Viewer {
  res: ServerResponse;
  /** performance.now() of the first frame it skipped in a row; undefined while it keeps up. */
  stalledSinceMs: number | undefined;
}

export class MjpegStream {
  private readonly viewers = new Set<Viewer>();
  private encoding = false;
  // Intervals on the monotonic clock: a wall clock set back (a board without RTC getting the time
  // from NTP or GPS) must not stop the stream for as long as the step.
  private lastEncodeAtMs = Number.NEGATIVE_INFINITY;
  // One encode at a time, so one set of copies serves them all (the loop reuses its buffers).
  private framePixels: Uint8Array = new Uint8Array(0);
  private maskCopy: Uint8Array = new Uint8Array(0);
  private blended: Uint8Array = new Uint8Array(0);
  private readonly counters = { framesEncoded: 0, framesSkipped: 0, viewersRefused: 0 };

  constructor(
    private readonly options: MjpegOptions,
    private readonly onError: (error: Error) => void,
  ) {}

  stats(): MjpegStats {
    let bufferedBytes = 0;
    for (const { res } of this.viewers) bufferedBytes += res.writableLength;
    return { viewers: this.viewers.size, ...this.counters, bufferedBytes };
  }

  /** Starts streaming to this response; false (nothing written) when the viewer cap is reached. */
  attach(res: ServerResponse): boolean {
    if (this.viewers.size >= this.options.maxViewers) {
      this.counters.viewersRefused++;
      return false;
    }
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-store',
      Connection: 'close',
    });
    const viewer: Viewer = { res, stalledSinceMs: undefined };
    this.viewers.add(viewer);
    res.on('close', () => this.viewers.delete(viewer));
    return true;
  }

  /** Called for every processed frame; cheap when nobody watches or the rate limit says no. */
  offer(processed: ProcessedFrame, classes: readonly ClassInfo[]): void {
    if (this.viewers.size === 0 || this.encoding) return;
    const now = performance.now();
    if (now - this.lastEncodeAtMs < 1000 / this.options.maxFps) return;
    this.lastEncodeAtMs = now;
    this.encoding = true;
    const { frame, result } = processed;
    this.framePixels = fit(this.framePixels, frame.data.length);
    this.framePixels.set(frame.data);
    this.maskCopy = fit(this.maskCopy, result.classMask.length);
    this.maskCopy.set(result.classMask);
    this.blended = fit(this.blended, frame.data.length);
    renderOverlay(
      { data: this.framePixels, width: frame.width, height: frame.height },
      this.maskCopy,
      result.width,
      result.height,
      classes,
      {
        alpha: this.options.alpha,
        format: 'jpeg',
        quality: this.options.jpegQuality,
        letterbox: result.letterbox,
        scratch: this.blended,
      },
    )
      .then((jpeg) => this.broadcast(jpeg))
      .catch((error: unknown) => this.onError(asError(error)))
      .finally(() => {
        this.encoding = false;
      });
  }

  /** Ends every stream (daemon stopping). */
  stop(): void {
    for (const { res } of this.viewers) res.destroy();
    this.viewers.clear();
  }

  private broadcast(jpeg: Buffer): void {
    this.counters.framesEncoded++;
    const now = performance.now();
    const head = Buffer.from(
      `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
    );
    for (const viewer of this.viewers) {
      const { res } = viewer;
      if (res.writableNeedDrain) {
        this.counters.framesSkipped++;
        if (viewer.stalledSinceMs === undefined) viewer.stalledSinceMs = now;
        else if (now - viewer.stalledSinceMs > this.options.stallTimeoutMs) res.destroy();
        continue;
      }
      viewer.stalledSinceMs = undefined;
      res.cork();
      res.write(head);
      res.write(jpeg);
      res.write('\r\n');
      res.uncork();
    }
  }
}

function fit(buffer: Uint8Array, length: number): Uint8Array {
  return buffer.length === length ? buffer : new Uint8Array(length);
}
