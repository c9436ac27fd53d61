// The training settings' defaults, in one place: `edgeseg train` shows them as its flag defaults and
// the loop falls back on them. They are the original implementation's (docs/original-vs-paper.md).
// No TensorFlow.js import here, so that `edgeseg --help` does not load it.

export const TRAINING_DEFAULTS = {
  epochs: 10,
  batchSize: 20,
  learningRate: 1e-4,
  learningRateSchedule: 'constant',
  /** After fc6 and fc7 while training. */
  dropoutRate: 0.5,
  widthMultiplier: 1,
  head: 'fcn8s',
  seed: 0,
  /** TensorBoard image summaries every N epochs (and after the last one). */
  imageSummaryEvery: 5,
  previewCount: 3,
} as const;
