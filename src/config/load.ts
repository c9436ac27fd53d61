// Loading the daemon config: YAML file → environment overrides (secrets, state dir) → the remote
// changes accepted over MQTT and persisted under the state dir → validation with key-named errors.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, FileError } from '../system/errors.js';
import { writeFileAtomic } from '../system/fs.js';
import { type Config, ConfigSchema, SECRET_PATHS } from './schema.js';

export const REMOTE_CONFIG_FILE = 'remote-config.json';

export type ConfigPatch = Record<string, unknown>;

/** `a.b: message; c: message` from zod issues, keys dotted as in the YAML file. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.join('.');
      return key ? `${key}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function validateConfig(raw: unknown, origin: string): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    // The message names every key at fault; origin says where the values came from.
    throw new ConfigError('', `${origin}: ${describeIssues(result.error)}`, {
      hint: 'see docs/config.md for every option and its default',
    });
  }
  return result.data;
}

/** Objects merge key by key; arrays and scalars replace. */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) merged[key] = mergePatch(base[key], value);
  return merged;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Secrets and paths that come from the environment (systemd EnvironmentFile). */
export function environmentOverrides(env: NodeJS.ProcessEnv): ConfigPatch {
  const mqtt: Record<string, unknown> = {};
  const tls: Record<string, unknown> = {};
  if (env.EDGESEG_MQTT_USERNAME) mqtt.username = env.EDGESEG_MQTT_USERNAME;
  if (env.EDGESEG_MQTT_PASSWORD) mqtt.password = env.EDGESEG_MQTT_PASSWORD;
  if (env.EDGESEG_MQTT_TLS_CA) tls.ca = env.EDGESEG_MQTT_TLS_CA;
  if (env.EDGESEG_MQTT_TLS_CERT) tls.cert = env.EDGESEG_MQTT_TLS_CERT;
  if (env.EDGESEG_MQTT_TLS_KEY) tls.key = env.EDGESEG_MQTT_TLS_KEY;
  if (Object.keys(tls).length > 0) mqtt.tls = tls;
  const patch: ConfigPatch = {};
  if (Object.keys(mqtt).length > 0) patch.mqtt = mqtt;
  if (env.EDGESEG_STATE_DIR) patch.state_dir = env.EDGESEG_STATE_DIR;
  return patch;
}

export interface LoadedConfig {
  config: Config;
  /** The file's content with environment overrides, before remote changes. */
  base: ConfigPatch;
  /** Remote changes accepted earlier (empty when none). */
  remote: ConfigPatch;
  /** Why persisted remote changes were dropped, if they no longer validate. */
  remoteProblem?: string;
}

export async function readConfigFile(path: string): Promise<ConfigPatch> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FileError(path, 'cannot read the config file', {
      cause: error,
      hint: 'pass --config with a readable YAML file',
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new FileError(path, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isPlainObject(parsed))
    throw new FileError(path, 'expected a YAML mapping of options (device_id, source, model, mqtt, ...)');
  return parsed;
}

/** Loads a config from a parsed base (file + env) and the state dir's persisted remote changes. */
export async function loadConfig(base: ConfigPatch, origin: string): Promise<LoadedConfig> {
  const config = validateConfig(base, origin);
  const remotePath = join(config.state_dir, REMOTE_CONFIG_FILE);
  let remote: ConfigPatch = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(remotePath, 'utf8'));
    if (isPlainObject(parsed)) remote = parsed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      return { config, base, remote: {}, remoteProblem: `${remotePath}: ${(error as Error).message}` };
    }
  }
  if (Object.keys(remote).length === 0) return { config, base, remote };
  const merged = ConfigSchema.safeParse(mergePatch(base, remote));
  if (!merged.success) {
    // A remote change that no longer fits (e.g. the base file changed) must not stop the daemon.
    return { config, base, remote: {}, remoteProblem: `${remotePath}: ${describeIssues(merged.error)}` };
  }
  return { config: merged.data, base, remote };
}

export async function persistRemoteConfig(stateDir: string, remote: ConfigPatch): Promise<void> {
  await writeFileAtomic(
    join(stateDir, REMOTE_CONFIG_FILE),
    `${JSON.stringify(stripSecrets(remote), null, 2)}\n`,
  );
}

/** A deep copy without the secret fields (for the retained config topic and persisted patches). */
export function stripSecrets<T>(value: T): T {
  const copy = structuredClone(value) as unknown;
  for (const path of SECRET_PATHS) {
    let node = copy;
    for (const key of path.slice(0, -1)) node = isPlainObject(node) ? node[key] : undefined;
    if (isPlainObject(node)) delete node[path[path.length - 1]!];
  }
  return copy as T;
}
