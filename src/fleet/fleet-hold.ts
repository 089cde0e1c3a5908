// The machine's 429 hold, shared with the fleet: a hold this machine begins or extends goes to Redis, on BullMQ's
// limiter key (so BullMQ hands out no job meanwhile), and every start first adopts the hold another machine set.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RateHold, RateHoldEvents } from '../queue/rate-hold.js';

/**
 * `queue.rateLimit(ms)` sets the limiter's counter to MAX_SAFE_INTEGER: asking for the TTL only when the counter
 * is that high tells a hold (a 429 somewhere) from an ordinary full `--rate` window, which BullMQ enforces itself.
 */
const HOLD_MARK = Number.MAX_SAFE_INTEGER;

/** `queue.rateLimit` that never shortens a hold another machine set: the longest Retry-After wins. */
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

export class FleetHold {
  readonly #queue: Queue;
  readonly #redis: Redis;
  readonly #hold: RateHold;
  readonly #warn: (message: string) => void;
  readonly #onMoved = ({ untilMs, from }: RateHoldEvents['moved'][0]) => {
    if (from === 'here') void this.#publish(untilMs);
  };

  constructor(queue: Queue, redis: Redis, hold: RateHold, warn: (message: string) => void) {
    this.#queue = queue;
    this.#redis = redis;
    this.#hold = hold;
    this.#warn = warn;
    hold.on('moved', this.#onMoved);
  }

  /** Takes on the fleet's hold, if any machine set one (called before each start). */
  async adopt(): Promise<void> {
    const ms = await this.#queue.getRateLimitTtl(HOLD_MARK).catch(() => 0);
    const now = Date.now();
    if (ms > 0) this.#hold.hold(now + ms, now, 'another machine was rate limited', 'fleet');
  }

  close(): void {
    this.#hold.off('moved', this.#onMoved);
  }

  async #publish(untilMs: number): Promise<void> {
    const ms = Math.max(1, untilMs - Date.now());
    await this.#redis
      .eval(EXTEND, 1, this.#queue.keys.limiter!, String(HOLD_MARK), String(ms))
      .catch((err: unknown) => this.#warn(`queue: the hold did not reach Redis: ${(err as Error).message}`));
  }
}
