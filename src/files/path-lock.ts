// One in-process lock per file path, so two attempts at one item (a late, abandoned one and its
// retry) never write the same `.part` at once.

/** Resolves with `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export class PathLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits for earlier holders of `key` (or for `signal`), then returns the release function. */
  async acquire(key: string, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    try {
      await abortable(previous, signal);
    } catch (err) {
      // Gave up waiting: our slot must not block whoever queued behind us.
      release();
      throw err;
    }
    return release;
  }

  /** Paths locked or waited for right now (for tests and leak checks). */
  get size(): number {
    return this.#tails.size;
  }
}
