// `run`, `try` and `list` launch their browser as the command starts (src/cli/early-browser.ts), so Chromium boots
// while the folders, the lock, the site and the preflights are checked. A problem the preflights find is still the
// one the user is told, and the browser started for nothing does not outlive the command.
import type { ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { EarlyBrowser } from '../../src/cli/early-browser.js';
import { runCli } from '../helpers/cli.js';
import { processesWith } from '../helpers/process-tree.js';
import { sleep } from '../helpers/sleep.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 120_000 };

afterAll(async () => {
  await removeTempDirs();
});

describe('EarlyBrowser.around', () => {
  const settings = { chromiumPath: null, headed: false, slowMoMs: 0 };

  it('closes the browser when the command fails after using it', SLOW, async () => {
    let used: Browser | null = null;
    await expect(
      EarlyBrowser.around(settings, async (early) => {
        used = await early.get();
        throw new Error('the command failed');
      }),
    ).rejects.toThrow('the command failed');
    expect(used).not.toBeNull();
    expect((used as Browser | null)?.isConnected()).toBe(false);
  });

  it('closes the browser the command never asked for (it failed before)', SLOW, async () => {
    let early: EarlyBrowser | null = null;
    await expect(
      EarlyBrowser.around(settings, async (b) => {
        early = b;
        throw new Error('a bad --refs line');
      }),
    ).rejects.toThrow('a bad --refs line');
    const browser = await (early as EarlyBrowser | null)?.get();
    expect(browser?.isConnected()).toBe(false);
  });

  it('reports a browser that cannot start only to the command that asks for it', async () => {
    const missing = { ...settings, chromiumPath: '/nonexistent/chromium' };
    await expect(EarlyBrowser.around(missing, async () => 'done without a browser')).resolves.toBe(
      'done without a browser',
    );
    await expect(EarlyBrowser.around(missing, (early) => early.get())).rejects.toMatchObject({
      code: 'NO_BROWSER',
    });
  });
});

describe('the browser launched with the command', () => {
  it.each([['run'], ['try', '1'], ['list']])(
    '`%s`: missing credentials are what the user is told, even when the browser cannot start either',
    async (...command) => {
      const cwd = await tempDir();
      const { code, stdout, stderr } = await runCli(
        [...command, '--site', 'demo', '--base-url', 'http://127.0.0.1:9'],
        { cwd, env: { CHROMIUM_PATH: path.join(cwd, 'no-chromium') } },
      );
      expect(stderr).toBe(
        'pagepool: Missing credentials: set PAGEPOOL_USERNAME (or --username) and PAGEPOOL_PASSWORD\n',
      );
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  it(
    '`run` with a bad --refs line, found after Chromium started: exit 2 naming the line, no browser left behind',
    SLOW,
    async () => {
      const cwd = await tempDir();
      // Chromium's profile folder is made in TMPDIR: its processes name this folder on their command line.
      const tmp = await tempDir('pagepool-early-tmp-');
      await writeFile(path.join(cwd, 'refs.jsonl'), '{"stock": "S00001"}\n{"stock":\n');
      const { code, stderr } = await runCli(['run', '--site', 'demo', '--refs', 'refs.jsonl', '--out', 'X'], {
        cwd,
        env: { TMPDIR: tmp },
      });
      expect(stderr).toMatch(/^pagepool: `--refs` \S*refs\.jsonl line 2 is not valid JSON: \{"stock":\n$/);
      expect(code).toBe(2);
      expect((await readdir(cwd)).sort()).toEqual(['refs.jsonl']);
      expect(processesWith(/chrom|headless/i, tmp)).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
    },
  );

  it.each([
    ['one Ctrl+C: the command stops as it would later', 1],
    ['two Ctrl+C: it quits at once', 2],
  ])(
    '`run` interrupted while its browser starts (%s): exit 130, no browser left behind',
    SLOW,
    async (_, signals) => {
      const cwd = await tempDir();
      const tmp = await tempDir('pagepool-early-tmp-');
      const seen: number[] = [];
      const { code, stderr } = await runCli(['run', '--site', 'demo', '--out', 'X'], {
        cwd,
        env: { TMPDIR: tmp },
        onSpawn: (child) => {
          void interruptOnceBrowserSeen(child, tmp, signals, seen);
        },
      });
      // The signals landed while the browser was up (the check saw its processes).
      expect(seen.length).toBeGreaterThan(0);
      expect(code).toBe(130);
      expect(stderr).toMatch(/^pagepool: SIGINT: finishing items in flight/);
      await expect.poll(() => processesWith(/chrom|headless/i, tmp), { timeout: 30_000 }).toEqual([]);
      await expect.poll(() => readdir(tmp), { timeout: 30_000 }).toEqual([]);
    },
  );
});

/**
 * Sends `count` SIGINTs as soon as a Chromium process of this command (its profile is in `tmp`) is seen; the
 * processes seen go into `seen` first.
 */
async function interruptOnceBrowserSeen(
  child: ChildProcess,
  tmp: string,
  count: number,
  seen: number[],
): Promise<void> {
  for (let i = 0; i < 600 && child.exitCode === null; i += 1) {
    seen.push(...processesWith(/chrom|headless/i, tmp));
    if (seen.length > 0) {
      for (let n = 0; n < count; n += 1) {
        child.kill('SIGINT');
        await sleep(50);
      }
      return;
    }
    await sleep(20);
  }
}
