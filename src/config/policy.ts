// What a remote peer may change with config/set: an allowlist. Operational keys (fps, publish,
// regions, model by name, log.level) always; keys that decide what runs, where data goes or whom
// the device trusts only when the local config file unlocks them by name; secrets and
// remote_config itself never. Which key is which is declared beside each field (schema-*.ts,
// key-meta.ts); docs/mqtt-api.md ("Remote changes") gives the reasoning.

import { join } from 'node:path';
import { ConfigError } from '../system/errors.js';
import { isPlainObject } from './merge.js';
import {
  type Config,
  LOCAL_ONLY_KEYS,
  LOCAL_SECRET_PATHS,
  LOCK_REASONS,
  LOCKABLE_KEYS,
  OPERATIONAL_KEYS,
  OPERATIONAL_PATHS,
} from './schema.js';

export type ConfigPatch = Record<string, unknown>;

/** config/set requests that may wait behind the one being applied; more are answered "busy". */
export const MAX_WAITING_CONFIG_CHANGES = 16;

/** A model given over MQTT: a folder name inside models_dir, never a path. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface RemotePolicy {
  /** remote_config.unlock from the local file. */
  unlock: readonly string[];
  /** The local config file, named in the hint a locked key gets. */
  configFile: string;
}

/** Throws a ConfigError naming the first key of `patch` that config/set may not change. */
export function checkRemotePatch(patch: ConfigPatch, policy: RemotePolicy): void {
  for (const secret of LOCAL_SECRET_PATHS) {
    if (hasPath(patch, secret))
      throw new ConfigError(
        secret.join('.'),
        'credentials and key files are not taken over MQTT; set them in the environment file (/etc/edgeseg/edgeseg.env, see docs/config.md)',
      );
  }
  for (const [key, value] of Object.entries(patch)) {
    if (LOCAL_ONLY_KEYS.includes(key))
      throw new ConfigError(key, `only the local config file (${policy.configFile}) can change this`);
    if (OPERATIONAL_KEYS.includes(key)) continue;
    if (!LOCKABLE_KEYS.includes(key)) continue; // not an option at all: the schema names it
    if (policy.unlock.includes(key)) continue;
    if (isPlainObject(value) && Object.keys(value).every((sub) => isOperationalPath([key, sub]))) continue;
    const reason = LOCK_REASONS[key] ?? 'it decides what runs on the device or where its data goes';
    throw new ConfigError(key, `locked for remote changes: ${reason}`, {
      hint: `to let config/set change it, add it to remote_config.unlock in ${policy.configFile}; see "Remote changes" in docs/mqtt-api.md`,
    });
  }
}

function isOperationalPath(path: readonly string[]): boolean {
  return OPERATIONAL_PATHS.some(
    (allowed) => allowed.length === path.length && allowed.every((part, i) => part === path[i]),
  );
}

function hasPath(value: unknown, path: readonly string[]): boolean {
  let node = value;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}

/** models_dir, or the folder that holds the local config's model. */
export function modelsDirOf(config: Pick<Config, 'model' | 'models_dir'>): string {
  return config.models_dir ?? join(config.model, '..');
}

/**
 * The patch as the schema sees it: a model name becomes its folder inside `modelsDir`. Persisted
 * patches keep the name, so moving models_dir moves every remote model with it.
 */
export function resolveRemotePatch(patch: ConfigPatch, modelsDir: string): ConfigPatch {
  if (!Object.hasOwn(patch, 'model')) return patch;
  const name = patch.model;
  if (typeof name !== 'string' || !MODEL_NAME.test(name) || name === '.' || name === '..')
    throw new ConfigError(
      'model',
      `over MQTT give the name of a model folder inside ${modelsDir} (letters, digits, . _ -), e.g. "road-v2"`,
    );
  return { ...patch, model: join(modelsDir, name) };
}
