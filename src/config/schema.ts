// The daemon configuration: one zod schema that gives the TypeScript type, the runtime validation,
// every default, and the published JSON Schema (docs/config.schema.json). Its sections live in
// schema-*.ts, each field with its remote-change metadata; the lists below are derived from that.

import { z } from 'zod';
import { configKeys, keyed, keyLists } from './key-meta.js';
import { deviceSections } from './schema-device.js';
import { httpSection } from './schema-http.js';
import { homeassistantSection, mqttSection } from './schema-mqtt.js';
import { outputSections } from './schema-output.js';

export const ConfigSchema = z
  .object({
    ...deviceSections,
    mqtt: mqttSection,
    ...outputSections,
    http: httpSection,
    homeassistant: homeassistantSection,
    log: keyed(
      { remote: 'locked', lockReason: 'it decides what the device logs', applies: 'restart' },
      z
        .object({
          level: keyed(
            { remote: 'open', applies: 'live' },
            z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
          ),
          format: z.enum(['auto', 'json', 'pretty']).default('auto'),
        })
        .strict()
        .prefault({}),
    ),
    remote_config: keyed(
      { remote: 'local-file', applies: 'live' },
      z
        .object({
          enabled: z.boolean().default(true).describe('answer config/set at all (config/get always works)'),
          unlock: z
            .array(z.string().max(64))
            .max(32)
            .default([])
            .describe(
              'locked keys config/set may change too, by name (e.g. [source]); see docs/mqtt-api.md, "Remote changes"',
            ),
          mqtt_probation_s: z
            .number()
            .int()
            .min(5)
            .max(86_400)
            .default(300)
            .describe(
              'with mqtt unlocked: MQTT settings from a remote change that do not connect within this long are set aside and the daemon restarts on the local ones',
            ),
        })
        .strict()
        .prefault({})
        .describe('what config/set may change; only the local config file can set this'),
    ),
  })
  .strict()
  .superRefine((config, context) => {
    for (const [index, key] of config.remote_config.unlock.entries()) {
      if (!LOCKABLE_KEYS.includes(key))
        context.addIssue({
          code: 'custom',
          path: ['remote_config', 'unlock', index],
          message: `"${key}" cannot be unlocked; lockable keys: ${LOCKABLE_KEYS.join(', ')}`,
        });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
type TopKey = keyof Config;

/** Every key of the config with its metadata, in schema order (throws here if one has none). */
export const CONFIG_KEYS = configKeys(ConfigSchema);
const lists = keyLists(CONFIG_KEYS);

/** Keys whose change needs a restart (the rest are applied live). */
export const RESTART_KEYS = lists.restartKeys as readonly TopKey[];
/** The parts of a restart key that are applied live anyway (log.level). */
export const LIVE_PARTS: Readonly<Record<string, readonly string[]>> = lists.liveParts;
/** Keys config/set may always change: what the device does with frames, not what it trusts. */
export const OPERATIONAL_KEYS: readonly string[] = lists.operationalKeys;
/** Operational parts of otherwise locked keys. */
export const OPERATIONAL_PATHS: readonly (readonly string[])[] = lists.operationalPaths;
/** Keys only the local file may set, even when everything else is unlocked. */
export const LOCAL_ONLY_KEYS: readonly string[] = lists.localOnlyKeys;
/** Keys config/set may not change unless remote_config.unlock names them. */
export const LOCKABLE_KEYS: readonly string[] = lists.lockableKeys;
/** Why each lockable key is locked, for the error a locked key gets. */
export const LOCK_REASONS: Readonly<Record<string, string>> = lists.lockReasons;
/** Paths never published or echoed: secrets. */
export const SECRET_PATHS: readonly (readonly string[])[] = lists.secretPaths;
/** Paths config/set never takes, unlocked or not: credentials and key files come from the environment file. */
export const LOCAL_SECRET_PATHS: readonly (readonly string[])[] = lists.credentialPaths;
/** Environment variables that override the file (secrets, the state dir), with the path each sets. */
export const ENVIRONMENT_KEYS: readonly { env: string; path: readonly string[] }[] = lists.environmentKeys;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input' });
}
