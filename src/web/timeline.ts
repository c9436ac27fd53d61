// The last minutes of frame rate and latency, for the live page's chart: frames are summed into
// fixed buckets kept in a ring of fixed size, so memory does not grow however long the daemon runs.

import type { StatsPayload } from '../mqtt/payloads.js';

export interface TimelinePoint {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  fps: number;
  /** Mean capture → stats latency of the bucket's frames. */
  latencyMs: number;
  inferenceMs: number;
}

export interface TimelinePayload {
  bucketS: number;
  points: TimelinePoint[];
}

export class Timeline {
  private readonly ring: TimelinePoint[] = [];
  private bucket = -1;
  private frames = 0;
  private latencySum = 0;
  private inferenceSum = 0;

  constructor(
    private readonly bucketMs = 2000,
    private readonly capacity = 300,
  ) {}

  add(stats: StatsPayload): void {
    const bucket = Math.floor(stats.captureTimeMs / this.bucketMs);
    if (bucket !== this.bucket) {
      this.close();
      this.bucket = bucket;
    }
    this.frames++;
    this.latencySum += stats.latencyMs.total;
    this.inferenceSum += stats.latencyMs.inference;
  }

  /** Completed buckets, oldest first (the one still filling is left out: its rate would read low). */
  payload(): TimelinePayload {
    return { bucketS: this.bucketMs / 1000, points: [...this.ring] };
  }

  private close(): void {
    if (this.frames > 0) {
      this.ring.push({
        t: this.bucket * this.bucketMs,
        fps: round((this.frames * 1000) / this.bucketMs),
        latencyMs: round(this.latencySum / this.frames),
        inferenceMs: round(this.inferenceSum / this.frames),
      });
      if (this.ring.length > this.capacity) this.ring.shift();
    }
    this.frames = 0;
    this.latencySum = 0;
    this.inferenceSum = 0;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
