// Logged-in sessions of the demo portal: random ids, licence acceptance, and expiry after a fixed lifetime.
import { randomBytes } from 'node:crypto';

export interface Session {
  id: string;
  createdAt: number;
  licenceAccepted: boolean;
  /** The headers of the login request (see session-binding.ts); used only when the portal binds sessions. */
  fingerprint: string;
  /** The password was right, the second factor is still to come: nothing but /login/code is open. */
  awaitingCode: boolean;
}

export class SessionStore {
  readonly #lifetimeMs: number;
  readonly #prefix: string;
  readonly #sessions = new Map<string, Session>();
  /** Sessions dropped because they outlived `lifetimeMs`. */
  expired = 0;

  /** `lifetimeMs` 0: sessions never expire. Every id starts with `prefix`. */
  constructor(lifetimeMs: number, prefix = '') {
    this.#lifetimeMs = lifetimeMs;
    this.#prefix = prefix;
  }

  /** A new session; every login gets one, so every login must accept the licence again. */
  create(fingerprint = '', awaitingCode = false): Session {
    this.#prune();
    const session: Session = {
      id: this.#newId(),
      createdAt: Date.now(),
      licenceAccepted: false,
      fingerprint,
      awaitingCode,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /**
   * The same session under a new id, bound to `fingerprint`; the old id is deleted at once (PHP's
   * `session_regenerate_id(true)`). It keeps its age: a rotation does not extend its lifetime.
   */
  rotate(session: Session, fingerprint: string): Session {
    this.#sessions.delete(session.id);
    const rotated: Session = { ...session, id: this.#newId(), fingerprint };
    this.#sessions.set(rotated.id, rotated);
    return rotated;
  }

  /** The live session with this id; an expired one is deleted and reads as absent. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session && this.#expired(session)) {
      this.#sessions.delete(id);
      this.expired++;
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  #newId(): string {
    return this.#prefix + randomBytes(24).toString('base64url');
  }

  #expired(session: Session): boolean {
    return this.#lifetimeMs > 0 && Date.now() - session.createdAt > this.#lifetimeMs;
  }

  // Logins are rare, so sweeping on each one keeps a long benchmark's memory flat at no real cost.
  #prune(): void {
    if (this.#lifetimeMs === 0) return;
    for (const [id, session] of this.#sessions) {
      if (this.#expired(session)) {
        this.#sessions.delete(id);
        this.expired++;
      }
    }
  }
}
