// Whatever ends a command before its first item starts is a setup failure: exit 2 and one line that says what to
// fix (the portal cannot be reached, the browser does not start, the login or the listing failed).
import type { EventEmitter } from 'node:events';
import { describe, EXIT_CODES, exitCodeOf, NoItemsError, PagepoolError, SetupError } from '../errors.js';
import type { RunEvents } from '../run-events.js';

/** How far a command got before its first item: null where it cannot tell (`list`, `enqueue` emit no events). */
export type SetupPhase = 'login' | 'listing' | null;

/** Follows a command's events to know how far it got: which phase an early error belongs to. */
export class SetupProgress {
  started = false;
  #phase: SetupPhase;
  readonly #hasLogin: boolean;

  /** `loggedIn`: a site without login() is past the login from the start (the pool emits no 'login' for it). */
  constructor(loggedIn: boolean, events: EventEmitter<RunEvents> | null) {
    this.#hasLogin = !loggedIn;
    this.#phase = events === null ? null : loggedIn ? 'listing' : 'login';
    events?.once('login', () => {
      this.#phase = 'listing';
    });
    // Started from the saved session (issue 24): logged in without a login.
    events?.once('session:restored', () => {
      this.#phase = 'listing';
    });
    events?.once('task:start', () => {
      this.started = true;
    });
  }

  /** `err` as the user should read it: unchanged once an item has started, else the setup failure it is. */
  explain(err: unknown, baseUrl: string): unknown {
    return this.started ? err : setupFailure(err, baseUrl, this.#phase, this.#hasLogin);
  }
}

const UNREACHABLE =
  /net::(ERR_CONNECTION_REFUSED|ERR_NAME_NOT_RESOLVED|ERR_ADDRESS_UNREACHABLE|ERR_CONNECTION_TIMED_OUT|ERR_CONNECTION_RESET|ERR_INTERNET_DISCONNECTED|ERR_TIMED_OUT)/;

/** An error that ended the command before any item started, as the one line that says what to fix. */
export function setupFailure(err: unknown, baseUrl: string, phase: SetupPhase, hasLogin = true): unknown {
  // An empty listing is its own answer (NO_ITEMS, exit 1), not a setup failure.
  if (exitCodeOf(err) !== EXIT_CODES.failed || (err instanceof PagepoolError && err.code === 'NO_ITEMS'))
    return err;
  const text = describe(err);
  if (/ERR_UNSAFE_PORT/.test(text)) {
    return new SetupError(
      `Chromium refuses the port of ${baseUrl} (ERR_UNSAFE_PORT: a port it keeps for other protocols): serve the portal on another port`,
      { cause: err },
    );
  }
  const net = UNREACHABLE.exec(text);
  if (net) {
    return new SetupError(
      `Cannot reach the portal at ${baseUrl} (${net[1]}): check \`--base-url\` and that the portal is up`,
      { cause: err },
    );
  }
  if (phase === 'listing') {
    // A listing page the portal refuses to the logged-in account is no fault of list(): its message says so.
    const refused = hasLogin && err instanceof PagepoolError && err.code === 'FORBIDDEN';
    const advice = refused ? '' : " (check the adapter's list())";
    // A listing that fails before its first item produced no items (issue 16: exit 1, like an empty listing).
    return new NoItemsError(`Listing the items failed before any item started: ${text}${advice}`, {
      cause: err,
    });
  }
  const advice =
    phase === 'login'
      ? `The login failed: ${text} (check the adapter's login() and the credentials)`
      : `The login or the listing failed: ${text} (check the adapter's login() and list(), and the credentials)`;
  return new SetupError(advice, { cause: err });
}
