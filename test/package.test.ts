// The package as a user gets it: `npm pack`, the tarball installed offline (from the cache `npm ci` filled) into a
// project of its own; `npx pagepool init` writes the adapter, then plain node runs the README's library example
// verbatim (it starts the demo portal itself) and again against a portal named by the variables, with a
// TypeScript adapter kept in that project; `npx pagepool --version` runs the installed bin.
// 30 s on 2 quiet cores, 70 s on busy ones (the install is most of it).
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';
import { VEHICLES_TS } from './helpers/user-adapter.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let portal: Portal;

beforeAll(async () => {
  portal = await startPortal({ vehicles: 30 });
});
afterAll(async () => {
  await portal?.close();
  await removeTempDirs();
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child process with no npm settings inherited from the test runner, killed after `timeoutMs`. */
function exec(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 240_000,
) {
  return new Promise<Exit>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The first ```js block of the README's "Library use" section, verbatim. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library use\n'));
  const block = /```js\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```js block under "## Library use"');
  return block[1]!;
}

it('packs dist/, installs offline into a new project, and plain node pulls with it', {
  timeout: 600_000,
}, async () => {
  const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  const work = await tempDir('pagepool-package-');

  // --ignore-scripts: vitest's global setup has just built dist/; a `prepare` here would rewrite it under the
  // other test files' running children.
  const pack = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  expect(pack.code, pack.stderr).toBe(0);
  const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/main.js', 'package.json']),
  );
  expect(files.filter((f) => f.startsWith('dist/') && f.endsWith('.js.map')).length).toBeGreaterThan(10);
  expect(files).not.toContain('dist/.tsbuildinfo');

  // What `npm init -y` writes: a CommonJS project, so the .ts adapter is not in a "type": "module" package.
  const project = path.join(work, 'my-pull');
  await mkdir(path.join(project, 'adapters'), { recursive: true });
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'my-pull', version: '1.0.0', private: true, type: 'commonjs' }),
  );
  const install = await exec(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', path.join(work, packed!.filename)],
    project,
  );
  expect(install.code, install.stderr).toBe(0);

  // As the README says: the adapter `npx pagepool init` writes, then the example verbatim, with no settings at all
  // (issue 22.13: it needed a portal URL, and PAGEPOOL_BASE_URL=demo gave a raw stack).
  const init = await exec('npx', ['--offline', 'pagepool', 'init'], project);
  expect(init.code, init.stderr).toBe(0);
  // The command init prints works where it was installed.
  expect(init.stdout).toContain('  npx pagepool run --site adapters/my-portal.ts --base-url demo\n');
  await writeFile(path.join(project, 'pull.mjs'), await readmeExample());
  const verbatim = await exec(process.execPath, ['pull.mjs'], project);
  expect(verbatim.stderr).toBe('');
  expect(verbatim.code).toBe(0);
  expect(verbatim.stdout).toContain('pulling my-portal with 4 pages');
  expect(verbatim.stdout).toContain('10 done, 0 failed (done)');
  expect((await readdir(path.join(project, 'downloads', 'my-portal'))).length).toBe(10);

  // The same example against a portal of the user's, named by the variables, with a TypeScript adapter of theirs.
  await writeFile(path.join(project, 'adapters', 'my-portal.ts'), VEHICLES_TS);
  await rm(path.join(project, 'downloads'), { recursive: true });
  const pull = await exec(process.execPath, ['pull.mjs'], project, {
    PAGEPOOL_BASE_URL: portal.url,
    PAGEPOOL_USERNAME: portal.options.username,
    PAGEPOOL_PASSWORD: portal.options.password,
  });
  expect(pull.stderr).toBe('');
  expect(pull.code).toBe(0);
  expect(pull.stdout).toContain('pulling my-vehicles with 4 pages');
  expect(pull.stdout).toContain('10 done, 0 failed (done)');
  const pdfs = (await readdir(path.join(project, 'downloads', 'my-vehicles'))).filter((n) =>
    n.endsWith('.pdf'),
  );
  expect(pdfs).toHaveLength(10);
  for (const name of pdfs) expect(pull.stdout).toContain(`my-vehicles/${name}`);

  const npx = await exec('npx', ['--offline', 'pagepool', '--version'], project);
  expect(npx.code, npx.stderr).toBe(0);
  expect(npx.stdout).toBe(`${version}\n`);
});
