// Config key metadata, declared once beside each field with `keyed()`: who may change the key over
// MQTT, whether a change needs a restart, whether it is a credential or a secret, why it is locked.
// `configKeys()` reads it back from the schema; the remote-change policy, the restart list, secret
// stripping and the docs are all derived from what it returns.

import { z } from 'zod';
import { credential } from './fields.js';

export interface KeyMeta {
  /**
   * Who may change the key: `open` config/set always; `locked` config/set only once
   * remote_config.unlock names it; `local-file` only the local config file. Every top-level key
   * says; below the top only `open` (an operational part of a locked key, e.g. log.level).
   */
  remote?: 'open' | 'locked' | 'local-file';
  /** Why a locked key is locked: the error a refused config/set gets ("it decides ..."). */
  lockReason?: string;
  /**
   * When an accepted change takes effect: `live` at once, `restart` at the next start. Every
   * top-level key says; below the top only `live` (a live part of a restart key, e.g. log.level).
   */
  applies?: 'live' | 'restart';
  /** A credential or key file: config/set never takes it, unlocked or not (the environment file does). */
  credential?: true;
  /** Never shown: stripped from the config topic, config/get and /api/config. */
  secret?: true;
  /** The environment variable that overrides the file (systemd's EnvironmentFile), e.g. EDGESEG_MQTT_PASSWORD. */
  env?: string;
}

/** A credential that is shown nowhere either (passwords, tokens, user names, key files). */
export const SECRET = { credential: true, secret: true } as const satisfies KeyMeta;
/** SECRET, also read from the environment variable `env`. */
export const secretFromEnv = (env: string) => ({ ...SECRET, env }) satisfies KeyMeta;

const keyMetaRegistry = z.registry<KeyMeta>();

/** `field` with its metadata; wrap the field as it sits in its object (after .default/.describe). */
export function keyed<Field extends z.ZodType>(meta: KeyMeta, field: Field): Field {
  keyMetaRegistry.add(field, meta);
  return field;
}

/**
 * A login's `username` and `password`: credentials, never shown, each also read from
 * `<env>_USERNAME` / `<env>_PASSWORD`; `what` labels them in the docs (e.g. "camera … (RTSP)").
 */
export function loginFields(env: string, what?: { username: string; password: string }) {
  const field = (part: 'USERNAME' | 'PASSWORD', label: string | undefined) =>
    keyed(
      secretFromEnv(`${env}_${part}`),
      credential()
        .optional()
        .describe(`${label === undefined ? '' : `${label}, `}or env ${env}_${part}`),
    );
  return { username: field('USERNAME', what?.username), password: field('PASSWORD', what?.password) };
}

export interface ConfigKey {
  path: readonly string[];
  /** What keyed() declared for this key ({} when nothing). */
  own: KeyMeta;
  /** `own` over what the key inherits from the keys that hold it (all but lockReason and env). */
  effective: KeyMeta & Required<Pick<KeyMeta, 'remote' | 'applies'>>;
}

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object a field holds once defaults and optionality are peeled off, if it is one. */
function objectShape(field: z.ZodType): Record<string, z.ZodType> | undefined {
  let def = defOf(field);
  while (def.innerType && ['default', 'prefault', 'optional', 'nullable'].includes(def.type))
    def = defOf(def.innerType);
  return def.type === 'object' ? def.shape : undefined;
}

/**
 * Every key of `schema` (into nested objects, not into list items), in schema order. Throws, naming
 * the key, where the metadata is missing or says something the policy cannot do: a programmer
 * error, so that no key reaches a release without a decision on who may change it.
 */
export function configKeys(schema: z.ZodObject): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const walk = (shape: Record<string, z.ZodType>, prefix: string[], parent?: ConfigKey['effective']) => {
    for (const [name, field] of Object.entries(shape)) {
      const path = [...prefix, name];
      const own = keyMetaRegistry.get(field) ?? {};
      checkMeta(path.join('.'), own, parent);
      // A lock reason and an environment variable belong to their key alone.
      const { lockReason: _reason, env: _env, ...inherited } = parent ?? {};
      const effective = { ...inherited, ...own } as ConfigKey['effective'];
      keys.push({ path, own, effective });
      const inner = objectShape(field);
      if (inner) walk(inner, path, effective);
    }
  };
  walk(schema.shape, []);
  return keys;
}

function checkMeta(key: string, own: KeyMeta, parent: ConfigKey['effective'] | undefined): void {
  const fail = (problem: string) => {
    throw new Error(`config key ${key}: ${problem} (see keyed() in src/config/key-meta.ts)`);
  };
  if (!parent) {
    if (!own.remote || !own.applies)
      fail(
        'no metadata: wrap the field in keyed({ remote, applies, ... }) to say who may change it and when it takes effect',
      );
    if ((own.remote === 'locked') !== (own.lockReason !== undefined))
      fail('a locked key needs a lockReason, and only a locked key has one');
    return;
  }
  if (own.lockReason !== undefined) fail('only a top-level key is locked, so only it has a lockReason');
  const topLevelChild = key.split('.').length === 2;
  if (own.remote !== undefined && !(own.remote === 'open' && parent.remote === 'locked' && topLevelChild))
    fail("below the top, remote can only be 'open', on a direct part of a locked key");
  if (own.applies !== undefined && !(own.applies === 'live' && parent.applies === 'restart' && topLevelChild))
    fail("below the top, applies can only be 'live', on a direct part of a restart key");
}

/** The lists the remote-change policy, the restart split and secret stripping work from. */
export function keyLists(keys: readonly ConfigKey[]) {
  const top = keys.filter((key) => key.path.length === 1);
  const names = (list: readonly ConfigKey[]) => list.map((key) => key.path[0]!);
  const restart = top.filter((key) => key.own.applies === 'restart');
  const partsOf = (parent: string, test: (meta: KeyMeta) => boolean) =>
    keys
      .filter((key) => key.path.length === 2 && key.path[0] === parent && test(key.own))
      .map((key) => key.path[1]!);
  return {
    /** Keys config/set may always change. */
    operationalKeys: names(top.filter((key) => key.own.remote === 'open')),
    /** Operational parts of otherwise locked keys, as [key, part]. */
    operationalPaths: keys
      .filter((key) => key.path.length === 2 && key.own.remote === 'open')
      .map((key) => key.path),
    /** Keys config/set may change only when remote_config.unlock names them. */
    lockableKeys: names(top.filter((key) => key.own.remote === 'locked')),
    lockReasons: Object.fromEntries(
      top.flatMap((key) => (key.own.lockReason ? [[key.path[0]!, key.own.lockReason]] : [])),
    ),
    /** Keys only the local file may set, even when everything else is unlocked. */
    localOnlyKeys: names(top.filter((key) => key.own.remote === 'local-file')),
    /** Keys whose change needs a restart. */
    restartKeys: names(restart),
    /** The parts of a restart key that apply live anyway, by key. */
    liveParts: Object.fromEntries(
      names(restart).map((name) => [name, partsOf(name, (meta) => meta.applies === 'live')]),
    ),
    /** Paths config/set never takes, unlocked or not. */
    credentialPaths: keys.filter((key) => key.own.credential).map((key) => key.path),
    /** Paths never published or echoed. */
    secretPaths: keys.filter((key) => key.own.secret).map((key) => key.path),
    /** The environment variables that override the file, with the path each sets. */
    environmentKeys: keys.flatMap((key) => (key.own.env ? [{ env: key.own.env, path: key.path }] : [])),
  };
}
