// Where the `pagepool` command's items come from, as a user sees it: a bad ref is that ref's failure (named, with
// where it came from, the rest pulled, exit 1), and a listing with nothing new says what it has read so far.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Portal, type PortalOptions, startPortal } from '../../src/demo/portal.js';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Each of these starts Chromium in a child process; on two busy shared cores that can take a while.
const SLOW = { timeout: 240_000 };
const portals: Portal[] = [];

afterAll(async () => {
  await Promise.all(portals.map((p) => p.close()));
  await removeTempDirs();
});

async function portal(options: Partial<PortalOptions>): Promise<Portal> {
  const p = await startPortal(options);
  portals.push(p);
  return p;
}

function login(p: Portal): Record<string, string> {
  return { PAGEPOOL_USERNAME: p.options.username, PAGEPOOL_PASSWORD: p.options.password };
}

/** The demo vehicles adapter whose listing also yields a "download all" link's ref (no stock) after its 2nd ref. */
async function downloadAllAdapter(cwd: string): Promise<string> {
  const file = path.join(cwd, 'vehicles.mts');
  await writeFile(
    file,
    `import demo from ${JSON.stringify(path.join(ROOT, 'src/sites/demo-vehicles.ts'))};
export default {
  ...demo,
  async *list(context) {
    let n = 0;
    for await (const ref of demo.list(context)) {
      yield ref;
      if (++n === 2) yield { stock: '', url: 'inventory/download-all' };
    }
  },
};
`,
  );
  return file;
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

describe('a bad ref from the listing (regression: an empty key stopped the run naming nothing, on every resume)', () => {
  it(
    'is named with its listing page, skipped, counted; the rest is pulled; exit 1, and again on a resume',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 5 });
      const cwd = await tempDir();
      const site = await downloadAllAdapter(cwd);
      const args = ['run', '--site', site, '--base-url', p.url, '--concurrency', '2'];
      const badLine =
        `BAD REF from the listing page ${p.url}/inventory?page=1: site.key() gave an empty string: ` +
        '{"stock":"","url":"inventory/download-all"}';

      const first = await runCli(args, { cwd, env: login(p) });
      expect(first.code).toBe(1);
      expect(first.stderr.trimEnd().split('\n')).toEqual([badLine]);
      expect(lastLine(first.stdout)).toMatch(/^Done in .*: 5 of 5 items saved \(.*\), 1 bad ref skipped\.$/);
      const report = JSON.parse(
        await readFile(path.join(cwd, 'downloads', '.pagepool', 'report.json'), 'utf8'),
      );
      expect(report.totals).toMatchObject({ done: 5, failed: 0, badRefs: 1 });
      expect(report.badRefs).toEqual([
        {
          ref: '{"stock":"","url":"inventory/download-all"}',
          where: `the listing page ${p.url}/inventory?page=1`,
          reason: 'site.key() gave an empty string',
        },
      ]);

      const again = await runCli(args, { cwd, env: login(p) });
      expect(again.code).toBe(1);
      expect(again.stderr.trimEnd().split('\n')).toEqual([badLine]);
      expect(lastLine(again.stdout)).toBe(
        'Nothing to do: the listing showed 6 items on 1 page, none new; all 5 items in the checkpoint are done ' +
          'already. 1 bad ref skipped (see above).',
      );
    },
  );

  it('pagepool list prints the good refs and names the bad one on stderr; exit 1', SLOW, async () => {
    const p = await portal({ vehicles: 3 });
    const cwd = await tempDir();
    const site = await downloadAllAdapter(cwd);
    const { code, stdout, stderr } = await runCli(['list', '--site', site, '--base-url', p.url], {
      cwd,
      env: login(p),
    });
    expect(code).toBe(1);
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).stock),
    ).toEqual(['S00001', 'S00002', 'S00003']);
    expect(stderr).toBe(
      `BAD REF from the listing page ${p.url}/inventory?page=1: site.key() gave an empty string: ` +
        '{"stock":"","url":"inventory/download-all"}\n',
    );
  });
});

describe('pagepool try with a bad ref', () => {
  it('shows it as a row of the table and on stderr, and exits 1', SLOW, async () => {
    const p = await portal({ vehicles: 4 });
    const cwd = await tempDir();
    const site = await downloadAllAdapter(cwd);
    const { code, stdout, stderr } = await runCli(['try', '--site', site, '--base-url', p.url, '4'], {
      cwd,
      env: login(p),
    });
    expect(code).toBe(1);
    expect(stderr).toContain('BAD REF from the listing page');
    const row = stdout.split('\n').find((line) => line.includes('BAD REF'));
    expect(row).toMatch(/\{"stock":"","url":"inventory\/download-all"\}.*BAD REF.*the listing page/);
  });
});

describe('bad lines in --refs - (read as they come: stdin cannot be checked first)', () => {
  it(
    'a line that is not JSON and one parseRef refuses each fail alone, named by line; the rest is pulled; exit 1',
    SLOW,
    async () => {
      const p = await portal({ vehicles: 5 });
      const cwd = await tempDir();
      const input = [
        '{"stock":"S00001"}',
        '{"stock":"S00002"',
        '{"url":"vehicle/S00003"}',
        '{"stock":"S00004"}',
        '',
      ];
      const { code, stdout, stderr } = await runCli(
        ['run', '--site', 'demo', '--base-url', p.url, '--refs', '-', '--concurrency', '2'],
        { cwd, env: login(p), input: input.join('\n') },
      );
      expect(code).toBe(1);
      expect(stderr.trimEnd().split('\n')).toEqual([
        'BAD REF from `--refs` stdin line 2: not valid JSON: {"stock":"S00002"',
        'BAD REF from `--refs` stdin line 3: not a ref of site demo: a vehicle ref needs a `stock`: {"url":"vehicle/S00003"}',
      ]);
      expect(lastLine(stdout)).toMatch(/^Done in .*: 2 of 2 items saved \(.*\), 2 bad refs skipped\.$/);
      const status = JSON.parse((await runCli(['status', '--json'], { cwd })).stdout);
      expect(status).toMatchObject({ done: 2, failed: 0 });
    },
  );
});

describe('listing progress', () => {
  it(
    'a run with nothing new says what the listing has read while it reads, and at the end',
    SLOW,
    async () => {
      const cwd = await tempDir();
      // First pull everything from a fast portal; then list the same inventory from a slow one (1 s a page).
      const fast = await portal({ vehicles: 20, pageSize: 2 });
      const first = await runCli(['run', '--site', 'demo', '--base-url', fast.url, '--quiet'], {
        cwd,
        env: login(fast),
      });
      expect(first.code).toBe(0);
      const slow = await portal({ vehicles: 20, pageSize: 2, pageLatencyMs: 1000 });
      const { code, stdout } = await runCli(['run', '--site', 'demo', '--base-url', slow.url], {
        cwd,
        env: login(slow),
      });
      expect(code).toBe(0);
      // Plain output (not a terminal): a line every 5 s, and the listing's 10 pages take 10 s at least.
      const listing = stdout.split('\n').filter((line) => line.includes('listing:'));
      expect(listing.length).toBeGreaterThan(0);
      expect(listing[0]).toMatch(
        /^\[\d\d:\d\d\] 0 done, 0 failed, 0 retrying, .*, listing: \d+ pages?, \d+ items? seen, 0 to pull$/,
      );
      expect(lastLine(stdout)).toBe(
        'Nothing to do: the listing showed 20 items on 10 pages, none new; all 20 items in the checkpoint are ' +
          'done already.',
      );
    },
  );
});
