// A bounded stage of an item's work after its page: `limit` items in it at once, the next ones wait at its door
// (holding whatever they hold: their page, for the download stage). One instance per stage (downloads; an upload
// stage would be one more), shared by the in-process queue and the fleet worker through the item worker.
import { ConfigError, ShutdownError } from '../errors.js';
import type { Capacity } from '../queue/start-gate.js';

export class Stage {
  readonly name: string;
  readonly limit: number;
  #inside = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(name: string, limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new ConfigError(`Expected \`${name}\` to be an integer from 1, got \`${String(limit)}\``);
    }
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
 * The browser stage as the start gate's capacity: items started and not yet past `releasePage()` (on a page, or
 * waiting for one), at most `limit`. The queue starts an item only while it is open, so no deadline runs waiting
 * for a page. Both backends start through it (the attempt runner's start gate).
 */
export class PageGate implements Capacity {
  readonly limit: number;
  #inside = 0;
  readonly #listeners = new Set<() => void>();

  constructor(limit: number) {
    this.limit = limit;
  }

  open(): boolean {
    return this.#inside < this.limit;
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
      for (const listener of [...this.#listeners]) listener();
    };
  }
}

function reasonOf(signal: AbortSignal): unknown {
  return signal.reason ?? new ShutdownError('aborted');
}
