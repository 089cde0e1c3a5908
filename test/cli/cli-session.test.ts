// What the `pagepool` command does when the session is in question: a re-login that fails, items the portal refuses
// to a logged-in user, a login that finds itself logged in. A child process against the demo portal, as a user runs it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { adapterSkeleton } from '../../src/sites/adapter-skeleton.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Each of these starts Chromium in a child process; on two busy shared cores that can take a while.
const SLOW = { timeout: 240_000 };
const portals: Portal[] = [];

const inCheckout: string[] = [];

afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
  await Promise.all(inCheckout.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A folder under the checkout's git-ignored downloads/, where an adapter's `import 'pagepool'` resolves to us. */
async function tempDirIn(parent: string): Promise<string> {
  const dir = await mkdtemp(path.join(parent, 'session-test-'));
  inCheckout.push(dir);
  return dir;
}

async function portal(options: Partial<PortalOptions>): Promise<Portal> {
  const p = await startPortal(options);
  portals.push(p);
  return p;
}

function login(p: Portal): Record<string, string> {
  return { PAGEPOOL_USERNAME: p.options.username, PAGEPOOL_PASSWORD: p.options.password };
}

/** The demo vehicles adapter with its login replaced by `login` (a module body that may use `demo`). */
async function adapterWithLogin(cwd: string, body: string): Promise<string> {
  const file = path.join(cwd, 'adapter.mts');
  await writeFile(
    file,
    `import demo from ${JSON.stringify(path.join(ROOT, 'src/sites/demo-vehicles.ts'))};
${body}
`,
  );
  return file;
}

describe('a re-login that fails', () => {
  it(
    'is the login failure: exit 2 and the re-login line, the items left pending, not failed',
    SLOW,
    async () => {
      // Sessions live 1.5 s: the pull outlives the first one, and the second login throws.
      const p = await portal({ vehicles: 40, sessionLifetimeMs: 1500, fileLatencyMs: 200 });
      const cwd = await tempDir();
      const site = await adapterWithLogin(
        cwd,
        `let logins = 0;
export default {
  ...demo,
  async login(page, creds, baseUrl) {
    logins += 1;
    if (logins > 1) throw new Error('the second login exploded');
    return demo.login(page, creds, baseUrl);
  },
};`,
      );
      const { code, stderr } = await runCli(
        ['run', '--site', site, '--base-url', p.url, '--concurrency', '2', '--quiet'],
        { cwd, env: login(p) },
      );
      // (The listing may meet the expiry too: its warning may come first.)
      const errors = stderr.split('\n').filter((line) => line !== '' && !line.startsWith('WARNING: '));
      expect({ code, errors }).toEqual({
        code: 2,
        errors: ["pagepool: The re-login failed: the second login exploded (check the adapter's login())"],
      });
      const status = await runCli(['status', '--json'], { cwd });
      const held = JSON.parse(status.stdout) as { done: number; failed: number; pending: number };
      // Nothing was charged to the items: none failed, the rest wait for the next run.
      expect(held.failed).toBe(0);
      expect(held.done).toBeLessThan(40);
      expect(p.stats().logins).toBe(1);
    },
  );
});

/** `pagepool status --json` of the run in `cwd`. */
async function status(cwd: string): Promise<{ done: number; failed: number; pending: number }> {
  return JSON.parse((await runCli(['status', '--json'], { cwd })).stdout);
}

describe('items the portal refuses to a logged-in user (DEMO_FORBIDDEN_EVERY)', () => {
  it(
    'detail pages answered 403: permanent FORBIDDEN failures with error.txt, no re-login, the rest done',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 12, forbiddenEvery: 4 });
      const cwd = await tempDir();
      const { code, stderr } = await runCli(
        ['run', '--site', 'demo', '--base-url', p.url, '--concurrency', '3'],
        {
          cwd,
          env: login(p),
        },
      );
      expect(code).toBe(1);
      expect(stderr.trimEnd().split('\n').sort()).toEqual(
        ['S00004', 'S00008', 'S00012'].map(
          (stock) =>
            `FAILED ${stock}: vehicle ${stock} answered HTTP 403 while the session is still logged in: the portal ` +
            'refuses it to this account',
        ),
      );
      expect(await status(cwd)).toMatchObject({ done: 9, failed: 3, pending: 0 });
      const error = await readFile(
        path.join(cwd, 'downloads', '.pagepool', 'failures', 'S00008', 'error.txt'),
        'utf8',
      );
      expect(error).toMatch(/ForbiddenError \[FORBIDDEN\]: vehicle S00008 answered HTTP 403/);
      // Each forbidden page was asked for once (3 x 403: no retry), and the portal saw one login, no re-login.
      expect(p.stats()).toMatchObject({ logins: 1, sent403: 3 });
    },
  );

  it(
    'files answered 403 (cards fetched without a page): the session is looked at first, then FORBIDDEN',
    SLOW,
    async () => {
      const p = await portal({ cards: 6, forbiddenEvery: 3 });
      const cwd = await tempDir();
      const refs = path.join(cwd, 'refs.jsonl');
      const ids = ['C0001', 'C0002', 'C0003', 'C0004', 'C0005', 'C0006'];
      await writeFile(refs, ids.map((id) => JSON.stringify({ id, via: 'fetch' })).join('\n'));
      const { code, stderr } = await runCli(
        ['run', '--site', 'demo-cards', '--base-url', p.url, '--refs', refs, '--concurrency', '2'],
        { cwd, env: login(p) },
      );
      expect(code).toBe(1);
      expect(stderr.trimEnd().split('\n').sort()).toEqual(
        ['C0003', 'C0006'].map(
          (id) =>
            `FAILED ${id}-fetched: ${p.url}/card/${id}.png answered HTTP 403 while the session is still logged in: ` +
            'the portal refuses it to this account',
        ),
      );
      expect(await status(cwd)).toMatchObject({ done: 4, failed: 2, pending: 0 });
      expect(p.stats()).toMatchObject({ logins: 1, sent403: 2 });
    },
  );

  it(
    'a listing answered 403: one line that names the page and does not blame list() or login(); exit 1',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 3, forbiddenListing: true });
      const cwd = await tempDir();
      const { code, stderr } = await runCli(['run', '--site', 'demo', '--base-url', p.url], {
        cwd,
        env: login(p),
      });
      expect({ code, stderr }).toEqual({
        code: 1,
        stderr:
          'pagepool: Listing the items failed before any item started: the listing page ' +
          `${p.url}/inventory?page=1 answered HTTP 403 while the session is still logged in: the portal refuses ` +
          'it to this account\n',
      });
      // One login, and the listing page asked for once (the login's licence step lands on /inventory too: 2 x 403).
      expect(p.stats()).toMatchObject({ logins: 1, sent403: 2 });
    },
  );
});

describe('a portal that sends a logged-in visitor of /login on (DEMO_LOGIN_REDIRECTS)', () => {
  it('with sessions that expire: every item done, one login per expired session at most', SLOW, async () => {
    // 2 pages, 0.2 s a page and 0.3 s a file: some 10 s for 40 items, several 1.5 s sessions.
    const p = await portal({
      vehicles: 40,
      loginRedirects: true,
      sessionLifetimeMs: 1500,
      pageLatencyMs: 200,
      fileLatencyMs: 300,
    });
    const cwd = await tempDir();
    const { code, stderr } = await runCli(
      ['run', '--site', 'demo', '--base-url', p.url, '--concurrency', '2'],
      {
        cwd,
        env: login(p),
      },
    );
    expect({
      code,
      stderr: stderr
        .split('\n')
        .filter((l) => !l.startsWith('WARNING: '))
        .join('\n'),
    }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(await status(cwd)).toMatchObject({ done: 40, failed: 0 });
    const stats = p.stats();
    // The sessions did expire, and each expiry cost one login at most (a second re-login meant for the same
    // expiry finds the session new, is sent on from /login, and logs in no more).
    expect(stats.expiredSessions).toBeGreaterThan(0);
    expect(stats.logins).toBeGreaterThanOrEqual(2);
    expect(stats.logins).toBeLessThanOrEqual(1 + stats.expiredSessions);
    expect(stats.loginFailures).toBe(0);
  });

  it('the adapter `pagepool init` writes runs through expiring sessions there too', SLOW, async () => {
    // Inside this checkout, so that the adapter's `import ... from 'pagepool'` resolves to this package.
    const dir = await tempDirIn(path.join(ROOT, 'downloads'));
    const file = path.join(dir, 'my-portal.ts');
    await writeFile(file, adapterSkeleton());
    const p = await portal({
      vehicles: 20,
      loginRedirects: true,
      sessionLifetimeMs: 1500,
      pageLatencyMs: 200,
      fileLatencyMs: 300,
    });
    const { code } = await runCli(
      ['run', '--site', file, '--base-url', p.url, '--concurrency', '2', '--quiet'],
      {
        cwd: dir,
        env: login(p),
      },
    );
    expect(code).toBe(0);
    expect(await status(dir)).toMatchObject({ done: 20, failed: 0 });
    expect(p.stats().expiredSessions).toBeGreaterThan(0);
    expect(p.stats().logins).toBeLessThanOrEqual(1 + p.stats().expiredSessions);
  });
});
