// The one re-login of a process: every worker, the listing and every backend share it, one login per expiry.
import { EventEmitter } from 'node:events';

export interface LoginEvents {
  /** A login started (exactly once per flight). */
  start: [];
  /** The flight ended; `error` when it rejected. */
  end: [{ error?: unknown }];
}

/**
 * One login at a time for everyone sharing a session (the queue's workers and the listing), and none for a caller
 * whose expired session was already replaced: while the portal swaps the session (login, then licence), the other
 * pages' requests bounce to the login page too, and logging in again for each of them would throw away the
 * session just made, over and over. Callers read `epoch` before a request and pass it to `relogin` when that
 * request was logged out: a login completed since then already fixed it.
 */
export class SingleFlightLogin extends EventEmitter<LoginEvents> {
  readonly #login: () => Promise<void>;
  #epoch = 0;
  #started = 0;
  #flight: Promise<void> | null = null;

  constructor(login: () => Promise<void>) {
    super();
    this.#login = login;
  }

  /** Logins completed so far. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Logins started so far. */
  get started(): number {
    return this.#started;
  }

  /** The login in flight, or null: work started now would meet the expired session. */
  get inFlight(): Promise<void> | null {
    return this.#flight;
  }

  /** Joins the login in flight; else logs in, unless one completed after `since` (the session is new already). */
  relogin(since: number = this.#epoch): Promise<void> {
    if (this.#flight) return this.#flight;
    if (this.#epoch > since) return Promise.resolve();
    this.#started += 1;
    const flight = Promise.resolve()
      .then(() => this.#login())
      .then(
        () => {
          this.#epoch += 1;
          this.#flight = null;
          this.emit('end', {});
        },
        (error: unknown) => {
          this.#flight = null;
          this.emit('end', { error });
          throw error;
        },
      );
    // Set before anyone hears of it: a listener of 'start' already sees the flight.
    this.#flight = flight;
    this.emit('start');
    return flight;
  }
}
