// What starts next and when in the in-process queue: the slots, the prefetch buffer, the retry queue and the adaptive
// limit of one run, behind the attempt runner's start gate. It starts nothing itself: the run hands it `start`.
import { AdaptiveLimit } from './adaptive-limit.js';
import type { Charges } from './attempt-policy.js';
import type { StartGate } from './start-gate.js';

/** One task of the run, from the moment it is pulled until it is finished. */
export interface Entry<T> {
  key: string;
  item: T;
  /** Attempts started so far. */
  attempts: number;
  charges: Charges;
  /** When a waiting retry may start. */
  readyAt: number;
}

export interface SchedulerOptions {
  concurrency: number;
  prefetch: number;
  adaptive: boolean;
  now: () => number;
  /** A wake-up time came (a retry is due, a hold or the start rate passed). */
  onWake(): void;
}

export class Scheduler<T> {
  readonly #o: SchedulerOptions;
  readonly #buffer: Entry<T>[] = [];
  readonly #waiting: Entry<T>[] = [];
  readonly #adaptive: AdaptiveLimit | null;
  #busy = 0;
  #starts = 0;
  #wake: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#adaptive = options.adaptive ? new AdaptiveLimit(options.concurrency) : null;
  }

  /** Tasks allowed in flight now: `concurrency`, or less while the adaptive limit is down. */
  get limit(): number {
    return this.#adaptive?.limit ?? this.#o.concurrency;
  }

  /** Slots held by attempts. */
  get busy(): number {
    return this.#busy;
  }

  /** Starts so far (the sequence number of the last one). */
  get starts(): number {
    return this.#starts;
  }

  get prefetched(): number {
    return this.#buffer.length;
  }

  get retrying(): number {
    return this.#waiting.length;
  }

  /** The source may be pulled: the buffer holds fewer than prefetch + free slots. */
  wantsMore(): boolean {
    return this.#buffer.length < this.#o.prefetch + (this.#o.concurrency - this.#busy);
  }

  /** Nothing prefetched and nothing waiting to retry. */
  get empty(): boolean {
    return this.#buffer.length === 0 && this.#waiting.length === 0;
  }

  /** Keys pulled but not started, or waiting to retry. */
  pendingKeys(): string[] {
    return [...this.#waiting, ...this.#buffer].map((e) => e.key);
  }

  add(entry: Entry<T>): void {
    this.#buffer.push(entry);
  }

  /** Puts a task in the retry queue (no slot held) for `delayMs`. */
  retry(entry: Entry<T>, delayMs: number): void {
    entry.readyAt = this.#o.now() + delayMs;
    this.#waiting.push(entry);
  }

  /**
   * Starts what may start now, each with a slot of its own: due retries first, then prefetched items, within the
   * limit and through `gate` (hold, rate, re-login, pages, stop); arms a wake-up for what may start later (the
   * gate tells of its other changes itself).
   */
  startReady(gate: StartGate, start: (entry: Entry<T>, seq: number) => void): void {
    const now = this.#o.now();
    while (this.#busy < this.limit && this.#hasReady(now)) {
      const openAt = gate.openAt(now);
      if (openAt > now) {
        if (Number.isFinite(openAt)) this.#wakeUpAt(openAt);
        return;
      }
      gate.take(now);
      const entry = this.#dueRetry(now) ?? this.#buffer.shift()!;
      this.#busy += 1;
      this.#starts += 1;
      start(entry, this.#starts);
    }
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#waiting) next = Math.min(next, entry.readyAt);
    if (next !== Number.POSITIVE_INFINITY) this.#wakeUpAt(next);
  }

  /** An attempt gave its slot back. */
  release(): void {
    this.#busy -= 1;
  }

  /** Feeds the adaptive limit an attempt's result (`ms`, or null for trouble); the new limit's reason when it moved. */
  adapt(seq: number, ms: number | null): 'trouble' | 'latency' | 'recovered' | null {
    if (!this.#adaptive) return null;
    return this.#adaptive.record(
      ms === null ? { kind: 'trouble', seq } : { kind: 'success', ms, seq },
      this.#starts,
    );
  }

  /** No more wake-ups (the run is stopping or over). */
  stop(): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
  }

  /** Something could start now: a prefetched item or a retry whose time has come. */
  #hasReady(now: number): boolean {
    return this.#buffer.length > 0 || this.#waiting.some((e) => e.readyAt <= now);
  }

  /** The waiting retry whose time came first, taken off the retry queue. */
  #dueRetry(now: number): Entry<T> | undefined {
    let best = -1;
    for (let i = 0; i < this.#waiting.length; i++) {
      const readyAt = this.#waiting[i]!.readyAt;
      if (readyAt <= now && (best < 0 || readyAt < this.#waiting[best]!.readyAt)) best = i;
    }
    return best < 0 ? undefined : this.#waiting.splice(best, 1)[0];
  }

  #wakeUpAt(at: number): void {
    if (this.#wake !== undefined && this.#wakeAt <= at) return;
    clearTimeout(this.#wake);
    this.#wakeAt = at;
    this.#wake = setTimeout(
      () => {
        this.#wake = undefined;
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.#o.onWake();
      },
      Math.max(0, at - this.#o.now()),
    );
  }
}
