// The training objective: per-pixel softmax cross-entropy over class ids, weighted per class, with
// IGNORE_LABEL pixels (and classes of weight 0) contributing nothing.

import { tf } from '../model/tf.js';

/**
 * Mean weighted cross-entropy: Σ w[y]·(−log softmax(logits)[y]) / Σ w[y] over labelled pixels.
 * `labels` are int32 class ids (N×H×W); ids ≥ numClasses (IGNORE_LABEL) one-hot to zeros, so they
 * drop out of both sums. Returns 0 for a batch without any weighted pixel.
 */
export function segmentationLoss(
  logits: tf.Tensor4D,
  labels: tf.Tensor3D,
  classWeights: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const { total, weight } = weightedLossTerms(logits, labels, classWeights);
    return tf.div(total, tf.maximum(weight, 1e-6)) as tf.Scalar;
  });
}

/** Σ w[y]·(−log softmax(logits)[y]) and Σ w[y] over labelled pixels: the loss's numerator and denominator. */
export function weightedLossTerms(
  logits: tf.Tensor4D,
  labels: tf.Tensor3D,
  classWeights: tf.Tensor1D,
): { total: tf.Scalar; weight: tf.Scalar } {
  return tf.tidy(() => {
    const numClasses = logits.shape[3];
    const oneHot = tf.cast(tf.oneHot(labels, numClasses), 'float32');
    const pixelWeights = tf.sum(tf.mul(oneHot, classWeights), -1);
    const logProbabilities = tf.logSoftmax(logits);
    const pixelLoss = tf.neg(tf.sum(tf.mul(oneHot, logProbabilities), -1));
    return {
      total: tf.sum(tf.mul(pixelLoss, pixelWeights)) as tf.Scalar,
      weight: tf.sum(pixelWeights) as tf.Scalar,
    };
  });
}
