// `pagepool status` as a person reads it (plain text, not --json), after a real pull with transient and
// permanent failures: every number and reason agrees with the files on disk and what the portal answered.
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeVehicles } from '../src/demo/inventory.js';
import { type Portal, startPortal } from '../src/demo/portal.js';
import { runCli } from './helpers/cli.js';
import { removeTempDirs, tempDir } from './helpers/temp-dir.js';

let portal: Portal | undefined;
afterAll(async () => {
  await portal?.close();
  await removeTempDirs();
});

describe('pagepool status', () => {
  it('prints done, failed, pending and one line per failure reason, matching the disk', async () => {
    const p = await startPortal({ vehicles: 30, failureRate: 0.2, seed: 7 });
    portal = p;
    const cwd = await tempDir();
    const stocks = makeVehicles(30, 7).map((v) => v.stock);
    // One ref the portal does not have: a 404, a permanent failure.
    const refs = [...stocks, 'S99999'].map((stock) =>
      JSON.stringify({ stock, url: `${p.url}/vehicle/${stock}` }),
    );
    await writeFile(path.join(cwd, 'refs.jsonl'), `${refs.join('\n')}\n`);
    const env = { PAGEPOOL_USERNAME: p.options.username, PAGEPOOL_PASSWORD: p.options.password };
    const pulled = await runCli(
      ['run', '--site', 'demo', '--base-url', p.url, '--refs', 'refs.jsonl', '--retries', '0', '--quiet'],
      { cwd, env, timeoutMs: 180_000 },
    );
    expect(pulled.code, pulled.stderr).toBe(1);

    const dir = path.join(cwd, 'downloads', 'demo');
    const saved = (await readdir(dir)).map((f) => f.replace('-window-sticker.pdf', '')).sort();
    const bytes = (
      await Promise.all(saved.map(async (s) => (await stat(path.join(dir, `${s}-window-sticker.pdf`))).size))
    ).reduce((a, b) => a + b, 0);
    const transient = stocks.filter((s) => !saved.includes(s)).sort();
    // The faults happened: each item left over got a 500 (and the file store retried some 500s itself).
    expect(transient.length).toBeGreaterThan(0);
    expect(p.stats().sent5xx).toBeGreaterThanOrEqual(transient.length);

    const { code, stdout, stderr } = await runCli(['status'], { cwd });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    // The run summary's words: failed (will be retried) versus failed permanently.
    const row = (label: string, count: number, note: string) =>
      `  ${label.padEnd(24)}${String(count).padStart(9)} items, ${note}`;
    expect(lines.slice(0, 6)).toEqual([
      `Checkpoint ${path.join(cwd, 'downloads', '.pagepool', 'checkpoint.json')}`,
      row('done', saved.length, `${(bytes / 1000).toFixed(1)} KB`),
      row('failed (will be retried)', transient.length, 'tried again on the next run'),
      row('failed permanently', 1, 'skipped unless --retry-failed'),
      row('started, not finished', 0, 'tried again on the next run'),
      expect.stringMatching(/^ {2}updated {2}\d{4}-\d\d-\d\dT[\d:.]+Z \.\. \d{4}-\d\d-\d\dT[\d:.]+Z$/),
    ]);
    expect(lines[6]).toBe('  failures by reason:');
    // Grouped (issue 22.10: one line per vehicle before): the item's key is taken out of its reason, and up to
    // three of the keys are named.
    const reasons = lines.slice(7, -1);
    // Last, whether a session is saved and when (issue 24): the run saved the one it logged in with.
    expect(lines.at(-1)).toMatch(/^Session .*session\.json: saved \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(reasons).toHaveLength(2);
    expect(reasons.filter((l) => /^ +1 {2}permanent {2}.*\(S99999\)$/.test(l))).toHaveLength(1);
    const group = reasons.find((l) => l.includes('transient'));
    const match = /^ +(\d+) {2}transient {2}vehicle <key> answered HTTP 500 \(([^)]+)\)$/.exec(group ?? '');
    expect(match, group).not.toBeNull();
    expect(Number(match![1])).toBe(transient.length);
    const named = match![2]!.replace(/, \.\.\.$/, '').split(', ');
    expect(named.length).toBe(Math.min(3, transient.length));
    for (const key of named) expect(transient).toContain(key);
  }, 240_000);
});
