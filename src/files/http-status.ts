// What an HTTP status means for an item: the one mapping used by `files.fetch` and by `checkResponse` for pages.
import { PagepoolError, PermanentError, RateLimitedError, SessionExpiredError } from '../errors.js';

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

export interface StatusContext {
  /** Names the request in the message: a URL, or words like `vehicle S00017`. */
  what: string;
  /** The response's Retry-After header, read only for a 429. */
  retryAfter?: string | undefined;
  /**
   * The portal has a login: a 401/403 means the session ended (re-login, retry). Without one nothing can fix
   * a 401/403, so it is permanent.
   * @default true
   */
  session?: boolean;
}

/**
 * The error a status of 400 or more means, or undefined below 400:
 * 404/410 permanent, 429 rate limited (Retry-After in seconds or as an HTTP date), 401/403 session expired
 * (permanent without a login), 408/425/5xx retried, any other 4xx permanent.
 */
export function httpStatusError(status: number, { what, retryAfter, session = true }: StatusContext) {
  if (status < 400) return undefined;
  if (status === 404 || status === 410) return new PermanentError(`${what} does not exist (${status})`);
  if (status === 429) {
    const ms = parseRetryAfter(retryAfter);
    return new RateLimitedError(ms, `${what} answered HTTP 429; retry after ${Math.ceil(ms / 1000)} s`);
  }
  if ((status === 401 || status === 403) && session)
    return new SessionExpiredError(`${what} answered HTTP ${status}`);
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
