// The minimum speed of one body, like curl's --speed-limit/--speed-time: the average over a sliding window.

export interface MinSpeed {
  /** Fewer bytes per second than this, averaged over `windowMs`, is too slow; 0 turns the check off. */
  bytesPerSec: number;
  windowMs: number;
}

/** Counts a body's bytes and says, at each check, whether the last window fell below the floor. */
export class SpeedFloor {
  readonly #min: MinSpeed;
  readonly #now: () => number;
  // [time, bytes so far], oldest first; the first one is the newest sample at least a window old.
  readonly #samples: Array<[number, number]>;
  #bytes = 0;

  constructor(min: MinSpeed, now: () => number = () => performance.now()) {
    this.#min = min;
    this.#now = now;
    this.#samples = [[now(), 0]];
  }

  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /**
   * The average bytes/s over the last window when it is below the floor; undefined while the speed holds and
   * during the first window (a transfer is judged on a whole window, never on its first second).
   */
  check(): number | undefined {
    const now = this.#now();
    const samples = this.#samples;
    samples.push([now, this.#bytes]);
    while (samples.length > 1 && samples[1]![0] <= now - this.#min.windowMs) samples.shift();
    const [since, bytes] = samples[0]!;
    if (now - since < this.#min.windowMs) return undefined;
    const speed = ((this.#bytes - bytes) * 1000) / (now - since);
    return speed < this.#min.bytesPerSec ? speed : undefined;
  }
}
