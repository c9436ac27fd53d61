// What the frame loop needs from whatever moves frames through the engine: the in-process pump
// (frame-pump) or a stream into the worker-thread engine (frame-stream-driver).

import type { RgbFrame } from '../capture/types.js';
import type { SegmentationResult } from '../segment/segmenter.js';

export interface DriverEvents {
  /** A result; the frame's pixels may be reused as soon as this returns. */
  processed(frame: RgbFrame, result: SegmentationResult, queueMs: number): void;
  failed(error: Error): void;
  /** Frames replaced by newer ones before the engine took them. */
  dropped(count: number): void;
}

export interface FrameDriver {
  /** Copies the frame in; the newest frame waiting is the next the engine takes. */
  offer(frame: RgbFrame): void;
  /** Drops the frame waiting and resolves once the one in flight is out. A later offer restarts. */
  drain(): Promise<void>;
  close(): void;
}
