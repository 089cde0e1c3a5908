// docs/architecture.md says which part may import which; this holds the code to it. The table in the doc is the
// one statement of the rule: a new import across parts either fits it or changes the doc, on purpose.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** `part -> allowed parts`, read from the "Which part may import which" table. */
async function rules(): Promise<Map<string, Set<string> | 'anything'>> {
  const doc = await readFile(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Which part may import which'));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| part') && !l.startsWith('| ---'));
  const map = new Map<string, Set<string> | 'anything'>();
  for (const row of rows) {
    const [part, allowed] = row
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim()) as [string, string];
    map.set(
      part,
      allowed === 'anything'
        ? 'anything'
        : new Set(
            allowed
              .split(',')
              .map((s) => s.trim())
              .filter((s) => /^[a-z-]+$/.test(s)),
          ),
    );
  }
  return map;
}

/** The part a path under src/ belongs to: its folder, or its file name for the files at the top. */
function partOf(file: string): string {
  const [first, second] = file.split('/');
  return second === undefined ? first!.replace(/\.ts$/, '') : first!;
}

describe('docs/architecture.md', () => {
  it('every import across parts is one the doc allows (errors and defaults: any part)', async () => {
    const allowed = await rules();
    expect([...allowed.keys()].sort()).toEqual(
      [
        'browser',
        'checkpoint',
        'cli',
        'demo',
        'engine',
        'files',
        'fleet',
        'metrics',
        'proxy',
        'queue',
        'sessions',
        'sinks',
        'sites',
        'ui',
      ].sort(),
    );
    const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const broken: string[] = [];
    for (const file of files) {
      const part = partOf(file);
      const rule = allowed.get(part);
      if (rule === undefined || rule === 'anything') continue;
      const text = await readFile(path.join(SRC, file), 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
        const target = path.relative(SRC, path.resolve(path.dirname(path.join(SRC, file)), spec!));
        if (target.startsWith('..')) continue;
        const to = partOf(target.replace(/\.js$/, '.ts'));
        if (to === part || to === 'errors' || to === 'defaults') continue;
        if (!rule.has(to)) broken.push(`src/${file} imports ${to} (${spec})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README links it, not a file outside the repository', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('(docs/architecture.md)');
    expect(readme).not.toContain('../shared');
  });
});
