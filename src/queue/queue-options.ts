// The task queue's options, their defaults, and the one check that reports every bad field at once.
import { ConfigError, classify, type Decision } from '../errors.js';
import type { BackoffOptions } from './backoff-delay.js';
import type { RateHold } from './rate-hold.js';
import { SingleFlightLogin } from './single-flight-login.js';
import type { Capacity } from './start-gate.js';

export type TaskOutcome<T, R> =
  | {
      status: 'done';
      key: string;
      item: T;
      attempt: number;
      charged: number;
      /** Free retries spent (429s and session expiries the task caused, within MAX_FREE_RETRIES). */
      free: number;
      result: R;
      ms: number;
    }
  | {
      status: 'failed';
      key: string;
      item: T;
      attempt: number;
      /** Retries charged against `retries` (free retries of 429s and session expiries not counted). */
      charged: number;
      free: number;
      error: unknown;
      reason: string;
      code: string | undefined;
      permanent: boolean;
      ms: number;
    };

export interface TaskQueueOptions<T, R> {
  /** Tasks running at once. @default 8 */
  concurrency: number;
  /** Each attempt's `ctx.signal` aborts this long after it started. @default 180_000 */
  taskTimeoutMs: number;
  /** An attempt still running this long after its deadline is abandoned and its slot freed. @default 5_000 */
  graceMs: number;
  /** After the run's signal aborts, in-flight tasks get this long before their signals abort. @default 10_000 */
  shutdownGraceMs: number;
  /** Retries after the first attempt for transient failures. @default 2 */
  retries: number;
  /** Delay between retries of one task. @default { minMs: 1000, maxMs: 30000, factor: 2, jitter: true } */
  backoff: BackoffOptions;
  /** Items pulled from the source ahead of free slots. @default concurrency */
  prefetch: number;
  /**
   * Additive increase / multiplicative decrease of the in-flight limit between 1 and `concurrency`: halved on a
   * 429, a transient failure (5xx, network, timeout) or task latency rising to 3x the best average seen, grown by
   * one after a full round of successes. Off by default: on a machine that is CPU-bound (2 cores, 8 pages) task
   * latency rises with concurrency while throughput still rises, so the latency rule would give up throughput
   * on a healthy portal, and a 429 already holds every start for its Retry-After.
   * @default false
   */
  adaptive: boolean;
  /**
   * At most this many task starts per second, evenly spaced (fractions allowed); 0 is no limit. A run talks to
   * one portal, so this is the per-host rate. Retries count as starts.
   * @default 0
   */
  rate: number;
  /** Stable id of an item: dedupe within the run and the key every event carries. */
  key(item: T): string;
  /** Awaited before a task is counted: the checkpoint writes here. Only the current attempt of a task ever reaches it. A rejection is fatal. */
  commit?(outcome: TaskOutcome<T, R>): Promise<void>;
  /**
   * Single-flight: called once for any number of concurrent SessionExpiredError; rejecting with a fatal error ends
   * the run. Pass a SingleFlightLogin to share the login with others (the listing); its logins by anyone hold the
   * queue's starts and count as the queue's re-logins.
   */
  relogin?: (() => Promise<void>) | SingleFlightLogin;
  /** Turns a task's error into a decision. @default classify from src/errors.ts */
  classify?: (err: unknown) => Decision;
  /** The clock, in epoch ms (tests). @default Date.now */
  now?: () => number;
  /**
   * A second bound on starts besides `concurrency`: nothing starts while `open()` is false; `onOpen` is told
   * when it may have become true (the item worker's browser stage: a task starts only when a page is free for it,
   * so its deadline never runs while it waits for one).
   */
  gate?: Capacity;
  /**
   * The 429 hold to share with others (the item worker's file store): a 429 anyone meets holds every start.
   * @default a hold of the queue's own
   */
  hold?: RateHold;
}

export type QueueOptionsInput<T, R> = Partial<TaskQueueOptions<T, R>> & Pick<TaskQueueOptions<T, R>, 'key'>;

export interface ResolvedQueueOptions<T, R>
  extends Omit<TaskQueueOptions<T, R>, 'classify' | 'now' | 'commit' | 'relogin'> {
  classify: (err: unknown) => Decision;
  now: () => number;
  commit: ((outcome: TaskOutcome<T, R>) => Promise<void>) | undefined;
  login: SingleFlightLogin | undefined;
}

/**
 * The queue's defaults, written once: the CLI's settings table (src/settings.ts) reads them from here, and every
 * backend (the in-process queue, `run()`, the BullMQ worker) uses them.
 */
export const QUEUE_DEFAULTS = Object.freeze({
  concurrency: 8,
  taskTimeoutMs: 180_000,
  graceMs: 5_000,
  shutdownGraceMs: 10_000,
  retries: 2,
  rate: 0,
  backoff: Object.freeze({ minMs: 1000, maxMs: 30_000, factor: 2, jitter: true }) as Readonly<BackoffOptions>,
  adaptive: false,
});

/** Most retries a task may have (the CLI's `--retries` allows the same). */
export const MAX_RETRIES = 20;

/**
 * Most tasks in flight. Not the pages (the CLI allows 1 to 64 of those): `run()` gives its queue pages + downloads
 * (up to 64 + 256), a fleet machine's BullMQ worker the same.
 */
export const MAX_CONCURRENCY = 10_000;

/** setTimeout fires at once for anything longer (a 32-bit signed delay). */
export const MAX_TIMER_MS = 2_147_483_647;

/** Spreads the defaults in and checks every field; throws one ConfigError naming each bad field and value. */
export function resolveQueueOptions<T, R>(input: QueueOptionsInput<T, R>): ResolvedQueueOptions<T, R> {
  const { options, problems } = checkQueueOptions(input);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return options;
}

/** The options with the defaults spread in, and one message per bad field ([] when none). */
export function checkQueueOptions<T, R>(
  input: QueueOptionsInput<T, R>,
): { options: ResolvedQueueOptions<T, R>; problems: string[] } {
  const d = QUEUE_DEFAULTS;
  const concurrency = input.concurrency ?? d.concurrency;
  const backoff: BackoffOptions = { ...d.backoff, ...input.backoff };
  const options: ResolvedQueueOptions<T, R> = {
    concurrency,
    taskTimeoutMs: input.taskTimeoutMs ?? d.taskTimeoutMs,
    graceMs: input.graceMs ?? d.graceMs,
    shutdownGraceMs: input.shutdownGraceMs ?? d.shutdownGraceMs,
    retries: input.retries ?? d.retries,
    backoff,
    prefetch: input.prefetch ?? concurrency,
    adaptive: input.adaptive ?? d.adaptive,
    rate: input.rate ?? d.rate,
    key: input.key,
    // Called through `input` so a method keeps its `this`; no bind before the type is checked.
    commit: input.commit ? (outcome) => input.commit!(outcome) : undefined,
    login: loginOf(input),
    classify: input.classify ?? classify,
    now: input.now ?? Date.now,
    ...(input.gate ? { gate: input.gate } : {}),
    ...(input.hold ? { hold: input.hold } : {}),
  };

  const problems: string[] = [];
  const integer = (name: string, value: unknown, min: number, max: number) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`Expected \`${name}\` to be an integer from ${min} to ${max}, got \`${show(value)}\``);
    }
  };
  const number = (name: string, value: unknown, min: number, max: number, unit = '') => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      problems.push(
        `Expected \`${name}\` to be a number from ${min} to ${max}${unit}, got \`${show(value)}\``,
      );
    }
  };
  const fn = (name: string, value: unknown, required: boolean) => {
    if (value === undefined && !required) return;
    if (typeof value !== 'function')
      problems.push(`Expected \`${name}\` to be a function, got \`${show(value)}\``);
  };
  integer('concurrency', options.concurrency, 1, MAX_CONCURRENCY);
  integer('taskTimeoutMs', options.taskTimeoutMs, 1, MAX_TIMER_MS);
  integer('graceMs', options.graceMs, 0, MAX_TIMER_MS);
  integer('shutdownGraceMs', options.shutdownGraceMs, 0, MAX_TIMER_MS);
  const watchdogMs = options.taskTimeoutMs + options.graceMs;
  if (typeof watchdogMs === 'number' && watchdogMs > MAX_TIMER_MS) {
    problems.push(
      `Expected \`taskTimeoutMs\` + \`graceMs\` to be at most ${MAX_TIMER_MS}, got \`${watchdogMs}\``,
    );
  }
  integer('retries', options.retries, 0, MAX_RETRIES);
  integer('prefetch', options.prefetch, 0, 10_000);
  if (typeof options.adaptive !== 'boolean') {
    problems.push(`Expected \`adaptive\` to be a boolean, got \`${show(options.adaptive)}\``);
  }
  number('rate', options.rate, 0, 10_000, ' (starts per second)');
  integer('backoff.minMs', backoff.minMs, 0, MAX_TIMER_MS);
  integer(
    'backoff.maxMs',
    backoff.maxMs,
    typeof backoff.minMs === 'number' ? backoff.minMs : 0,
    MAX_TIMER_MS,
  );
  number('backoff.factor', backoff.factor, 1, 100);
  if (typeof backoff.jitter !== 'boolean') {
    problems.push(`Expected \`backoff.jitter\` to be a boolean, got \`${show(backoff.jitter)}\``);
  }
  fn('key', input.key, true);
  fn('commit', input.commit, false);
  if (!(input.relogin instanceof SingleFlightLogin)) fn('relogin', input.relogin, false);
  fn('classify', input.classify, false);
  fn('now', input.now, false);
  return { options, problems };
}

function loginOf(input: { relogin?: unknown }): SingleFlightLogin | undefined {
  const { relogin } = input;
  if (relogin instanceof SingleFlightLogin) return relogin;
  // Called through `input` so a method keeps its `this`.
  return typeof relogin === 'function'
    ? new SingleFlightLogin(() => (input.relogin as () => Promise<void>)())
    : undefined;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'function';
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'array' : 'object';
  return String(value);
}
