// Segmentation metrics from a confusion matrix: pixel accuracy, per-class IoU, mean IoU, and
// KITTI's MaxF for two-class road data. Shared by training validation and `edgeseg eval`.

import { IGNORE_LABEL } from '../data/types.js';

export interface MetricsSummary {
  pixelAccuracy: number;
  /** Mean over classes that occur in the ground truth or the prediction (and are not ignored). */
  mIoU: number;
  /** Per class id; NaN where the class never occurs in truth or prediction (or is ignored). */
  perClassIoU: number[];
  /** confusion[truth][predicted], pixel counts. */
  confusion: number[][];
  pixels: number;
}

export class ConfusionMatrix {
  readonly numClasses: number;
  /** Row-major numClasses×numClasses counts, truth-major. Float64 so that counts never overflow. */
  readonly counts: Float64Array;
  private readonly ignored: Set<number>;

  /** `ignoredClassIds` are excluded like IGNORE_LABEL pixels (classes flagged `ignore`). */
  constructor(numClasses: number, ignoredClassIds: Iterable<number> = []) {
    if (!Number.isInteger(numClasses) || numClasses < 2 || numClasses > 255) {
      throw new RangeError(`numClasses must be an integer in 2..255, got ${numClasses}`);
    }
    this.numClasses = numClasses;
    this.counts = new Float64Array(numClasses * numClasses);
    this.ignored = new Set(ignoredClassIds);
  }

  /** Adds one or more masks of class ids; truth pixels equal to IGNORE_LABEL or an ignored class are skipped. */
  add(predicted: ArrayLike<number>, truth: ArrayLike<number>): void {
    if (predicted.length !== truth.length) {
      throw new RangeError(`prediction has ${predicted.length} pixels but ground truth has ${truth.length}`);
    }
    const n = this.numClasses;
    const skip = new Uint8Array(256);
    skip[IGNORE_LABEL] = 1;
    for (const id of this.ignored) skip[id] = 1;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i]!;
      if (skip[t] === 1) continue;
      const p = predicted[i]!;
      if (t >= n || p >= n)
        throw new RangeError(`class id out of range at pixel ${i}: truth ${t}, predicted ${p}`);
      this.counts[t * n + p]! += 1;
    }
  }

  merge(other: ConfusionMatrix): void {
    if (other.numClasses !== this.numClasses)
      throw new RangeError('cannot merge confusion matrices of different sizes');
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
  }

  reset(): void {
    this.counts.fill(0);
  }

  get pixels(): number {
    let total = 0;
    for (const count of this.counts) total += count;
    return total;
  }

  pixelAccuracy(): number {
    const n = this.numClasses;
    let correct = 0;
    for (let c = 0; c < n; c++) correct += this.counts[c * n + c]!;
    const total = this.pixels;
    return total === 0 ? 0 : correct / total;
  }

  /** IoU = TP / (TP + FP + FN) per class; NaN for classes absent from both truth and prediction. */
  perClassIoU(): number[] {
    const n = this.numClasses;
    const iou: number[] = [];
    for (let c = 0; c < n; c++) {
      if (this.ignored.has(c)) {
        iou.push(Number.NaN);
        continue;
      }
      const tp = this.counts[c * n + c]!;
      let rowSum = 0;
      let colSum = 0;
      for (let k = 0; k < n; k++) {
        rowSum += this.counts[c * n + k]!;
        colSum += this.counts[k * n + c]!;
      }
      const union = rowSum + colSum - tp;
      iou.push(union === 0 ? Number.NaN : tp / union);
    }
    return iou;
  }

  meanIoU(): number {
    const present = this.perClassIoU().filter((value) => !Number.isNaN(value));
    return present.length === 0 ? 0 : present.reduce((sum, value) => sum + value, 0) / present.length;
  }

  summary(): MetricsSummary {
    const n = this.numClasses;
    const confusion: number[][] = [];
    for (let t = 0; t < n; t++) confusion.push(Array.from(this.counts.subarray(t * n, (t + 1) * n)));
    return {
      pixelAccuracy: this.pixelAccuracy(),
      mIoU: this.meanIoU(),
      perClassIoU: this.perClassIoU(),
      confusion,
      pixels: this.pixels,
    };
  }
}

/**
 * KITTI road benchmark's MaxF: the best F1 of the positive class over all thresholds on its
 * probability. `scores` are positive-class probabilities, `truth` 1 for positive, 0 negative,
 * anything else ignored. Accumulate with addScores over many images, then read maxF().
 */
export class MaxFAccumulator {
  private readonly bins: number;
  private readonly positives: Float64Array;
  private readonly negatives: Float64Array;

  constructor(bins = 1000) {
    this.bins = bins;
    this.positives = new Float64Array(bins + 1);
    this.negatives = new Float64Array(bins + 1);
  }

  addScores(scores: ArrayLike<number>, truth: ArrayLike<number>): void {
    if (scores.length !== truth.length) throw new RangeError('scores and truth differ in length');
    for (let i = 0; i < scores.length; i++) {
      const t = truth[i];
      if (t !== 0 && t !== 1) continue;
      const bin = Math.min(this.bins, Math.max(0, Math.round(scores[i]! * this.bins)));
      if (t === 1) this.positives[bin]! += 1;
      else this.negatives[bin]! += 1;
    }
  }

  /** Returns the best F-measure and the probability threshold that reaches it. */
  maxF(): { maxF: number; threshold: number; precision: number; recall: number } {
    let totalPositives = 0;
    for (const count of this.positives) totalPositives += count;
    let best = { maxF: 0, threshold: 0.5, precision: 0, recall: 0 };
    let tp = 0;
    let fp = 0;
    // Sweep thresholds from high to low: everything at or above the bin is predicted positive.
    for (let bin = this.bins; bin >= 0; bin--) {
      tp += this.positives[bin]!;
      fp += this.negatives[bin]!;
      if (tp === 0) continue;
      const precision = tp / (tp + fp);
      const recall = tp / totalPositives;
      const f = (2 * precision * recall) / (precision + recall);
      if (f > best.maxF) best = { maxF: f, threshold: bin / this.bins, precision, recall };
    }
    return best;
  }
}
