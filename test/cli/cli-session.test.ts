// What the `pagepool` command does when the session is in question: a re-login that fails, items the portal refuses
// to a logged-in user, a login that finds itself logged in. A child process against the demo portal, as a user runs it.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Each of these starts Chromium in a child process; on two busy shared cores that can take a while.
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
