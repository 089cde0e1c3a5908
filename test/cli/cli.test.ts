// The `pagepool` command as a user runs it: a child process, its output and its exit code.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FLAGS } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

describe('pagepool --help', () => {
  it('lists every flag and the exit codes', async () => {
    const cwd = await tempDir();
    const { code, stdout } = await runCli(['--help'], { cwd });
    expect(code).toBe(0);
    for (const flag of Object.keys(FLAGS)) expect(stdout).toContain(`--${flag}`);
    expect(stdout).toMatch(/Exit codes: 0 .*1 .*2 .*130/);
  });
});

describe('bad settings', () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['negative concurrency', ['--concurrency', '-3'], {}, /`--concurrency` .* got `-3`/],
    [
      'zero concurrency from the environment',
      [],
      { PAGEPOOL_CONCURRENCY: '0' },
      /`--concurrency` .* got `0`/,
    ],
    ['unknown site', ['--site', 'nope'], {}, /Unknown `--site` `nope`/],
    ['unreadable refs file', ['--refs', 'missing.jsonl'], {}, /Cannot read `--refs` file `missing.jsonl`/],
    ['unknown flag', ['--concurrence', '3'], {}, /Unknown option '--concurrence'/],
    ['unknown command', ['pull'], {}, /Unknown command `pull`/],
    [
      'missing credentials',
      ['--site', 'demo', '--base-url', 'http://127.0.0.1:9'],
      {},
      /Missing credentials/,
    ],
  ];
  for (const [name, args, env, message] of cases) {
    it(`${name}: one line, exit 2, nothing written`, async () => {
      const cwd = await tempDir();
      const { code, stderr, stdout } = await runCli(args, { cwd, env });
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
      const { readdir } = await import('node:fs/promises');
      expect(await readdir(cwd)).toEqual([]);
    });
  }

  it('an output folder that is a file: one line naming it, exit 2', async () => {
    const cwd = await tempDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(cwd, 'taken'), 'x');
    const { code, stderr } = await runCli(['--out', 'taken'], { cwd, env: { DEMO_VEHICLES: '3' } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/Cannot write to `--out` folder `.*taken`/);
  });
});

describe('pagepool run against the embedded demo portal', () => {
  it('wrong password: one-line error, exit 2, nothing recorded as done', async () => {
    const cwd = await tempDir();
    const { code, stderr } = await runCli(['run', '--site', 'demo', '--quiet'], {
      cwd,
      env: { PAGEPOOL_PASSWORD: 'wrong-password', DEMO_VEHICLES: '5' },
    });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('refused the login for user `demo`');
    expect(stderr).not.toContain('wrong-password');
    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ done: 0, failed: 0, pending: 0, bytes: 0 });
  });

  it('failure rate 0.2 with no retries: the batch finishes, failures recorded with reasons, exit 1', async () => {
    const cwd = await tempDir();
    const { code, stderr } = await runCli(['run', '--site', 'demo', '--retries', '0', '--concurrency', '4'], {
      cwd,
      env: { DEMO_VEHICLES: '30', DEMO_FAILURE_RATE: '0.2', DEMO_SEED: '7' },
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/FAILED S\d{5}: /);
    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code).toBe(0);
    const summary = JSON.parse(status.stdout);
    // A 500 is transient: the item is tried again next run, so status counts it as pending, with its reason.
    const failures = summary.failuresByReason.reduce((n: number, f: { count: number }) => n + f.count, 0);
    expect(summary.done + failures).toBe(30);
    expect(summary.pending).toBe(failures);
    expect(failures).toBeGreaterThan(0);
    expect(summary.failuresByReason.every((f: { reason: string }) => /500/.test(f.reason))).toBe(true);
    const report = JSON.parse(
      await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
    );
    expect(report.totals.failed).toBe(failures);
    expect(report.totals.done).toBe(summary.done);
  });
});

describe('a corrupt checkpoint', () => {
  it('a corrupt middle journal line: one line naming file and line, exit 2, nothing overwritten; repair recovers', async () => {
    const cwd = await tempDir();
    const { mkdir, writeFile } = await import('node:fs/promises');
    const dir = path.join(cwd, 'downloads', '.pagepool');
    await mkdir(dir, { recursive: true });
    const journal = path.join(dir, 'checkpoint.jsonl');
    const at = '2026-01-01T00:00:00.000Z';
    const lines = [
      JSON.stringify({ t: 'started', key: 'S00001', attempt: 1, at }),
      '{"t":"done","key":"S0000',
      JSON.stringify({ t: 'started', key: 'S00002', attempt: 1, at }),
    ];
    await writeFile(journal, `${lines.join('\n')}\n`);
    const before = await readFile(journal);
    const env = { DEMO_VEHICLES: '3' };

    const broken = await runCli(['run', '--quiet'], { cwd, env });
    expect(broken.code).toBe(2);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(broken.stderr).toContain('checkpoint.jsonl');
    expect(broken.stderr).toMatch(/line 2/);
    expect(broken.stderr).toContain('pagepool repair');
    expect((await readFile(journal)).equals(before)).toBe(true);

    const repaired = await runCli(['repair'], { cwd });
    expect(repaired.code).toBe(0);
    const resumed = await runCli(['run', '--quiet'], { cwd, env });
    expect(resumed.code).toBe(0);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd })).stdout);
    expect(status.done).toBe(3);
  });
});
