// Remote configuration: the retained `config` topic, `config/get` and `config/set`. Changes are
// applied one at a time in arrival order. Each is checked against the remote-change policy and the
// whole schema; a new model is loaded and warmed before anything changes; the change is persisted
// atomically under state_dir, then applied live where it can be. A failure at any step leaves the
// running config and the persisted file as they were.

import { z } from 'zod';
import { applyRemotePatch, type ConfigPatch, mergePatch, stripSecrets } from '../../config/load.js';
import { checkRemotePatch, MAX_WAITING_CONFIG_CHANGES } from '../../config/policy.js';
import type { RemoteConfigStore } from '../../config/remote-store.js';
import { type Config, LIVE_PARTS, RESTART_KEYS } from '../../config/schema.js';
import { EmptyRequestSchema, requestSchema } from '../../mqtt/requests.js';
import { errorMessage, UserError } from '../../system/errors.js';
import type { DaemonContext, PreparedModel } from '../context.js';
import { Extension } from '../extension.js';

export interface RemoteConfigOptions {
  /** The local file with environment overrides (patches are validated against it). */
  base: ConfigPatch;
  baseConfig: Config;
  /** Remote changes accepted so far, as sent (persisted by `store`). */
  remote: ConfigPatch;
  /** The local config file, named in errors. */
  origin: string;
  store: RemoteConfigStore;
}

const ConfigSetRequestSchema = requestSchema({
  config: z
    .record(z.string(), z.unknown())
    .describe('the options to change: a partial config (docs/config.md)'),
});

export class RemoteConfig extends Extension {
  readonly name = 'remote-config';
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    context: DaemonContext,
    private readonly options: RemoteConfigOptions,
  ) {
    super(context);
  }

  start(): void {
    this.answer('config/get', EmptyRequestSchema, async () => ({
      config: stripSecrets(this.context.config),
    }));
    this.answer('config/set', ConfigSetRequestSchema, (request) => this.enqueue(request.config));
    this.listen('mqttConnected', () => this.publish());
  }

  override async stop(): Promise<void> {
    this.unregister();
    // A change half-applied when the daemon stops would be a change nobody was told about.
    await this.queue;
  }

  private publish(): void {
    const { topics, config } = this.context;
    this.publishJson(topics.config, stripSecrets(config), { retain: true });
  }

  private enqueue(patch: ConfigPatch): Promise<unknown> {
    if (!this.context.config.remote_config.enabled)
      throw new UserError(
        `config/set is turned off on this device (remote_config.enabled: false in ${this.options.origin})`,
      );
    if (this.waiting >= MAX_WAITING_CONFIG_CHANGES)
      throw new UserError(`busy: ${this.waiting} config changes are waiting; try again later`);
    this.waiting++;
    const applied = this.queue.then(() => this.apply(patch)).finally(() => this.waiting--);
    this.queue = applied.catch(() => {});
    return applied;
  }

  private async apply(patch: ConfigPatch): Promise<unknown> {
    const { base, baseConfig, origin, store } = this.options;
    const current = this.context.config;
    // The patch alone first, so that the error names what this request asked for.
    checkRemotePatch(patch, { unlock: baseConfig.remote_config.unlock, configFile: origin });
    const previousRemote = this.options.remote;
    const remote = mergePatch(previousRemote, patch) as ConfigPatch;
    const next = applyRemotePatch(base, baseConfig, remote, origin);
    const { live, restartKeys } = splitLive(current, next);

    // A model switch loads and warms the new model before anything changes.
    const prepared = next.model !== current.model ? await this.prepare(next.model) : undefined;
    try {
      await store.write(remote);
    } catch (error) {
      await prepared?.discard();
      throw new UserError(
        `could not save the configuration under ${current.state_dir} (${errorMessage(error)}); nothing changed`,
      );
    }
    try {
      await prepared?.activate();
      this.context.applyConfig(live);
    } catch (error) {
      await this.rollBack(current, previousRemote, prepared);
      throw new UserError(`applying the change failed (${errorMessage(error)}); nothing changed`);
    }
    this.options.remote = remote;
    // An audit trail of what was changed remotely (values stay out: they may be long).
    this.context.logger.info({ keys: Object.keys(patch), restartKeys }, 'config/set applied');
    this.publish();
    return { config: stripSecrets(live), restartRequired: restartKeys.length > 0, restartKeys };
  }

  private async prepare(modelDir: string): Promise<PreparedModel> {
    try {
      return await this.context.model.prepare(modelDir);
    } catch (error) {
      throw new UserError(`model: ${errorMessage(error)}; nothing changed`);
    }
  }

  private async rollBack(
    previous: Config,
    previousRemote: ConfigPatch,
    prepared: PreparedModel | undefined,
  ): Promise<void> {
    await prepared?.discard();
    if (this.context.config !== previous) this.context.applyConfig(previous);
    try {
      await this.options.store.write(previousRemote);
    } catch (error) {
      // The next start sets the file aside if it fails then: the device still comes up.
      this.context.logger.error(
        { err: errorMessage(error) },
        'could not restore the persisted remote configuration after a failed change',
      );
    }
  }
}

/**
 * The config to run now: `next`, except that keys needing a restart keep their running values
 * (they are persisted and take effect at the next start), but for their live parts (log.level).
 */
export function splitLive(current: Config, next: Config): { live: Config; restartKeys: string[] } {
  const live: Record<string, unknown> = { ...next };
  const restartKeys: string[] = [];
  for (const key of RESTART_KEYS) {
    const liveParts = LIVE_PARTS[key] ?? [];
    const running = withParts(next[key], current[key], liveParts);
    if (JSON.stringify(running) === JSON.stringify(current[key])) continue;
    restartKeys.push(key);
    live[key] = withParts(current[key], next[key], liveParts);
  }
  return { live: live as Config, restartKeys };
}

/** `value` with `parts` taken from `from` (both are objects when a key has live parts). */
function withParts(value: unknown, from: unknown, parts: readonly string[]): unknown {
  if (parts.length === 0) return value;
  const copy = { ...(value as Record<string, unknown>) };
  for (const part of parts) copy[part] = (from as Record<string, unknown>)[part];
  return copy;
}
