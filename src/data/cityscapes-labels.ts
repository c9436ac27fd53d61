// The official Cityscapes label table (cityscapesScripts helpers/labels.py: name, labelId, trainId,
// colour) and the two class tables built from it: the original project's 29 classes and the
// official 19 training classes.

import type { ClassInfo } from '../model/manifest.js';
import type { ColourRule } from './codec.js';
import { IGNORE_LABEL } from './types.js';

interface OfficialLabel {
  name: string;
  labelId: number;
  trainId: number;
  color: [number, number, number];
}

const NO_TRAIN = 255;

export const CITYSCAPES_LABELS: readonly OfficialLabel[] = [
  { name: 'unlabeled', labelId: 0, trainId: NO_TRAIN, color: [0, 0, 0] },
  { name: 'ego vehicle', labelId: 1, trainId: NO_TRAIN, color: [0, 0, 0] },
  { name: 'rectification border', labelId: 2, trainId: NO_TRAIN, color: [0, 0, 0] },
  { name: 'out of roi', labelId: 3, trainId: NO_TRAIN, color: [0, 0, 0] },
  { name: 'static', labelId: 4, trainId: NO_TRAIN, color: [0, 0, 0] },
  { name: 'dynamic', labelId: 5, trainId: NO_TRAIN, color: [111, 74, 0] },
  { name: 'ground', labelId: 6, trainId: NO_TRAIN, color: [81, 0, 81] },
  { name: 'road', labelId: 7, trainId: 0, color: [128, 64, 128] },
  { name: 'sidewalk', labelId: 8, trainId: 1, color: [244, 35, 232] },
  { name: 'parking', labelId: 9, trainId: NO_TRAIN, color: [250, 170, 160] },
  { name: 'rail track', labelId: 10, trainId: NO_TRAIN, color: [230, 150, 140] },
  { name: 'building', labelId: 11, trainId: 2, color: [70, 70, 70] },
  { name: 'wall', labelId: 12, trainId: 3, color: [102, 102, 156] },
  { name: 'fence', labelId: 13, trainId: 4, color: [190, 153, 153] },
  { name: 'guard rail', labelId: 14, trainId: NO_TRAIN, color: [180, 165, 180] },
  { name: 'bridge', labelId: 15, trainId: NO_TRAIN, color: [150, 100, 100] },
  { name: 'tunnel', labelId: 16, trainId: NO_TRAIN, color: [150, 120, 90] },
  { name: 'pole', labelId: 17, trainId: 5, color: [153, 153, 153] },
  { name: 'polegroup', labelId: 18, trainId: NO_TRAIN, color: [153, 153, 153] },
  { name: 'traffic light', labelId: 19, trainId: 6, color: [250, 170, 30] },
  { name: 'traffic sign', labelId: 20, trainId: 7, color: [220, 220, 0] },
  { name: 'vegetation', labelId: 21, trainId: 8, color: [107, 142, 35] },
  { name: 'terrain', labelId: 22, trainId: 9, color: [152, 251, 152] },
  { name: 'sky', labelId: 23, trainId: 10, color: [70, 130, 180] },
  { name: 'person', labelId: 24, trainId: 11, color: [220, 20, 60] },
  { name: 'rider', labelId: 25, trainId: 12, color: [255, 0, 0] },
  { name: 'car', labelId: 26, trainId: 13, color: [0, 0, 142] },
  { name: 'truck', labelId: 27, trainId: 14, color: [0, 0, 70] },
  { name: 'bus', labelId: 28, trainId: 15, color: [0, 60, 100] },
  { name: 'caravan', labelId: 29, trainId: NO_TRAIN, color: [0, 0, 90] },
  { name: 'trailer', labelId: 30, trainId: NO_TRAIN, color: [0, 0, 110] },
  { name: 'train', labelId: 31, trainId: 16, color: [0, 80, 100] },
  { name: 'motorcycle', labelId: 32, trainId: 17, color: [0, 0, 230] },
  { name: 'bicycle', labelId: 33, trainId: 18, color: [119, 11, 32] },
  // license plate has labelId -1 (never in label images); its colour equals car's.
];

/** The original project's 29 classes, in its order. */
export const ORIGINAL_29_NAMES = [
  'unlabeled',
  'dynamic',
  'ground',
  'road',
  'sidewalk',
  'parking',
  'rail track',
  'building',
  'wall',
  'fence',
  'guard rail',
  'bridge',
  'tunnel',
  'pole',
  'traffic light',
  'traffic sign',
  'vegetation',
  'terrain',
  'sky',
  'person',
  'rider',
  'car',
  'truck',
  'bus',
  'caravan',
  'trailer',
  'train',
  'motorcycle',
  'bicycle',
] as const;

/**
 * Labels outside the 29 that still occur in label images, and the class they join: the void
 * labels all share unlabeled's colour (0,0,0) in `_gtFine_color.png`, so they join unlabeled for
 * id-coded labels too (both encodings then agree); polegroup shares pole's colour and joins pole.
 */
const ORIGINAL_29_MERGES: Record<string, string> = {
  'ego vehicle': 'unlabeled',
  'rectification border': 'unlabeled',
  'out of roi': 'unlabeled',
  static: 'unlabeled',
  polegroup: 'pole',
};

export type CityscapesClassTable = 'original29' | 'official19';

export interface CityscapesTable {
  classes: ClassInfo[];
  extraColours: ColourRule[];
  labelIds: Array<[number, number]>;
}

function byName(name: string): OfficialLabel {
  const label = CITYSCAPES_LABELS.find((l) => l.name === name);
  if (!label) throw new Error(`no Cityscapes label named ${name}`);
  return label;
}

export function cityscapesTable(table: CityscapesClassTable): CityscapesTable {
  if (table === 'original29') {
    const classes: ClassInfo[] = ORIGINAL_29_NAMES.map((name, id) => ({
      id,
      name,
      color: [...byName(name).color] as [number, number, number],
      ignore: false,
    }));
    const classOf = (name: string): number =>
      ORIGINAL_29_NAMES.indexOf(name as (typeof ORIGINAL_29_NAMES)[number]);
    const labelIds: Array<[number, number]> = CITYSCAPES_LABELS.map((label) => [
      label.labelId,
      classOf(ORIGINAL_29_MERGES[label.name] ?? label.name),
    ]);
    return { classes, extraColours: [], labelIds };
  }
  const train = CITYSCAPES_LABELS.filter((l) => l.trainId !== NO_TRAIN).sort((a, b) => a.trainId - b.trainId);
  const classes: ClassInfo[] = train.map((l) => ({
    id: l.trainId,
    name: l.name,
    color: [...l.color],
    ignore: false,
  }));
  // Every other official colour is a known void region: ignored, not an error.
  const extraColours: ColourRule[] = CITYSCAPES_LABELS.filter((l) => l.trainId === NO_TRAIN).map((l) => ({
    color: l.color,
    classId: IGNORE_LABEL,
  }));
  const labelIds: Array<[number, number]> = CITYSCAPES_LABELS.map((l) => [
    l.labelId,
    l.trainId === NO_TRAIN ? IGNORE_LABEL : l.trainId,
  ]);
  return { classes, extraColours, labelIds };
}
