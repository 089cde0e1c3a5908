// Adaptive concurrency: additive increase, multiplicative decrease of the in-flight limit, between 1 and a maximum.

/** A task's ending, as the limit sees it. */
export type Signal =
  | { kind: 'success'; ms: number; seq: number }
  /** A 429, a 5xx or another transient failure, a timeout: the portal is struggling. */
  | { kind: 'trouble'; seq: number };

/** Why the limit moved. */
export type LimitChange = 'trouble' | 'latency' | 'recovered';

/** How much slower than the best seen the average task may get before the limit halves. */
export const LATENCY_FACTOR = 3;
/** Weight of the newest task in the latency average. */
const EWMA_ALPHA = 0.2;
/** Tasks averaged before the latency rule applies (a cold start is not a baseline). */
const WARMUP = 5;

/**
 * The limit starts at `max` (the user's `--concurrency` is the plan; nothing is gained by ramping up to it).
 * It halves on a 429, a transient failure or a task-latency average above LATENCY_FACTOR times the lowest
 * average seen, at most once per round: only a task started after the last cut can cut again, since tasks
 * already in flight at the old limit tell nothing about the new one. After `limit` successes in a row it grows
 * by one, up to `max`.
 */
export class AdaptiveLimit {
  #limit: number;
  #successes = 0;
  /** Start sequence number of the last task started before the last cut. */
  #cutAt = 0;
  #ewma: number | undefined;
  #samples = 0;
  #baseline = Number.POSITIVE_INFINITY;

  constructor(readonly max: number) {
    this.#limit = max;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Feeds one task's ending; `started` is the sequence number of the last task started so far. */
  record(signal: Signal, started: number): LimitChange | null {
    if (signal.kind === 'trouble') return this.#cut(signal.seq, started) ? 'trouble' : null;
    this.#ewma = this.#ewma === undefined ? signal.ms : this.#ewma + EWMA_ALPHA * (signal.ms - this.#ewma);
    this.#samples += 1;
    if (this.#samples >= WARMUP) {
      if (this.#ewma > LATENCY_FACTOR * this.#baseline) {
        if (this.#cut(signal.seq, started)) {
          // The average is judged afresh at the new limit.
          this.#ewma = undefined;
          this.#samples = 0;
          return 'latency';
        }
        return null;
      }
      this.#baseline = Math.min(this.#baseline, this.#ewma);
    }
    this.#successes += 1;
    if (this.#successes >= this.#limit && this.#limit < this.max) {
      this.#limit += 1;
      this.#successes = 0;
      return 'recovered';
    }
    return null;
  }

  #cut(seq: number, started: number): boolean {
    if (seq <= this.#cutAt) return false;
    this.#cutAt = started;
    this.#successes = 0;
    const next = Math.max(1, Math.floor(this.#limit / 2));
    if (next === this.#limit) return false;
    this.#limit = next;
    return true;
  }
}
