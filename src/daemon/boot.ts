// Starting the daemon so that a bad remote change can never brick the device: when the daemon
// cannot start with the persisted remote changes (a model that does not load, a source that cannot
// be created), they are set aside under a timestamped name and the daemon starts from the local
// file, saying in status and health what was rejected and why. A failure with the local file alone
// is fatal (and the set-aside file is put back: it was not at fault).

import type { LoadedConfig } from '../config/load.js';
import { RemoteConfigStore } from '../config/remote-store.js';
import { errorMessage } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import { Controller } from './controller.js';

export async function startDaemon(loaded: LoadedConfig, origin: string, logger: Logger): Promise<Controller> {
  const store = new RemoteConfigStore(loaded.baseConfig.state_dir);
  if (loaded.rejected)
    logger.error(
      { setAsideAs: loaded.rejected.file, reason: loaded.rejected.reason },
      'persisted remote configuration rejected; running the local config',
    );
  const shared = { base: loaded.base, baseConfig: loaded.baseConfig, origin, store, logger };
  const first = new Controller({
    ...shared,
    config: loaded.config,
    remote: loaded.remote,
    rejected: loaded.rejected,
  });
  try {
    await first.start();
    return first;
  } catch (error) {
    await first.stop();
    if (Object.keys(loaded.remote).length === 0) throw error;
    const rejected = await store.setAside(`the daemon could not start with it: ${errorMessage(error)}`);
    logger.error(
      { setAsideAs: rejected.file, reason: rejected.reason },
      'persisted remote configuration set aside; starting from the local config',
    );
    const second = new Controller({ ...shared, config: loaded.baseConfig, remote: {}, rejected });
    try {
      await second.start();
      return second;
    } catch (again) {
      await second.stop();
      await store.restore(rejected);
      throw again;
    }
  }
}
