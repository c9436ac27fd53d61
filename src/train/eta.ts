// Time left in a training run, from the step times this run has measured: the epoch's and the
// run's ETA on the progress bar, and the rate a checkpoint records so that a resumed run has an
// ETA before its own first step ends.

/** Steps whose time is averaged: enough to smooth batches of uneven cost, recent enough to follow a change. */
const WINDOW_STEPS = 20;

export class StepClock {
  private readonly steps: Array<{ images: number; seconds: number }> = [];
  private firstStepSeconds: number | undefined;

  /** @param recordedSecondsPerImage what an earlier process measured (a resumed run), used until this one has measured a step. */
  constructor(private readonly recordedSecondsPerImage?: number) {}

  /** Records one finished step. The first step of a process is kept apart: it pays for allocations and heap growth. */
  record(images: number, seconds: number): void {
    if (!(images > 0) || !(seconds >= 0)) return;
    if (this.firstStepSeconds === undefined) {
      this.firstStepSeconds = seconds / images;
      return;
    }
    this.steps.push({ images, seconds });
    if (this.steps.length > WINDOW_STEPS) this.steps.shift();
  }

  /**
   * Seconds per image: the recent steps of this process, else its first step, else the recorded
   * rate, else `fallback` (the pace of the step under way).
   */
  secondsPerImage(fallback?: number): number | undefined {
    if (this.steps.length > 0) {
      let images = 0;
      let seconds = 0;
      for (const step of this.steps) {
        images += step.images;
        seconds += step.seconds;
      }
      return seconds / images;
    }
    return this.firstStepSeconds ?? this.recordedSecondsPerImage ?? fallback;
  }

  /** Seconds to train `images` more images at the current rate; undefined before anything was measured. */
  secondsFor(images: number, fallback?: number): number | undefined {
    const rate = this.secondsPerImage(fallback);
    return rate === undefined ? undefined : Math.max(0, images) * rate;
  }
}

/** Images still to train: the rest of this epoch and every later epoch. */
export function remainingImages(
  epoch: number,
  epochs: number,
  imagesDoneInEpoch: number,
  imagesPerEpoch: number,
): { epoch: number; run: number } {
  const inEpoch = Math.max(0, imagesPerEpoch - imagesDoneInEpoch);
  return { epoch: inEpoch, run: inEpoch + Math.max(0, epochs - epoch - 1) * imagesPerEpoch };
}

/** 42s, 9m05s, 3h07m; '?' when unknown. Rounded to whole seconds first, so never "9m60s". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?';
  const total = Math.round(Math.max(0, seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
