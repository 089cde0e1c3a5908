// Issue 24, seen from outside: the real `pagepool` in a child process against a demo portal in this process, whose
// /_stats counts every login. A run saves its session; the next one, a resume after SIGKILL, `--fresh` and a
// machine without credentials start from it; an expired one is renewed once per expiry and saved again; a site
// only a person can log in to stops with one line.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { badPdfs, childPull, outDir, waitForPdfs } from '../helpers/child-pull.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Each test starts Chromium in child processes; on two busy shared cores that can take a while.
const SLOW = { timeout: 240_000 };
const portals: Portal[] = [];

afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

async function portal(options: Partial<PortalOptions>): Promise<Portal> {
  const p = await startPortal(options);
  portals.push(p);
  return p;
}

const sessionFile = (cwd: string) => path.join(outDir(cwd), '.pagepool', 'session.json');

/** The session cookie's value in a saved session file, or null. */
async function savedCookie(file: string): Promise<string | null> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as {
      cookies: Array<{ name: string; value: string }>;
    };
    return state.cookies.find((c) => c.name === 'pp_session')?.value ?? null;
  } catch {
    return null;
  }
}

/** An adapter file: the demo's vehicles with `login: 'manual'` (only a person can log in). */
async function manualAdapter(dir: string): Promise<string> {
  const file = path.join(dir, 'manual-site.mts');
  await writeFile(
    file,
    `import demo from ${JSON.stringify(path.join(ROOT, 'src/sites/demo-vehicles.ts'))};
export default { ...demo, login: 'manual' };
`,
  );
  return file;
}

describe('a saved session', () => {
  it(
    'a run saves its session (mode 0600); a resume after SIGKILL starts from it and makes no login request',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 40, pageLatencyMs: 100 });
      const cwd = await tempDir();
      let killed = false;
      await childPull({
        portal: p,
        cwd,
        args: ['--concurrency', '4'],
        onSpawn: (child: ChildProcess) => {
          void waitForPdfs(cwd, 8, child).then((ok) => {
            if (ok) killed = child.kill('SIGKILL');
          });
        },
      });
      expect(killed, 'the first run was killed mid-run').toBe(true);
      expect(p.stats().logins).toBe(1);
      expect((await stat(sessionFile(cwd))).mode & 0o777).toBe(0o600);

      const resumed = await childPull({ portal: p, cwd, args: ['--concurrency', '4', '--quiet'] });
      expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: '' });
      expect(p.stats().logins, 'the resume logged in').toBe(1);
      expect(p.stats().loginFailures).toBe(0);
      expect(await badPdfs(cwd, p)).toEqual([]);
    },
  );

  it(
    'sessions expiring mid-run: one login per expiry, each new session saved over the old, nothing lost',
    SLOW,
    async () => {
      // 60 items at 100 ms a page on 2 pages take 3 s or more on any machine: at least two 1.5 s sessions expire.
      const p = await portal({ vehicles: 60, pageLatencyMs: 100, sessionLifetimeMs: 1_500 });
      const cwd = await tempDir();
      // The session file as it changes: every distinct session saved while the run goes on.
      const saved = new Set<string>();
      const watch = async (child: ChildProcess) => {
        const until = Date.now() + 200_000;
        while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
          const cookie = await savedCookie(sessionFile(cwd));
          if (cookie) saved.add(cookie);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      let watching: Promise<void> = Promise.resolve();
      const result = await childPull({
        portal: p,
        cwd,
        args: ['--concurrency', '2', '--quiet'],
        onSpawn: (child) => {
          watching = watch(child);
        },
      });
      await watching;
      const last = await savedCookie(sessionFile(cwd));
      if (last) saved.add(last);
      const stats = p.stats();
      console.log(
        `expiring sessions: ${stats.logins} logins, ${stats.expiredSessions} sessions expired, ${saved.size} sessions saved`,
      );
      expect(result.code).toBe(0);
      // The listing may meet an expiry too, and says so; nothing else may be on stderr.
      const warning = 'WARNING: logged out while listing; listing again after a re-login';
      expect(result.stderr.split('\n').filter((l) => l !== '' && l !== warning)).toEqual([]);
      expect(await badPdfs(cwd, p)).toEqual([]);
      // The sessions did expire mid-run, or this proves nothing.
      expect(stats.logins).toBeGreaterThanOrEqual(3);
      // One login per expiry (slack 1, as in test/faults.test.ts: two logged-out attempts settling in one tick).
      expect(stats.logins).toBeLessThanOrEqual(1 + stats.expiredSessions + 1);
      // Every login's session reached the file, and the file ends with the newest.
      expect(saved.size).toBe(stats.logins);
      expect((await stat(sessionFile(cwd))).mode & 0o777).toBe(0o600);
    },
  );

  it(
    '`pagepool login` alone (login() can do it): saves the session; run, status and --fresh use it without a login',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 12 });
      const cwd = await tempDir();
      const env = { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' };
      const login = await runCli(['login', '--site', 'demo', '--base-url', p.url], { cwd, env });
      expect(login.stderr).toBe('');
      expect(login.code).toBe(0);
      const file = sessionFile(cwd);
      expect(login.stdout).toBe(
        `Logged in: the session is saved in ${file} (1 cookies). It is a credential: keep it like a password.\n`,
      );
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(p.stats().logins).toBe(1);
      const cookie = await savedCookie(file);
      expect(cookie).not.toBeNull();

      const run = await childPull({ portal: p, cwd, args: ['--quiet'] });
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(p.stats().logins, 'the run logged in').toBe(1);
      expect(await badPdfs(cwd, p)).toEqual([]);
      const list = await runCli(['list', '--site', 'demo', '--base-url', p.url, '--max', '3'], { cwd, env });
      expect(list.stdout.trimEnd().split('\n')).toHaveLength(3);
      expect(p.stats().logins, 'list logged in').toBe(1);

      // `status` says that a session is saved and when, never what it holds.
      const text = await runCli(['status'], { cwd });
      expect(text.stdout).toMatch(new RegExp(`^Session ${file}: saved \\d{4}-\\d\\d-\\d\\dT`, 'm'));
      const json = await runCli(['status', '--json'], { cwd });
      expect(JSON.parse(json.stdout).session).toEqual({
        saved: true,
        savedAt: (await stat(file)).mtime.toISOString(),
      });
      for (const out of [text.stdout, json.stdout]) expect(out).not.toContain(cookie);

      // --fresh starts the checkpoint over and keeps the session.
      const fresh = await childPull({ portal: p, cwd, args: ['--quiet', '--fresh'] });
      expect(fresh.code).toBe(0);
      expect(p.stats().logins, '--fresh logged in').toBe(1);
      expect(await savedCookie(file)).toBe(cookie);

      // --fresh-session logs in anew and saves the new session over the old.
      const anew = await childPull({ portal: p, cwd, args: ['--quiet', '--fresh', '--fresh-session'] });
      expect(anew.code).toBe(0);
      expect(p.stats().logins).toBe(2);
      const renewed = await savedCookie(file);
      expect(renewed).not.toBeNull();
      expect(renewed).not.toBe(cookie);
    },
  );

  it(
    'a machine with the session and no credentials pulls until the session expires; then one line, exit 2',
    SLOW,
    async () => {
      // The valid case on a portal whose sessions never expire, the expired one on a portal of its own: how
      // long a run takes on a busy machine cannot turn one into the other.
      const p = await portal({ vehicles: 6 });
      const short = await portal({ vehicles: 6, sessionLifetimeMs: 1_000 });
      const cwd = await tempDir();
      const session = path.join(cwd, 'shared-session.json');
      const loginTo = async (base: string) => {
        const login = await runCli(['login', '--site', 'demo', '--base-url', base, '--session', session], {
          cwd,
          env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
        });
        expect(login.code).toBe(0);
      };
      const run = (base: string, out: string) =>
        runCli(['run', '--site', 'demo', '--base-url', base, '--session', session, '--out', out, '--quiet'], {
          cwd,
        });

      await loginTo(p.url);
      const valid = await run(p.url, 'out');
      expect({ code: valid.code, stderr: valid.stderr }).toEqual({ code: 0, stderr: '' });
      expect(p.stats().logins).toBe(1);

      await loginTo(short.url);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const expired = await run(short.url, 'out2');
      expect({ code: expired.code, stdout: expired.stdout, stderr: expired.stderr }).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'pagepool: The saved session has expired and there are no credentials to log in again: set PAGEPOOL_USERNAME and PAGEPOOL_PASSWORD, or run `pagepool login`\n',
      });
      expect(short.stats().logins).toBe(1);
      expect(existsSync(path.join(cwd, 'out2')), 'nothing written in --out').toBe(false);
    },
  );

  it(
    'an unreadable session file is said once and the run logs in and saves a good one over it',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 4 });
      const cwd = await tempDir();
      const file = sessionFile(cwd);
      await runCli(['login', '--site', 'demo', '--base-url', p.url], {
        cwd,
        env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
      });
      await writeFile(file, '{"cookies": [');
      const run = await childPull({ portal: p, cwd, args: ['--quiet'] });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe(`WARNING: the saved session ${file} is not used: it is not JSON\n`);
      expect(p.stats().logins).toBe(2);
      expect(await savedCookie(file)).not.toBeNull();
    },
  );
});

describe('pagepool login, refused', () => {
  it('against the embedded demo portal, whose sessions end with the command: exit 2, nothing written', async () => {
    const cwd = await tempDir();
    const r = await runCli(['login', '--site', 'demo'], { cwd, env: { DEMO_VEHICLES: '2' } });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'pagepool: `pagepool login` needs a real portal (`--base-url`): the embedded demo portal forgets its sessions when the command ends\n',
    });
    expect(existsSync(outDir(cwd))).toBe(false);
  });

  it("a refused password: exit 2, the portal's reason, no session saved", SLOW, async () => {
    const p = await portal({ vehicles: 2 });
    const cwd = await tempDir();
    const r = await runCli(['login', '--site', 'demo', '--base-url', p.url], {
      cwd,
      env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'wrong' },
    });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: 'pagepool: The portal refused the login for user `demo`: Invalid username or password\n',
    });
    expect(existsSync(sessionFile(cwd))).toBe(false);
  });
});

describe("a site whose login needs a person (login: 'manual')", () => {
  it(
    'no session, or an expired one: exit 2 with the one line, nothing written in --out; a valid one: no login',
    SLOW,
    async () => {
      // Sessions never expire here; the expired case below has a portal of its own with short ones, so how long
      // a run takes on a busy machine cannot turn the valid case into an expired one.
      const p = await portal({ vehicles: 5 });
      const cwd = await tempDir();
      const site = await manualAdapter(cwd);
      const session = path.join(cwd, 'session.json');
      const run = (base: string, out: string) =>
        runCli(['run', '--site', site, '--base-url', base, '--session', session, '--out', out, '--quiet'], {
          cwd,
        });
      const loginTo = async (base: string) => {
        const login = await runCli(['login', '--site', 'demo', '--base-url', base, '--session', session], {
          cwd,
          env: { PAGEPOOL_USERNAME: 'demo', PAGEPOOL_PASSWORD: 'demo-pass' },
        });
        expect(login.code).toBe(0);
      };

      const none = await run(p.url, path.join(cwd, 'out'));
      expect({ code: none.code, stdout: none.stdout, stderr: none.stderr }).toEqual({
        code: 2,
        stdout: '',
        stderr: `pagepool: No session is saved in ${session} and the portal needs a person to log in (site demo): run \`pagepool login\` with the same --site, --base-url and --session, then run this again\n`,
      });
      expect(existsSync(path.join(cwd, 'out')), 'nothing written in --out').toBe(false);

      // A session saved by a login (the demo adapter logs in alone), still valid: the run needs no login.
      await loginTo(p.url);
      const valid = await run(p.url, path.join(cwd, 'out'));
      expect({ code: valid.code, stderr: valid.stderr }).toEqual({ code: 0, stderr: '' });
      expect(p.stats().logins).toBe(1);

      const short = await portal({ vehicles: 5, sessionLifetimeMs: 1_000 });
      await loginTo(short.url);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const before = await readFile(session);
      const expired = await run(short.url, path.join(cwd, 'out2'));
      expect({ code: expired.code, stdout: expired.stdout, stderr: expired.stderr }).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'pagepool: The saved session has expired and the portal needs a person to log in (site demo): run `pagepool login` with the same --site, --base-url and --session, then run this again\n',
      });
      expect(existsSync(path.join(cwd, 'out2')), 'nothing written in --out').toBe(false);
      expect((await readFile(session)).equals(before), 'the expired session was left as it was').toBe(true);
      expect(short.stats().logins).toBe(1);
    },
  );

  it('without loggedOut(page) it is refused before anything starts', async () => {
    const cwd = await tempDir();
    const file = path.join(cwd, 'blind.mts');
    await writeFile(
      file,
      `import demo from ${JSON.stringify(path.join(ROOT, 'src/sites/demo-vehicles.ts'))};
export default { ...demo, login: 'manual', loggedOut: undefined };
`,
    );
    const r = await runCli(['run', '--site', file, '--base-url', 'http://127.0.0.1:9'], { cwd });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "pagepool: Site demo logs in by hand (login: 'manual') but has no loggedOut(page): add it, so pagepool can tell a working session from an expired one\n",
    });
  });
});
