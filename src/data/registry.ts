// Finds a data source by name (built-ins) or by path (a user's module exporting a factory).

import type { ClassInfo } from '../model/manifest.js';
import { cityscapesCodec, createCityscapesSource, scanCityscapes } from './cityscapes.js';
import { cityscapesTable } from './cityscapes-labels.js';
import type { LabelCodec } from './codec.js';
import { createKittiSource, KITTI_CLASSES, kittiCodec, scanKitti } from './kitti.js';
import { choiceOption } from './options.js';
import { loadPluginDataSource } from './plugin.js';
import { createSyntheticRoadSource } from './synthetic-road.js';
import type { DataSource, DataSourceFactory, DataSourceOptions, DatasetScan } from './types.js';

export const BUILT_IN_DATA_SOURCES: Record<string, DataSourceFactory> = {
  kitti: createKittiSource,
  cityscapes: createCityscapesSource,
  'synthetic-road': createSyntheticRoadSource,
};

export function isBuiltInDataSource(name: string): boolean {
  return Object.hasOwn(BUILT_IN_DATA_SOURCES, name);
}

/** `nameOrPath`: 'kitti', 'cityscapes', 'synthetic-road', or a path to a user module (see docs/data-sources.md). */
export async function createDataSource(
  nameOrPath: string,
  options: DataSourceOptions = {},
): Promise<DataSource> {
  const builtIn = isBuiltInDataSource(nameOrPath) ? BUILT_IN_DATA_SOURCES[nameOrPath] : undefined;
  if (builtIn) return await builtIn(options);
  return await loadPluginDataSource(nameOrPath, options);
}

/** What the checker needs to walk a built-in file source's directory, even a broken one. */
export interface FileSourceLayout {
  classes: readonly ClassInfo[];
  codec: LabelCodec;
  scan(dataDir: string): Promise<DatasetScan>;
}

/** The layout of a built-in file source (kitti, cityscapes), or undefined for other sources. */
export function fileSourceLayout(
  name: string,
  options: DataSourceOptions = {},
): FileSourceLayout | undefined {
  if (name === 'kitti') {
    const kittiVoid = choiceOption(options, 'kittiVoid', ['ignore', 'background'] as const, 'ignore');
    return { classes: KITTI_CLASSES, codec: kittiCodec(kittiVoid), scan: scanKitti };
  }
  if (name === 'cityscapes') {
    const table = choiceOption(options, 'classTable', ['original29', 'official19'] as const, 'original29');
    const format = choiceOption(options, 'labelFormat', ['auto', 'color', 'labelIds'] as const, 'auto');
    return {
      classes: cityscapesTable(table).classes,
      codec: cityscapesCodec(table),
      scan: (dataDir) => scanCityscapes(dataDir, format),
    };
  }
  return undefined;
}
