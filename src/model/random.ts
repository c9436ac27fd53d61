// The project's one seeded PRNG (mulberry32; data/random's Random wraps it for scenes and shuffles)
// and fast random fills for weight initialisation. tf.randomNormal runs in JavaScript at about a
// million values a second, far too slow for VGG16's 134M parameters; this fills them in a second or two.

/** mulberry32: a small, fast 32-bit PRNG; good enough for weight initialisation, scenes and shuffles. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `target` with N(0, std²) samples (Box-Muller); with `truncate`, redraws beyond 2 std as tf does. */
export function fillNormal(
  target: Float32Array,
  std: number,
  random: () => number,
  truncate = false,
): Float32Array {
  for (let i = 0; i < target.length; i += 2) {
    let z0: number;
    let z1: number;
    do {
      const u = 1 - random();
      const v = random();
      const r = Math.sqrt(-2 * Math.log(u));
      z0 = r * Math.cos(2 * Math.PI * v);
      z1 = r * Math.sin(2 * Math.PI * v);
    } while (truncate && (Math.abs(z0) > 2 || Math.abs(z1) > 2));
    target[i] = z0 * std;
    if (i + 1 < target.length) target[i + 1] = z1 * std;
  }
  return target;
}

/** Derives a child seed from a seed and a label, so that each layer has its own stream. */
export function deriveSeed(seed: number, label: string): number {
  let hash = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
