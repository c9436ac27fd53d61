// Finds a data source by name (built-ins) or by path (a user's module exporting a factory).

import { createCityscapesSource } from './cityscapes.js';
import { createKittiSource } from './kitti.js';
import { loadPluginDataSource } from './plugin.js';
import { createSyntheticRoadSource } from './synthetic-road.js';
import type { DataSource, DataSourceFactory, DataSourceOptions } from './types.js';

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
