// Vehicles and pedestrians for synthetic-road scenes: placed on the ground plane at a consistent
// perspective scale, big enough to be learnable at small resolutions, drawn far to near so nearer
// objects occlude farther ones, each with a contact shadow on the ground.

import type { Random } from './random.js';
import {
  type Canvas,
  groundX,
  type Palette,
  PERSON,
  pixelsPerMetre,
  type Rgb,
  ROAD,
  type SceneGeometry,
  SIDEWALK,
  shade,
  VEHICLE,
} from './synthetic-scene.js';

function fillSpan(canvas: Canvas, y: number, x0: number, x1: number, colour: Rgb, classId: number): void {
  const row = Math.round(y);
  if (row < 0 || row >= canvas.height) return;
  const from = Math.max(0, Math.round(x0));
  const to = Math.min(canvas.width, Math.round(x1));
  const { image, label } = canvas;
  for (let x = from; x < to; x++) {
    const i = row * canvas.width + x;
    image[i * 3] = colour[0];
    image[i * 3 + 1] = colour[1];
    image[i * 3 + 2] = colour[2];
    label[i] = classId;
  }
}

function fillRect(c: Canvas, x0: number, y0: number, x1: number, y1: number, colour: Rgb, id: number): void {
  for (let y = Math.max(0, Math.round(y0)); y < Math.min(c.height, Math.round(y1)); y++) {
    fillSpan(c, y, x0, x1, colour, id);
  }
}

/** Trapezoid between rows y0..y1 whose left/right edges go linearly from (l0, r0) to (l1, r1). */
function fillTrapezoid(
  c: Canvas,
  y0: number,
  y1: number,
  edges: [l0: number, r0: number, l1: number, r1: number],
  colour: Rgb,
  id: number,
): void {
  const [l0, r0, l1, r1] = edges;
  const span = Math.max(1, y1 - y0);
  for (let y = Math.max(0, Math.round(y0)); y < Math.min(c.height, Math.round(y1)); y++) {
    const t = (y - y0) / span;
    fillSpan(c, y, l0 + (l1 - l0) * t, r0 + (r1 - r0) * t, colour, id);
  }
}

function fillEllipse(
  c: Canvas,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  colour: Rgb,
  id: number,
): void {
  for (let y = Math.max(0, Math.round(cy - ry)); y < Math.min(c.height, Math.round(cy + ry)); y++) {
    const dy = (y + 0.5 - cy) / ry;
    if (dy * dy >= 1) continue;
    const half = rx * Math.sqrt(1 - dy * dy);
    fillSpan(c, y, cx - half, cx + half, colour, id);
  }
}

/** Darkens ground pixels (road, sidewalk) inside an ellipse: a contact shadow that keeps its labels. */
function groundShadow(c: Canvas, cx: number, cy: number, rx: number, ry: number, factor: number): void {
  for (let y = Math.max(0, Math.round(cy - ry)); y < Math.min(c.height, Math.round(cy + ry)); y++) {
    const dy = (y + 0.5 - cy) / ry;
    const half = rx * Math.sqrt(Math.max(0, 1 - dy * dy));
    for (let x = Math.max(0, Math.round(cx - half)); x < Math.min(c.width, Math.round(cx + half)); x++) {
      const i = y * c.width + x;
      if (c.label[i] !== ROAD && c.label[i] !== SIDEWALK) continue;
      c.image[i * 3] = c.image[i * 3]! * factor;
      c.image[i * 3 + 1] = c.image[i * 3 + 1]! * factor;
      c.image[i * 3 + 2] = c.image[i * 3 + 2]! * factor;
    }
  }
}

function anyColour(random: Random, avoid: Rgb): Rgb {
  for (let attempt = 0; attempt < 20; attempt++) {
    const colour: Rgb = [random.range(10, 245), random.range(10, 245), random.range(10, 245)];
    if (Math.hypot(colour[0] - avoid[0], colour[1] - avoid[1], colour[2] - avoid[2]) > 70) return colour;
  }
  return [255 - avoid[0], 255 - avoid[1], 255 - avoid[2]];
}

interface Placement {
  d: number;
  draw: (c: Canvas, cx: number, bottom: number, ppm: number) => void;
  metres: number;
}

function vehicle(random: Random, palette: Palette): Placement['draw'] {
  const kind = random.pick(['car', 'car', 'car', 'van', 'truck'] as const);
  const widthM = kind === 'truck' ? random.range(2.3, 2.5) : random.range(1.7, 2);
  const heightM = widthM * (kind === 'car' ? random.range(0.72, 0.85) : random.range(1.05, 1.4));
  const body = anyColour(random, palette.road);
  const glass = shade(anyColour(random, body), 0.35);
  const tyre = shade(body, random.range(0.1, 0.25));
  const light: Rgb = random.chance(0.8) ? [220, 30, 25] : [240, 150, 30];
  return (c, cx, bottom, ppm) => {
    const w = widthM * ppm;
    const h = heightM * ppm;
    const left = cx - w / 2;
    groundShadow(c, cx, bottom, w * 0.62, w * 0.07 + 1, 0.45);
    fillRect(c, left + w * 0.02, bottom - h * 0.22, left + w * 0.24, bottom, tyre, VEHICLE);
    fillRect(c, left + w * 0.76, bottom - h * 0.22, left + w * 0.98, bottom, tyre, VEHICLE);
    const roofline = kind === 'truck' ? 1 : 0.6;
    fillRect(c, left, bottom - h * roofline, left + w, bottom - h * 0.13, body, VEHICLE);
    fillRect(c, left, bottom - h * 0.22, left + w, bottom - h * 0.13, shade(body, 0.6), VEHICLE);
    if (kind !== 'truck') {
      const topInset = kind === 'car' ? w * 0.15 : w * 0.04;
      const edges: [number, number, number, number] = [
        left + topInset,
        left + w - topInset,
        left + w * 0.03,
        left + w * 0.97,
      ];
      fillTrapezoid(c, bottom - h, bottom - h * 0.6, edges, body, VEHICLE);
      const glassEdges: [number, number, number, number] = [
        edges[0] + w * 0.06,
        edges[1] - w * 0.06,
        edges[2] + w * 0.08,
        edges[3] - w * 0.08,
      ];
      fillTrapezoid(c, bottom - h * 0.93, bottom - h * 0.64, glassEdges, glass, VEHICLE);
    }
    fillRect(c, left + w * 0.04, bottom - h * 0.55, left + w * 0.16, bottom - h * 0.45, light, VEHICLE);
    fillRect(c, left + w * 0.84, bottom - h * 0.55, left + w * 0.96, bottom - h * 0.45, light, VEHICLE);
    fillRect(c, cx - w * 0.1, bottom - h * 0.42, cx + w * 0.1, bottom - h * 0.31, [225, 225, 215], VEHICLE);
  };
}

function pedestrian(random: Random, palette: Palette): Placement['draw'] {
  const heightM = random.range(1.5, 1.95);
  const shirt = anyColour(random, palette.sidewalk);
  const trousers = anyColour(random, palette.sidewalk);
  const skin = shade([225, 180, 150], random.range(0.35, 1.05));
  const hair = shade(skin, random.range(0.2, 0.5));
  const stride = random.range(0, 0.12);
  const armSwing = random.range(-0.06, 0.06);
  const bulk = random.range(0.9, 1.25);
  return (c, cx, bottom, ppm) => {
    const h = heightM * ppm;
    const hip = bottom - h * 0.48;
    groundShadow(c, cx, bottom, h * 0.25, h * 0.04 + 1, 0.5);
    for (let y = Math.round(hip); y < Math.round(bottom); y++) {
      const t = (y - hip) / (bottom - hip);
      const spread = h * (0.05 + stride * t);
      fillSpan(c, y, cx - spread - h * 0.06 * bulk, cx - spread + h * 0.05 * bulk, trousers, PERSON);
      fillSpan(c, y, cx + spread - h * 0.05 * bulk, cx + spread + h * 0.06 * bulk, trousers, PERSON);
    }
    const shoulder = bottom - h * 0.82;
    fillRect(c, cx - h * 0.14 * bulk, shoulder, cx + h * 0.14 * bulk, hip + h * 0.03, shirt, PERSON);
    for (let y = Math.round(shoulder); y < Math.round(bottom - h * 0.5); y++) {
      const t = (y - shoulder) / (h * 0.32);
      const swing = h * armSwing * t;
      fillSpan(c, y, cx - h * 0.2 * bulk - swing, cx - h * 0.13 * bulk - swing, shirt, PERSON);
      fillSpan(c, y, cx + h * 0.13 * bulk + swing, cx + h * 0.2 * bulk + swing, shirt, PERSON);
    }
    fillRect(c, cx - h * 0.03, bottom - h * 0.86, cx + h * 0.03, shoulder + 1, skin, PERSON);
    fillEllipse(c, cx, bottom - h * 0.92, h * 0.065, h * 0.08, skin, PERSON);
    fillEllipse(c, cx, bottom - h * 0.95, h * 0.068, h * 0.055, hair, PERSON);
  };
}

/**
 * Places 0-4 vehicles on lanes or parked at the kerb (at least a quarter of the image height wide)
 * and 1-5 pedestrians on the sidewalks, now and then crossing (at least 30 % of the image height
 * tall), and draws them far to near.
 */
export function renderObjects(
  canvas: Canvas,
  geometry: SceneGeometry,
  palette: Palette,
  random: Random,
): void {
  const minSize = canvas.height * 0.25;
  const maxD = geometry.groundDepth * 1.08;
  const placements: Placement[] = [];
  const laneWidth = geometry.roadWidthM / geometry.lanes;
  for (let n = random.int(0, 4); n > 0; n--) {
    const minD = Math.max(minSize / (1.8 * geometry.slopePerMetre), geometry.groundDepth * 0.08);
    if (minD >= maxD) break;
    const metres = random.chance(0.25)
      ? random.pick([1.1, geometry.roadWidthM - 1.1])
      : (random.int(0, geometry.lanes - 1) + 0.5) * laneWidth + random.range(-0.3, 0.3);
    placements.push({ d: random.range(minD, maxD), metres, draw: vehicle(random, palette) });
  }
  // People are small: more of them, and a larger minimum, keep the class learnable.
  for (let n = random.int(1, 5); n > 0; n--) {
    const minD = Math.max((minSize * 1.2) / (1.7 * geometry.slopePerMetre), geometry.groundDepth * 0.08);
    if (minD >= maxD) break;
    let metres: number;
    if (random.chance(0.15) || (geometry.walkLeftM === 0 && geometry.walkRightM === 0)) {
      metres = random.range(0.5, geometry.roadWidthM - 0.5);
    } else if (geometry.walkLeftM > 0 && (geometry.walkRightM === 0 || random.chance(0.5))) {
      metres = -random.range(0.4, Math.max(0.5, geometry.walkLeftM - 0.4));
    } else {
      metres = geometry.roadWidthM + random.range(0.4, Math.max(0.5, geometry.walkRightM - 0.4));
    }
    placements.push({ d: random.range(minD, maxD), metres, draw: pedestrian(random, palette) });
  }
  placements.sort((a, b) => a.d - b.d);
  for (const placement of placements) {
    const bottom = geometry.horizon + placement.d;
    placement.draw(
      canvas,
      groundX(geometry, placement.d, placement.metres),
      bottom,
      pixelsPerMetre(geometry, placement.d),
    );
  }
}
