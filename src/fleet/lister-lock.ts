// The one-lister lock of a fleet queue: SET NX PX, renewed while the listing runs, released only by its owner.
import type { Redis } from 'ioredis';

// Compare-and-act in one script, so a lock that expired and was taken by another machine is never touched.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface ListerLockOptions {
  /** A lister that dies holds the lock at most this long. @default 30_000 */
  ttlMs?: number;
}

export class ListerLock {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #owner: string;
  readonly #ttlMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, key: string, owner: string, options: ListerLockOptions = {}) {
    this.#redis = redis;
    this.#key = key;
    this.#owner = owner;
    this.#ttlMs = options.ttlMs ?? 30_000;
  }

  /** True when this process now lists; the lock is renewed every ttl/3 until release(). */
  async acquire(): Promise<boolean> {
    const ok = await this.#redis.set(this.#key, this.#owner, 'PX', this.#ttlMs, 'NX');
    if (ok !== 'OK') return false;
    this.#timer = setInterval(
      () => {
        this.#redis.eval(RENEW, 1, this.#key, this.#owner, String(this.#ttlMs)).catch(() => {});
      },
      Math.max(100, Math.floor(this.#ttlMs / 3)),
    );
    this.#timer.unref();
    return true;
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#redis.eval(RELEASE, 1, this.#key, this.#owner).catch(() => {});
  }

  /** Whether any process (this one included) is listing into the queue now. */
  static async held(redis: Redis, key: string): Promise<boolean> {
    return (await redis.exists(key)) === 1;
  }
}
