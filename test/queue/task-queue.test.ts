// The AsyncTaskQueue under fake timers: limits, lazy pull, retries, watchdog, 429 hold, shared relogin, stop paths.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  DiskFullError,
  PermanentError,
  RateLimitedError,
  SessionExpiredError,
  TaskTimeoutError,
} from '../../src/errors.js';
import { backoffDelay } from '../../src/queue/backoff-delay.js';
import { QUEUE_EVENT_NAMES, type QueueEvents } from '../../src/queue/events.js';
import { AsyncTaskQueue, type QueueSummary, type TaskOutcome } from '../../src/queue/task-queue.js';
import { sleep } from '../helpers/sleep.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Every event the queue emits, in order, with the fake clock's time. */
function record<R>(queue: AsyncTaskQueue<string, R>) {
  const log: { at: number; name: keyof QueueEvents<R>; data: unknown }[] = [];
  for (const name of QUEUE_EVENT_NAMES) {
    (queue.on as (n: string, l: (d: unknown) => void) => unknown)(name, (data) =>
      log.push({ at: Date.now(), name, data }),
    );
  }
  const of = <K extends keyof QueueEvents<R>>(name: K) =>
    log.filter((e) => e.name === name).map((e) => ({ at: e.at, ...(e.data as QueueEvents<R>[K][0]) }));
  return { log, of };
}

/** Runs the queue to its end on the fake clock. */
async function settle(promise: Promise<QueueSummary>): Promise<QueueSummary> {
  let summary: QueueSummary | undefined;
  promise.then((s) => {
    summary = s;
  });
  for (let i = 0; i < 10_000 && summary === undefined; i++) await vi.advanceTimersByTimeAsync(100);
  if (!summary) throw new Error('queue did not finish');
  return summary;
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${i}`);
const fastBackoff = { minMs: 100, maxMs: 10_000, factor: 2, jitter: false };

describe('AsyncTaskQueue', () => {
  it('runs 1,000 tasks with at most 8 in flight and pulls the source lazily', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let completed = 0;
    let pulled = 0;
    let maxAhead = 0;
    function* source() {
      for (let i = 0; i < 1000; i++) {
        pulled += 1;
        maxAhead = Math.max(maxAhead, pulled - completed);
        yield `k${i}`;
      }
    }
    const commits: TaskOutcome<string, number>[] = [];
    const queue = new AsyncTaskQueue<string, number>({
      concurrency: 8,
      key: (k) => k,
      commit: async (o) => {
        commits.push(o);
      },
    });
    const events = record(queue);
    const summary = await settle(
      queue.run(source(), async (item) => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(Number(item.slice(1)) % 7);
        inFlight -= 1;
        completed += 1;
        return Number(item.slice(1));
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 1000, failed: 0, pending: [] });
    expect(maxInFlight).toBe(8);
    expect(maxAhead).toBeLessThanOrEqual(8 + 8);
    expect(commits).toHaveLength(1000);
    expect(new Set(commits.map((c) => c.key)).size).toBe(1000);
    expect(events.of('task:done')).toHaveLength(1000);
    expect(events.log.at(-1)?.name).toBe('idle');
  });

  it('keeps going after one task fails', async () => {
    const queue = new AsyncTaskQueue<string, string>({ concurrency: 4, retries: 0, key: (k) => k });
    const events = record(queue);
    const summary = await settle(
      queue.run(keys(50), async (k) => {
        await sleep(5);
        if (k === 'k10') throw new Error('boom');
        return k;
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 49, failed: 1, permanent: 0 });
    expect(events.of('task:failed').map((e) => e.key)).toEqual(['k10']);
  });

  it('runs in strict source order with concurrency 1', async () => {
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    // Retries off: an attempt that failed and ran again would show in `order`, not be hidden by a retry.
    const queue = new AsyncTaskQueue<string, void>({ concurrency: 1, retries: 0, key: (k) => k });
    const source = keys(30).reverse();
    const summary = await settle(
      queue.run(source, async (k) => {
        // Counted here, asserted outside: an expect that throws in the work is a task error, not a failed test.
        running += 1;
        peak = Math.max(peak, running);
        order.push(k);
        await sleep(k.length);
        running -= 1;
      }),
    );
    expect(summary).toMatchObject({ done: 30, failed: 0, retries: 0 });
    expect(peak).toBe(1);
    expect(order).toEqual(source);
  });

  it('retries every task that failed its first attempt, none lost after the source is exhausted', async () => {
    let sourceDoneAt = -1;
    async function* source() {
      for (const k of keys(40)) yield k;
      sourceDoneAt = Date.now();
    }
    const commits: TaskOutcome<string, number>[] = [];
    const queue = new AsyncTaskQueue<string, number>({
      concurrency: 4,
      backoff: fastBackoff,
      key: (k) => k,
      commit: async (o) => {
        commits.push(o);
      },
    });
    const events = record(queue);
    const summary = await settle(
      queue.run(source(), async (_k, ctx) => {
        await sleep(10);
        if (ctx.attempt === 1) throw new Error('flaky');
        return ctx.attempt;
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 40, failed: 0, retries: 40, pending: [] });
    expect(commits.every((c) => c.status === 'done' && c.attempt === 2)).toBe(true);
    expect(new Set(commits.map((c) => c.key)).size).toBe(40);
    // The last retries ran after the source had nothing left.
    expect(Math.max(...events.of('task:done').map((e) => e.at))).toBeGreaterThan(sourceDoneAt);
  });

  it('starts a waiting retry before new source items once its time has come', async () => {
    const queue = new AsyncTaskQueue<string, void>({ concurrency: 1, backoff: fastBackoff, key: (k) => k });
    const events = record(queue);
    await settle(
      queue.run(['a', 'b', 'c'], async (k, ctx) => {
        if (k === 'a' && ctx.attempt === 1) throw new Error('flaky');
        await sleep(500);
      }),
    );
    expect(events.of('task:start').map((e) => `${e.key}${e.attempt}`)).toEqual(['a1', 'b1', 'a2', 'c1']);
  });

  it('abandons a task that ignores its signal, discards its late result and retries it', async () => {
    const contexts: { signal: AbortSignal; abandoned: AbortSignal }[] = [];
    const commits: TaskOutcome<string, string>[] = [];
    const queue = new AsyncTaskQueue<string, string>({
      concurrency: 2,
      taskTimeoutMs: 1000,
      graceMs: 500,
      retries: 1,
      backoff: fastBackoff,
      key: (k) => k,
      commit: async (o) => {
        commits.push(o);
      },
    });
    const events = record(queue);
    const start = Date.now();
    const summary = await settle(
      // The other slot stays busy well past the late result, so the run is still going when it arrives.
      queue.run(['stuck', ...keys(30)], async (k, ctx) => {
        if (k !== 'stuck') {
          await sleep(900);
          return k;
        }
        contexts.push(ctx);
        if (ctx.attempt === 1) {
          await sleep(10_000); // ignores ctx.signal
          return 'late';
        }
        return 'retried';
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 31, abandoned: 1, retries: 1 });
    expect(Math.max(...events.of('task:done').map((e) => e.at))).toBeGreaterThan(start + 10_000);
    const abandoned = events.of('task:abandoned');
    expect(abandoned).toEqual([{ at: start + 1500, key: 'stuck', attempt: 1 }]);
    expect(contexts[0]?.signal.aborted).toBe(true);
    expect(contexts[0]?.signal.reason).toBeInstanceOf(TaskTimeoutError);
    expect(contexts[0]?.abandoned.aborted).toBe(true);
    expect(contexts[1]?.abandoned.aborted).toBe(false);
    const stuck = commits.filter((c) => c.key === 'stuck');
    expect(stuck).toEqual([expect.objectContaining({ status: 'done', attempt: 2, result: 'retried' })]);
    expect(events.of('task:done').filter((e) => e.key === 'stuck')).toHaveLength(1);
    expect(events.of('task:failed')).toHaveLength(0);
  });

  it('gives a task that rejects after its deadline a TaskTimeoutError', async () => {
    const queue = new AsyncTaskQueue<string, void>({
      taskTimeoutMs: 1000,
      retries: 0,
      key: (k) => k,
    });
    const events = record(queue);
    const summary = await settle(
      queue.run(['a'], async (_k, ctx) => {
        await sleep(5000, ctx.signal).catch(() => {
          throw new DOMException('This operation was aborted', 'AbortError');
        });
      }),
    );
    expect(summary).toMatchObject({ failed: 1, permanent: 0, abandoned: 0 });
    const error = events.of('task:failed')[0]?.error;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as TaskTimeoutError).code).toBe('TASK_TIMEOUT');
    expect((error as TaskTimeoutError).cause).toBeInstanceOf(DOMException);
  });

  it('grows retry delays exponentially with jitter', async () => {
    const random = vi.spyOn(Math, 'random');
    for (const r of [0, 0.5, 0.99, 0.25]) random.mockReturnValueOnce(r);
    const queue = new AsyncTaskQueue<string, void>({
      retries: 4,
      backoff: { minMs: 100, maxMs: 100_000, factor: 2, jitter: true },
      key: (k) => k,
    });
    const events = record(queue);
    const summary = await settle(
      queue.run(['a'], async () => {
        throw new Error('always');
      }),
    );
    expect(summary).toMatchObject({ failed: 1, retries: 4 });
    const delays = events.of('task:retry').map((e) => e.delayMs);
    expect(delays).toEqual([100, 300, 796, 1000]);
    // The retries really waited that long.
    const starts = events.of('task:start').map((e) => e.at);
    expect(starts.slice(1).map((at, i) => at - (starts[i] ?? 0))).toEqual(delays);
  });

  it('jitters retry delays between tasks and caps them at maxMs', async () => {
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 20,
      retries: 1,
      backoff: { minMs: 1000, maxMs: 30_000, factor: 2, jitter: true },
      key: (k) => k,
    });
    const events = record(queue);
    await settle(
      queue.run(keys(20), async () => {
        throw new Error('always');
      }),
    );
    const delays = events.of('task:retry').map((e) => e.delayMs);
    expect(delays).toHaveLength(20);
    for (const d of delays) expect(d >= 1000 && d <= 2000).toBe(true);
    expect(new Set(delays).size).toBeGreaterThan(1);
    const opts = { minMs: 1000, maxMs: 30_000, factor: 2, jitter: true };
    expect(backoffDelay(10, opts, () => 0.9)).toBe(30_000);
    expect(backoffDelay(3, { ...opts, jitter: false })).toBe(4000);
  });

  it('holds every new start for the Retry-After of a 429, then retries the task', async () => {
    const queue = new AsyncTaskQueue<string, void>({ concurrency: 2, key: (k) => k });
    const events = record(queue);
    let heldUntil: number | null = null;
    let limitedAt = 0;
    const promise = queue.run(keys(6), async (k, ctx) => {
      await sleep(k === 'k0' ? 10 : 100);
      if (k === 'k0' && ctx.attempt === 1) {
        limitedAt = Date.now();
        throw new RateLimitedError(2000);
      }
    });
    await vi.advanceTimersByTimeAsync(500);
    heldUntil = queue.metrics().heldUntil;
    const summary = await settle(promise);
    expect(summary).toMatchObject({ reason: 'done', done: 6, failed: 0, retries: 1 });
    const [backoff] = events.of('backoff');
    expect(backoff?.untilMs).toBe(limitedAt + 2000);
    expect(heldUntil).toBe(limitedAt + 2000);
    const starts = events.of('task:start');
    expect(starts.filter((s) => s.at > limitedAt && s.at < limitedAt + 2000)).toEqual([]);
    // The throttled task goes first when the hold ends.
    const after = starts.filter((s) => s.at >= limitedAt + 2000);
    expect(after[0]).toMatchObject({ key: 'k0', attempt: 2, at: limitedAt + 2000 });
    expect(after.length).toBeGreaterThan(1);
  });

  it('calls relogin exactly once when 10 workers hit an expired session at once', async () => {
    let relogins = 0;
    const queue = new AsyncTaskQueue<string, number>({
      concurrency: 10,
      key: (k) => k,
      relogin: async () => {
        relogins += 1;
        await sleep(50);
      },
    });
    const events = record(queue);
    const summary = await settle(
      queue.run(keys(10), async (_k, ctx) => {
        await sleep(10);
        if (ctx.attempt === 1) throw new SessionExpiredError();
        return ctx.attempt;
      }),
    );
    expect(relogins).toBe(1);
    expect(summary).toMatchObject({ reason: 'done', done: 10, failed: 0, relogins: 1 });
    expect(events.of('relogin').map((e) => e.done)).toEqual([false, true]);
    // No retry started before the shared relogin finished.
    const reloginDone = events.of('relogin')[1]?.at ?? 0;
    for (const s of events.of('task:start').filter((e) => e.attempt === 2)) {
      expect(s.at).toBeGreaterThanOrEqual(reloginDone);
    }
  });

  it('does not log in again for a task that started before a relogin that already finished', async () => {
    let relogins = 0;
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 2,
      key: (k) => k,
      relogin: async () => {
        relogins += 1;
        await sleep(50);
      },
    });
    const summary = await settle(
      queue.run(['fast', 'slow'], async (k, ctx) => {
        await sleep(k === 'fast' ? 10 : 1000);
        if (ctx.attempt === 1) throw new SessionExpiredError();
      }),
    );
    expect(relogins).toBe(1);
    expect(summary).toMatchObject({ done: 2, relogins: 1 });
  });

  it('ends the run when relogin rejects with a fatal error', async () => {
    const refused = new DiskFullError('no space');
    const queue = new AsyncTaskQueue<string, void>({
      key: (k) => k,
      relogin: async () => {
        throw refused;
      },
    });
    const summary = await settle(
      queue.run(['a', 'b'], async () => {
        throw new SessionExpiredError();
      }),
    );
    expect(summary).toMatchObject({ reason: 'fatal', error: refused });
    expect(summary.pending.sort()).toEqual(['a', 'b']);
  });

  it('attempts a permanent failure once and commits it as permanent', async () => {
    const commits: TaskOutcome<string, void>[] = [];
    let calls = 0;
    const queue = new AsyncTaskQueue<string, void>({
      key: (k) => k,
      commit: async (o) => {
        commits.push(o);
      },
    });
    const summary = await settle(
      queue.run(['gone'], async () => {
        calls += 1;
        throw new PermanentError('no document');
      }),
    );
    expect(calls).toBe(1);
    expect(summary).toMatchObject({ done: 0, failed: 1, permanent: 1, retries: 0 });
    expect(commits).toEqual([
      expect.objectContaining({
        status: 'failed',
        key: 'gone',
        attempt: 1,
        permanent: true,
        code: 'PERMANENT',
      }),
    ]);
  });

  it('skips and counts duplicate keys from the source', async () => {
    const seen: string[] = [];
    const queue = new AsyncTaskQueue<{ id: string; n: number }, void>({ concurrency: 2, key: (x) => x.id });
    const duplicates: string[] = [];
    queue.on('task:duplicate', ({ key }) => duplicates.push(key));
    const items = ['a', 'b', 'a', 'c', 'b', 'a'].map((id, n) => ({ id, n }));
    const summary = await settle(
      queue.run(items, async (x) => {
        seen.push(`${x.id}${x.n}`);
        await sleep(10);
      }),
    );
    expect(seen).toEqual(['a0', 'b1', 'c3']);
    expect(duplicates).toEqual(['a', 'b', 'a']);
    expect(summary).toMatchObject({ done: 3, duplicates: 3 });
  });

  it('shuts down gracefully: finishers are done, the rest interrupted and pending, nothing failed', async () => {
    const commits: TaskOutcome<string, string>[] = [];
    const stubborn: AbortSignal[] = [];
    const queue = new AsyncTaskQueue<string, string>({
      concurrency: 4,
      prefetch: 2,
      shutdownGraceMs: 1000,
      graceMs: 500,
      backoff: fastBackoff,
      key: (k) => k,
      commit: async (o) => {
        commits.push(o);
      },
    });
    const events = record(queue);
    const stop = new AbortController();
    const work = async (k: string, ctx: { signal: AbortSignal; abandoned: AbortSignal }) => {
      if (k === 'retry') {
        await sleep(20);
        throw new Error('flaky'); // waits 100 ms to retry: still waiting at the abort
      }
      if (k === 'honours') await sleep(60_000, ctx.signal);
      if (k === 'ignores') {
        stubborn.push(ctx.abandoned);
        await sleep(60_000);
      }
      if (k.startsWith('quick')) await sleep(300);
      return k;
    };
    const source = ['quick1', 'honours', 'ignores', 'retry', 'quick2', ...keys(10)];
    const promise = queue.run(source, work, { signal: stop.signal });
    await vi.advanceTimersByTimeAsync(100);
    const abortAt = Date.now();
    stop.abort();
    const summary = await settle(promise);
    expect(summary.reason).toBe('interrupted');
    expect(summary).toMatchObject({ done: 2, failed: 0, interrupted: 2 });
    expect(commits.map((c) => `${c.status}:${c.key}`).sort()).toEqual(['done:quick1', 'done:quick2']);
    // Signals abort only after shutdownGraceMs; a task that ignores its signal is cut loose graceMs later.
    expect(events.of('task:interrupted').map((e) => [e.key, e.at - abortAt])).toEqual([
      ['honours', 1000],
      ['ignores', 1500],
    ]);
    // In flight + waiting retry + prefetched: everything pulled but not done.
    expect(summary.pending.sort()).toEqual(['honours', 'ignores', 'k0', 'k1', 'retry'].sort());
    expect(events.of('task:start').every((s) => s.at < 100 + 1_000_000)).toBe(true);
    expect(stubborn[0]?.aborted).toBe(true);
    expect(events.of('task:failed')).toEqual([]);
    expect(events.of('idle')).toEqual([]);
  });

  it('starts nothing when the signal is already aborted', async () => {
    let calls = 0;
    const queue = new AsyncTaskQueue<string, void>({ key: (k) => k });
    const summary = await settle(
      queue.run(
        ['a'],
        async () => {
          calls += 1;
        },
        { signal: AbortSignal.abort() },
      ),
    );
    expect(summary).toMatchObject({ reason: 'interrupted', done: 0, pending: [] });
    expect(calls).toBe(0);
  });

  it('stops the run on a fatal error, aborting what is in flight', async () => {
    const disk = new DiskFullError('disk full');
    const signals: AbortSignal[] = [];
    const commits: TaskOutcome<string, void>[] = [];
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 3,
      key: (k) => k,
      commit: async (o) => {
        commits.push(o);
      },
    });
    const events = record(queue);
    const summary = await settle(
      queue.run(keys(100), async (k, ctx) => {
        signals.push(ctx.signal);
        if (k === 'k4') throw disk;
        await sleep(k === 'k0' || k === 'k1' ? 10 : 5000, ctx.signal);
      }),
    );
    expect(summary).toMatchObject({ reason: 'fatal', error: disk, done: 2, failed: 0 });
    expect(events.of('task:start').map((e) => e.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(signals.every((s) => s.aborted)).toBe(false); // k0, k1 finished before
    // k2 and k3 were in flight when k4 failed.
    expect(signals.slice(2, 4).every((s) => s.aborted)).toBe(true);
    expect(commits.every((c) => c.status === 'done')).toBe(true);
    expect(summary.pending).toEqual(expect.arrayContaining(['k2', 'k3', 'k4']));
    expect(summary.pending).not.toContain('k0');
  });

  it('ends with reason fatal when the source throws', async () => {
    const broken = new Error('listing broke');
    async function* source() {
      yield 'a';
      yield 'b';
      throw broken;
    }
    const queue = new AsyncTaskQueue<string, void>({ key: (k) => k });
    const summary = await settle(queue.run(source(), async () => sleep(10)));
    expect(summary).toMatchObject({ reason: 'fatal', error: broken });
  });

  it('ends with reason fatal when commit throws, and the item stays pending', async () => {
    const queue = new AsyncTaskQueue<string, void>({
      concurrency: 1,
      key: (k) => k,
      commit: async (o) => {
        if (o.key === 'b') throw new Error('checkpoint write failed');
      },
    });
    const events = record(queue);
    const summary = await settle(queue.run(['a', 'b', 'c'], async () => sleep(10)));
    expect(summary).toMatchObject({ reason: 'fatal', done: 1 });
    expect(summary.pending).toEqual(['b', 'c']);
    expect(events.of('task:done').map((e) => e.key)).toEqual(['a']);
  });

  it('never lets a task start twice at once and never pulls the source concurrently', async () => {
    // Checks inside the source and the work only count: a throwing expect there would be a task error the
    // queue retries, and the test could not fail.
    let pulling = false;
    let concurrentPulls = 0;
    const source: AsyncIterable<string> = {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          async next() {
            if (pulling) concurrentPulls += 1;
            pulling = true;
            await sleep(1);
            pulling = false;
            return i < 50 ? { done: false, value: `k${i++ % 20}` } : { done: true, value: undefined };
          },
        };
      },
    };
    const running = new Set<string>();
    let overlaps = 0;
    let peak = 0;
    const starts = new Map<string, number>();
    const queue = new AsyncTaskQueue<string, void>({ concurrency: 8, backoff: fastBackoff, key: (k) => k });
    const summary = await settle(
      queue.run(source, async (k, ctx) => {
        starts.set(k, (starts.get(k) ?? 0) + 1);
        if (running.has(k)) overlaps += 1;
        running.add(k);
        peak = Math.max(peak, running.size);
        await sleep(20);
        running.delete(k);
        if (ctx.attempt === 1 && k.endsWith('3')) throw new Error('flaky');
      }),
    );
    expect(summary).toMatchObject({ reason: 'done', done: 20, duplicates: 30 });
    expect({ overlaps, concurrentPulls }).toEqual({ overlaps: 0, concurrentPulls: 0 });
    // Positive control: work did run side by side, and each key started once (k3, k13: once more, retried).
    expect(peak).toBeGreaterThan(1);
    expect(starts.size).toBe(20);
    for (const [k, n] of starts) expect(n, k).toBe(k.endsWith('3') ? 2 : 1);
  });

  it('rejects bad options with one message naming every field and value', () => {
    const make = (o: object) => () => new AsyncTaskQueue<string, void>({ key: (k: string) => k, ...o });
    expect(make({ concurrency: 0 })).toThrow(ConfigError);
    expect(make({ concurrency: 0 })).toThrow(
      'Expected `concurrency` to be an integer from 1 to 10000, got `0`',
    );
    // Tasks, not pages: run() gives its queue pages + downloads (22 pages + 44 downloads was refused at 64).
    expect(make({ concurrency: 66 })).not.toThrow();
    let error: unknown;
    try {
      make({ retries: -1, backoff: { factor: 0 }, prefetch: 1.5 })();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG');
    const message = (error as Error).message;
    expect(message).toContain('`retries`');
    expect(message).toContain('`-1`');
    expect(message).toContain('`backoff.factor`');
    expect(message).toContain('`prefetch`');
    expect(make({ key: 'id' })).toThrow('Expected `key` to be a function, got `"id"`');
    // The README's limit for --retries.
    expect(make({ retries: 21 })).toThrow('Expected `retries` to be an integer from 0 to 20, got `21`');
    expect(make({ retries: 20 })).not.toThrow();
    expect(make({ concurrency: 64, taskTimeoutMs: 1 })).not.toThrow();
  });

  it('refuses a second run while one is running, with a coded error', async () => {
    const queue = new AsyncTaskQueue<string, void>({ key: (k) => k });
    let release!: () => void;
    const first = queue.run(['a'], () => new Promise<void>((resolve) => (release = resolve)));
    const second = await queue.run(['b'], async () => {}).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(ConfigError);
    expect((second as ConfigError).code).toBe('CONFIG');
    await vi.advanceTimersByTimeAsync(0);
    release();
    expect(await settle(first)).toMatchObject({ reason: 'done', done: 1 });
  });

  // A listener throwing on 'idle' left the run unfinished: the summary never came.
  it('a listener that throws ends the run as fatal with its error, even on the last event', async () => {
    const boom = new Error('listener bug');
    for (const name of ['task:start', 'idle'] as const) {
      const queue = new AsyncTaskQueue<string, void>({ key: (k) => k });
      queue.on(name, () => {
        throw boom;
      });
      const summary = await settle(queue.run(['a'], async () => {}));
      expect(summary, name).toMatchObject({ reason: 'fatal', error: boom });
    }
  });
});
