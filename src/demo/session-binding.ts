// Sessions bound to the browser that logged in: the header fingerprint a session records at login, and the
// slow, one-at-a-time re-validation a hardened PHP application runs when a request's headers differ from it.
import type { IncomingMessage } from 'node:http';
import { Mutex } from 'async-mutex';
import type { Session, SessionStore } from './session-store.js';

/** The headers a session is bound to; an absent header counts as empty. */
export const BOUND_HEADERS = ['user-agent', 'accept-language', 'accept-encoding'] as const;

/** The request's bound headers as one string: two requests match when their fingerprints are equal. */
export function headerFingerprint(req: IncomingMessage): string {
  return BOUND_HEADERS.map((name) => req.headers[name] ?? '').join('\n');
}

export class SessionBinding {
  readonly #sessions: SessionStore;
  readonly #ms: number;
  readonly #wait: (ms: number) => Promise<void>;
  // PHP holds the session lock while it checks the password hash again: re-validations run one at a time,
  // in arrival order (async-mutex's queue is FIFO).
  readonly #lock = new Mutex();
  /** Re-validations done (each rotated a session id). */
  count = 0;

  /** `wait` is the portal's timer, so close() can clear a re-validation in progress. */
  constructor(sessions: SessionStore, ms: number, wait: (ms: number) => Promise<void>) {
    this.#sessions = sessions;
    this.#ms = ms;
    this.#wait = wait;
  }

  /**
   * The session to serve `req` with: `session` itself when the request's headers match it; otherwise, after
   * waiting for the lock and `ms` of work, the same session under a new id bound to these headers (the caller
   * sets the new cookie). Undefined when the session was rotated or dropped while the request waited: a
   * client still sending the old id is logged out.
   */
  async check(session: Session, req: IncomingMessage): Promise<Session | undefined> {
    const fingerprint = headerFingerprint(req);
    if (session.fingerprint === fingerprint) return session;
    return this.#lock.runExclusive(async () => {
      if (!this.#sessions.get(session.id)) return undefined;
      await this.#wait(this.#ms);
      const current = this.#sessions.get(session.id);
      if (!current) return undefined;
      this.count++;
      return this.#sessions.rotate(current, fingerprint);
    });
  }
}
