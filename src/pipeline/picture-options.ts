// The daemon's publish.filter_mode, publish.ignore_classes and overlay alpha as FramePictures
// options for the running model. Class names are checked against the model: at start a wrong name
// stops the daemon with the list of valid names; after a live change or a model switch the wrong
// names are dropped and reported, so a frame never fails over them.

import type { Config } from '../config/schema.js';
import type { ModelManifest } from '../model/manifest.js';
import { resolveClassNames } from '../segment/class-filter.js';
import type { PictureOptions } from '../segment/frame-pictures.js';
import { linearFilterProblem } from '../segment/score-upsample.js';
import { errorMessage } from '../system/errors.js';

export interface PictureOptionChecks {
  /** Throw on a class name the model does not have (at start); otherwise report and drop it. */
  strict: boolean;
  warn: (message: string) => void;
}

export function pictureOptionsFor(
  config: Config,
  manifest: ModelManifest,
  checks: PictureOptionChecks,
): PictureOptions {
  const { publish } = config;
  const key = 'publish.ignore_classes';
  let ignoredClassIds: number[];
  if (checks.strict) ignoredClassIds = resolveClassNames(publish.ignore_classes, manifest.classes, key);
  else {
    ignoredClassIds = [];
    for (const name of publish.ignore_classes) {
      try {
        ignoredClassIds.push(...resolveClassNames([name], manifest.classes, key));
      } catch (error) {
        checks.warn(`${errorMessage(error)}; not ignored`);
      }
    }
  }
  const problem = publish.filter_mode === 'linear' ? linearFilterProblem(manifest.output) : undefined;
  if (problem) checks.warn(`publish.filter_mode linear: ${problem}; using point`);
  return {
    filterMode: problem ? 'point' : publish.filter_mode,
    ignoredClassIds,
    alpha: publish.overlay.alpha,
  };
}
