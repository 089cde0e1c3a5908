// The README's configuration table and .env.example, generated from the settings table (src/settings.ts).
// `npx tsx scripts/settings-docs.ts` rewrites both; test/settings.test.ts fails when either is out of date.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { envExampleValue, SETTINGS, type Setting, shownDefault } from '../src/settings.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
/** The line of .env.example where the demo portal's own variables start (they belong to src/demo). */
export const DEMO_MARKER = '# The embedded demo portal';

const settings = (): Setting[] => Object.values(SETTINGS);

/** The markdown table, padded like the rest of the README. */
export function readmeTable(): string {
  const rows = [
    ['flag', 'environment', 'default', 'meaning'],
    ...settings().map((s) => [
      s.flag === null ? '' : `\`--${s.flag}\``,
      s.env === null ? '' : `\`${s.env}\``,
      shownDefault(s),
      s.help,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(rows[0]!),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** The part of .env.example above the demo portal's variables. */
export function envExample(): string {
  const lines = ['# pagepool settings. Copy to .env and edit; flags on the command line win over these.', ''];
  for (const s of settings()) {
    if (s.env === null) continue;
    const shown = s.shownDefault ? ` Default: ${s.shownDefault.replaceAll('`', '')}.` : '';
    lines.push(`# ${s.help.replaceAll('`', '')}.${shown}`, `${s.env}=${envExampleValue(s)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README with its configuration table replaced by `table`. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf('| flag ');
  if (start === -1) throw new Error('README.md has no configuration table (a line starting `| flag `)');
  const end = readme.indexOf('\n\n', start);
  return readme.slice(0, start) + table + readme.slice(end === -1 ? readme.length : end);
}

/** .env.example with its settings part replaced by `head`, the demo portal's part kept. */
export function withEnvHead(file: string, head: string): string {
  const at = file.indexOf(DEMO_MARKER);
  return `${head}\n${at === -1 ? '' : file.slice(at)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const readmePath = path.join(ROOT, 'README.md');
  const envPath = path.join(ROOT, '.env.example');
  await writeFile(readmePath, withTable(await readFile(readmePath, 'utf8'), readmeTable()));
  await writeFile(envPath, withEnvHead(await readFile(envPath, 'utf8'), envExample()));
  process.stdout.write('README.md and .env.example now follow src/settings.ts\n');
}
