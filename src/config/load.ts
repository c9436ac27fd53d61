// Loading the daemon config: YAML file → environment overrides (secrets, state dir) → the remote
// changes accepted over MQTT and persisted under the state dir → validation with key-named errors.
// A persisted remote change that no longer fits (invalid, or locked by the local file since) is set
// aside, never fatal: the device starts from its local file.

import { parse as parseYaml } from 'yaml';
import { readRegularFile, UnreadableFileShape } from '../system/bounded-read.js';
import { ConfigError, errorMessage, FileError } from '../system/errors.js';
import { redactUrlCredentials } from '../system/redact.js';
import { describeIssues } from './issues.js';
import { isPlainObject, mergePatch } from './merge.js';
import { type ConfigPatch, checkRemotePatch, modelsDirOf, resolveRemotePatch } from './policy.js';
import { type RejectedRemoteConfig, RemoteConfigStore } from './remote-store.js';
import { type Config, ConfigSchema, ENVIRONMENT_KEYS, SECRET_PATHS } from './schema.js';

export type { ConfigPatch };
export { describeIssues, isPlainObject, mergePatch };

/** Largest config file read (a real one is a few kilobytes). */
const MAX_CONFIG_FILE_BYTES = 1_048_576;

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

/** Secrets and paths that come from the environment (systemd EnvironmentFile); see ENVIRONMENT_KEYS. */
export function environmentOverrides(env: NodeJS.ProcessEnv): ConfigPatch {
  const patch: ConfigPatch = {};
  for (const { env: name, path } of ENVIRONMENT_KEYS) {
    const value = env[name];
    if (!value) continue;
    let node = patch;
    for (const key of path.slice(0, -1)) {
      if (!isPlainObject(node[key])) node[key] = {};
      node = node[key] as ConfigPatch;
    }
    node[path[path.length - 1]!] = value;
  }
  return patch;
}

export interface LoadedConfig {
  config: Config;
  /** The local file with environment overrides, before remote changes. */
  base: ConfigPatch;
  /** `base`, validated: what the device falls back to. */
  baseConfig: Config;
  /** Remote changes accepted earlier (empty when none), as they were sent (models by name). */
  remote: ConfigPatch;
  /** A persisted remote change set aside at this start, and why. */
  rejected?: RejectedRemoteConfig;
}

export async function readConfigFile(path: string): Promise<ConfigPatch> {
  let text: string;
  try {
    text = await readRegularFile(path, { maxBytes: MAX_CONFIG_FILE_BYTES });
  } catch (error) {
    const hint = 'pass --config with a readable YAML file';
    if (error instanceof UnreadableFileShape)
      throw new FileError(path, `the config file ${error.problem}; is it the right file?`, { hint });
    throw new FileError(path, 'cannot read the config file', { cause: error, hint });
  }
  let parsed: unknown;
  try {
    // Aliases are how YAML bombs grow: a config has no use for many of them.
    parsed = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    // yaml's message is "<what> at line L, column C:" then a code frame; keep both, minus the colon.
    const [first = '', ...frame] = errorMessage(error).split('\n');
    const codeFrame = frame.filter((line) => line.trim() !== '').join('\n');
    throw new FileError(
      path,
      `not valid YAML: ${first.replace(/:\s*$/, '')}${codeFrame ? `\n${codeFrame}` : ''}`,
    );
  }
  if (!isPlainObject(parsed))
    throw new FileError(path, 'expected a YAML mapping of options (device_id, source, model, mqtt, ...)');
  return parsed;
}

/** The config that results from the local `base` and a remote `patch`; throws what is wrong. */
export function applyRemotePatch(
  base: ConfigPatch,
  baseConfig: Config,
  remote: ConfigPatch,
  origin: string,
): Config {
  checkRemotePatch(remote, { unlock: baseConfig.remote_config.unlock, configFile: origin });
  const effective = resolveRemotePatch(remote, modelsDirOf(baseConfig));
  return validateConfig(mergePatch(base, effective), 'config');
}

/** Loads a config from a parsed base (file + env) and the state dir's persisted remote changes. */
export async function loadConfig(base: ConfigPatch, origin: string): Promise<LoadedConfig> {
  const baseConfig = validateConfig(base, origin);
  const store = new RemoteConfigStore(baseConfig.state_dir);
  await store.removeStaleTempFiles();
  const read = await store.read();
  const local = { config: baseConfig, base, baseConfig, remote: {} };
  if ('problem' in read)
    return { ...local, rejected: await store.setAside(read.problem, { inPlace: read.inPlace === true }) };
  if (Object.keys(read.patch).length === 0) return local;
  try {
    const config = applyRemotePatch(base, baseConfig, read.patch, origin);
    return { config, base, baseConfig, remote: read.patch };
  } catch (error) {
    // A remote change that no longer fits (the local file changed, a key was locked) must not stop the daemon.
    return { ...local, rejected: await store.setAside(errorMessage(error)) };
  }
}

/** Every secret value in a config (passwords, URL credentials), for the log scrubber. */
export function configSecrets(config: Config): string[] {
  const urlPassword = (url: string) => /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@?#]*:([^/@?#]*)@/.exec(url)?.[1];
  const secrets = [
    config.mqtt.password,
    config.capture.password,
    config.http.token,
    urlPassword(config.mqtt.url),
    urlPassword(config.source),
  ];
  return secrets.flatMap((secret) => {
    if (!secret) return [];
    try {
      return [secret, decodeURIComponent(secret)];
    } catch {
      return [secret];
    }
  });
}

/** A deep copy without secrets: secret fields removed, URL credentials replaced by ***. */
export function stripSecrets<T>(value: T): T {
  const copy = structuredClone(value) as unknown;
  for (const path of SECRET_PATHS) {
    let node = copy;
    for (const key of path.slice(0, -1)) node = isPlainObject(node) ? node[key] : undefined;
    if (isPlainObject(node)) delete node[path[path.length - 1]!];
  }
  if (isPlainObject(copy)) {
    if (typeof copy.source === 'string') copy.source = redactUrlCredentials(copy.source);
    const mqtt = copy.mqtt;
    if (isPlainObject(mqtt) && typeof mqtt.url === 'string') mqtt.url = redactUrlCredentials(mqtt.url);
  }
  return copy as T;
}
