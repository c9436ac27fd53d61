// Comparing two models' predictions: the share of pixels whose argmax class agrees.

/** Share of pixels whose argmax class is the same in two NCHW logit tensors of `classes` channels. */
export function argmaxAgreement(a: Float32Array[], b: Float32Array[], classes: number): number {
  let same = 0;
  let total = 0;
  for (let n = 0; n < a.length; n++) {
    const x = a[n]!;
    const y = b[n]!;
    const pixels = x.length / classes;
    for (let p = 0; p < pixels; p++) {
      let bestX = 0;
      let bestY = 0;
      for (let c = 1; c < classes; c++) {
        if (x[c * pixels + p]! > x[bestX * pixels + p]!) bestX = c;
        if (y[c * pixels + p]! > y[bestY * pixels + p]!) bestY = c;
      }
      if (bestX === bestY) same++;
      total++;
    }
  }
  return same / total;
}
