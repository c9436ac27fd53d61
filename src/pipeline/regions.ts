// Regions of interest: polygons in normalised coordinates rasterised once per mask size into
// pixel lists, then class fractions inside each region per frame (no allocation per frame).

export interface Region {
  name: string;
  polygon: Array<[number, number]>;
}

export interface RasterRegion {
  name: string;
  /** Indices of mask pixels whose centre lies inside the polygon. */
  pixels: Uint32Array;
}

export function rasterizeRegions(regions: readonly Region[], width: number, height: number): RasterRegion[] {
  return regions.map((region) => {
    const inside: number[] = [];
    const points = region.polygon.map(([x, y]) => [x * width, y * height] as const);
    for (let row = 0; row < height; row++) {
      const cy = row + 0.5;
      for (let col = 0; col < width; col++) {
        if (pointInPolygon(col + 0.5, cy, points)) inside.push(row * width + col);
      }
    }
    return { name: region.name, pixels: Uint32Array.from(inside) };
  });
}

/** Even-odd rule. */
function pointInPolygon(x: number, y: number, points: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Fractions of each class inside the region (sums to 1; all zero for an empty region). */
export function regionFractions(
  mask: Uint8Array,
  region: RasterRegion,
  numClasses: number,
  counts: Float64Array,
): Float64Array {
  counts.fill(0);
  const { pixels } = region;
  for (let i = 0; i < pixels.length; i++) {
    const id = mask[pixels[i]!]!;
    if (id < numClasses) counts[id]! += 1;
  }
  if (pixels.length > 0) for (let c = 0; c < numClasses; c++) counts[c]! /= pixels.length;
  return counts;
}
