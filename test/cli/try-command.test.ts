// `pagepool try` (issue 22.12): what an adapter author runs after each change. Through the built CLI, with a
// relative --site path: N items into a temporary folder, every file checked, a table of saved and failed with the
// failure snapshots, and nothing left behind but those snapshots.
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

const SLOW = { timeout: 240_000 };
afterAll(removeTempDirs);

const tryFolders = async () => (await readdir(os.tmpdir())).filter((n) => n.startsWith('pagepool-try-'));

/** A one-page PDF whose cross-reference offsets are right (pdfinfo opens it). */
function tinyPdf(): string {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const at of offsets) body += `${String(at).padStart(10, '0')} 00000 n \n`;
  return `${body}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
}

/** An adapter without login: item `good` is a whole PDF, `cut` a PDF cut short, `broken` throws. */
const ADAPTER = `import { defineSite, PermanentError } from 'pagepool';
const GOOD = ${JSON.stringify(tinyPdf())};
export default defineSite<{ id: string }>({
  name: 'files',
  key: (ref) => ref.id,
  async *list() {
    yield { id: 'good' };
    yield { id: 'cut' };
    yield { id: 'broken' };
  },
  async process({ ref, files }) {
    if (ref.id === 'broken') throw new PermanentError('item broken has no document');
    const text = ref.id === 'cut' ? GOOD.slice(0, 120) : GOOD;
    await files.fromBytes(Buffer.from(text, 'latin1'), { name: ref.id + '.pdf', kind: 'pdf' });
  },
});
`;

describe('pagepool try', () => {
  it(
    'checks every file, lists what failed with its snapshot, and keeps only the snapshots',
    SLOW,
    async () => {
      const cwd = await tempDir();
      await mkdir(path.join(cwd, 'adapters'));
      await writeFile(path.join(cwd, 'adapters', 'files.ts'), ADAPTER);
      const before = await tryFolders();
      const { code, stdout, stderr } = await runCli(
        ['try', '--site', 'adapters/files.ts', '--base-url', 'http://127.0.0.1:8080', '3', '--quiet'],
        { cwd },
      );
      expect(code).toBe(1);
      expect(stderr).toMatch(/^FAILED broken: item broken has no document$/m);
      expect(stdout).toMatch(/^Tried 3 items of files in .*: 2 saved \(1 of 2 files check out\), 1 failed$/m);
      expect(stdout).toMatch(
        /^ {2}good +saved +files\/good\.pdf \(\d+ B\) +PDF, 1 page, opened by pdfinfo$/m,
      );
      expect(stdout).toMatch(
        /^ {2}cut +BAD FILE +files\/cut\.pdf \(120 B\) +PDF without its %%EOF trailer \(cut short\?\)$/m,
      );
      const snapshot = /^ {2}broken +FAILED +item broken has no document +snapshot: (\S+)$/m.exec(
        stdout,
      )?.[1];
      expect(snapshot).toBeDefined();
      expect(existsSync(path.join(snapshot!, 'error.txt'))).toBe(true);
      // Kept: the failure snapshots only, in the one temporary folder it names; nothing in the working folder.
      const kept = (await tryFolders()).filter((n) => !before.includes(n));
      expect(kept).toHaveLength(1);
      const folder = path.join(os.tmpdir(), kept[0]!);
      expect(stdout).toContain(`delete ${folder} when done`);
      expect(await readdir(folder, { recursive: true })).toEqual(
        expect.arrayContaining(['.pagepool', '.pagepool/failures', '.pagepool/failures/broken']),
      );
      expect(
        (await readdir(folder, { recursive: true }))
          .filter((f) => !f.startsWith('.pagepool/failures'))
          .sort(),
      ).toEqual(['.pagepool']);
      expect((await readdir(cwd)).sort()).toEqual(['adapters']);
      const { rm } = await import('node:fs/promises');
      await rm(folder, { recursive: true, force: true });
    },
  );

  it('the demo, 4 items: every PDF opens, exit 0, the temporary folder is gone', SLOW, async () => {
    const cwd = await tempDir();
    const before = await tryFolders();
    const { code, stdout } = await runCli(['try', '4', '--concurrency', '2', '--quiet'], { cwd });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Tried 4 items of demo in .*: 4 saved \(4 of 4 files check out\), 0 failed$/m);
    expect(
      stdout.match(/ saved +demo\/S\d{5}-window-sticker\.pdf .* PDF, 1 page, opened by pdfinfo$/gm),
    ).toHaveLength(4);
    expect((await tryFolders()).filter((n) => !before.includes(n))).toEqual([]);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('N out of range is a usage error', async () => {
    const { code, stderr } = await runCli(['try', '0'], { cwd: await tempDir() });
    expect(code).toBe(2);
    expect(stderr).toBe(
      'pagepool: Expected N to be an integer from 1 to 1000, got `0`. See `pagepool try --help`.\n',
    );
  });
});
