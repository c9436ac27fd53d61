// Activation ranges from calibration statistics (min-max, percentile, entropy/KL) and the 8-bit
// quantisation parameters (scale, zero point) for a range. Pure functions over histograms.

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export type ActivationType = 'uint8' | 'int8';

/**
 * What calibration saw of one tensor over all images: its extremes and a histogram of its values
 * over [low, high] = [min(min, 0), max(max, 0)] (zero is always inside: it must be exact).
 */
export interface TensorStats {
  min: number;
  max: number;
  low: number;
  high: number;
  /** Counts per bin; bin i covers [low + i*w, low + (i+1)*w), w = (high - low) / bins. */
  histogram: Float64Array;
}

export interface Range {
  low: number;
  high: number;
}

export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

export interface RangeOptions {
  /** Share of values kept inside the range by the percentile method, in percent (default 99.99). */
  percentile?: number;
}

export const DEFAULT_PERCENTILE = 99.99;

const KL_FLOOR = 1e-4;

function binWidth(stats: TensorStats): number {
  return (stats.high - stats.low) / stats.histogram.length;
}

/** The value below which `fraction` of the histogram's mass lies (the upper edge of that bin). */
function quantile(stats: TensorStats, fraction: number): number {
  const { histogram } = stats;
  let total = 0;
  for (const count of histogram) total += count;
  // Tolerate the float error in fraction * total (0.999 * 9000 is 8991.000000000002).
  const target = fraction * total * (1 - 1e-12);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= target) return stats.low + (i + 1) * binWidth(stats);
  }
  return stats.high;
}

/**
 * The clipping threshold t (over |x|) that minimises the KL divergence between the histogram of
 * |x| clipped at t and the same histogram quantised to `levels` steps (TensorRT's entropy
 * calibration). `magnitudes` is a histogram of |x| over [0, top].
 */
export function entropyThreshold(magnitudes: Float64Array, top: number, levels: number): number {
  const bins = magnitudes.length;
  if (bins <= levels) return top;
  let suffix = 0;
  for (let i = levels; i < bins; i++) suffix += magnitudes[i]!;
  let bestBins = bins;
  let bestDivergence = Number.POSITIVE_INFINITY;
  const reference = new Float64Array(bins);
  const candidate = new Float64Array(bins);
  for (let i = levels; i <= bins; i++) {
    // Reference: the first i bins, everything clipped above them piled into the last one.
    for (let k = 0; k < i; k++) reference[k] = magnitudes[k]!;
    reference[i - 1]! += suffix;
    if (i < bins) suffix -= magnitudes[i]!;
    // Candidate: the same i bins, unclipped, merged into `levels` steps, each step's mass spread
    // back evenly over its occupied bins. It cannot represent the clipped mass: that is the cost.
    let candidateSum = 0;
    for (let step = 0; step < levels; step++) {
      const start = Math.floor((step * i) / levels);
      const end = step === levels - 1 ? i : Math.floor(((step + 1) * i) / levels);
      let mass = 0;
      let occupied = 0;
      for (let k = start; k < end; k++) {
        mass += magnitudes[k]!;
        if (magnitudes[k]! > 0) occupied++;
      }
      for (let k = start; k < end; k++) candidate[k] = magnitudes[k]! > 0 ? mass / occupied : 0;
      candidateSum += mass;
    }
    let referenceSum = 0;
    for (let k = 0; k < i; k++) referenceSum += reference[k]!;
    if (referenceSum === 0 || candidateSum === 0) continue;
    let divergence = 0;
    for (let k = 0; k < i; k++) {
      const p = reference[k]! / referenceSum;
      if (p === 0) continue;
      // Mass clipped onto a bin the unclipped histogram leaves empty has no candidate counterpart;
      // a small floor (as MXNet's smoothing) makes that costly instead of infinitely so, which
      // would otherwise rule out every threshold in a gap below a lone outlier.
      const q = Math.max(candidate[k]! / candidateSum, KL_FLOOR);
      divergence += p * Math.log(p / q);
    }
    if (divergence < bestDivergence) {
      bestDivergence = divergence;
      bestBins = i;
    }
  }
  return (bestBins / bins) * top;
}

/** Folds a histogram over [low, high] into one of |x| over [0, max(|low|, |high|)]. */
function magnitudeHistogram(stats: TensorStats): { magnitudes: Float64Array; top: number } {
  const bins = stats.histogram.length;
  const top = Math.max(-stats.low, stats.high);
  const magnitudes = new Float64Array(bins);
  if (top === 0) return { magnitudes, top };
  const width = binWidth(stats);
  for (let i = 0; i < bins; i++) {
    const count = stats.histogram[i]!;
    if (count === 0) continue;
    const centre = Math.abs(stats.low + (i + 0.5) * width);
    magnitudes[Math.min(bins - 1, Math.floor((centre / top) * bins))]! += count;
  }
  return { magnitudes, top };
}

/** The range a method keeps for one tensor; zero always lies inside it. */
export function activationRange(
  stats: TensorStats,
  method: CalibrationMethod,
  type: ActivationType,
  options: RangeOptions = {},
): Range {
  let range: Range;
  if (method === 'minmax') {
    range = { low: stats.min, high: stats.max };
  } else if (method === 'percentile') {
    const keep = (options.percentile ?? DEFAULT_PERCENTILE) / 100;
    const high = quantile(stats, keep);
    const low = stats.min < 0 ? quantile(stats, 1 - keep) - binWidth(stats) : stats.min;
    range = { low: Math.max(low, stats.min), high: Math.min(high, stats.max) };
  } else {
    const oneSided = stats.min >= 0;
    // Steps available to the range: a uint8 range starting at zero has 255, a signed one half of them.
    const levels = oneSided && type === 'uint8' ? 255 : 127;
    const { magnitudes, top } = magnitudeHistogram(stats);
    const threshold = entropyThreshold(magnitudes, top, levels);
    range = { low: Math.max(stats.min, -threshold), high: Math.min(stats.max, threshold) };
  }
  return { low: Math.min(range.low, 0), high: Math.max(range.high, 0) };
}

/**
 * Scale and zero point for a range: uint8 is asymmetric (zero point in 0..255, so a range starting
 * at 0 gets zero point 0 and makes a preceding Relu redundant); int8 is symmetric with zero point
 * 0 (what TensorRT requires). A range of only zero gets scale 1 (any positive scale is exact).
 */
export function activationParams(range: Range, type: ActivationType): QuantParams {
  const low = Math.min(range.low, 0);
  const high = Math.max(range.high, 0);
  if (type === 'int8') {
    const bound = Math.max(-low, high);
    return { scale: bound > 0 ? bound / 127 : 1, zeroPoint: 0 };
  }
  if (high === low) return { scale: 1, zeroPoint: 0 };
  const scale = (high - low) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-low / scale)));
  return { scale, zeroPoint };
}
