// Structured logging: JSON lines for journald and log shippers, a readable format on a terminal.

import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { secretScrubber } from './redact.js';

export type LogFormat = 'json' | 'pretty' | 'auto';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Destination file descriptor; logs go to stderr by default so that stdout stays for command output. */
  fd?: number;
  /** Values never written to the log (passwords): every line is scrubbed of them and of URL credentials. */
  secrets?: ReadonlyArray<string | undefined>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const format = options.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true && fd === 2);
  const level = options.level ?? 'info';
  const hooks = { streamWrite: secretScrubber(options.secrets ?? []) };
  if (usePretty) {
    return pino(
      { level, hooks },
      pretty({ destination: fd, sync: true, colorize: true, ignore: 'pid,hostname' }),
    );
  }
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, hooks },
    pino.destination({ fd, sync: true }),
  );
}

/** A logger that drops everything, for library code called without one. */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
