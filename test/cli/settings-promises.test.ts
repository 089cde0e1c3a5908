// README, "Configuration": "Every setting is a flag, an environment variable (a `.env` file in the working folder
// is read; see `.env.example`), or its default, in that order", and `NO_COLOR`: "any value turns colours off".
// Checked through the built command as a user runs it: real Chromium, the demo portal on 127.0.0.1, and for the
// colours a real pseudo-terminal (util-linux `script`).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { type Portal, startPortal } from '../../src/demo/portal.js';
import { childPull, pdfCount } from '../helpers/child-pull.js';
import { runCli } from '../helpers/cli.js';
import { hasScript, runInPty } from '../helpers/pty.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const VEHICLES = 12;
let portal: Portal;
let slowPortal: Portal;

beforeAll(async () => {
  portal = await startPortal({ vehicles: VEHICLES });
  // Pages slow enough that the progress display draws a few frames.
  slowPortal = await startPortal({ vehicles: 6, pageLatencyMs: 300 });
});
afterAll(async () => {
  await portal?.close();
  await slowPortal?.close();
  await removeTempDirs();
});

/** A working folder whose `.env` says `lines`. */
async function folderWithEnvFile(lines: string[]): Promise<string> {
  const cwd = await tempDir();
  await writeFile(path.join(cwd, '.env'), `${lines.join('\n')}\n`);
  return cwd;
}

describe('settings: flag > environment > .env in the working folder > default', () => {
  // One setting, `--max`, whose value a user can count: the PDFs a pull leaves. Each source gives another value.
  const FLAG = 3;
  const ENV = 5;
  const DOT_ENV = 7;

  it.each([
    {
      given: 'flag, environment and .env',
      args: ['--max', String(FLAG)],
      env: true,
      file: true,
      pulled: FLAG,
    },
    { given: 'environment and .env', args: [], env: true, file: true, pulled: ENV },
    { given: '.env only', args: [], env: false, file: true, pulled: DOT_ENV },
    { given: 'nothing (default 0: all)', args: [], env: false, file: false, pulled: VEHICLES },
  ])('$given: pulls $pulled', { timeout: 120_000 }, async ({ args, env, file, pulled }) => {
    const cwd = file ? await folderWithEnvFile([`PAGEPOOL_MAX=${DOT_ENV}`]) : await tempDir();
    const result = await childPull({
      portal,
      cwd,
      args,
      env: env ? { PAGEPOOL_MAX: String(ENV) } : {},
    });
    expect(result.code, result.stderr).toBe(0);
    expect(await pdfCount(cwd)).toBe(pulled);
  });

  it('a .env outside the working folder is not read', { timeout: 120_000 }, async () => {
    const parent = await folderWithEnvFile([`PAGEPOOL_MAX=${DOT_ENV}`]);
    const cwd = path.join(parent, 'work');
    await mkdir(cwd);
    const result = await childPull({ portal, cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(await pdfCount(cwd)).toBe(VEHICLES);
  });
});

describe('an empty variable counts as not set', () => {
  // It once hid the .env file's value: `PAGEPOOL_OUT=` in the environment made `status` read the default folder.
  it("PAGEPOOL_OUT= in the environment: `status` reads the .env file's folder", async () => {
    const cwd = await folderWithEnvFile(['PAGEPOOL_OUT=kept']);
    const checkpointPath = path.join(cwd, 'kept', '.pagepool', 'checkpoint.json');
    const checkpoint = await Checkpoint.open({ path: checkpointPath });
    await checkpoint.done('S00001', 1, [{ path: 'demo/S00001.pdf', bytes: 100, sha256: 'a'.repeat(64) }]);
    await checkpoint.close();
    const result = await runCli(['status', '--json'], { cwd, env: { PAGEPOOL_OUT: '' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ done: 1, bytes: 100 });
    // With the variable set, it wins over .env as before.
    const env = await runCli(['status'], { cwd, env: { PAGEPOOL_OUT: 'elsewhere' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain(path.join(cwd, 'elsewhere', '.pagepool', 'checkpoint.json'));
  });

  it('an empty NO_COLOR is no NO_COLOR (no-color.org: present and not empty)', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const color = (env: Record<string, string>) => {
      const parsed = loadConfig({ argv: ['status'], env, isTTY: true });
      return parsed.kind === 'command' && parsed.config.color;
    };
    expect(color({ NO_COLOR: '' })).toBe(true);
    expect(color({ NO_COLOR: '1' })).toBe(false);
  });
});

describe.skipIf(!hasScript)('NO_COLOR on a terminal', () => {
  /** SGR sequences (colours, dim, reset): what NO_COLOR turns off. Cursor and line controls are not colours. */
  const SGR = /\x1b\[[0-9;]*m/;

  async function pullOnTerminal(options: { env?: Record<string, string>; envFile?: string[] }) {
    const cwd = options.envFile ? await folderWithEnvFile(options.envFile) : await tempDir();
    const result = await runInPty(
      ['run', '--site', 'demo', '--base-url', slowPortal.url, '--concurrency', '2'],
      {
        cwd,
        env: {
          PAGEPOOL_USERNAME: slowPortal.options.username,
          PAGEPOOL_PASSWORD: slowPortal.options.password,
          ...options.env,
        },
      },
    );
    expect(result.code, result.output).toBe(0);
    expect(await pdfCount(cwd)).toBe(6);
    // The terminal display ran (its page lines, the hidden cursor): this was a TTY, not the plain log.
    expect(result.output).toContain('\x1b[?25l');
    expect(result.output).toMatch(/page +1 +S0000\d/);
    return result.output;
  }

  it('without NO_COLOR the terminal display is coloured (the control)', { timeout: 120_000 }, async () => {
    expect(await pullOnTerminal({})).toMatch(SGR);
  });

  it('NO_COLOR=1 in the environment: no colour at all', { timeout: 120_000 }, async () => {
    const output = await pullOnTerminal({ env: { NO_COLOR: '1' } });
    expect(output.match(SGR)).toBeNull();
  });

  it('NO_COLOR in the .env file: no colour at all', { timeout: 120_000 }, async () => {
    const output = await pullOnTerminal({ envFile: ['NO_COLOR=true'] });
    expect(output.match(SGR)).toBeNull();
  });
});
