// The error hierarchy and the one function that turns any error into a retry decision.

export type ErrorCode =
  | 'PERMANENT'
  | 'SESSION_EXPIRED'
  | 'RATE_LIMITED'
  | 'TASK_TIMEOUT'
  | 'SHUTDOWN'
  | 'CONFIG'
  | 'LOGIN_FAILED'
  | 'DISK_FULL'
  | 'CHECKPOINT_CORRUPT'
  | 'FILE_INVALID'
  | 'NO_BROWSER'
  | 'NO_ITEMS';

/** Base class: every error pagepool raises on purpose carries a stable `code`. */
export class PagepoolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The item can never succeed (404, "no document for this item"): recorded, never retried. */
export class PermanentError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('PERMANENT', message, options);
  }
}

/** The portal logged us out: one shared re-login, then the item is retried. */
export class SessionExpiredError extends PagepoolError {
  constructor(message = 'session expired', options?: ErrorOptions) {
    super('SESSION_EXPIRED', message, options);
  }
}

/** 429 or equivalent: every new start waits `retryAfterMs`, then the item is retried. */
export class RateLimitedError extends PagepoolError {
  readonly retryAfterMs: number;
  constructor(
    retryAfterMs: number,
    message = `rate limited, retry after ${retryAfterMs} ms`,
    options?: ErrorOptions,
  ) {
    super('RATE_LIMITED', message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The task ran past its deadline: retried like any transient error. */
export class TaskTimeoutError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('TASK_TIMEOUT', message, options);
  }
}

/** The run is stopping (Ctrl+C): the item stays pending for the next run, never failed. */
export class ShutdownError extends PagepoolError {
  constructor(message = 'shutting down', options?: ErrorOptions) {
    super('SHUTDOWN', message, options);
  }
}

/** A setting the user gave is wrong: one line, exit code 2. */
export class ConfigError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG', message, options);
  }
}

/** Login was refused: the credentials are wrong, so nothing else can work. Exit code 2. */
export class LoginError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('LOGIN_FAILED', message, options);
  }
}

/** The disk is (nearly) full: the run stops, the item stays pending. */
export class DiskFullError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('DISK_FULL', message, options);
  }
}

/** A downloaded file failed its checks (size, type, magic bytes): transient, retried. */
export class FileInvalidError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('FILE_INVALID', message, options);
  }
}

/** The listing (or the `--refs` file) produced no items at all: the run stops, exit code 1. */
export class NoItemsError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('NO_ITEMS', message, options);
  }
}

export type Decision = 'retry' | 'permanent' | 'relogin' | 'backoff' | 'fatal';

/**
 * The only place that decides what an error means for the item.
 * - `permanent`: record the reason, never retry.
 * - `relogin`: one shared re-login, then retry.
 * - `backoff`: hold every new start for the server's Retry-After, then retry.
 * - `fatal`: stop the whole run (bad config, login refused, disk full, shutdown); the item stays pending.
 * - `retry`: anything else (timeouts, network, 5xx, navigation, bad file) is transient.
 */
export function classify(err: unknown): Decision {
  if (err instanceof PagepoolError) {
    switch (err.code) {
      case 'PERMANENT':
        return 'permanent';
      case 'SESSION_EXPIRED':
        return 'relogin';
      case 'RATE_LIMITED':
        return 'backoff';
      case 'CONFIG':
      case 'LOGIN_FAILED':
      case 'DISK_FULL':
      case 'CHECKPOINT_CORRUPT':
      case 'SHUTDOWN':
      case 'NO_BROWSER':
      case 'NO_ITEMS':
        return 'fatal';
      default:
        return 'retry';
    }
  }
  if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) return 'fatal';
  return 'retry';
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** A one-line description of any thrown value, for reports and logs. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
