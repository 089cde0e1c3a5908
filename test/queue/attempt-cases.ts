// The fault cases of the attempt policy and the outcome each must have, whatever the backend: one table, run by
// attempt-conformance.test.ts against the in-process queue and the BullMQ worker.
import { DiskFullError, PermanentError, RateLimitedError, SessionExpiredError } from '../../src/errors.js';
import { MAX_FREE_RETRIES } from '../../src/queue/attempt-policy.js';
import type { TaskContext } from '../../src/queue/task-queue.js';
import { sleep } from '../helpers/sleep.js';

/** What one attempt at a key does; `n` is the attempt number of that key (1 for the first). */
export type Script = (key: string, n: number, ctx: TaskContext) => Promise<void>;

export interface Case {
  name: string;
  keys: string[];
  retries: number;
  script: Script;
  /** The login the backends share; `calls` is 1 for the first login. */
  login?: (calls: number) => Promise<void>;
  /** Abort the run's signal when this key's first attempt starts. */
  stopAtStartOf?: string;
  taskTimeoutMs?: number;
  graceMs?: number;
  expected: { run: 'done' | 'interrupted' | 'fatal'; logins: number; tasks: Record<string, TaskExpectation> };
}

export interface TaskExpectation {
  state: 'done' | 'failed' | 'permanent' | 'pending';
  /** Attempts started. */
  attempts: number;
  /** Retries charged against `retries` (null: a pending task has no outcome to say it). */
  charged: number | null;
  code?: string;
  abandoned?: number;
}

export interface Observed {
  run: 'done' | 'interrupted' | 'fatal';
  logins: number;
  tasks: Record<string, TaskExpectation>;
}

export const FAST_BACKOFF = { minMs: 20, maxMs: 100, factor: 2, jitter: false };
export const LOGIN_MS = 50;
export const relogin = async () => sleep(LOGIN_MS);

export const CASES: Case[] = [
  {
    name: 'permanent failure: tried once, recorded permanent',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new PermanentError('no document');
    },
    expected: {
      run: 'done',
      logins: 0,
      tasks: { a: { state: 'permanent', attempts: 1, charged: 0, code: 'PERMANENT' } },
    },
  },
  {
    name: 'transient failure with retries left: retried, charged one',
    keys: ['a'],
    retries: 2,
    script: async (_k, n) => {
      if (n === 1) throw new Error('flaky');
    },
    expected: { run: 'done', logins: 0, tasks: { a: { state: 'done', attempts: 2, charged: 1 } } },
  },
  {
    name: 'transient failure with retries exhausted: failed, not permanent',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new Error('always');
    },
    expected: { run: 'done', logins: 0, tasks: { a: { state: 'failed', attempts: 3, charged: 2 } } },
  },
  {
    name: '429 with Retry-After: held, then retried free even with no retries',
    keys: ['a'],
    retries: 0,
    script: async (_k, n) => {
      if (n === 1) throw new RateLimitedError(300);
    },
    expected: { run: 'done', logins: 0, tasks: { a: { state: 'done', attempts: 2, charged: 0 } } },
  },
  {
    name: 'session expired once: one login, retried free even with no retries',
    keys: ['a'],
    retries: 0,
    script: async (_k, n) => {
      if (n === 1) throw new SessionExpiredError();
    },
    expected: { run: 'done', logins: 1, tasks: { a: { state: 'done', attempts: 2, charged: 0 } } },
  },
  {
    name: 'session expired on every attempt: free retries, then charged ones, then failed',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new SessionExpiredError();
    },
    expected: {
      run: 'done',
      // One login per expiry; the last expiry ends the task, so it logs in no more.
      logins: MAX_FREE_RETRIES + 2,
      tasks: { a: { state: 'failed', attempts: MAX_FREE_RETRIES + 3, charged: 2, code: 'SESSION_EXPIRED' } },
    },
  },
  {
    name: 'one expiry seen by two attempts: one login (the later one started before it completed)',
    keys: ['fast', 'slow'],
    retries: 0,
    script: async (k, n) => {
      await sleep(k === 'fast' ? 10 : 10 + LOGIN_MS + 400);
      if (n === 1) throw new SessionExpiredError();
    },
    expected: {
      run: 'done',
      logins: 1,
      tasks: {
        fast: { state: 'done', attempts: 2, charged: 0 },
        slow: { state: 'done', attempts: 2, charged: 0 },
      },
    },
  },
  {
    name: 're-login that fails for a passing reason: the task retries later, the run goes on',
    keys: ['a'],
    retries: 0,
    login: async (calls) => {
      await sleep(LOGIN_MS);
      if (calls === 1) throw new Error('portal hiccup');
    },
    script: async (_k, n) => {
      if (n === 1) throw new SessionExpiredError();
    },
    expected: { run: 'done', logins: 1, tasks: { a: { state: 'done', attempts: 2, charged: 0 } } },
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
    expected: {
      run: 'done',
      logins: 0,
      tasks: { a: { state: 'failed', attempts: 1, charged: 0, code: 'TASK_TIMEOUT' } },
    },
  },
  {
    name: 'attempt abandoned by the watchdog: slot freed, retried and charged, late result discarded',
    keys: ['a'],
    retries: 1,
    taskTimeoutMs: 300,
    graceMs: 300,
    script: async (_k, n) => {
      if (n === 1) await sleep(3000); // ignores its signal
    },
    expected: {
      run: 'done',
      logins: 0,
      tasks: { a: { state: 'done', attempts: 2, charged: 1, abandoned: 1 } },
    },
  },
  {
    name: 'shutdown during an attempt: interrupted, pending, nothing charged',
    keys: ['a'],
    retries: 2,
    stopAtStartOf: 'a',
    script: async (_k, _n, ctx) => sleep(60_000, ctx.signal),
    expected: {
      run: 'interrupted',
      logins: 0,
      tasks: { a: { state: 'pending', attempts: 1, charged: null } },
    },
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
    expected: {
      run: 'interrupted',
      logins: 0,
      tasks: { a: { state: 'pending', attempts: 1, charged: null } },
    },
  },
  {
    name: 'fatal error: the run stops, the task stays pending',
    keys: ['a'],
    retries: 2,
    script: async () => {
      throw new DiskFullError('disk full');
    },
    expected: { run: 'fatal', logins: 0, tasks: { a: { state: 'pending', attempts: 1, charged: null } } },
  },
];
