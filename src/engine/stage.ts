// A bounded stage of an item's work after its page: `limit` items in it at once, the next ones wait at its door
// (holding whatever they hold: their page, for the download stage). One instance per stage (downloads; an upload
// stage would be one more), shared by the in-process queue and the fleet worker through the item worker.
import { ShutdownError } from '../errors.js';

export class Stage {
  readonly name: string;
  readonly limit: number;
  #inside = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(name: string, limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${name}: limit must be an integer >= 1`);
    this.name = name;
    this.limit = limit;
  }

  /** Items inside now. */
  get inside(): number {
    return this.#inside;
  }

  /** Items waiting to enter. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Waits for room (first come, first in) and enters; resolves with the function that leaves (once). Rejects with
   * the signal's reason if it aborts before there is room.
   */
  enter(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(reasonOf(signal));
    if (this.#inside < this.limit) return Promise.resolve(this.#admit());
    return new Promise((resolve, reject) => {
      const admit = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.#admit());
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(admit);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(reasonOf(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(admit);
    });
  }

  #admit(): () => void {
    this.#inside += 1;
    let inside = true;
    return () => {
      if (!inside) return;
      inside = false;
      this.#inside -= 1;
      // The room passes straight (synchronously) to the next in line: nobody can slip in between.
      this.#waiters.shift()?.();
    };
  }
}

/**
 * The browser stage as a start gate: items started and not yet past `releasePage()` (on a page, or waiting for
 * one), at most `limit`. The queue starts an item only while it is open, so no deadline runs waiting for a page.
 * A 429 on a file closes it for a while too (`holdUntil`): new items wait while that file waits out its
 * Retry-After. Both backends start through it (the in-process queue's gate, the fleet worker's start gate).
 */
export class PageGate {
  readonly limit: number;
  #inside = 0;
  #heldUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(limit: number) {
    this.limit = limit;
  }

  open(): boolean {
    return this.#inside < this.limit && Date.now() >= this.#heldUntil;
  }

  onOpen(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An item entered the browser stage; the function (idempotent) says it left. */
  take(): () => void {
    this.#inside += 1;
    let inside = true;
    return () => {
      if (!inside) return;
      inside = false;
      this.#inside -= 1;
      this.#opened();
    };
  }

  /** No item starts before `untilMs` (epoch ms); true when that moved the hold later. */
  holdUntil(untilMs: number): boolean {
    if (untilMs <= this.#heldUntil || untilMs <= Date.now()) return false;
    this.#heldUntil = untilMs;
    this.#armHoldTimer();
    return true;
  }

  /**
   * Tells the listeners when the hold ends. Node's timers run on the event loop's cached clock and can fire a
   * millisecond before `Date.now()` reaches the hold's end: then `open()` is still false, so it waits out the rest.
   * Unref'd: a hold never keeps a process alive that has nothing else to do (the file waiting has its own timer).
   */
  #armHoldTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (Date.now() < this.#heldUntil) this.#armHoldTimer();
      else this.#opened();
    }, this.#heldUntil - Date.now()).unref();
  }

  #opened(): void {
    for (const listener of this.#listeners) listener();
  }
}

function reasonOf(signal: AbortSignal): unknown {
  return signal.reason ?? new ShutdownError('aborted');
}
