// The attempt policy every backend shares: what a failed attempt means for its task, and the errors of a deadline.
// Pure functions, no timers, no I/O: the in-process queue and the BullMQ worker only map the verdicts onto their
// backend.
import { type Decision, TaskTimeoutError } from '../errors.js';
import { type BackoffOptions, backoffDelay } from './backoff-delay.js';

/**
 * 429s and session expiries are not the task's fault: the first this many of them (per task) cost no retry;
 * past that each one is charged like any transient failure, so a portal that never stops refusing ends the task.
 */
export const MAX_FREE_RETRIES = 10;

/** What a task has spent so far. */
export interface Charges {
  /** Retries charged against `retries`. */
  charged: number;
  /** Free retries used (429s and session expiries within MAX_FREE_RETRIES). */
  free: number;
}

export interface PolicyOptions {
  retries: number;
  backoff: BackoffOptions;
  classify: (err: unknown) => Decision;
  /** False when nobody can log in again: a session expiry is then a plain transient failure. */
  canRelogin: boolean;
}

/**
 * Which counter a retry goes on; 'none' for trouble the task did not cause: a 429 met while a hold is already in
 * effect (the task was in flight when another one's 429 began it), or a session expiry whose re-login another
 * attempt (or the listing) already started. A herd of 8 pages refused together costs one free retry, not 8.
 */
export type Charge = 'charged' | 'free' | 'none';

/** What the other attempts already did about the trouble this attempt met. */
export interface Shared {
  /** The 429 hold in effect now (epoch ms), 0 if none. */
  heldUntil: number;
  /** A re-login started since this attempt started. */
  reloginSince: boolean;
}

const ALONE: Shared = { heldUntil: 0, reloginSince: false };

/** What the backend must do with a task whose attempt failed. */
export type Verdict =
  /** Try again after `delayMs` (backoff). */
  | { kind: 'retry'; delayMs: number; charge: 'charged' }
  /** A 429: hold every new start until `untilMs` (epoch ms), then try again. */
  | { kind: 'hold'; untilMs: number; charge: Charge }
  /** The session expired: one shared re-login (none if one completed since the attempt started), then try again. */
  | { kind: 'relogin'; charge: Charge }
  /** Record the failure for good. */
  | { kind: 'fail'; permanent: boolean }
  /** Stop the run; the task stays pending (a full disk or a refused login says nothing about it). */
  | { kind: 'fatal' };

/** The policy's classification; a classifier that throws is taken to mean "transient". */
export function classifyWith(classify: (err: unknown) => Decision, error: unknown): Decision {
  try {
    return classify(error);
  } catch {
    return 'retry';
  }
}

/**
 * The one retry rule of every backend. `now` is epoch ms; `shared` says what other attempts already did (a hold, a
 * re-login); `random` feeds the backoff's jitter.
 */
export function decide(
  error: unknown,
  charges: Charges,
  policy: PolicyOptions,
  now: number,
  shared: Shared = ALONE,
  random: () => number = Math.random,
): Verdict {
  let decision = classifyWith(policy.classify, error);
  if (decision === 'relogin' && !policy.canRelogin) decision = 'retry';
  const outOfRetries = charges.charged + 1 > policy.retries;
  const freeLeft = charges.free < MAX_FREE_RETRIES;
  switch (decision) {
    case 'fatal':
      return { kind: 'fatal' };
    case 'permanent':
      return { kind: 'fail', permanent: true };
    case 'backoff': {
      const waitMs =
        retryAfterOf(error) ?? backoffDelay(Math.max(1, charges.charged), policy.backoff, random);
      const untilMs = Math.max(now + waitMs, shared.heldUntil);
      if (shared.heldUntil > now) return { kind: 'hold', untilMs, charge: 'none' };
      if (!freeLeft && outOfRetries) return { kind: 'fail', permanent: false };
      return { kind: 'hold', untilMs, charge: freeLeft ? 'free' : 'charged' };
    }
    case 'relogin':
      if (shared.reloginSince) return { kind: 'relogin', charge: 'none' };
      if (!freeLeft && outOfRetries) return { kind: 'fail', permanent: false };
      return { kind: 'relogin', charge: freeLeft ? 'free' : 'charged' };
    default:
      if (outOfRetries) return { kind: 'fail', permanent: false };
      return {
        kind: 'retry',
        delayMs: backoffDelay(charges.charged + 1, policy.backoff, random),
        charge: 'charged',
      };
  }
}

/** Adds a verdict's charge to a task's charges. */
export function charge(charges: Charges, verdict: Verdict): Charges {
  if (!('charge' in verdict) || verdict.charge === 'none') return charges;
  return verdict.charge === 'free'
    ? { ...charges, free: charges.free + 1 }
    : { ...charges, charged: charges.charged + 1 };
}

/** A re-login that failed: fatal (refused, disk full...) stops the run; anything else retries after one backoff. */
export function afterLoginFailure(
  error: unknown,
  policy: Pick<PolicyOptions, 'classify' | 'backoff'>,
  random: () => number = Math.random,
): { kind: 'fatal' } | { kind: 'retry'; delayMs: number } {
  if (classifyWith(policy.classify, error) === 'fatal') return { kind: 'fatal' };
  return { kind: 'retry', delayMs: backoffDelay(1, policy.backoff, random) };
}

/** The reason an attempt's signal aborts with at its deadline. */
export function deadlineError(key: string, taskTimeoutMs: number, options?: ErrorOptions): TaskTimeoutError {
  return new TaskTimeoutError(`task ${key} timed out after ${taskTimeoutMs} ms`, options);
}

/** When the watchdog gives up on an attempt that ignores its signal: `graceMs` after its deadline. */
export function abandonAfterMs(taskTimeoutMs: number, graceMs: number): number {
  return taskTimeoutMs + graceMs;
}

/** The error an attempt abandoned by the watchdog fails with. */
export function abandonError(key: string, taskTimeoutMs: number, graceMs: number): TaskTimeoutError {
  const limit = abandonAfterMs(taskTimeoutMs, graceMs);
  return new TaskTimeoutError(`task ${key} abandoned: still running ${limit} ms after it started`);
}

/**
 * The error of an attempt that failed after its deadline fired: an abort error thrown because of the deadline says
 * nothing useful, so a transient one becomes a TaskTimeoutError (with the original as its cause); a
 * PermanentError or a 429 still means what it says.
 */
export function timeoutOf(
  error: unknown,
  key: string,
  taskTimeoutMs: number,
  classify: (err: unknown) => Decision,
): unknown {
  if (error instanceof TaskTimeoutError || classifyWith(classify, error) !== 'retry') return error;
  return deadlineError(key, taskTimeoutMs, { cause: error });
}

/** The stable code of an error, when it has one (checkpoint and fleet failure records). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}
