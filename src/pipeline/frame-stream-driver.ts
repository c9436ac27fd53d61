// The frame loop's driver for the worker-thread engine: frames go straight into the engine's
// frame stream, whose thread takes the newest one the moment a run ends (engine/frame-stream);
// this thread only copies frames in and post-processes results while the next frame runs.

import type { RgbFrame } from '../capture/types.js';
import type { FrameStream } from '../engine/types.js';
import type { Segmenter } from '../segment/segmenter.js';
import { asError } from '../system/errors.js';
import type { DriverEvents, FrameDriver } from './frame-driver.js';

export class StreamDriver implements FrameDriver {
  private readonly stream: FrameStream;
  private draining: Promise<void> | undefined;

  constructor(segmenter: Segmenter, events: DriverEvents) {
    const open = segmenter.engine.openFrameStream;
    if (!open) throw new Error('StreamDriver: the engine has no frame stream');
    this.stream = open.call(segmenter.engine, {
      result: (streamed) => {
        try {
          const result = segmenter.finishStreamed(streamed);
          events.processed(streamed.frame, result, streamed.takenAtMs - streamed.frame.captureTimeMs);
        } catch (error) {
          events.failed(asError(error));
        }
        this.stream.release(streamed.frame);
      },
      failed: (error) => events.failed(error),
      dropped: (count) => events.dropped(count),
      ended: (error) => events.failed(error),
    });
  }

  offer(frame: RgbFrame): void {
    this.stream.offer(frame);
  }

  drain(): Promise<void> {
    this.draining ??= this.stream.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  close(): void {
    this.stream.close();
  }
}
