// The AsyncTaskQueue: bounded, lazy, retrying work over any (async) iterable, reported through typed events.
import { EventEmitter } from 'node:events';
import { ConfigError } from '../errors.js';
import type { QueueEvents } from './events.js';
import { type QueueOptionsInput, type ResolvedQueueOptions, resolveQueueOptions } from './queue-options.js';
import { type QueueMetrics, QueueRun, type QueueSummary, type Work } from './queue-run.js';

export type { BackoffOptions } from './backoff-delay.js';
export type { QueueEvents, TaskRef } from './events.js';
export type { QueueOptionsInput, TaskOutcome, TaskQueueOptions } from './queue-options.js';
export type { QueueMetrics, QueueSummary, TaskContext } from './queue-run.js';

/**
 * Runs `work` over every item of a source with at most `concurrency` in flight, a deadline and a watchdog per
 * attempt, retries with backoff, one shared re-login, and a graceful stop. One run at a time per queue.
 */
export class AsyncTaskQueue<T, R> extends EventEmitter<QueueEvents<R>> {
  readonly #options: ResolvedQueueOptions<T, R>;
  #current: QueueRun<T, R> | undefined;

  /** Throws a ConfigError naming every bad field and its value. */
  constructor(options: QueueOptionsInput<T, R>) {
    super();
    this.#options = resolveQueueOptions(options);
  }

  /**
   * Pulls the source lazily and resolves when it is exhausted and nothing is in flight or waiting ('done'),
   * when `signal` aborted and in-flight tasks finished or were cut loose ('interrupted'), or on a fatal error
   * ('fatal', with `error`). Never rejects for a task's error.
   */
  async run(
    source: AsyncIterable<T> | Iterable<T>,
    work: Work<T, R>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<QueueSummary> {
    if (this.#current) {
      throw new ConfigError('AsyncTaskQueue.run() is already running; start one run at a time');
    }
    const emit = <K extends keyof QueueEvents<R>>(name: K, ...args: QueueEvents<R>[K]) => {
      (this.emit as (name: K, ...args: QueueEvents<R>[K]) => boolean)(name, ...args);
    };
    const run = new QueueRun(this.#options, emit, source, work, opts.signal);
    this.#current = run;
    try {
      run.start();
      return await run.summary;
    } finally {
      this.#current = undefined;
    }
  }

  metrics(): QueueMetrics {
    return (
      this.#current?.metrics() ?? {
        queued: 0,
        retryQueued: 0,
        inFlight: 0,
        oldestInFlightMs: 0,
        utilisation: 0,
        limit: this.#options.concurrency,
        heldUntil: null,
      }
    );
  }
}
