// The portal's optional second factor: a TOTP code (RFC 6238: HMAC-SHA-1, 30 s steps, 6 digits), checked with
// otpauth, the step before and the step after accepted too for clock drift.
import { Secret, TOTP } from 'otpauth';

export class TotpStep {
  readonly #totp: TOTP;

  /** `secret` in base32, either case, with or without `=` padding (checked by the portal options). */
  constructor(secret: string) {
    this.#totp = new TOTP({
      secret: Secret.fromBase32(secret.toUpperCase().replace(/=+$/, '')),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
  }

  /** True when `code` is six digits and the code of the 30 s step of `now`, or of the step before or after. */
  accepts(code: string, now = Date.now()): boolean {
    return /^\d{6}$/.test(code) && this.#totp.validate({ token: code, timestamp: now, window: 1 }) !== null;
  }
}
