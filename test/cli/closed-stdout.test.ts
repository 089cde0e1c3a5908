// Issue 22.5: `pagepool list | head -3` ended with `Error: write EPIPE` and a stack, exit 1; `run | head -1` too.
// A closed stdout now ends the command quietly, as Ctrl+C does (a pull keeps its checkpoint), like `git log | head`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli, runShell } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

/** `pagepool ARGS | head -N` in bash: what head printed, pagepool's stderr and its exit code (PIPESTATUS). */
async function piped(
  args: string[],
  lines: number,
  cwd: string,
  env: Record<string, string>,
): Promise<{ head: string; stderr: string; code: number }> {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  const script = `'${process.execPath}' '${BIN}' ${quoted} 2>pagepool.err | head -${lines}; echo "\${PIPESTATUS[0]}" > pagepool.code`;
  const { stdout } = await runShell(script, { cwd, env });
  const stderr = await readFile(path.join(cwd, 'pagepool.err'), 'utf8');
  const code = Number((await readFile(path.join(cwd, 'pagepool.code'), 'utf8')).trim());
  return { head: stdout, stderr, code };
}

describe('a closed stdout', () => {
  it('list | head -3: three refs, then a quiet end (no EPIPE, no stack)', { timeout: 120_000 }, async () => {
    const cwd = await tempDir();
    const { head, stderr, code } = await piped(['list', '--site', 'demo'], 3, cwd, { DEMO_VEHICLES: '300' });
    expect(head.trim().split('\n')).toHaveLength(3);
    expect(JSON.parse(head.split('\n')[0]!)).toMatchObject({ stock: 'S00001' });
    expect(stderr).toBe('');
    expect(code).toBe(130);
  });

  it('run | head -1: the pull stops as on Ctrl+C, quietly, and its checkpoint is whole', {
    timeout: 120_000,
  }, async () => {
    const cwd = await tempDir();
    const env = { DEMO_VEHICLES: '40' };
    const { head, stderr, code } = await piped(['run', '--concurrency', '2'], 1, cwd, env);
    expect(head).toMatch(/^Demo portal on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(stderr).toBe('');
    expect(code).toBe(130);
    // The next run (stdout open) finishes the pull from the checkpoint.
    const again = await runCli(['run', '--quiet'], { cwd, env });
    expect(again).toMatchObject({ code: 0, stderr: '' });
    const status = JSON.parse((await runCli(['status', '--json'], { cwd })).stdout);
    expect(status).toMatchObject({ done: 40, pending: 0 });
  });
});
