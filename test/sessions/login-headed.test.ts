// Issue 24: `pagepool login --headed` opens a real Chromium window on a private X display (Xvfb); a person,
// played by xdotool typing into that window, signs in through the demo portal's password, TOTP code and licence
// pages. The session is saved when the portal shows a logged-in page; `run` then pulls headless from it, and
// the portal's counters show one login in all.
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { LoginError } from '../../src/errors.js';
import { loginCommand } from '../../src/sessions/login-command.js';
import demoVehicles from '../../src/sites/demo-vehicles.js';
import { totpCode } from '../demo/totp-code.js';
import { badPdfs, childPull, outDir } from '../helpers/child-pull.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { hasXvfb, startXvfb, waitForTitle, waitForWindow, type Xvfb, xdotool } from '../helpers/xvfb.js';

// RFC 4648 base32 of 20 random bytes, as an authenticator app is given it.
const SECRET = base32(randomBytes(20));
const TITLE = ' - Prestige Motors Dealer Portal';

let x: Xvfb;
let portal: Portal;

beforeAll(async () => {
  if (!hasXvfb()) return;
  [x, portal] = await Promise.all([startXvfb(), startPortal({ vehicles: 10, totpSecret: SECRET })]);
});

afterAll(async () => {
  await Promise.all([x?.stop(), portal?.close()]);
  await removeTempDirs();
});

/** The person: signs in with the keyboard, as they would, reading only the window's title between steps. */
async function signInByKeyboard(display: string): Promise<void> {
  const win = await waitForWindow(display, `Sign in${TITLE}`);
  await xdotool(display, 'windowfocus', '--sync', win);
  const key = (k: string) => xdotool(display, 'key', '--window', win, '--clearmodifiers', k);
  const type = (text: string) => xdotool(display, 'type', '--window', win, '--delay', '20', text);
  // Focus starts on the document: the brand link, then the user name.
  await key('Tab');
  await key('Tab');
  await type('demo');
  await key('Tab');
  await type('demo-pass');
  await key('Return');
  await waitForTitle(display, win, `Two-step verification${TITLE}`);
  // The code field has autofocus. The person reads the code off their authenticator app.
  await type(totpCode(SECRET, Date.now()));
  await key('Return');
  await waitForTitle(display, win, `Licence agreement${TITLE}`);
  // Brand, Inventory, Trading cards, Sign out, then the checkbox; then Continue.
  for (let i = 0; i < 5; i++) await key('Tab');
  await key('space');
  await key('Tab');
  await key('Return');
}

describe.skipIf(!hasXvfb())('pagepool login --headed, a person at the keyboard', () => {
  it('signs in through password, TOTP code and licence; the session is saved and run pulls from it with no login', {
    timeout: 240_000,
  }, async () => {
    const cwd = await tempDir();
    let person: Promise<void> = Promise.resolve();
    let said = '';
    const login: CliResult = await runCli(['login', '--site', 'demo', '--base-url', portal.url, '--headed'], {
      cwd,
      // No credentials at all: the person types them. DISPLAY is the private X server.
      env: { DISPLAY: x.display },
      timeoutMs: 120_000,
      onSpawn: (child) => {
        child.stdout?.on('data', (d: Buffer) => {
          said += d.toString();
        });
        person = signInByKeyboard(x.display).catch((err: unknown) => {
          child.kill('SIGTERM');
          throw err;
        });
      },
    });
    await person;
    const file = path.join(outDir(cwd), '.pagepool', 'session.json');
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(said).toBe(login.stdout);
    expect(login.stdout.split('\n')).toEqual([
      `Log in to ${portal.url} in the browser window. The session is saved as soon as the portal shows a logged-in page (close the window to give up).`,
      `Logged in: the session is saved in ${file} (1 cookies). It is a credential: keep it like a password.`,
      '',
    ]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(portal.stats()).toMatchObject({ logins: 1, loginFailures: 0, totpFailures: 0 });

    // Headless, no credentials, no TOTP secret: the saved session is all it has.
    const run = await childPull({
      portal,
      cwd,
      args: ['--quiet'],
      env: { PAGEPOOL_USERNAME: '', PAGEPOOL_PASSWORD: '' },
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(portal.stats().logins, 'the run logged in').toBe(1);
    expect(await badPdfs(cwd, portal)).toEqual([]);
  });

  it('a portal that binds sessions to the browser: the headless run gets the id rotated and saves it; the next run needs no login', {
    timeout: 240_000,
  }, async () => {
    // The person's Chromium and the headless shell send different User-Agents: the portal re-validates the
    // session on the run's first request and rotates its id (PHP's session_regenerate_id), so the id the
    // person saved is dead from then on.
    const bound = await startPortal({ vehicles: 6, totpSecret: SECRET, bindSession: true, revalidateMs: 50 });
    try {
      const cwd = await tempDir();
      let person: Promise<void> = Promise.resolve();
      const login = await runCli(['login', '--site', 'demo', '--base-url', bound.url, '--headed'], {
        cwd,
        env: { DISPLAY: x.display },
        timeoutMs: 120_000,
        onSpawn: (child) => {
          person = signInByKeyboard(x.display).catch((err: unknown) => {
            child.kill('SIGTERM');
            throw err;
          });
        },
      });
      await person;
      expect(login.code).toBe(0);
      const file = path.join(outDir(cwd), '.pagepool', 'session.json');
      const saved = await readFile(file, 'utf8');
      const env = { PAGEPOOL_USERNAME: '', PAGEPOOL_PASSWORD: '' };
      // The stickers come through the browser's own download: file requests made outside the browser send
      // other headers, and until they carry the browser's (the files branch) a bound portal rotates on them too.
      const refs = [1, 2, 3, 4, 5, 6].map((i) => JSON.stringify({ stock: `S0000${i}`, via: 'download' }));
      await writeFile(path.join(cwd, 'refs.jsonl'), `${refs.join('\n')}\n`);
      const first = await childPull({ portal: bound, cwd, args: ['--quiet', '--refs', 'refs.jsonl'], env });
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
      expect(bound.stats().revalidations).toBeGreaterThanOrEqual(1);
      // The rotated session, confirmed logged in at the end of the run, replaced the dead one.
      expect(await readFile(file, 'utf8')).not.toBe(saved);
      const revalidations = bound.stats().revalidations;
      const args = ['--quiet', '--fresh', '--refs', 'refs.jsonl'];
      const second = await childPull({ portal: bound, cwd, args, env });
      expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
      expect(bound.stats()).toMatchObject({ logins: 1, revalidations });
      expect(await badPdfs(cwd, bound)).toEqual([]);
    } finally {
      await bound.close();
    }
  });

  it('closing the window gives up: exit 2, one line, nothing saved', { timeout: 120_000 }, async () => {
    const cwd = await tempDir();
    const login = await runCli(['login', '--site', 'demo', '--base-url', portal.url, '--headed'], {
      cwd,
      env: { DISPLAY: x.display },
      timeoutMs: 60_000,
      onSpawn: () => {
        // The person closes the tab (Ctrl+W), the last one of the window.
        void waitForWindow(x.display, `Sign in${TITLE}`)
          .then(async (win) => {
            await xdotool(x.display, 'windowfocus', '--sync', win);
            // The window can be gone before xdotool hears back (BadWindow): the exit code below says whether
            // the close reached the browser, so an xdotool error here is no test failure of its own.
            await xdotool(x.display, 'key', '--window', win, 'ctrl+w');
          })
          .catch(() => {});
      },
    });
    expect({ code: login.code, stderr: login.stderr }).toEqual({
      code: 2,
      stderr:
        'pagepool: The browser window was closed before the portal showed a logged-in page: nothing saved\n',
    });
    await expect(stat(path.join(outDir(cwd), '.pagepool', 'session.json'))).rejects.toThrow();
  });
});

describe.skipIf(!hasXvfb())('loginCommand (the library call under `pagepool login`)', () => {
  it('nobody logs in within waitMs: a LoginError, nothing saved', { timeout: 60_000 }, async () => {
    const file = path.join(await tempDir(), 'session.json');
    const said: string[] = [];
    const display = process.env.DISPLAY;
    process.env.DISPLAY = x.display;
    try {
      await expect(
        loginCommand({
          site: demoVehicles,
          baseUrl: portal.url,
          credentials: { username: '', password: '' },
          file,
          byHand: true,
          chromiumPath: null,
          signal: new AbortController().signal,
          waitMs: 1_500,
          say: (line) => said.push(line),
        }),
      ).rejects.toThrow(new LoginError('Nobody logged in within 2 s: nothing saved'));
    } finally {
      if (display === undefined) delete process.env.DISPLAY;
      else process.env.DISPLAY = display;
    }
    expect(said).toHaveLength(1);
    await expect(stat(file)).rejects.toThrow();
  });
});

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  return (bits.match(/.{1,5}/g) ?? []).map((b) => alphabet[Number.parseInt(b.padEnd(5, '0'), 2)]).join('');
}
