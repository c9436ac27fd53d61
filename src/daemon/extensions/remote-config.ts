// Remote configuration: the retained `config` topic, `config/get` and `config/set`. A change is
// validated against the whole schema, a new model is loaded and warmed before anything changes,
// the change is persisted atomically under state_dir, then applied live where it can be.

import {
  type ConfigPatch,
  isPlainObject,
  mergePatch,
  persistRemoteConfig,
  stripSecrets,
  validateConfig,
} from '../../config/load.js';
import { type Config, RESTART_KEYS } from '../../config/schema.js';
import { UserError } from '../../system/errors.js';
import type { DaemonContext } from '../context.js';
import type { Part } from '../part.js';

export interface RemoteConfigState {
  /** Config file + environment, before remote changes (patches are validated against it). */
  base: ConfigPatch;
  /** Remote changes accepted so far (persisted under state_dir). */
  remote: ConfigPatch;
}

export class RemoteConfig implements Part {
  readonly name = 'remote-config';
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly context: DaemonContext,
    private readonly state: RemoteConfigState,
  ) {}

  start(): void {
    const { requests, bus } = this.context;
    requests
      .on('config/get', async () => ({ config: stripSecrets(this.context.config) }))
      .on('config/set', (request) => this.set(request));
    this.unsubscribe = bus.subscribe('mqttConnected', () => this.publish());
  }

  stop(): void {
    this.unsubscribe?.();
    this.context.requests.off('config/get').off('config/set');
  }

  private publish(): void {
    const { connection, topics, config } = this.context;
    connection.publish(
      topics.config,
      JSON.stringify(stripSecrets(config)),
      { qos: 1, retain: true, contentType: 'application/json' },
      true,
    );
  }

  private async set(request: Record<string, unknown>): Promise<unknown> {
    const patch = request.config;
    if (!isPlainObject(patch))
      throw new UserError(
        'config: expected an object with the options to change, e.g. {"config": {"fps": 5}}',
      );
    const current = this.context.config;
    const remote = mergePatch(this.state.remote, patch) as ConfigPatch;
    const next = validateConfig(mergePatch(this.state.base, remote), 'config');
    const restartKeys = RESTART_KEYS.filter(
      (key) => JSON.stringify(next[key]) !== JSON.stringify(current[key]),
    );
    // Keys that need a restart keep their running values until then.
    const live = { ...next };
    for (const key of restartKeys) (live as Record<string, unknown>)[key] = current[key];
    // A model switch loads and warms the new model before anything changes.
    const prepared = next.model !== current.model ? await this.context.model.prepare(next.model) : undefined;
    try {
      await persistRemoteConfig(current.state_dir, remote);
    } catch (error) {
      await prepared?.discard();
      throw new UserError(
        `could not save the configuration under ${current.state_dir} (${(error as Error).message}); nothing changed`,
      );
    }
    this.state.remote = remote;
    await prepared?.activate();
    this.context.applyConfig(live as Config);
    this.publish();
    return { config: stripSecrets(live), restartRequired: restartKeys.length > 0, restartKeys };
  }
}
