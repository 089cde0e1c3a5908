// `--site PATH`: a user's adapter loads from any folder, imports the pagepool that runs it, and a broken one says
// where it is broken. Each case is the real CLI in a child process; the pulls run real Chromium against the demo.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { REQUIRED_SITE_FIELDS } from '../../src/sites/load-site.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';
import { threeRefsJs, VEHICLES_TS } from '../helpers/user-adapter.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let portal: Portal;

beforeAll(async () => {
  portal = await startPortal({ vehicles: 30, pageLatencyMs: 0, fileLatencyMs: 0 });
});
afterAll(async () => {
  await portal?.close();
  await removeTempDirs();
});

/** A folder with no package.json above it that could say `"type"` (the temp root has none). */
async function bareFolder(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('pagepool-adapter-');
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

const listThree = (site: string, cwd: string) =>
  runCli(['list', '--site', site, '--base-url', 'http://127.0.0.1:9'], {
    cwd,
    env: { PAGEPOOL_USERNAME: 'u', PAGEPOOL_PASSWORD: 'p' },
  });

describe('an adapter in a folder with no package.json', () => {
  it('a .ts adapter that imports pagepool logs in and pulls 10 vehicles', async () => {
    const dir = await bareFolder({ 'vehicles.ts': VEHICLES_TS });
    const { code, stderr } = await runCli(
      ['run', '--site', path.join(dir, 'vehicles.ts'), '--base-url', portal.url, '--max', '10', '--quiet'],
      {
        cwd: dir,
        env: { PAGEPOOL_USERNAME: portal.options.username, PAGEPOOL_PASSWORD: portal.options.password },
      },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const pdfs = (await readdir(path.join(dir, 'downloads', 'my-vehicles'))).filter((n) =>
      n.endsWith('.pdf'),
    );
    expect(pdfs).toHaveLength(10);
  });

  for (const name of ['three.mts', 'three.js', 'three.mjs']) {
    it(`a ${path.extname(name)} adapter that imports pagepool loads`, async () => {
      const dir = await bareFolder({ [name]: threeRefsJs() });
      const { code, stdout, stderr } = await listThree(name, dir);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(
        stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).id),
      ).toEqual(['a', 'b', 'c']);
    });
  }
});

it('next to another copy of pagepool, the adapter gets the running one: its PermanentError is not retried', async () => {
  // Outside this repository: inside it, `pagepool` would resolve to the repository itself (a package self-reference).
  const dir = await tempDir('pagepool-adapter-');
  const copy = path.join(dir, 'node_modules', 'pagepool');
  await cp(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
  await cp(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  // The copy's own imports (playwright, ...) resolve through a link to this repository's dependencies.
  await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const source = threeRefsJs()
    .replace(
      "import { defineSite } from 'pagepool';",
      "import { defineSite, PermanentError } from 'pagepool';",
    )
    .replace('async process() {}', "async process() { throw new PermanentError('gone'); }");
  await writeFile(path.join(dir, 'gone.mjs'), source);
  const { code } = await runCli(
    ['run', '--site', 'gone.mjs', '--base-url', 'http://127.0.0.1:9', '--quiet'],
    {
      cwd: dir,
      env: { PAGEPOOL_USERNAME: 'u', PAGEPOOL_PASSWORD: 'p', PAGEPOOL_RETRIES: '2' },
    },
  );
  expect(code).toBe(1);
  const report = JSON.parse(await readFile(path.join(dir, 'downloads', '.pagepool', 'report.json'), 'utf8'));
  // With the copy's PermanentError, classify() would see an unknown error: 2 retries each, not permanent.
  expect(report.totals).toMatchObject({ failed: 3, permanent: 3, retries: 0 });
});

it('an adapter inside this repository loads', async () => {
  // downloads/ is the repository's git-ignored output folder.
  await mkdir(path.join(ROOT, 'downloads'), { recursive: true });
  const dir = await mkdtemp(path.join(ROOT, 'downloads', 'adapter-test-'));
  try {
    await writeFile(path.join(dir, 'three.ts'), threeRefsJs());
    const { code, stdout, stderr } = await listThree(path.relative(ROOT, path.join(dir, 'three.ts')), ROOT);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('a broken adapter: exit 2, one line that says where', () => {
  it('a TypeScript syntax error names file:line:column and the compiler message', async () => {
    const dir = await bareFolder({ 'broken.ts': 'const limit: number = = 3;\nexport default limit;\n' });
    const { code, stdout, stderr } = await listThree('broken.ts', dir);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toBe(
      'pagepool: Cannot load `--site` module `broken.ts`: broken.ts:1:23: Unexpected "="',
    );
  });

  it('a JavaScript syntax error names file:line:column and the message', async () => {
    const dir = await bareFolder({ 'broken.mjs': threeRefsJs('let let = 3;\n') });
    const { code, stderr } = await listThree('broken.mjs', dir);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^pagepool: Cannot load `--site` module `broken\.mjs`: broken\.mjs:12:5: .+$/m);
  });

  it('a default export that is not a site names the fields it lacks', async () => {
    const dir = await bareFolder({
      'half.ts': "export default { name: 'half', key: (ref: { id: string }) => ref.id, async login() {} };\n",
    });
    const { code, stderr } = await listThree('half.ts', dir);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    const lacking = REQUIRED_SITE_FIELDS.filter((f) => !['name', 'key', 'login'].includes(f));
    expect(lacking).toEqual(['list', 'process']);
    expect(stderr.trim()).toBe(
      'pagepool: `--site` module `half.ts`: the object given to defineSite({...}) has no `list`, `process`',
    );
  });

  it('a `refresh` that is neither page nor files is one line and exit 2', async () => {
    const dir = await bareFolder({ 'urls.mjs': threeRefsJs('').replace('key:', "refresh: 'urls',\n  key:") });
    expect(await readFile(path.join(dir, 'urls.mjs'), 'utf8')).toContain("refresh: 'urls'");
    const { code, stderr } = await listThree('urls.mjs', dir);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      "pagepool: `--site` module `urls.mjs`: `refresh` must be 'page' or 'files', got `urls`",
    );
  });

  it('a module with no default export says so', async () => {
    const dir = await bareFolder({ 'none.mjs': 'export const site = 1;\n' });
    const { code, stderr } = await listThree('none.mjs', dir);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'pagepool: `--site` module `none.mjs` has no default export: end it with `export default defineSite({...})`',
    );
  });
});
