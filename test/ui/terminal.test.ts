// The progress display on a real terminal: the built CLI runs inside tmux and the test reads the screen with
// `tmux capture-pane`, as a user would see it (issue 22.6 and 22.7: strings in a fake terminal did not show them).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { sleep } from '../helpers/sleep.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const WIDTH = 110;
const HEIGHT = 40;
const sessions: string[] = [];
// A tmux server of our own (its own socket): the user's sessions and other test files are not touched.
const SOCKET = `pagepool-test-${process.pid}`;

afterEach(async () => {
  sessions.length = 0;
  tmux(['kill-server'], true);
  await removeTempDirs();
});

function tmux(args: string[], quiet = false): string {
  try {
    return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', timeout: 10_000 });
  } catch (err) {
    if (quiet) return '';
    throw err;
  }
}

/** Starts `pagepool ARGS` in a detached tmux session of WIDTH x HEIGHT; its exit code lands in `<cwd>/exit-code`. */
function startInTerminal(args: string[], cwd: string, env: Record<string, string>): string {
  const name = `pagepool-test-${process.pid}-${sessions.length}`;
  // A clean environment, as runCli gives: nothing of the test runner's (npm's INIT_CWD, say) reaches pagepool.
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color' };
  const vars = Object.entries({ ...base, ...env }).map(([k, v]) => `${k}='${v}'`);
  const command = `cd '${cwd}' && env -i ${vars.join(' ')} '${process.execPath}' '${BIN}' ${args.join(' ')}; echo $? > exit-code; sleep 600`;
  tmux(['new-session', '-d', '-s', name, '-x', String(WIDTH), '-y', String(HEIGHT), command]);
  sessions.push(name);
  return name;
}

const screen = (name: string): string[] => tmux(['capture-pane', '-p', '-t', name]).split('\n');

/** Polls the screen (bounded) until `test` holds; returns that screen. */
async function waitForScreen(
  name: string,
  test: (lines: string[]) => boolean,
  ms = 90_000,
): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const lines = screen(name);
    if (test(lines)) return lines;
    if (Date.now() > until) throw new Error(`screen never matched; last:\n${lines.join('\n')}`);
    await sleep(100);
  }
}

async function exitCode(cwd: string, ms = 60_000): Promise<number> {
  const file = path.join(cwd, 'exit-code');
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error('the command did not end');
    await sleep(100);
  }
  return Number((await readFile(file, 'utf8')).trim());
}

describe('the TTY display', () => {
  it('failures are printed above the bars, whole, and every page row stays whole and once', {
    timeout: 180_000,
  }, async () => {
    const cwd = await tempDir();
    const name = startInTerminal(['run', '--retries', '0', '--concurrency', '4'], cwd, {
      DEMO_FAILURE_RATE: '0.3',
      DEMO_PAGE_LATENCY_MS: '150',
      DEMO_VEHICLES: '60',
      DEMO_SEED: '3',
    });
    const frames: string[][] = [];
    const until = Date.now() + 150_000;
    while (!existsSync(path.join(cwd, 'exit-code')) && Date.now() < until) {
      frames.push(screen(name));
      await sleep(150);
    }
    frames.push(screen(name));
    expect(await exitCode(cwd)).toBe(1);
    let failures = 0;
    let whole = 0;
    for (const lines of frames) {
      const failed = lines.filter((l) => l.startsWith('FAILED '));
      failures = Math.max(failures, failed.length);
      // Before the fix a FAILED line kept the tail of the page row it was written over: `...HTTP 500ad   0s`.
      for (const line of failed) expect(line).toMatch(/^FAILED (S\d{5}): vehicle \1 answered HTTP 500$/);
      const rows = lines
        .filter((l) => /^ {2}page +\d+ /.test(l))
        .map((l) => Number(/page +(\d+)/.exec(l)![1]));
      // A frame caught while the bars are being drawn shows the first rows only; never one twice or out of order.
      expect(rows, lines.join('\n')).toEqual([1, 2, 3, 4].slice(0, rows.length));
      if (rows.length === 4) whole += 1;
      for (const line of lines.filter((l) => /^ {2}page +\d+ /.test(l))) {
        expect(line).toMatch(/^ {2}page +\d+ {2}(idle|S\d{5} +[a-z ]+ +\d+s)$/);
      }
    }
    expect(whole).toBeGreaterThan(3);
    expect(failures).toBeGreaterThan(3);
    const last = frames.at(-1)!;
    expect(
      last.some((l) => /^Done in .*: \d+ of 60 items saved/.test(l)),
      last.join('\n'),
    ).toBe(true);
  });

  it('Ctrl+C says at once that the items in flight finish; a second Ctrl+C says it quits now', {
    timeout: 180_000,
  }, async () => {
    const cwd = await tempDir();
    const name = startInTerminal(['run', '--concurrency', '4'], cwd, {
      DEMO_PAGE_LATENCY_MS: '1500',
      DEMO_VEHICLES: '60',
    });
    // Items in flight: a page row holds one.
    await waitForScreen(name, (lines) => lines.some((l) => /^ {2}page +\d+ {2}S\d{5}/.test(l)));
    tmux(['send-keys', '-t', name, 'C-c']);
    const sent = Date.now();
    const first = await waitForScreen(name, (lines) =>
      lines.includes('pagepool: SIGINT: finishing items in flight (press Ctrl+C again to quit now)'),
    );
    // "At once": well before the next item could finish (a page takes 1.5 s here); the old line never showed.
    expect(Date.now() - sent).toBeLessThan(1000);
    // The bars are still drawn below it, whole.
    expect(first.some((l) => /^\[[=-]+\] \d+\/\d+ \|/.test(l))).toBe(true);
    tmux(['send-keys', '-t', name, 'C-c']);
    const second = await waitForScreen(name, (lines) =>
      lines.includes('pagepool: SIGINT again: quitting now; run again to resume'),
    );
    expect(second.filter((l) => l.startsWith('pagepool: SIGINT')).length).toBe(2);
    expect(await exitCode(cwd)).toBe(130);
  });
});
