// Logs a recurring problem once per burst: the first occurrence, then a count every `windowMs`,
// so a camera spewing bad frames cannot flood the journal.

import type { Logger } from './log.js';

export class BurstLogger {
  private readonly bursts = new Map<string, { suppressed: number; windowStart: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly windowMs = 10_000,
  ) {}

  warn(key: string, message: string, fields: Record<string, unknown> = {}): void {
    this.log('warn', key, message, fields);
  }

  error(key: string, message: string, fields: Record<string, unknown> = {}): void {
    this.log('error', key, message, fields);
  }

  private log(level: 'warn' | 'error', key: string, message: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const burst = this.bursts.get(key);
    if (!burst || now - burst.windowStart >= this.windowMs) {
      const suppressed = burst?.suppressed ?? 0;
      this.logger[level](
        { ...fields, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) },
        message,
      );
      this.bursts.set(key, { suppressed: 0, windowStart: now });
      return;
    }
    burst.suppressed++;
  }
}
