// User-facing error types: what a user caused (bad file, bad config, bad request) and how to fix it.
// The CLI prints these without a stack trace; anything else is a programmer error and crashes loudly.

export interface UserErrorOptions {
  /** What the user can do about it, printed on its own line. */
  hint?: string;
  cause?: unknown;
}

export class UserError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.hint = options.hint;
  }
}

/** A file that is missing, unreadable or malformed; the message always names the path. */
export class FileError extends UserError {
  readonly path: string;
  constructor(path: string, problem: string, options: UserErrorOptions = {}) {
    super(`${path}: ${problem}`, options);
    this.name = 'FileError';
    this.path = path;
  }
}

/** A configuration value that fails validation; `key` is the dotted path of the field. */
export class ConfigError extends UserError {
  readonly key: string;
  constructor(key: string, problem: string, options: UserErrorOptions = {}) {
    super(key ? `${key}: ${problem}` : problem, options);
    this.name = 'ConfigError';
    this.key = key;
  }
}

/** The user stopped a command (Ctrl-C, SIGTERM); the CLI exits 128 + the signal's number. */
export class InterruptedError extends UserError {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals, message: string) {
    super(message);
    this.name = 'InterruptedError';
    this.signal = signal;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** Message of any thrown value, for logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Any thrown value as an Error (a thrown string or object becomes one with its text). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * `value` once its owner has started; before that, a programmer error naming who was used too early
 * ("OnnxEngine: info read before start()"). `usage` is only read when it throws.
 */
export function afterStart<T>(value: T | undefined, owner: string, usage: string): T {
  if (value === undefined) throw new Error(`${owner}: ${usage} before start()`);
  return value;
}
