// Adaptive concurrency (AIMD) and the start rate of the AsyncTaskQueue, under fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, RateLimitedError } from '../../src/errors.js';
import { AdaptiveLimit } from '../../src/queue/adaptive-limit.js';
import { StartRate } from '../../src/queue/start-rate.js';
import { AsyncTaskQueue, type QueueSummary } from '../../src/queue/task-queue.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function settle(promise: Promise<QueueSummary>): Promise<QueueSummary> {
  let summary: QueueSummary | undefined;
  promise.then((s) => {
    summary = s;
  });
  for (let i = 0; i < 10_000 && summary === undefined; i++) await vi.advanceTimersByTimeAsync(50);
  if (!summary) throw new Error('queue did not finish');
  return summary;
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
const fastBackoff = { minMs: 100, maxMs: 1000, factor: 2, jitter: false };

/** Runs `work` on `n` items and checks, at every start, that in-flight tasks never exceed the announced limit. */
function watchLimit(queue: AsyncTaskQueue<string, void>, max: number) {
  let limit = max;
  let inFlight = 0;
  let maxInFlight = 0;
  let overLimit = 0;
  const changes: Array<{ limit: number; reason: string }> = [];
  queue.on('concurrency', (change) => {
    changes.push(change);
    limit = change.limit;
  });
  queue.on('task:start', () => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (inFlight > limit) overLimit += 1;
    expect(queue.metrics().limit).toBe(limit);
  });
  const end = () => {
    inFlight -= 1;
  };
  queue.on('task:done', end);
  queue.on('task:retry', end);
  queue.on('task:failed', end);
  return {
    changes,
    get maxInFlight() {
      return maxInFlight;
    },
    get overLimit() {
      return overLimit;
    },
  };
}

describe('adaptive concurrency', () => {
  it('halves the limit on a 429, keeps in-flight tasks under it, and grows back to the maximum', async () => {
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 8,
      adaptive: true,
      backoff: fastBackoff,
      key: (k) => k,
    });
    const watch = watchLimit(queue, 8);
    let limited = false;
    const summary = await settle(
      queue.run(keys(200), async (key) => {
        await sleep(100);
        if (key === 'k20' && !limited) {
          limited = true;
          throw new RateLimitedError(200);
        }
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 200, failed: 0 });
    expect(watch.changes[0]).toEqual({ limit: 4, reason: 'trouble' });
    expect(watch.changes.slice(1)).toEqual([5, 6, 7, 8].map((limit) => ({ limit, reason: 'recovered' })));
    expect(watch.overLimit).toBe(0);
    expect(watch.maxInFlight).toBe(8);
  });

  it('cuts once for a burst of failures from one round, again for failures of tasks started after the cut', async () => {
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 8,
      adaptive: true,
      backoff: fastBackoff,
      key: (k) => k,
    });
    const watch = watchLimit(queue, 8);
    const failed = new Set<string>();
    // The first 8 tasks all fail together (a 502 storm); then k8..k11, started at the limit of 4, fail too.
    const summary = await settle(
      queue.run(keys(40), async (key) => {
        await sleep(100);
        const n = Number(key.slice(1));
        if (n < 12 && !failed.has(key)) {
          failed.add(key);
          throw new Error('portal answered HTTP 502');
        }
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 40 });
    const cuts = watch.changes.filter((c) => c.reason === 'trouble');
    expect(cuts.map((c) => c.limit)).toEqual([4, 2]);
    expect(watch.overLimit).toBe(0);
  });

  it('cuts when task latency rises to 3x the best average, and not while it stays level', async () => {
    const queue = new AsyncTaskQueue<string, void>({ concurrency: 8, adaptive: true, key: (k) => k });
    const watch = watchLimit(queue, 8);
    const summary = await settle(
      queue.run(keys(120), async (key) => {
        // Level at 200 ms for the first 60 tasks, then the portal slows down to 2 s.
        await sleep(Number(key.slice(1)) < 60 ? 200 : 2000);
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 120 });
    // The first change is the latency cut, to half.
    expect(watch.changes[0]).toEqual({ limit: 4, reason: 'latency' });
    expect(watch.overLimit).toBe(0);
  });

  it('is off by default: a 429 holds starts but never lowers the limit', async () => {
    const queue = new AsyncTaskQueue<string, void>({ concurrency: 8, backoff: fastBackoff, key: (k) => k });
    const watch = watchLimit(queue, 8);
    let limited = false;
    await settle(
      queue.run(keys(60), async (key) => {
        await sleep(100);
        if (key === 'k10' && !limited) {
          limited = true;
          throw new RateLimitedError(200);
        }
      }),
    );
    expect(watch.changes).toEqual([]);
    expect(watch.maxInFlight).toBe(8);
    expect(queue.metrics().limit).toBe(8);
  });

  it('AdaptiveLimit never goes below 1 nor above its maximum', () => {
    const limit = new AdaptiveLimit(3);
    let seq = 0;
    for (let i = 0; i < 5; i++) limit.record({ kind: 'trouble', seq: ++seq }, seq);
    expect(limit.limit).toBe(1);
    for (let i = 0; i < 100; i++) limit.record({ kind: 'success', ms: 10, seq: ++seq }, seq);
    expect(limit.limit).toBe(3);
  });

  it('AdaptiveLimit halves on latency only once the average passes three times the best one seen', () => {
    const limit = new AdaptiveLimit(8);
    let seq = 0;
    const success = (ms: number) => limit.record({ kind: 'success', ms, seq: ++seq }, seq);
    // Five tasks of 10 ms: the warm-up is over and the best average is 10 ms.
    for (let i = 0; i < 5; i++) expect(success(10)).toBeNull();
    // One of 110 ms moves the average (weight 0.2) to exactly 30 ms: three times the best, not above it.
    expect(success(110)).toBeNull();
    expect(limit.limit).toBe(8);
    // One more of 115 ms: 51 ms, above 30.
    expect(success(115)).toBe('latency');
    expect(limit.limit).toBe(4);
  });
});

describe('start rate', () => {
  it('spaces task starts evenly at `rate` per second, retries included', async () => {
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 8,
      rate: 5,
      backoff: fastBackoff,
      key: (k) => k,
    });
    const starts: number[] = [];
    queue.on('task:start', () => starts.push(Date.now()));
    let failedOnce = false;
    const began = Date.now();
    const summary = await settle(
      queue.run(keys(20), async (key) => {
        if (key === 'k3' && !failedOnce) {
          failedOnce = true;
          throw new Error('HTTP 503');
        }
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 20 });
    expect(starts).toHaveLength(21);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(200);
    // 21 starts at 5 per second: the last one 4 s after the first, not sooner.
    expect(starts.at(-1)! - began).toBeGreaterThanOrEqual(4000);
    expect(starts.at(-1)! - began).toBeLessThan(4500);
    for (const t of starts)
      expect(starts.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(5);
  });

  it('StartRate allows fractional rates and no burst after an idle time', () => {
    const rate = new StartRate(0.5);
    expect(rate.waitMs(0)).toBe(0);
    rate.take(0);
    expect(rate.waitMs(1000)).toBe(1000);
    expect(rate.waitMs(2000)).toBe(0);
    rate.take(10_000);
    expect(rate.waitMs(10_001)).toBe(1999);
  });

  it('rejects a bad rate and a non-boolean adaptive, naming both', () => {
    expect(
      () => new AsyncTaskQueue({ key: String, rate: -1, adaptive: 'yes' as unknown as boolean }),
    ).toThrow(ConfigError);
    expect(
      () => new AsyncTaskQueue({ key: String, rate: -1, adaptive: 'yes' as unknown as boolean }),
    ).toThrow(
      'Expected `adaptive` to be a boolean, got `"yes"`; Expected `rate` to be a number from 0 to 10000 (starts per second), got `-1`',
    );
  });
});
