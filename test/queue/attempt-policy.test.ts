// The attempt policy's pure functions: the one free-retry rule, the verdicts, the timeout re-wrap.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  classify,
  DiskFullError,
  LoginError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
  TaskTimeoutError,
} from '../../src/errors.js';
import {
  afterLoginFailure,
  type Charges,
  charge,
  decide,
  type PolicyOptions,
  timeoutOf,
} from '../../src/queue/attempt-policy.js';

const policy: PolicyOptions = {
  retries: 2,
  backoff: { minMs: 100, maxMs: 10_000, factor: 2, jitter: false },
  classify,
  canRelogin: true,
};
const NOW = 1_000_000;
/** The README: the first 10 429s or session expiries of an item cost it no retry. */
const FREE = 10;

/** Feeds the same error to the policy until it stops retrying; the verdicts in order. */
function until(error: unknown, options = policy) {
  let charges: Charges = { charged: 0, free: 0 };
  const verdicts = [];
  for (let i = 0; i < 100; i++) {
    const verdict = decide(error, charges, options, NOW);
    verdicts.push(verdict);
    if (verdict.kind === 'fail' || verdict.kind === 'fatal') break;
    charges = charge(charges, verdict);
  }
  return { verdicts, charges };
}

describe('decide', () => {
  it('retries a transient failure with backoff `retries` times, then fails it (not permanent)', () => {
    const { verdicts, charges } = until(new Error('503'));
    expect(verdicts).toEqual([
      { kind: 'retry', delayMs: 100, charge: 'charged' },
      { kind: 'retry', delayMs: 200, charge: 'charged' },
      { kind: 'fail', permanent: false },
    ]);
    expect(charges).toEqual({ charged: 2, free: 0 });
  });

  it('fails a PermanentError at once and stops on a fatal one', () => {
    expect(decide(new PermanentError('404'), { charged: 0, free: 0 }, policy, NOW)).toEqual({
      kind: 'fail',
      permanent: true,
    });
    for (const fatal of [new DiskFullError('full'), new LoginError('refused'), new ConfigError('bad')]) {
      expect(decide(fatal, { charged: 0, free: 0 }, policy, NOW)).toEqual({ kind: 'fatal' });
    }
  });

  it('429s and session expiries share one rule: 10 free, then charged, then failed', () => {
    for (const error of [new RateLimitedError(500), new SessionExpiredError()]) {
      const { verdicts, charges } = until(error);
      expect(verdicts).toHaveLength(FREE + 3);
      expect(verdicts.slice(0, FREE).every((v) => 'charge' in v && v.charge === 'free')).toBe(true);
      expect(verdicts.at(-1)).toEqual({ kind: 'fail', permanent: false });
      expect(charges).toEqual({ charged: 2, free: FREE });
    }
  });

  it('mixes both kinds in one free count, and a free retry leaves the charged ones alone', () => {
    const spent: Charges = { charged: 2, free: FREE - 1 };
    expect(decide(new SessionExpiredError(), spent, policy, NOW)).toEqual({
      kind: 'relogin',
      charge: 'free',
    });
    const more = { ...spent, free: FREE };
    expect(decide(new RateLimitedError(500), more, policy, NOW)).toEqual({ kind: 'fail', permanent: false });
  });

  it('holds until Retry-After, or one backoff when the 429 names none', () => {
    expect(decide(new RateLimitedError(750), { charged: 0, free: 0 }, policy, NOW)).toEqual({
      kind: 'hold',
      untilMs: NOW + 750,
      charge: 'free',
    });
    const bare = Object.assign(new RateLimitedError(0), { retryAfterMs: undefined });
    expect(decide(bare, { charged: 1, free: 0 }, policy, NOW)).toMatchObject({ untilMs: NOW + 100 });
  });

  it("a 429 met while a hold is in effect is the herd's: it extends the hold and costs nothing, even when spent", () => {
    const spent: Charges = { charged: 2, free: FREE };
    // Out of free and charged retries: alone, this 429 would end the task.
    expect(decide(new RateLimitedError(500), spent, policy, NOW)).toEqual({ kind: 'fail', permanent: false });
    const held = { heldUntil: NOW + 300, reloginSince: false };
    expect(decide(new RateLimitedError(500), spent, policy, NOW, held)).toEqual({
      kind: 'hold',
      untilMs: NOW + 500,
      charge: 'none',
    });
    // A shorter Retry-After never shortens the hold in effect.
    expect(decide(new RateLimitedError(100), spent, policy, NOW, held)).toMatchObject({ untilMs: NOW + 300 });
    // A hold that has ended is no herd: this 429 begins the next hold and pays for it.
    const ended = { heldUntil: NOW, reloginSince: false };
    expect(decide(new RateLimitedError(500), { charged: 0, free: 0 }, policy, NOW, ended)).toEqual({
      kind: 'hold',
      untilMs: NOW + 500,
      charge: 'free',
    });
    expect(charge(spent, { kind: 'hold', untilMs: NOW, charge: 'none' })).toBe(spent);
  });

  it('a session expiry whose re-login another attempt already started costs nothing', () => {
    const spent: Charges = { charged: 2, free: FREE };
    expect(decide(new SessionExpiredError(), spent, policy, NOW)).toEqual({ kind: 'fail', permanent: false });
    expect(
      decide(new SessionExpiredError(), spent, policy, NOW, { heldUntil: 0, reloginSince: true }),
    ).toEqual({
      kind: 'relogin',
      charge: 'none',
    });
  });

  it('treats a session expiry as transient when nobody can log in again', () => {
    expect(
      decide(new SessionExpiredError(), { charged: 0, free: 0 }, { ...policy, canRelogin: false }, NOW),
    ).toEqual({
      kind: 'retry',
      delayMs: 100,
      charge: 'charged',
    });
  });

  it('takes a classifier that throws to mean transient', () => {
    const broken = {
      ...policy,
      classify: () => {
        throw new Error('bug');
      },
    };
    expect(decide(new PermanentError('x'), { charged: 0, free: 0 }, broken, NOW).kind).toBe('retry');
  });
});

describe('timeoutOf', () => {
  it('turns an abort error after the deadline into TASK_TIMEOUT with the cause kept; meaningful errors stay', () => {
    const abort = new DOMException('aborted', 'AbortError');
    const wrapped = timeoutOf(abort, 'k1', 5000, classify);
    expect(wrapped).toBeInstanceOf(TaskTimeoutError);
    expect((wrapped as Error).message).toBe('task k1 timed out after 5000 ms');
    expect((wrapped as Error).cause).toBe(abort);
    const permanent = new PermanentError('404');
    expect(timeoutOf(permanent, 'k1', 5000, classify)).toBe(permanent);
    const limited = new RateLimitedError(10);
    expect(timeoutOf(limited, 'k1', 5000, classify)).toBe(limited);
  });
});

describe('afterLoginFailure', () => {
  it('stops on a refused login, retries after one backoff otherwise', () => {
    expect(afterLoginFailure(new LoginError('refused'), policy)).toEqual({ kind: 'fatal' });
    expect(afterLoginFailure(new Error('net::ERR_CONNECTION_RESET'), policy)).toEqual({
      kind: 'retry',
      delayMs: 100,
    });
  });
});
