// A portal with no login (a plain static-file server) and a listing the server refuses: through the real CLI.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type StaticServer, startStaticServer } from '../helpers/static-server.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const ADAPTER = path.join(FIXTURES, 'static-files.ts');
const LEGACY = path.join(FIXTURES, 'static-files-legacy.ts');
const RELATIVE = path.join(FIXTURES, 'static-files-relative.ts');
const ON_DEMAND = path.join(FIXTURES, 'static-files-on-demand.ts');

let server: StaticServer;
let docs: string;
/** What the server was asked for since `from`, without the browser's own favicon request. */
const asked = (from: number) => server.requests.slice(from).filter((p) => p !== '/favicon.ico');
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  docs = await tempDir('pagepool-docs-');
  for (let i = 1; i <= 12; i++) {
    const body = `%PDF-1.4\n% document ${i}\n${'x'.repeat(500 * i)}\n%%EOF\n`;
    await writeFile(path.join(docs, `report ${String(i).padStart(2, '0')}.pdf`), body);
  }
  server = await startStaticServer(docs);
});
afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** The environment of a user who never set credentials (runCli passes only PATH and HOME). */
const NO_CREDENTIALS = {};

async function expectEverythingPulled(out: string): Promise<void> {
  const want = (await readdir(docs)).sort();
  expect((await readdir(path.join(out, 'static-files'))).sort()).toEqual(want);
  for (const name of want) {
    const [got, original] = await Promise.all([
      readFile(path.join(out, 'static-files', name)),
      readFile(path.join(docs, name)),
    ]);
    expect(sha(got), name).toBe(sha(original));
  }
}

describe('a site without login', () => {
  it('asks for no credentials and pulls every file of a directory listing', async () => {
    const cwd = await tempDir();
    const { code, stderr } = await runCli(
      ['run', '--site', ADAPTER, '--base-url', `${server.origin}/docs`, '--out', 'out'],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(stderr).not.toMatch(/credentials|deprecated/i);
    expect(code).toBe(0);
    await expectEverythingPulled(path.join(cwd, 'out'));
  });

  it('the deprecated positional list(page, signal, baseUrl) still runs, with a deprecation warning', async () => {
    const cwd = await tempDir();
    const { code, stderr } = await runCli(
      ['run', '--site', LEGACY, '--base-url', `${server.origin}/docs`, '--out', 'out'],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(code).toBe(0);
    expect(stderr).toContain('list(page, signal, baseUrl) is deprecated');
    await expectEverythingPulled(path.join(cwd, 'out'));
  });

  it('a pageOnDemand listing takes its page with openPage(); reading `page` first is named, exit 1', async () => {
    const cwd = await tempDir();
    const args = ['run', '--site', ON_DEMAND, '--base-url', `${server.origin}/docs`, '--out', 'out'];
    const ok = await runCli(args, { cwd, env: NO_CREDENTIALS });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    await expectEverythingPulled(path.join(cwd, 'out'));

    const tooSoon = await tempDir();
    const bad = await runCli(args, { cwd: tooSoon, env: { PAGE_TOO_SOON: '1' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "site static-files has pageOnDemand: take the listing's page with `await openPage()` before using `page`",
    );
    expect(bad.stderr).not.toMatch(/\n\s+at /); // one line, no stack
  });

  it('a site with login still needs credentials', async () => {
    const cwd = await tempDir();
    const { code, stderr } = await runCli(
      [
        'run',
        '--site',
        path.join(FIXTURES, 'static-files-login.ts'),
        '--base-url',
        `${server.origin}/docs`,
        '--out',
        'out',
      ],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'pagepool: Missing credentials: set PAGEPOOL_USERNAME (or --username) and PAGEPOOL_PASSWORD',
    );
  });
});

describe('a listing that yields nothing', () => {
  it('a listing page that answers 403, unchecked: exit 1 and one line naming the page and its status', async () => {
    const cwd = await tempDir();
    const requestsBefore = server.requests.length;
    const { code, stderr, stdout } = await runCli(
      ['run', '--site', LEGACY, '--base-url', `${server.origin}/private`, '--out', 'out', '--quiet'],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(code).toBe(1);
    const lines = stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('WARNING:'));
    expect(lines).toEqual([
      `pagepool: the listing of static-files produced no items (its last page, ${server.origin}/private/, answered HTTP 403)`,
    ]);
    expect(stdout).toBe('');
    expect(asked(requestsBefore)).toEqual(['/private/']);
  });

  it('the same page through checkResponse: exit 1, one line, the 403 not retried as a session expiry', async () => {
    const cwd = await tempDir();
    const requestsBefore = server.requests.length;
    const { code, stderr } = await runCli(
      ['run', '--site', ADAPTER, '--base-url', `${server.origin}/private`, '--out', 'out', '--quiet'],
      { cwd, env: NO_CREDENTIALS },
    );
    // The listing failed before any item started: it produced no items, exit 1 as for an empty listing.
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `pagepool: Listing the items failed before any item started: the listing page ${server.origin}/private/ answered HTTP 403 (check the adapter's list())`,
    ]);
    // No login to renew: the refused page is asked for once, not once per re-login.
    expect(asked(requestsBefore)).toEqual(['/private/']);
  });

  it('the default output says it once in the summary and once as the error line, and exits 1', async () => {
    const cwd = await tempDir();
    const { code, stderr, stdout } = await runCli(
      ['run', '--site', LEGACY, '--base-url', `${server.origin}/private`, '--out', 'out'],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(code).toBe(1);
    expect(`${stdout}${stderr}`).not.toMatch(/^Done/m);
    expect(stderr).toMatch(/^pagepool: the listing of static-files produced no items/m);
    expect(`${stdout}${stderr}`).not.toMatch(/\n\s+at /);
  });

  it('an empty --refs file: exit 1 and one line naming the file; nothing recorded', async () => {
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'in'));
    await writeFile(path.join(cwd, 'in', 'refs.jsonl'), '\n\n');
    const { code, stderr } = await runCli(
      ['run', '--site', ADAPTER, '--base-url', `${server.origin}/docs`, '--refs', 'in/refs.jsonl', '--quiet'],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      `pagepool: the \`--refs\` file ${path.join(cwd, 'in', 'refs.jsonl')} produced no items`,
    ]);
    // Nothing was created: no output folder, so `status` finds no checkpoint.
    expect(await readdir(cwd)).toEqual(['in']);
    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code).toBe(2);
    expect(status.stderr.trim().split('\n')).toEqual([
      `pagepool: No checkpoint at ${path.join(cwd, 'downloads', '.pagepool', 'checkpoint.json')}: nothing has run with this output folder yet`,
    ]);
  });
});

describe("an adapter's mistake", () => {
  it('a relative URL to files.fetch(): every item fails for good at once, one line each naming it; nothing asked or written', async () => {
    const cwd = await tempDir();
    const requestsBefore = server.requests.length;
    const { code, stderr } = await runCli(
      [
        'run',
        '--site',
        RELATIVE,
        '--base-url',
        `${server.origin}/docs`,
        '--out',
        'out',
        '--retries',
        '2',
        '--quiet',
      ],
      { cwd, env: NO_CREDENTIALS },
    );
    expect(code).toBe(1);
    expect(stderr).toContain(
      'item `report 07.pdf`: files.fetch() needs an absolute http or https URL, got `report%2007.pdf` (resolve a relative link: new URL(href, page.url()))',
    );
    expect(stderr).not.toMatch(/\n\s+at |TypeError/);
    // Not retried: the listing page was the only request, and no file or .part is left.
    expect(asked(requestsBefore)).toEqual(['/docs/']);
    expect(await readdir(path.join(cwd, 'out', 'static-files'))).toEqual([]);
    const status = await runCli(['status', '--out', 'out'], { cwd });
    expect(status.stdout).toMatch(/failed permanently\s+12 items/);
  });
});
