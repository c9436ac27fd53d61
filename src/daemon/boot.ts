// Starting the daemon so that a bad remote change can never brick the device:
// - when the daemon cannot start with the persisted remote changes (a model that does not load, a
//   source that cannot be created), they are set aside under a timestamped name and the daemon
//   starts from the local file, saying in status and health what was rejected and why;
// - when remote changes moved the MQTT settings (only possible where the local file unlocks
//   `mqtt`) and the daemon does not connect with them within remote_config.mqtt_probation_s, they
//   are set aside the same way and the daemon restarts on the local file: a remote change must not
//   leave a device that nobody can reach to change it back.
// A failure with the local file alone is fatal (and a set-aside file is put back: it was not at fault).

import type { LoadedConfig } from '../config/load.js';
import { type RejectedRemoteConfig, RemoteConfigStore } from '../config/remote-store.js';
import { errorMessage } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import { Controller } from './controller.js';

/** The running daemon; `current` changes when a probation failure restarts it on the local file. */
export interface DaemonHandle {
  readonly current: Controller;
  stop(): Promise<void>;
}

export async function startDaemon(
  loaded: LoadedConfig,
  origin: string,
  logger: Logger,
): Promise<DaemonHandle> {
  const store = new RemoteConfigStore(loaded.baseConfig.state_dir);
  if (loaded.rejected)
    logger.error(
      { setAsideAs: loaded.rejected.file, reason: loaded.rejected.reason },
      'persisted remote configuration rejected; running the local config',
    );
  const shared = { base: loaded.base, baseConfig: loaded.baseConfig, origin, store, logger };
  const local = (rejected: RejectedRemoteConfig) =>
    new Controller({ ...shared, config: loaded.baseConfig, remote: {}, rejected });
  let current = new Controller({
    ...shared,
    config: loaded.config,
    remote: loaded.remote,
    rejected: loaded.rejected,
  });
  let probation: NodeJS.Timeout | undefined;
  let stopping = false;
  try {
    await current.start();
  } catch (error) {
    await current.stop();
    if (Object.keys(loaded.remote).length === 0) throw error;
    const rejected = await store.setAside(`the daemon could not start with it: ${errorMessage(error)}`);
    logger.error(
      { setAsideAs: rejected.file, reason: rejected.reason },
      'persisted remote configuration set aside; starting from the local config',
    );
    current = local(rejected);
    try {
      await current.start();
    } catch (again) {
      await current.stop();
      await store.restore(rejected);
      throw again;
    }
  }

  if (JSON.stringify(loaded.config.mqtt) !== JSON.stringify(loaded.baseConfig.mqtt)) {
    const seconds = loaded.baseConfig.remote_config.mqtt_probation_s;
    const onProbation = current;
    probation = setTimeout(() => {
      if (stopping || current !== onProbation) return;
      void (async () => {
        const reason = `the daemon did not connect to the broker with its MQTT settings within ${seconds} s`;
        logger.error({ probationS: seconds }, `${reason}; restarting on the local MQTT settings`);
        await onProbation.stop();
        const rejected = await store.setAside(reason);
        if (stopping) return;
        current = local(rejected);
        try {
          await current.start();
        } catch (error) {
          // Nothing left to fall back to: exit and let systemd try again.
          logger.fatal({ err: errorMessage(error) }, 'the local config cannot start either');
          process.exit(1);
        }
      })();
    }, seconds * 1000);
    void onProbation.connected.then(() => clearTimeout(probation));
  }

  return {
    get current() {
      return current;
    },
    async stop() {
      stopping = true;
      clearTimeout(probation);
      await current.stop();
    },
  };
}
