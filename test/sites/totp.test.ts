// totp(): RFC 6238's own test vectors (SHA-1), a missing or broken seed as a LoginError that never shows it, and
// the demo adapter signing in through the demo portal's TOTP step with it (the real `pagepool`, real Chromium).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { LoginError } from '../../src/errors.js';
import { totp } from '../../src/sites/totp.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

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

describe("the demo adapter answers the portal's TOTP step from PAGEPOOL_TOTP_SECRET", () => {
  const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const portals: Portal[] = [];
  afterAll(async () => {
    await Promise.all(portals.map((p) => p.close()));
    await removeTempDirs();
  });
  const pull = async (env: Record<string, string>) => {
    const p = await startPortal({ vehicles: 4, totpSecret: SECRET });
    portals.push(p);
    const cwd = await tempDir();
    const result = await runCli(['run', '--site', 'demo', '--base-url', p.url, '--quiet'], {
      cwd,
      env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass', ...env },
    });
    return { p, cwd, result };
  };

  it('the right seed: one login, every file, and the seed in no output and no file', {
    timeout: 120_000,
  }, async () => {
    const { p, cwd, result } = await pull({ PAGEPOOL_TOTP_SECRET: SECRET });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(p.stats()).toMatchObject({ logins: 1, totpFailures: 0 });
    expect(await readdir(path.join(cwd, 'downloads', 'demo'))).toHaveLength(4);
    expect(`${result.stdout}${result.stderr}`).not.toContain(SECRET);
    for (const name of await readdir(cwd, { recursive: true })) {
      const bytes = await readFile(path.join(cwd, name)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(SECRET), name).toBe(false);
    }
  });

  it.each([
    [
      {},
      'pagepool: The portal asks for a one-time code: set PAGEPOOL_TOTP_SECRET to the base32 seed of the account (the text under its QR code)\n',
      0,
    ],
    [
      { PAGEPOOL_TOTP_SECRET: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' },
      'pagepool: The portal refused the one-time code: check PAGEPOOL_TOTP_SECRET\n',
      1,
    ],
  ])(
    '%j: exit 2, one line, nothing written in --out',
    { timeout: 120_000 },
    async (env, stderr, failures) => {
      const { p, cwd, result } = await pull(env);
      expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
        code: 2,
        stdout: '',
        stderr,
      });
      expect(p.stats().totpFailures).toBe(failures);
      expect(await readdir(cwd)).toEqual([]);
    },
  );
});
