// The fault cases of the attempt runner and the outcome each must have, whatever the backend: one table, run by
// attempt-conformance.test.ts against the in-process queue and the BullMQ worker. Every case states its events
// and counts; none states a duration: waits are orderings (a barrier, a login completed), so a loaded machine
// changes how long a case takes, never what it sees.
import { DiskFullError, PermanentError, RateLimitedError, SessionExpiredError } from '../../src/errors.js';
import type { TaskContext } from '../../src/queue/task-queue.js';
import { sleep } from '../helpers/sleep.js';

/** What the backends share while a case runs, for a script to wait on. */
export interface World {
  /** Resolves once `n` attempts (of any key) have started. */
  started(n: number): Promise<void>;
  /** Resolves once `n` logins have completed. */
  loggedIn(n: number): Promise<void>;
}

/** What one attempt at a key does; `n` is the attempt number of that key across phases (1 for the first). */
export type Script = (key: string, n: number, ctx: TaskContext, world: World) => Promise<void>;

/** The events both backends report, counted (zeros left out). */
export type EventCounts = Partial<
  Record<'start' | 'retry' | 'done' | 'failed' | 'abandoned' | 'interrupted' | 'backoff' | 'relogin', number>
>;

export interface Case {
  name: string;
  keys: string[];
  retries: number;
  script: Script;
  /** The login the backends share; `calls` is 1 for the first login. */
  login?: (calls: number) => Promise<void>;
  /** Abort the run's signal when this key's first attempt starts. */
  stopAtStartOf?: string;
  /**
   * The run ends when this key's first attempt starts, then a new run (a new machine) goes on with what is left:
   * 'shutdown' gives the attempt back gracefully; 'crash' kills the machine (SIGKILL: the fleet's job stalls back
   * to the queue; in-process, the next run starts the key afresh from the checkpoint, as after a shutdown).
   */
  restartAtStartOf?: { key: string; how: 'shutdown' | 'crash' };
  /** Pages: attempts that may run at once, whatever the backend's slots (the browser stage's start gate). */
  pages?: number;
  taskTimeoutMs?: number;
  graceMs?: number;
  expected: Observed;
}

export interface TaskExpectation {
  state: 'done' | 'failed' | 'permanent' | 'pending';
  /** Attempts started (over all runs). */
  attempts: number;
  /** Retries charged against `retries` (null: a pending task has no outcome to say it). */
  charged: number | null;
  code?: string;
  abandoned?: number;
}

export interface Observed {
  run: 'done' | 'interrupted' | 'fatal';
  /** Logins started. */
  logins: number;
  /** Free retries spent, all tasks together. */
  free: number;
  /** Most attempts running at once. */
  peak: number;
  events: EventCounts;
  tasks: Record<string, TaskExpectation>;
}

export const FAST_BACKOFF = { minMs: 20, maxMs: 100, factor: 2, jitter: false };
export const relogin = async () => sleep(50);

/** Documented in the README: the first 10 429s or session expiries of an item cost it no retry. */
const FREE = 10;

/** An expectation with the usual values filled in: the run done, no login, no free retry, one attempt at a time. */
function expecting(o: Partial<Observed> & Pick<Observed, 'events' | 'tasks'>): Observed {
  return { run: 'done', logins: 0, free: 0, peak: 1, ...o };
}

/** A task done after `attempts`, `charged` of them charged. */
function done(attempts: number, charged = 0): TaskExpectation {
  return { state: 'done', attempts, charged };
}

export const CASES: Case[] = [
  {
    name: 'permanent failure: tried once, recorded permanent',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new PermanentError('no document');
    },
    expected: expecting({
      events: { start: 1, failed: 1 },
      tasks: { a: { state: 'permanent', attempts: 1, charged: 0, code: 'PERMANENT' } },
    }),
  },
  {
    name: 'transient failure with retries left: retried, charged one',
    keys: ['a'],
    retries: 2,
    script: async (_k, n) => {
      if (n === 1) throw new Error('flaky');
    },
    expected: expecting({
      events: { start: 2, retry: 1, done: 1 },
      tasks: { a: done(2, 1) },
    }),
  },
  {
    name: 'transient failure with retries exhausted: failed, not permanent',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new Error('always');
    },
    expected: expecting({
      events: { start: 3, retry: 2, failed: 1 },
      tasks: { a: { state: 'failed', attempts: 3, charged: 2 } },
    }),
  },
  {
    // The fleet's jobs are enqueued as `pagepool enqueue` does, with no retries of their own: the worker's count.
    name: '`--retries 4` on the worker: a task that always fails is tried 5 times',
    keys: ['a'],
    retries: 4,
    script: async () => {
      throw new Error('always');
    },
    expected: expecting({
      events: { start: 5, retry: 4, failed: 1 },
      tasks: { a: { state: 'failed', attempts: 5, charged: 4 } },
    }),
  },
  {
    name: '429 with Retry-After: held, then retried free even with no retries',
    keys: ['a'],
    retries: 0,
    script: async (_k, n) => {
      if (n === 1) throw new RateLimitedError(300);
    },
    expected: expecting({
      free: 1,
      events: { start: 2, retry: 1, backoff: 1, done: 1 },
      tasks: { a: done(2) },
    }),
  },
  {
    name: 'four 429s at once: one hold, one free retry spent, no start until it ends',
    keys: ['a', 'b', 'c', 'd'],
    retries: 0,
    script: async (_k, n, _ctx, world) => {
      await world.started(4);
      if (n === 1) throw new RateLimitedError(200);
    },
    expected: expecting({
      free: 1,
      peak: 4,
      events: { start: 8, retry: 4, backoff: 1, done: 4 },
      tasks: {
        a: done(2),
        b: done(2),
        c: done(2),
        d: done(2),
      },
    }),
  },
  {
    name: 'the start gate: one page for three tasks, one at a time, a 429 holds the others too',
    keys: ['a', 'b', 'c'],
    retries: 0,
    pages: 1,
    script: async (k, n) => {
      await sleep(20);
      if (k === 'a' && n === 1) throw new RateLimitedError(200);
    },
    expected: expecting({
      free: 1,
      events: { start: 4, retry: 1, backoff: 1, done: 3 },
      tasks: {
        a: done(2),
        b: done(1),
        c: done(1),
      },
    }),
  },
  {
    name: 'session expired once: one login, retried free even with no retries',
    keys: ['a'],
    retries: 0,
    script: async (_k, n) => {
      if (n === 1) throw new SessionExpiredError();
    },
    expected: expecting({
      logins: 1,
      free: 1,
      events: { start: 2, retry: 1, relogin: 1, done: 1 },
      tasks: { a: done(2) },
    }),
  },
  {
    name: 'session expired on every attempt: free retries, then charged ones, then failed',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new SessionExpiredError();
    },
    expected: expecting({
      // One login per expiry; the last expiry ends the task, so it logs in no more.
      logins: FREE + 2,
      free: FREE,
      events: { start: FREE + 3, retry: FREE + 2, relogin: FREE + 2, failed: 1 },
      tasks: { a: { state: 'failed', attempts: FREE + 3, charged: 2, code: 'SESSION_EXPIRED' } },
    }),
  },
  {
    name: 'one expiry seen by two attempts: one login; the later one, started before it, costs nothing',
    keys: ['fast', 'slow'],
    retries: 0,
    script: async (k, n, _ctx, world) => {
      await world.started(2);
      // The slow one's request left with the old session and came back after the re-login completed.
      if (k === 'slow' && n === 1) await world.loggedIn(1);
      if (n === 1) throw new SessionExpiredError();
    },
    expected: expecting({
      logins: 1,
      free: 1,
      peak: 2,
      events: { start: 4, retry: 2, relogin: 1, done: 2 },
      tasks: {
        fast: done(2),
        slow: done(2),
      },
    }),
  },
  {
    name: 're-login that fails for a passing reason: the task retries later, the run goes on',
    keys: ['a'],
    retries: 0,
    login: async (calls) => {
      await sleep(50);
      if (calls === 1) throw new Error('portal hiccup');
    },
    script: async (_k, n) => {
      if (n === 1) throw new SessionExpiredError();
    },
    expected: expecting({
      logins: 1,
      free: 1,
      events: { start: 2, retry: 1, relogin: 1, done: 1 },
      tasks: { a: done(2) },
    }),
  },
  {
    name: 'attempt timeout: the abort error becomes TASK_TIMEOUT, charged like any transient failure',
    keys: ['a'],
    retries: 0,
    taskTimeoutMs: 300,
    script: async (_k, _n, ctx) => {
      await sleep(60_000, ctx.signal).catch(() => {
        throw new DOMException('This operation was aborted', 'AbortError');
      });
    },
    expected: expecting({
      events: { start: 1, failed: 1 },
      tasks: { a: { state: 'failed', attempts: 1, charged: 0, code: 'TASK_TIMEOUT' } },
    }),
  },
  {
    name: 'attempt abandoned by the watchdog: slot freed, retried and charged, late result discarded',
    keys: ['a'],
    retries: 1,
    taskTimeoutMs: 300,
    graceMs: 300,
    script: async (_k, n, ctx) => {
      // Ignores its signal; its late success comes once it has been given up on, and is discarded.
      if (n === 1) await new Promise((resolve) => ctx.abandoned.addEventListener('abort', resolve));
    },
    expected: expecting({
      events: { start: 2, abandoned: 1, retry: 1, done: 1 },
      tasks: { a: { state: 'done', attempts: 2, charged: 1, abandoned: 1 } },
    }),
  },
  {
    name: 'shutdown during an attempt: interrupted, pending, nothing charged',
    keys: ['a'],
    retries: 2,
    stopAtStartOf: 'a',
    script: async (_k, _n, ctx) => sleep(60_000, ctx.signal),
    expected: expecting({
      run: 'interrupted',
      events: { start: 1, interrupted: 1 },
      tasks: { a: { state: 'pending', attempts: 1, charged: null } },
    }),
  },
  {
    name: 'an attempt that fails during the shutdown grace: pending, never recorded or charged',
    keys: ['a'],
    retries: 2,
    stopAtStartOf: 'a',
    script: async () => {
      await sleep(100);
      throw new Error('flaky');
    },
    expected: expecting({
      run: 'interrupted',
      events: { start: 1, interrupted: 1 },
      tasks: { a: { state: 'pending', attempts: 1, charged: null } },
    }),
  },
  {
    name: 'given back at a shutdown, then expired on every attempt: the give-back spent no free retry',
    keys: ['a'],
    retries: 2,
    restartAtStartOf: { key: 'a', how: 'shutdown' },
    script: async (_k, n, ctx) => {
      if (n === 1) await sleep(60_000, ctx.signal);
      throw new SessionExpiredError();
    },
    expected: expecting({
      logins: FREE + 2,
      free: FREE,
      events: { start: FREE + 4, interrupted: 1, retry: FREE + 2, relogin: FREE + 2, failed: 1 },
      tasks: { a: { state: 'failed', attempts: FREE + 4, charged: 2, code: 'SESSION_EXPIRED' } },
    }),
  },
  {
    name: 'a machine killed mid-attempt, then expired on every attempt: the stall spent no free retry',
    keys: ['a'],
    retries: 2,
    restartAtStartOf: { key: 'a', how: 'crash' },
    script: async (_k, n, ctx) => {
      if (n === 1) await sleep(60_000, ctx.signal);
      throw new SessionExpiredError();
    },
    expected: expecting({
      logins: FREE + 2,
      free: FREE,
      // The killed machine reports nothing: its start is the last thing seen of it.
      events: { start: FREE + 4, retry: FREE + 2, relogin: FREE + 2, failed: 1 },
      tasks: { a: { state: 'failed', attempts: FREE + 4, charged: 2, code: 'SESSION_EXPIRED' } },
    }),
  },
  {
    name: 'fatal error: the run stops, the task stays pending',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new DiskFullError('disk full');
    },
    expected: expecting({
      run: 'fatal',
      events: { start: 1, interrupted: 1 },
      tasks: { a: { state: 'pending', attempts: 1, charged: null } },
    }),
  },
  {
    name: 'a success that lands after a fatal error: recorded done (its files are whole), the other pending',
    keys: ['ok', 'bad'],
    retries: 2,
    script: async (k, _n, ctx, world) => {
      await world.started(2);
      if (k === 'bad') throw new DiskFullError('disk full');
      // Finishes once the fatal stop has aborted it, ignoring that.
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    },
    expected: expecting({
      run: 'fatal',
      peak: 2,
      events: { start: 2, interrupted: 1, done: 1 },
      tasks: {
        ok: done(1),
        bad: { state: 'pending', attempts: 1, charged: null },
      },
    }),
  },
];
