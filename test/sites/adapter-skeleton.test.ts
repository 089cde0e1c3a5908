// `pagepool init` and the README's adapter: one text, written by init, shown verbatim in the README, and run as
// it is against the embedded demo portal through the real CLI.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterSkeleton } from '../../src/sites/adapter-skeleton.js';
import { runCli, runShell } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const made: string[] = [];

/**
 * A working folder inside this checkout (under the git-ignored downloads/), so that the written adapter's
 * `import ... from 'pagepool'` resolves to this package.
 */
async function workDir(): Promise<string> {
  const dir = await mkdtemp(path.join(ROOT, 'downloads', 'init-test-'));
  made.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The command `init` printed (the line after "Run it ..."). */
function printedCommand(stdout: string): string {
  const line = stdout.split('\n')[1]?.trim();
  if (!line) throw new Error(`no command in: ${stdout}`);
  return line;
}

describe("the README's adapter", () => {
  it('is exactly what pagepool init writes', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing an adapter'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(adapterSkeleton());
  });

  it("type-checks against pagepool's public types with the project's strict settings", {
    timeout: 180_000,
  }, async () => {
    const file = path.join(await workDir(), 'my-portal.ts');
    await writeFile(file, adapterSkeleton());
    const config = ts.getParsedCommandLineOfConfigFile(
      path.join(ROOT, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    const program = ts.createProgram([file], { ...config!.options, noEmit: true });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  });
});

describe('pagepool init', () => {
  it('writes adapters/my-portal.ts, prints the command, and that command pulls the demo (429s included)', async () => {
    const cwd = await workDir();
    const init = await runCli(['init'], { cwd });
    expect(init.code).toBe(0);
    // Issue 22.11: in a checkout no `pagepool` is on PATH; the printed command is one that works there.
    expect(init.stdout).toBe(
      'Wrote adapters/my-portal.ts. Run it on the embedded demo portal:\n' +
        '  npm start -- run --site adapters/my-portal.ts --base-url demo\n',
    );
    expect(await readFile(path.join(cwd, 'adapters', 'my-portal.ts'), 'utf8')).toBe(adapterSkeleton());

    // A real limit on item requests, one a second: the portal answers 429 with Retry-After, and at the default 8
    // pages everything still arrives. Issue 22.14: every page in flight met the same 429 and each paid a free retry
    // for it, round after round, until items ran out of retries (here 2 or 3 of 12 failed, exit 1); now a 429
    // met while the hold it belongs to is on costs nothing.
    const env = { DEMO_VEHICLES: '12', DEMO_RATE_LIMIT_PER_SEC: '1', DEMO_RETRY_AFTER_SEC: '1' };
    // Pasted as printed, in the folder init ran in (npm runs it from the package root: paths stay the user's).
    const pull = await runShell(`${printedCommand(init.stdout)} --quiet`, { cwd, env, timeoutMs: 300_000 });
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    const want = Array.from({ length: 12 }, (_, i) => `S${String(i + 1).padStart(5, '0')}.pdf`);
    expect((await readdir(path.join(cwd, 'downloads', 'my-portal'))).sort()).toEqual(want);
    // The limit bit (a retry here is a 429's), or this proves nothing.
    const report = JSON.parse(
      await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
    ) as { totals: { retries: number } };
    expect(report.totals.retries).toBeGreaterThan(0);
    const pdf = await readFile(path.join(cwd, 'downloads', 'my-portal', 'S00001.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  });

  it("the written adapter's status handling: a 404 fails for good on its first attempt", async () => {
    const cwd = await workDir();
    expect((await runCli(['init', 'adapters/acme.ts'], { cwd })).code).toBe(0);
    const refs = [
      { id: 'S00001', path: '/vehicle/S00001' },
      { id: 'NOPE', path: '/vehicle/NOPE' },
    ];
    await writeFile(path.join(cwd, 'refs.jsonl'), refs.map((r) => JSON.stringify(r)).join('\n'));
    const pull = await runCli(
      ['run', '--site', 'adapters/acme.ts', '--base-url', 'demo', '--refs', 'refs.jsonl', '--quiet'],
      { cwd, env: { DEMO_VEHICLES: '3' } },
    );
    expect(pull.code).toBe(1);
    expect(await readdir(path.join(cwd, 'downloads', 'acme'))).toEqual(['S00001.pdf']);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd })).stdout);
    expect(status).toMatchObject({ done: 1 });
    expect(status.failuresByReason).toEqual([
      { reason: 'item <key> does not exist (404)', count: 1, permanent: true, examples: ['NOPE'] },
    ]);
    const report = JSON.parse(
      await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
    );
    expect(report.items.find((item: { key: string }) => item.key === 'NOPE')).toMatchObject({ attempts: 1 });
  });

  it('refuses to overwrite: exit 2, one line, the file unchanged', async () => {
    const cwd = await workDir();
    expect((await runCli(['init'], { cwd })).code).toBe(0);
    const file = path.join(cwd, 'adapters', 'my-portal.ts');
    await writeFile(file, '// mine\n');
    const again = await runCli(['init'], { cwd });
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(
      'pagepool: `adapters/my-portal.ts` already exists; `pagepool init` never overwrites a file\n',
    );
    expect(await readFile(file, 'utf8')).toBe('// mine\n');
  });

  it('a PATH that is not TypeScript, or two PATHs: exit 2, one line, nothing written', async () => {
    const cwd = await workDir();
    for (const args of [
      ['init', 'mine.js'],
      ['init', 'a.ts', 'b.ts'],
    ]) {
      const result = await runCli(args, { cwd });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^pagepool: /);
    }
    expect(await readdir(cwd)).toEqual([]);
  });
});
