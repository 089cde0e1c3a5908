// `pagepool --version`, `-v` and `-h`: the built bin under plain node, as a user runs it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

const ROOT = path.resolve(import.meta.dirname, '../..');

for (const flag of ['--version', '-v']) {
  it(`${flag} prints the version in package.json and exits 0`, async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const { code, stdout, stderr } = await runCli([flag], { cwd: await tempDir() });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe(`${version}\n`);
  });
}

for (const command of [[], ['run'], ['init']]) {
  it(`${['pagepool', ...command, '-h'].join(' ')} prints what --help prints`, async () => {
    const cwd = await tempDir();
    const long = await runCli([...command, '--help'], { cwd });
    const short = await runCli([...command, '-h'], { cwd });
    expect(short.code).toBe(0);
    expect(short.stdout).toBe(long.stdout);
    expect(short.stdout).toContain(`Usage: ${['pagepool', ...command].join(' ')}`);
  });
}
