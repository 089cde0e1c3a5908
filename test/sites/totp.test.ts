// totp(): RFC 6238's own test vectors (SHA-1), and a missing or broken seed as a LoginError that never shows it.
import { describe, expect, it } from 'vitest';
import { LoginError } from '../../src/errors.js';
import { totp } from '../../src/sites/totp.js';

// RFC 6238 appendix B: the ASCII seed "12345678901234567890", in base32.
const RFC_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('totp', () => {
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
  ])('at %i s is %s (8 digits), and its last 6 digits with the default 6', (seconds, code) => {
    expect(totp(RFC_SEED, { digits: 8, timestamp: seconds * 1000 })).toBe(code);
    expect(totp(RFC_SEED, { timestamp: seconds * 1000 })).toBe(code.slice(2));
  });

  it('takes the seed as apps show it: lower case, spaces and dashes', () => {
    const shown = 'gezd gnbv-gy3t qojq gezd gnbv gy3t qojq';
    expect(totp(shown, { timestamp: 59_000 })).toBe('287082');
  });

  it('a missing seed says to set PAGEPOOL_TOTP_SECRET', () => {
    for (const secret of [undefined, '', '  ']) {
      expect(() => totp(secret)).toThrow(LoginError);
      expect(() => totp(secret)).toThrow(/set PAGEPOOL_TOTP_SECRET/);
    }
  });

  it('a seed that is not base32 is a LoginError that does not repeat it', () => {
    const secret = 'not*base32!1890';
    let error: unknown;
    try {
      totp(secret);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LoginError);
    expect((error as Error).message).toMatch(/not a base32 seed/);
    expect((error as Error).message).not.toContain(secret);
  });
});
