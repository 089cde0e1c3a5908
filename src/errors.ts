// The error hierarchy, the one function that turns any error into a retry decision, and the one that turns it
// into the command's exit code.

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
  | 'CHECKPOINT_IN_USE'
  | 'HTTP_STATUS'
  | 'FILE_INVALID'
  | 'TRANSFER_TOO_SLOW'
  | 'TRANSFER_FAILED'
  | 'FILE_NAME'
  | 'SETUP_FAILED'
  | 'NO_BROWSER'
  | 'UPLOAD_DENIED'
  | 'UPLOAD_FAILED'
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

/** A file arrived slower than the minimum transfer speed: transient, retried, resuming its kept `.part`. */
export class TransferTooSlowError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('TRANSFER_TOO_SLOW', message, options);
  }
}

/**
 * A file request failed in the network or the HTTP client (connection refused or reset, cut short, a timeout):
 * transient, retried (a `.part` it leaves is resumed). `url` is the URL that failed; `chain` every URL the
 * request went through, first to last (redirects), so `chain[0]` is the URL the adapter asked for and the last
 * is `url`; `reason` the client's own code (`ECONNREFUSED`, `UND_ERR_SOCKET`...) when it gave one.
 */
export class TransferError extends PagepoolError {
  readonly url: string;
  readonly chain: readonly string[];
  readonly reason: string | undefined;
  constructor(
    message: string,
    details: { url: string; chain: readonly string[]; reason: string | undefined },
    options?: ErrorOptions,
  ) {
    super('TRANSFER_FAILED', message, options);
    this.url = details.url;
    this.chain = details.chain;
    this.reason = details.reason;
  }
}

/** The object store refused us mid-run (403, bucket gone): nothing else can upload, so the run stops; items stay pending. */
export class UploadDeniedError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('UPLOAD_DENIED', message, options);
  }
}

/** An upload failed after the SDK's own retries (5xx, throttling, reset, store down): retried by the item's policy. */
export class UploadFailedError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('UPLOAD_FAILED', message, options);
  }
}

/** A file name cannot be used (it would land outside the output folder, or every variant is taken): the same
 * item would get the same name again, so it is permanent. */
export class FileNameError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('FILE_NAME', message, options);
  }
}

/** The run could not start (the portal is unreachable, the login threw, a folder cannot be created): nothing was
 * pulled. Exit code 2. */
export class SetupError extends PagepoolError {
  constructor(message: string, options?: ErrorOptions) {
    super('SETUP_FAILED', message, options);
  }
}

export type Decision = 'retry' | 'permanent' | 'relogin' | 'backoff' | 'fatal';

/**
 * The only place that decides what an error means for the item.
 * - `permanent`: record the reason, never retry.
 * - `relogin`: one shared re-login, then retry.
 * - `backoff`: hold every new start for the server's Retry-After, then retry.
 * - `fatal`: stop the whole run (bad config, login refused, disk full, upload denied, shutdown); the item stays
 *   pending.
 * - `retry`: anything else (timeouts, network, 5xx, navigation, bad file) is transient.
 */
export function classify(err: unknown): Decision {
  if (err instanceof PagepoolError) {
    switch (err.code) {
      case 'PERMANENT':
      case 'FILE_NAME':
        return 'permanent';
      case 'SESSION_EXPIRED':
        return 'relogin';
      case 'RATE_LIMITED':
        return 'backoff';
      case 'CONFIG':
      case 'LOGIN_FAILED':
      case 'DISK_FULL':
      case 'CHECKPOINT_CORRUPT':
      case 'CHECKPOINT_IN_USE':
      case 'SHUTDOWN':
      case 'NO_BROWSER':
      case 'NO_ITEMS':
      case 'UPLOAD_DENIED':
      case 'SETUP_FAILED':
        return 'fatal';
      default:
        return 'retry';
    }
  }
  if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) return 'fatal';
  return 'retry';
}

/** The exit codes of `pagepool`, as the README's table documents them. */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2, diskSpace: 3, interrupted: 130 } as const;

/**
 * The only place that maps an error that ended a command to its exit code: 2 for what the user must fix before
 * anything can be pulled (usage, configuration, login, setup, a corrupt checkpoint, no browser), 3 for a stop for
 * disk space, 130 for an interruption, 1 for anything else.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof PagepoolError) {
    switch (err.code) {
      case 'CONFIG':
      case 'LOGIN_FAILED':
      case 'SETUP_FAILED':
      case 'CHECKPOINT_CORRUPT':
      case 'CHECKPOINT_IN_USE':
      case 'NO_BROWSER':
      case 'UPLOAD_DENIED':
        return EXIT_CODES.usage;
      case 'NO_ITEMS':
        return EXIT_CODES.failed;
      case 'DISK_FULL':
        return EXIT_CODES.diskSpace;
      case 'SHUTDOWN':
        return EXIT_CODES.interrupted;
      default:
        return EXIT_CODES.failed;
    }
  }
  if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) return EXIT_CODES.diskSpace;
  return EXIT_CODES.failed;
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** A one-line description of any thrown value, for reports and logs. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
