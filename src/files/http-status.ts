// What an HTTP status means for an item: the one mapping used by `files.fetch` and by `checkResponse` for pages.
import {
  ForbiddenError,
  PagepoolError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
} from '../errors.js';

/** Wait used when a 429 has no usable Retry-After. */
export const DEFAULT_RETRY_AFTER_MS = 30_000;

/** An HTTP status that may heal on its own (5xx, 408, 425): transient, retried. */
export class HttpStatusError extends PagepoolError {
  readonly status: number;
  constructor(status: number, what: string) {
    super('HTTP_STATUS', `${what} answered HTTP ${status}`);
    this.status = status;
  }
}

/** A 404 or 410: the thing asked for is not there (permanent), with the status that said so. */
export class NotFoundError extends PermanentError {
  readonly status: number;
  constructor(status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * A 401 or 403 that no page shows (a file's response): the session has ended, or this one item is refused to a
 * session that is still logged in, and the response alone cannot tell which. A session expiry for whoever cannot
 * look further; the engine looks at the session before any re-login (`explainFailure`): still logged in, it is the
 * item's `ForbiddenError`. `checkResponse` never throws it: a page can be looked at.
 */
export class AccessDeniedError extends SessionExpiredError {
  readonly status: number;
  /** Names the request: a URL, or words like `vehicle S00017`. */
  readonly what: string;
  constructor(status: number, what: string, options?: ErrorOptions) {
    super(`${what} answered HTTP ${status}`, options);
    this.status = status;
    this.what = what;
  }
}

/**
 * The item's permanent failure for a 401/403: `loggedIn` when a look found the session still logged in (a portal
 * with a login), false for a portal without one.
 */
export function forbiddenError(
  status: number,
  what: string,
  loggedIn: boolean,
  options?: ErrorOptions,
): ForbiddenError {
  const why = loggedIn ? ' while the session is still logged in: the portal refuses it to this account' : '';
  return new ForbiddenError(status, `${what} answered HTTP ${status}${why}`, options);
}

export interface StatusContext {
  /** Names the request in the message: a URL, or words like `vehicle S00017`. */
  what: string;
  /** The response's Retry-After header, read only for a 429. */
  retryAfter?: string | undefined;
  /**
   * The portal has a login: a 401/403 may mean the session ended (`AccessDeniedError`, looked into before any
   * re-login). Without one nothing can fix a 401/403: `ForbiddenError`, permanent.
   * @default true
   */
  session?: boolean;
}

/**
 * The error a status of 400 or more means, or undefined below 400:
 * 404/410 permanent, 429 rate limited (Retry-After in seconds or as an HTTP date), 401/403 `AccessDeniedError`
 * (`ForbiddenError` without a login), 408/425/5xx retried, any other 4xx permanent.
 */
export function httpStatusError(status: number, { what, retryAfter, session = true }: StatusContext) {
  if (status < 400) return undefined;
  if (status === 404 || status === 410)
    return new NotFoundError(status, `${what} does not exist (${status})`);
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter);
    return new RateLimitedError(ms, `${what} answered HTTP 429; retry after ${Math.ceil(ms / 1000)} s`);
  }
  if (status === 401 || status === 403)
    return session ? new AccessDeniedError(status, what) : forbiddenError(status, what, false);
  if (status >= 500 || status === 408 || status === 425) return new HttpStatusError(status, what);
  return new PermanentError(`${what} answered HTTP ${status}`);
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number {
  if (value === undefined) return DEFAULT_RETRY_AFTER_MS;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return DEFAULT_RETRY_AFTER_MS;
  return Math.max(0, date - now);
}
