// The package version, read once from package.json (works from src/ under tsx and from dist/).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packageJsonPath = fileURLToPath(new URL('../../package.json', import.meta.url));
export const edgesegVersion: string = (
  JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { version: string }
).version;
/** Repository / install root (the folder holding package.json, models/, docs/). */
export const packageRoot: string = fileURLToPath(new URL('../../', import.meta.url));
