// The README's two commands, as it shows them: `pagepool list --site demo > refs.jsonl`, then, with a NEW embedded
// portal (a new random port), `pagepool run --refs refs.jsonl`.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

/** The README line that starts with `start`, up to its comment, split into argv (a `> file` kept apart). */
async function readmeCommand(start: string): Promise<{ args: string[]; stdoutTo: string | null }> {
  const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith(start));
  if (!line) throw new Error(`README has no line starting with \`${start}\``);
  const [command = '', stdoutTo] = line
    .replace(/#.*$/, '')
    .trim()
    .split(/\s*>\s*/);
  return { args: command.split(/\s+/).slice(1), stdoutTo: stdoutTo ?? null };
}

describe('list, then run --refs of its output, on the demo', () => {
  it('refs from one embedded portal run against the next one', async () => {
    const cwd = await tempDir();
    const env = { DEMO_VEHICLES: '6' };
    const list = await readmeCommand('pagepool list --site demo > refs.jsonl');
    expect(list.stdoutTo).toBe('refs.jsonl');
    const listed = await runCli(list.args, { cwd, env });
    expect(listed.code).toBe(0);
    await writeFile(path.join(cwd, list.stdoutTo!), listed.stdout);
    const refs = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stock: string; url: string });
    expect(refs).toHaveLength(6);
    // No host and port of the portal that is gone by now: relative to whatever base URL the next run has.
    expect(refs[0]).toEqual({ stock: 'S00001', url: 'vehicle/S00001' });

    const run = await readmeCommand('pagepool run --refs refs.jsonl');
    expect(run.stdoutTo).toBeNull();
    const pulled = await runCli([...run.args, '--quiet'], { cwd, env });
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    expect((await readdir(path.join(cwd, 'downloads', 'demo'))).sort()).toEqual(
      refs.map((r) => `${r.stock}-window-sticker.pdf`),
    );
  });
});
