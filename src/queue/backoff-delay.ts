// The retry delay: p-retry's exponential backoff with jitter, computed here so the queue owns its timers.

export interface BackoffOptions {
  /** Delay before the first retry. @default 1000 */
  minMs: number;
  /** No delay is ever longer than this, jitter included. @default 30000 */
  maxMs: number;
  /** Each retry waits `factor` times longer than the one before. @default 2 */
  factor: number;
  /** Multiply each delay by a random 1..2 so workers that failed together do not retry together. @default true */
  jitter: boolean;
}

/**
 * Delay before retry number `retry` (1 for the first retry), exactly as p-retry 7 computes it:
 * `min(maxMs, round(minMs * factor^(retry-1) * (jitter ? 1 + random() : 1)))`.
 * The cap applies after the jitter (as in p-retry), so `maxMs` is a true maximum.
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const jitter = options.jitter ? 1 + random() : 1;
  const exponent = Math.max(0, retry - 1);
  return Math.min(options.maxMs, Math.round(jitter * options.minMs * options.factor ** exponent));
}
