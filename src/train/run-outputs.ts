// What a training run leaves besides its checkpoints: the best checkpoint exported to RUNDIR/model
// with the run's record in its manifest (`training`), and the HTML report at RUNDIR/report.html.

import { basename, join, resolve } from 'node:path';
import type { DataSource } from '../data/types.js';
import { exportModel } from '../export/export.js';
import type { ModelManifest } from '../model/manifest.js';
import { writeFileAtomic } from '../system/fs.js';
import { edgesegVersion } from '../system/version.js';
import { checkpointDir, readBestPointer, readLatestPointer, type TrainingState } from './checkpoints.js';
import type { EncodedPreview } from './previews.js';
import { renderTrainingReport } from './report-html.js';

export interface FinishedRun {
  runDir: string;
  source: Pick<DataSource, 'name' | 'classes'>;
  state: TrainingState;
  /** Previews of the last image-summary epoch. */
  previews: EncodedPreview[];
  /** The TensorFlow.js backend that trained. */
  backend: string;
  /** The command line that started the run. */
  command: string;
  /** This process's command line when it resumed the run. */
  resumedWith?: string;
}

/** What the manifest records beyond the run's state: how the exported model was made. */
export interface TrainingDescription {
  head: string;
  widthMultiplier: number;
  learningRate: number;
  batchSize: number;
  dropoutRate: number;
  /** Held-out split and labelling options, so that `edgeseg eval` measures the same split. */
  dataSourceOptions: Record<string, string | number>;
}

/** The manifest's `training` record for a model exported from `run`. */
export function trainingRecord(
  run: FinishedRun,
  description: TrainingDescription,
): NonNullable<ModelManifest['training']> {
  const { state } = run;
  const best = state.best;
  const bestMetrics = best ? state.history.find((h) => h.epoch === best.epoch) : undefined;
  const { initFrom } = state.settings;
  return {
    dataSource: run.source.name,
    epochs: state.epoch,
    validationMIoU: best?.mIoU,
    validationPixelAccuracy: bestMetrics?.pixelAccuracy,
    command: run.command,
    ...(run.resumedWith ? { resumedWith: run.resumedWith } : {}),
    finishedAt: new Date().toISOString(),
    edgesegVersion,
    bestEpoch: best?.epoch,
    learningRate: description.learningRate,
    batchSize: description.batchSize,
    seed: state.seed,
    dropoutRate: description.dropoutRate,
    tfBackend: run.backend,
    ...(typeof initFrom === 'string' ? { initFrom } : {}),
    ...(Object.keys(description.dataSourceOptions).length > 0
      ? { dataSourceOptions: description.dataSourceOptions }
      : {}),
  };
}

/**
 * Exports the best checkpoint (the latest if none is marked best) to RUNDIR/model; returns the
 * folder, or null when no epoch finished.
 */
export async function exportBestCheckpoint(
  run: FinishedRun,
  description: TrainingDescription,
  log: (line: string) => void,
): Promise<string | null> {
  const best = run.state.best;
  if (!best) return null;
  const pointer = (await readBestPointer(run.runDir)) ?? (await readLatestPointer(run.runDir));
  if (!pointer) return null;
  const modelDir = join(run.runDir, 'model');
  const manifest = await exportModel(checkpointDir(run.runDir, pointer.checkpoint), modelDir, {
    // The run folder in the name: a model trained on synthetic-road is not the bundled demo model.
    name: `${run.source.name}-fcn8s-${basename(resolve(run.runDir))}`,
    description: `FCN-8s (${description.head} head, width ${description.widthMultiplier}) trained on ${run.source.name}`,
    training: trainingRecord(run, description),
  });
  log(`exported epoch ${best.epoch} (mIoU ${best.mIoU.toFixed(4)}) to ${modelDir} (${manifest.name})`);
  return modelDir;
}

/** Writes RUNDIR/report.html (curves, per-class IoU, previews); returns its path. */
export async function writeTrainingReport(run: FinishedRun): Promise<string> {
  const { state } = run;
  const reportPath = join(run.runDir, 'report.html');
  await writeFileAtomic(
    reportPath,
    renderTrainingReport({
      title: `edgeseg training report: ${run.source.name}`,
      dataSource: run.source.name,
      command: run.command,
      backend: run.backend,
      classes: run.source.classes,
      history: state.history,
      best: state.best ? { epoch: state.best.epoch, mIoU: state.best.mIoU } : null,
      previews: run.previews,
      settings: state.settings,
      finishedAt: new Date().toISOString(),
    }),
  );
  return reportPath;
}
