import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PORTAL_OPTIONS,
  portalOptionsFromEnv,
  resolvePortalOptions,
} from '../../src/demo/portal-options.js';

describe('resolvePortalOptions', () => {
  it('spreads the defaults in and freezes the result', () => {
    const options = resolvePortalOptions({ vehicles: 5000, failureRate: 0.25 });
    expect(options).toEqual({ ...DEFAULT_PORTAL_OPTIONS, vehicles: 5000, failureRate: 0.25 });
    expect(Object.isFrozen(options)).toBe(true);
    expect(DEFAULT_PORTAL_OPTIONS).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      vehicles: 300,
      cards: 50,
      pageSize: 25,
    });
  });

  it('takes a base32 TOTP secret of 16 characters or more, either case, padded or not, and never shows a bad one', () => {
    expect(DEFAULT_PORTAL_OPTIONS.totpSecret).toBe('');
    for (const secret of [
      'JBSWY3DPEHPK3PXP',
      'jbswy3dpehpk3pxp',
      'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
      'MFRGGZDFMZTWQ2LK======',
    ]) {
      expect(resolvePortalOptions({ totpSecret: secret }).totpSecret).toBe(secret);
    }
    for (const secret of ['JBSWY3DPEHPK3PX', 'JBSWY3DPEHPK3PX1', 'JBSW Y3DP EHPK 3PXP']) {
      expect(() => resolvePortalOptions({ totpSecret: secret })).toThrow(TypeError);
      try {
        resolvePortalOptions({ totpSecret: secret });
      } catch (err) {
        expect((err as Error).message).toContain('`totpSecret`');
        expect((err as Error).message).not.toContain(secret);
      }
    }
  });

  it('takes null for an unset list latency, its default', () => {
    expect(DEFAULT_PORTAL_OPTIONS.listLatencyMs).toBeNull();
    expect(resolvePortalOptions({ listLatencyMs: null }).listLatencyMs).toBeNull();
    expect(resolvePortalOptions({ listLatencyMs: 0 }).listLatencyMs).toBe(0);
  });

  it('takes a session id prefix of letters, digits, - and _, empty by default', () => {
    expect(DEFAULT_PORTAL_OPTIONS.sessionIdPrefix).toBe('');
    expect(resolvePortalOptions({ sessionIdPrefix: 'Canary-9_z' }).sessionIdPrefix).toBe('Canary-9_z');
    expect(resolvePortalOptions({ sessionIdPrefix: 'x'.repeat(64) }).sessionIdPrefix).toHaveLength(64);
  });

  it.each([
    [{ vehicles: -1 }, RangeError, 'Expected `vehicles` to be an integer from 0 to 999999, got `-1`'],
    [{ pageSize: 0 }, RangeError, 'Expected `pageSize` to be an integer from 1 to 1000, got `0`'],
    [{ port: 70000 }, RangeError, 'Expected `port` to be an integer from 0 to 65535, got `70000`'],
    [{ failureRate: 1.5 }, RangeError, 'Expected `failureRate` to be a number from 0 to 1, got `1.5`'],
    [{ stuckRate: Number.NaN }, RangeError, 'Expected `stuckRate` to be a number from 0 to 1, got `NaN`'],
    [{ seed: 0.5 }, RangeError, 'Expected `seed` to be an integer from 0 to 4294967295, got `0.5`'],
    [{ vehicles: '10' }, TypeError, 'Expected `vehicles` to be a number, got `10`'],
    [{ host: 5 }, TypeError, 'Expected `host` to be a string, got `5`'],
    [{ password: '' }, RangeError, 'Expected `password` to be a non-empty string, got ``'],
    [{ vehicel: 5 }, TypeError, 'Unknown portal option `vehicel`'],
    [{ connectionClose: 'yes' }, TypeError, 'Expected `connectionClose` to be true or false, got `yes`'],
    [{ listLatencyMs: 'x' }, TypeError, 'Expected `listLatencyMs` to be a number, got `x`'],
    [{ bindSession: 1 }, TypeError, 'Expected `bindSession` to be true or false, got `1`'],
    [{ revalidateMs: -1 }, RangeError, 'Expected `revalidateMs` to be an integer from 0 to 60000, got `-1`'],
    [
      { sessionIdPrefix: 'a b' },
      TypeError,
      'Expected `sessionIdPrefix` to be up to 64 letters, digits, - or _, got `a b`',
    ],
    [
      { sessionIdPrefix: 'x'.repeat(65) },
      TypeError,
      `Expected \`sessionIdPrefix\` to be up to 64 letters, digits, - or _, got \`${'x'.repeat(65)}\``,
    ],
    [
      { sessionIdPrefix: 'a;b=c' },
      TypeError,
      'Expected `sessionIdPrefix` to be up to 64 letters, digits, - or _, got `a;b=c`',
    ],
    [
      { failureRate: 0.6, stuckRate: 0.6 },
      RangeError,
      'Expected `stuckRate` + `failureRate` + `rateLimitRate` + `truncateRate` + `stallRate` + `htmlExpiredRate` to be at most 1, got `1.2`',
    ],
    [
      { stallRate: 0.5, htmlExpiredRate: 0.75 },
      RangeError,
      'Expected `stuckRate` + `failureRate` + `rateLimitRate` + `truncateRate` + `stallRate` + `htmlExpiredRate` to be at most 1, got `1.25`',
    ],
    [
      { htmlExpiredRate: -0.1 },
      RangeError,
      'Expected `htmlExpiredRate` to be a number from 0 to 1, got `-0.1`',
    ],
    [
      { fileBytesPerSec: 1.5 },
      RangeError,
      'Expected `fileBytesPerSec` to be an integer from 0 to 1073741824, got `1.5`',
    ],
    [
      { rateLimitBurstEveryMs: 1000, rateLimitBurstMs: 1000 },
      RangeError,
      'Expected `rateLimitBurstMs` to be less than `rateLimitBurstEveryMs` (1000), got `1000`',
    ],
  ])('rejects %o', (input, type, message) => {
    expect(() => resolvePortalOptions(input as never)).toThrow(type);
    expect(() => resolvePortalOptions(input as never)).toThrow(message);
  });
});

describe('portalOptionsFromEnv', () => {
  it('reads every DEMO_ variable from the object it is given', () => {
    const env = {
      DEMO_VEHICLES: '5000',
      DEMO_CARDS: '12',
      DEMO_PAGE_LATENCY_MS: '5',
      DEMO_FILE_LATENCY_MS: '6',
      DEMO_FAILURE_RATE: '0.1',
      DEMO_STUCK_RATE: '0.02',
      DEMO_TRUNCATE_RATE: '0.03',
      DEMO_RATE_LIMIT_RATE: '0.04',
      DEMO_STALL_RATE: '0.05',
      DEMO_HTML_EXPIRED_RATE: '0.02',
      DEMO_FILE_BYTES_PER_SEC: '1024',
      DEMO_RATE_LIMIT_BURST_EVERY_MS: '10000',
      DEMO_RATE_LIMIT_BURST_MS: '1500',
      DEMO_RETRY_AFTER_SEC: '2',
      DEMO_RATE_LIMIT_PER_SEC: '50',
      DEMO_SESSION_LIFETIME_MS: '60000',
      DEMO_STICKER_PAD_BYTES: '1048576',
      DEMO_SEED: '42',
      DEMO_USERNAME: 'dealer',
      DEMO_PASSWORD: 'secret 1',
      DEMO_PORT: '8123',
      DEMO_SESSION_ID_PREFIX: 'canary_1',
      DEMO_CONNECTION_CLOSE: 'true',
      DEMO_BIND_SESSION: 'on',
      DEMO_REVALIDATE_MS: '250',
      DEMO_FORBIDDEN_EVERY: '7',
      DEMO_FORBIDDEN_LISTING: 'yes',
      DEMO_LOGIN_REDIRECTS: '1',
      DEMO_REVISION: '2',
      DEMO_LIST_LATENCY_MS: '1000',
      DEMO_HEAVY: 'true',
      DEMO_SCRIPT_LINK_EVERY: '5',
      DEMO_TOTP_SECRET: ' GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ ',
      DEMO_COMPRESS: 'true',
      UNRELATED: 'x',
    };
    expect(portalOptionsFromEnv(env)).toEqual({
      vehicles: 5000,
      cards: 12,
      pageLatencyMs: 5,
      fileLatencyMs: 6,
      failureRate: 0.1,
      stuckRate: 0.02,
      truncateRate: 0.03,
      rateLimitRate: 0.04,
      stallRate: 0.05,
      htmlExpiredRate: 0.02,
      fileBytesPerSec: 1024,
      rateLimitBurstEveryMs: 10000,
      rateLimitBurstMs: 1500,
      retryAfterSec: 2,
      rateLimitPerSec: 50,
      sessionLifetimeMs: 60000,
      stickerPadBytes: 1048576,
      seed: 42,
      username: 'dealer',
      password: 'secret 1',
      port: 8123,
      sessionIdPrefix: 'canary_1',
      connectionClose: true,
      bindSession: true,
      revalidateMs: 250,
      forbiddenEvery: 7,
      forbiddenListing: true,
      loginRedirects: true,
      revision: 2,
      listLatencyMs: 1000,
      heavy: true,
      scriptLinkEvery: 5,
      totpSecret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
      compress: true,
    });
    expect(() => resolvePortalOptions(portalOptionsFromEnv(env))).not.toThrow();
  });

  it('leaves out blank variables and never reads process.env', () => {
    process.env.DEMO_VEHICLES = '7';
    try {
      expect(portalOptionsFromEnv({})).toEqual({});
      expect(portalOptionsFromEnv({ DEMO_CARDS: '  ', DEMO_SEED: undefined })).toEqual({});
    } finally {
      delete process.env.DEMO_VEHICLES;
    }
  });

  it('reads a boolean as true/false, 1/0, yes/no or on/off, in any case', () => {
    for (const word of ['true', '1', 'YES', 'On', ' on ']) {
      expect(portalOptionsFromEnv({ DEMO_CONNECTION_CLOSE: word })).toEqual({ connectionClose: true });
    }
    for (const word of ['false', '0', 'no', 'OFF']) {
      expect(portalOptionsFromEnv({ DEMO_CONNECTION_CLOSE: word })).toEqual({ connectionClose: false });
    }
  });

  it.each([
    [
      { DEMO_CONNECTION_CLOSE: 'maybe' },
      TypeError,
      'Expected `DEMO_CONNECTION_CLOSE` to be true or false, got `maybe`',
    ],
    [
      { DEMO_VEHICLES: '-5' },
      RangeError,
      'Expected `DEMO_VEHICLES` to be an integer from 0 to 999999, got `-5`',
    ],
    [
      { DEMO_FAILURE_RATE: '2' },
      RangeError,
      'Expected `DEMO_FAILURE_RATE` to be a number from 0 to 1, got `2`',
    ],
    [
      { DEMO_SESSION_ID_PREFIX: 'a b' },
      TypeError,
      'Expected `DEMO_SESSION_ID_PREFIX` to be up to 64 letters, digits, - or _, got `a b`',
    ],
  ])('names the variable of a bad value: %o', (env, type, message) => {
    expect(() => portalOptionsFromEnv(env)).toThrow(type);
    expect(() => portalOptionsFromEnv(env)).toThrow(message);
  });

  it('names the variable whose number does not parse', () => {
    expect(() => portalOptionsFromEnv({ DEMO_VEHICLES: 'lots' })).toThrow(TypeError);
    expect(() => portalOptionsFromEnv({ DEMO_VEHICLES: 'lots' })).toThrow(
      'Expected `DEMO_VEHICLES` to be a number, got `lots`',
    );
  });
});
