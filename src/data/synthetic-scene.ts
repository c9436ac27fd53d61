// Procedural road-scene layout and background for the synthetic-road source: a ground plane in
// perspective (road, lane markings, kerbs, sidewalks, cast shadows), roadside buildings and
// vegetation against the sky, with a random colour palette per scene so no class has a fixed colour.

import { mixSeed, type Random } from './random.js';

export const SKY = 0;
export const ROAD = 1;
export const SIDEWALK = 2;
export const BACKGROUND = 3;
export const VEHICLE = 4;
export const PERSON = 5;

export type Rgb = [number, number, number];

/** Render target: `image` is a clamped view (writes round and saturate), `label` holds class ids. */
export interface Canvas {
  width: number;
  height: number;
  image: Uint8ClampedArray;
  label: Uint8Array;
}

/**
 * A flat ground plane seen by a pinhole camera: on the row `d` pixels below the horizon, lateral
 * position X metres (0 = road's left edge) sits at `vanishX + curve + d * (roadLeftSlope + X * slopePerMetre)`;
 * `1 / slopePerMetre` is the camera height in metres.
 */
export interface SceneGeometry {
  width: number;
  height: number;
  horizon: number;
  vanishX: number;
  curveShift: number;
  groundDepth: number;
  roadLeftSlope: number;
  slopePerMetre: number;
  roadWidthM: number;
  walkLeftM: number;
  walkRightM: number;
  lanes: number;
  focal: number;
}

export function curveAt(geometry: SceneGeometry, d: number): number {
  const t = 1 - Math.min(d / geometry.groundDepth, 1);
  return geometry.curveShift * t * t;
}

/** Image x of lateral position `metres` on the ground row `d` pixels below the horizon. */
export function groundX(geometry: SceneGeometry, d: number, metres: number): number {
  return (
    geometry.vanishX + curveAt(geometry, d) + d * (geometry.roadLeftSlope + metres * geometry.slopePerMetre)
  );
}

export function pixelsPerMetre(geometry: SceneGeometry, d: number): number {
  return d * geometry.slopePerMetre;
}

export function makeGeometry(random: Random, width: number, height: number): SceneGeometry {
  const horizon = Math.round(height * random.range(0.34, 0.5));
  const groundDepth = height - horizon;
  const vanishX = width * random.range(0.3, 0.7);
  const roadWidthM = random.range(6.5, 11);
  const bottomRoadPx = width * random.range(0.75, 1.5);
  const slopePerMetre = bottomRoadPx / groundDepth / roadWidthM;
  // Where the road's centre meets the bottom row, relative to the vanishing point (camera's lateral offset).
  const centreSlope = (random.range(-0.3, 0.3) * width) / groundDepth;
  const walkLeftM = random.chance(0.85) ? random.range(1.8, 5) : 0;
  const walkRightM = random.chance(0.85) || walkLeftM === 0 ? random.range(1.8, 5) : 0;
  return {
    width,
    height,
    horizon,
    vanishX,
    curveShift: random.chance(0.5) ? random.range(-0.25, 0.25) * width : 0,
    groundDepth,
    roadLeftSlope: centreSlope - (roadWidthM / 2) * slopePerMetre,
    slopePerMetre,
    roadWidthM,
    walkLeftM,
    walkRightM,
    lanes: random.int(2, 4),
    focal: width * random.range(0.8, 1.2),
  };
}

function hsv(h: number, s: number, v: number): Rgb {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table: Rgb[] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  const [r, g, b] = table[i % 6]!;
  return [r * 255, g * 255, b * 255];
}

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Half the time a plausible colour for the class, half the time any colour at all. */
function classColour(random: Random, plausible: () => Rgb): Rgb {
  if (random.chance(0.5)) return plausible();
  return hsv(random.next(), random.range(0.05, 0.85), random.range(0.15, 0.95));
}

export function shade(colour: Rgb, factor: number): Rgb {
  return [colour[0] * factor, colour[1] * factor, colour[2] * factor];
}

export interface Palette {
  skyTop: Rgb;
  skyHorizon: Rgb;
  cloud: Rgb;
  road: Rgb;
  marking: Rgb;
  sidewalk: Rgb;
  kerb: Rgb;
  facades: Rgb[];
}

/** A random palette whose neighbouring regions stay distinguishable (the boundary must be visible). */
export function makePalette(random: Random): Palette {
  for (let attempt = 0; ; attempt++) {
    const skyHorizon = classColour(random, () =>
      hsv(random.range(0.5, 0.66), random.range(0.05, 0.5), random.range(0.7, 1)),
    );
    const road = classColour(random, () =>
      hsv(random.next(), random.range(0, 0.15), random.range(0.2, 0.55)),
    );
    const sidewalk = classColour(random, () =>
      hsv(random.next(), random.range(0, 0.25), random.range(0.45, 0.85)),
    );
    const facades: Rgb[] = [];
    for (let i = 0; i < 4; i++) {
      facades.push(
        classColour(random, () =>
          random.chance(0.4)
            ? hsv(random.range(0.2, 0.4), random.range(0.3, 0.8), random.range(0.2, 0.6))
            : hsv(random.next(), random.range(0.05, 0.5), random.range(0.25, 0.8)),
        ),
      );
    }
    const separated =
      distance(road, sidewalk) > 60 &&
      facades.every(
        (f) => distance(f, road) > 55 && distance(f, sidewalk) > 55 && distance(f, skyHorizon) > 60,
      );
    if (separated || attempt > 200) {
      return {
        skyTop: shade(skyHorizon, random.range(0.6, 0.95)),
        skyHorizon,
        cloud: shade([255, 255, 255], random.range(0.8, 1)),
        road,
        marking: random.chance(0.75) ? [235, 235, 230] : [230, 200, 60],
        sidewalk,
        kerb: shade(sidewalk, random.chance(0.5) ? 1.25 : 0.7),
        facades,
      };
    }
  }
}

interface Facade {
  colour: Rgb;
  windowColour: Rgb;
  vegetation: boolean;
  x0: number;
  windowSpacing: number;
}

interface Cloud {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

/** Sky, roadside facades/vegetation and the ground plane with markings and cast shadows. */
export function renderBackground(
  canvas: Canvas,
  geometry: SceneGeometry,
  palette: Palette,
  random: Random,
  seed: number,
): void {
  const { width, height, image, label } = canvas;
  const { horizon } = geometry;
  // Per column: which facade block it belongs to and where its skyline is.
  const facades: Facade[] = [];
  const facadeOf = new Uint8Array(width);
  const skyline = new Float32Array(width);
  let x = 0;
  while (x < width && facades.length < 255) {
    const blockWidth = Math.max(4, width * random.range(0.05, 0.3));
    const vegetation = random.chance(0.35);
    const colour = random.pick(palette.facades);
    facades.push({
      colour,
      windowColour: shade(colour, random.chance(0.5) ? random.range(0.35, 0.6) : random.range(1.3, 1.6)),
      vegetation,
      x0: x,
      windowSpacing: Math.max(3, height * random.range(0.04, 0.1)),
    });
    const base = horizon * random.range(0.06, 0.25);
    const rise = (random.range(0.1, 1.2) * horizon) / (width / 2);
    const bumpAmp = vegetation ? horizon * random.range(0.05, 0.15) : 0;
    const bumpFreq = random.range(0.05, 0.15) * (64 / height);
    const end = Math.min(width, x + blockWidth);
    for (; x < end; x++) {
      const bump = bumpAmp * Math.abs(Math.sin(x * bumpFreq));
      skyline[x] = horizon - base - rise * Math.abs(x - geometry.vanishX) - bump;
      facadeOf[x] = facades.length - 1;
    }
  }
  for (; x < width; x++) {
    skyline[x] = skyline[x - 1] ?? horizon;
    facadeOf[x] = facades.length - 1;
  }

  const clouds: Cloud[] = [];
  for (let i = random.int(0, 3); i > 0; i--) {
    clouds.push({
      cx: random.range(0, width),
      cy: random.range(0, horizon * 0.7),
      rx: width * random.range(0.05, 0.2),
      ry: height * random.range(0.02, 0.08),
    });
  }

  const { roadWidthM, walkLeftM, walkRightM, lanes, focal } = geometry;
  const laneWidth = roadWidthM / lanes;
  const cameraHeight = 1 / geometry.slopePerMetre;
  const dashPeriod = random.range(6, 12);
  const dashDuty = random.range(0.25, 0.5);
  const dashPhase = random.next();
  const markingHalf = random.range(0.06, 0.1);
  const edgeLines = random.chance(0.7);
  const markingsShown = random.chance(0.9);
  const tileSize = random.range(0.6, 1.5);
  const shadowSide = random.int(-1, 1);
  const shadowEdge = random.range(-walkLeftM, roadWidthM * 0.7);
  const shadowFactor = random.range(0.45, 0.8);
  const cellShift = height >= 256 ? 3 : 2;
  // A 64x64 tile of coarse noise (leaf clumps, asphalt patches), cheaper than hashing every pixel.
  const noiseTile = new Uint8Array(64 * 64);
  for (let i = 0; i < noiseTile.length; i++) noiseTile[i] = mixSeed(seed, i, 0x7113) & 255;

  const [skyTopR, skyTopG, skyTopB] = palette.skyTop;
  const [skyHorR, skyHorG, skyHorB] = palette.skyHorizon;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const t = Math.min(1, y / Math.max(horizon, 1));
    const skyR = skyTopR + (skyHorR - skyTopR) * t;
    const skyG = skyTopG + (skyHorG - skyTopG) * t;
    const skyB = skyTopB + (skyHorB - skyTopB) * t;
    const ground = y >= horizon;
    const d = y + 0.5 - horizon;
    const ppm = ground ? d * geometry.slopePerMetre : 1;
    const roadLeftX = ground ? groundX(geometry, d, 0) : 0;
    const depth = ground ? (focal * cameraHeight) / d : 0;
    const dashOn = (((depth / dashPeriod + dashPhase) % 1) + 1) % 1 < dashDuty;
    const tileRow = ppm > 6 && ((depth / tileSize) % 1) * tileSize * ppm < 1;
    for (let x = 0; x < width; x++) {
      const i = row + x;
      const o = i * 3;
      if (y < skyline[x]!) {
        let r = skyR;
        let g = skyG;
        let b = skyB;
        for (const cloud of clouds) {
          const dx = (x - cloud.cx) / cloud.rx;
          const dy = (y - cloud.cy) / cloud.ry;
          if (dx * dx + dy * dy < 1) {
            r = (r + palette.cloud[0]) * 0.5;
            g = (g + palette.cloud[1]) * 0.5;
            b = (b + palette.cloud[2]) * 0.5;
          }
        }
        image[o] = r;
        image[o + 1] = g;
        image[o + 2] = b;
        label[i] = SKY;
        continue;
      }
      const metres = ground ? (x - roadLeftX) / ppm : 0;
      if (!ground || metres < -walkLeftM || metres >= roadWidthM + walkRightM) {
        const facade = facades[facadeOf[x]!]!;
        let colour = facade.colour;
        let factor = 1;
        if (facade.vegetation) {
          factor = 0.7 + noiseTile[(((y >> cellShift) & 63) << 6) | ((x >> cellShift) & 63)]! / 425;
        } else {
          const s = facade.windowSpacing;
          const wx = (x - facade.x0) % s;
          const wy = (y + 4096 * s) % (s * 1.3);
          if (wx > s * 0.3 && wy > s * 0.45 && y > skyline[x]! + s * 0.5) colour = facade.windowColour;
        }
        image[o] = colour[0] * factor;
        image[o + 1] = colour[1] * factor;
        image[o + 2] = colour[2] * factor;
        label[i] = BACKGROUND;
        continue;
      }
      let colour: Rgb;
      let factor = 1;
      if (metres < 0 || metres >= roadWidthM) {
        label[i] = SIDEWALK;
        const fromKerb = metres < 0 ? -metres : metres - roadWidthM;
        if (fromKerb < 0.2) colour = palette.kerb;
        else {
          colour = palette.sidewalk;
          if (tileRow || (ppm > 6 && ((fromKerb / tileSize) % 1) * tileSize * ppm < 1)) factor = 0.8;
        }
      } else {
        label[i] = ROAD;
        colour = palette.road;
        factor = 0.92 + noiseTile[(((y >> cellShift) & 63) << 6) | ((x >> cellShift) & 63)]! / 1600;
        if (markingsShown) {
          const nearestLane = Math.round(metres / laneWidth);
          const inner = nearestLane > 0 && nearestLane < lanes;
          const offLane = Math.abs(metres - nearestLane * laneWidth);
          if (
            (inner && dashOn && offLane < markingHalf) ||
            (edgeLines && Math.abs(metres - 0.3) < markingHalf)
          ) {
            colour = palette.marking;
          } else if (edgeLines && Math.abs(metres - (roadWidthM - 0.3)) < markingHalf) {
            colour = palette.marking;
          }
        }
      }
      if ((shadowSide < 0 && metres < shadowEdge) || (shadowSide > 0 && metres > shadowEdge)) {
        factor *= shadowFactor;
      }
      image[o] = colour[0] * factor;
      image[o + 1] = colour[1] * factor;
      image[o + 2] = colour[2] * factor;
    }
  }
}

/** Lighting (gain, tint, contrast, a horizontal light falloff) and sensor noise over the whole frame. */
export function applyLighting(canvas: Canvas, random: Random, seed: number): void {
  const { width, height, image } = canvas;
  const gain = random.range(0.65, 1.3);
  const contrast = random.range(0.75, 1.25);
  const tint = [random.range(0.85, 1.15), random.range(0.9, 1.1), random.range(0.85, 1.15)];
  const falloff = random.range(-0.35, 0.35);
  const noise = random.range(2, 14);
  // Per-column channel gains, computed once; the pixel loop then runs in memory order.
  const columnScale = new Float32Array(width * 3);
  for (let x = 0; x < width; x++) {
    const light = gain * (1 + falloff * (x / width - 0.5)) * contrast;
    for (let c = 0; c < 3; c++) columnScale[x * 3 + c] = light * tint[c]!;
  }
  const offset = 128 * (1 - contrast);
  const noiseScale = noise / 128;
  let state = mixSeed(seed, 0x5eed) | 1;
  const rowLength = width * 3;
  for (let y = 0; y < height; y++) {
    const row = y * rowLength;
    for (let k = 0; k < rowLength; k++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      image[row + k] = image[row + k]! * columnScale[k]! + offset + ((state & 255) - 127.5) * noiseScale;
    }
  }
}
