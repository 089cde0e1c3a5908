// A helper for adapters whose portal asks for a one-time code after the password: the RFC 6238 code of the seed in
// PAGEPOOL_TOTP_SECRET (handed to login() as `creds.totpSecret`), computed by otpauth, a maintained TOTP library.
import { Secret, TOTP } from 'otpauth';
import { LoginError } from '../errors.js';

export interface TotpOptions {
  /** @default 6 */
  digits?: number;
  /** Seconds each code lasts. @default 30 */
  period?: number;
  /** @default 'SHA1' */
  algorithm?: 'SHA1' | 'SHA256' | 'SHA512';
  /** The time the code is for, in ms since the epoch. @default Date.now() */
  timestamp?: number;
}

/**
 * The current one-time code of `secret` (base32, as authenticator apps take it). Throws a `LoginError` (exit 2)
 * when the secret is missing or not base32; the message never contains the secret.
 *
 * ```ts
 * await page.fill('input[name=code]', totp(creds.totpSecret));
 * ```
 */
export function totp(secret: string | undefined, options: TotpOptions = {}): string {
  if (secret === undefined || secret.trim() === '') {
    throw new LoginError(
      'The portal asks for a one-time code: set PAGEPOOL_TOTP_SECRET to the base32 seed of the account (the text under its QR code)',
    );
  }
  let key: Secret;
  try {
    key = Secret.fromBase32(secret.replace(/[\s-]/g, '').toUpperCase());
  } catch {
    throw new LoginError('PAGEPOOL_TOTP_SECRET is not a base32 seed (letters A-Z and digits 2-7)');
  }
  if (key.bytes.length === 0) {
    throw new LoginError('PAGEPOOL_TOTP_SECRET is not a base32 seed (letters A-Z and digits 2-7)');
  }
  return new TOTP({
    secret: key,
    digits: options.digits ?? 6,
    period: options.period ?? 30,
    algorithm: options.algorithm ?? 'SHA1',
  }).generate(options.timestamp === undefined ? {} : { timestamp: options.timestamp });
}
