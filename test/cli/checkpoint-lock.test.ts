// Issue 22.1: one writer per checkpoint, through the built CLI. Two runs on one --out used to both exit 0 with
// a journal that had lost records; a crashed run must not leave the folder locked; repair must mend a snapshot.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { sleep } from '../helpers/sleep.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 240_000 };
afterAll(removeTempDirs);

/** Waits (bounded) until `file` exists. */
async function waitForFile(file: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear within ${ms} ms`);
    await sleep(50);
  }
}

async function status(cwd: string): Promise<{ done: number; failed: number; pending: number }> {
  const result = await runCli(['status', '--json'], { cwd });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('one writer per checkpoint', () => {
  it(
    'a second run or repair on a running checkpoint exits 2 with one line naming the running process; status reads it; nothing is lost',
    SLOW,
    async () => {
      const cwd = await tempDir();
      const env = { DEMO_PAGE_LATENCY_MS: '300', DEMO_VEHICLES: '30' };
      const lock = path.join(cwd, 'downloads', '.pagepool', 'checkpoint.json.lock');
      let child: ChildProcess | undefined;
      const first = runCli(['run', '--concurrency', '2', '--quiet'], {
        cwd,
        env,
        onSpawn: (c) => {
          child = c;
        },
      });
      await waitForFile(lock);
      const pid = child!.pid!;

      const second = await runCli(['run', '--concurrency', '2'], { cwd, env });
      expect(second.code).toBe(2);
      expect(second.stdout).toBe('');
      expect(second.stderr).toMatch(
        new RegExp(
          `^pagepool: The checkpoint \\S+checkpoint\\.json is in use by \`pagepool run\` \\(PID ${pid} on [^,]+, since [^)]+\\): wait for it to finish, or use another \`--out\`\\n$`,
        ),
      );
      const repair = await runCli(['repair'], { cwd });
      expect(repair.code).toBe(2);
      expect(repair.stderr).toContain(`in use by \`pagepool run\` (PID ${pid} `);
      // status takes no lock: it reads a live checkpoint.
      expect((await status(cwd)).done).toBeLessThan(30);

      expect((await first).code).toBe(0);
      expect(existsSync(lock)).toBe(false);
      expect(await status(cwd)).toMatchObject({ done: 30, failed: 0, pending: 0 });
      const manifest = (await readFile(path.join(cwd, 'downloads', 'manifest.jsonl'), 'utf8'))
        .trim()
        .split('\n');
      expect(manifest).toHaveLength(30);
    },
  );

  it('a run killed with SIGKILL leaves a stale lock that the next run takes over', SLOW, async () => {
    const cwd = await tempDir();
    const env = { DEMO_PAGE_LATENCY_MS: '300', DEMO_VEHICLES: '12' };
    const lock = path.join(cwd, 'downloads', '.pagepool', 'checkpoint.json.lock');
    const killed = runCli(['run', '--concurrency', '2', '--quiet'], {
      cwd,
      env,
      onSpawn: (c) => {
        void waitForFile(lock).then(() => c.kill('SIGKILL'));
      },
    });
    expect((await killed).signal).toBe('SIGKILL');
    expect(existsSync(lock)).toBe(true);
    const resumed = await runCli(['run', '--concurrency', '2', '--quiet'], { cwd, env });
    expect(resumed).toMatchObject({ code: 0, stderr: '' });
    expect(await status(cwd)).toMatchObject({ done: 12, pending: 0 });
    expect(existsSync(lock)).toBe(false);
  });
});

describe('repair', () => {
  it('a healthy checkpoint: says so, no backup, nothing changed', SLOW, async () => {
    const cwd = await tempDir();
    expect((await runCli(['run', '--quiet'], { cwd, env: { DEMO_VEHICLES: '3' } })).code).toBe(0);
    const dir = path.join(cwd, 'downloads', '.pagepool');
    const before = await readFile(path.join(dir, 'checkpoint.json'));
    const repaired = await runCli(['repair'], { cwd });
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/^Nothing to repair: the checkpoint \S+ is healthy/);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).filter((f) => f.includes('corrupt'))).toEqual([]);
    expect((await readFile(path.join(dir, 'checkpoint.json'))).equals(before)).toBe(true);
  });

  it(
    'a snapshot with a bad item: the run exits 2 naming it; repair keeps the good items; the next run pulls the rest',
    SLOW,
    async () => {
      const cwd = await tempDir();
      const env = { DEMO_VEHICLES: '4' };
      expect((await runCli(['run', '--quiet'], { cwd, env })).code).toBe(0);
      const snapshot = path.join(cwd, 'downloads', '.pagepool', 'checkpoint.json');
      const text = await readFile(snapshot, 'utf8');
      // What two writers left in issue 22.1: an item whose `files` is not an array.
      const broken = text.replace(/("S00002":\{"status":"done"[^\n]*?"files":)\[[^\n]*\]\}/, '$1"oops"}');
      expect(broken).not.toBe(text);
      await writeFile(snapshot, broken);

      const refused = await runCli(['run', '--quiet'], { cwd, env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^pagepool: Checkpoint snapshot \S+ is corrupt at line \d+/);

      const repaired = await runCli(['repair'], { cwd });
      expect(repaired.code).toBe(0);
      expect(repaired.stdout).toMatch(
        /snapshot: kept 3 items, set aside 1 \(they will be pulled again\); the old snapshot is in \S+checkpoint\.json\.corrupt-/,
      );
      expect(await status(cwd)).toMatchObject({ done: 3 });
      const resumed = await runCli(['run', '--quiet'], { cwd, env });
      expect(resumed.code).toBe(0);
      expect(await status(cwd)).toMatchObject({ done: 4, pending: 0 });
    },
  );

  it('a snapshot that is not a snapshot: repair says it cannot, exit 2, nothing changed', SLOW, async () => {
    const cwd = await tempDir();
    const { mkdir } = await import('node:fs/promises');
    const dir = path.join(cwd, 'downloads', '.pagepool');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'checkpoint.json'), 'not json at all\n');
    const repaired = await runCli(['repair'], { cwd });
    expect(repaired.code).toBe(2);
    expect(repaired.stderr).toMatch(
      /^pagepool: Cannot repair \S+checkpoint\.json: .*Move it aside \(or run with --fresh\)/,
    );
    expect(await readFile(path.join(dir, 'checkpoint.json'), 'utf8')).toBe('not json at all\n');
  });
});

describe('report.json', () => {
  // Issue 22.10: a run with nothing left to do replaced the last run's report with an empty one.
  it('a run with nothing to do keeps the last report as it was', SLOW, async () => {
    const cwd = await tempDir();
    const env = { DEMO_VEHICLES: '3' };
    expect((await runCli(['run', '--quiet'], { cwd, env })).code).toBe(0);
    const file = path.join(cwd, 'downloads', '.pagepool', 'report.json');
    const before = await readFile(file, 'utf8');
    expect(JSON.parse(before).totals.done).toBe(3);
    const again = await runCli(['run'], { cwd, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to do: all 3 items in the checkpoint are done already.');
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});
