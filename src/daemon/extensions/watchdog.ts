// The systemd watchdog: WATCHDOG=1 every half WatchdogSec, but only while frames really come out
// of inference (or while paused on request), so a wedged pipeline gets the service restarted.

import { Extension } from '../extension.js';

export class Watchdog extends Extension {
  readonly name = 'watchdog';
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    const { sd, pipeline } = this.context;
    const interval = sd.watchdogIntervalMs;
    if (!interval) return;
    this.timer = setInterval(() => {
      const stats = pipeline.loopStats();
      const flowing = stats !== undefined && stats.msSinceFrameOut < 2 * interval;
      if (flowing || pipeline.paused) sd.watchdog();
    }, interval);
  }

  override stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    super.stop();
  }
}
