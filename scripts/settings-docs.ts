// The README's generated tables and .env.example, each from the one place its facts are written:
//   settings       src/settings.ts (flags, variables, defaults, help)   -> `| flag ` table, .env.example
//   commands       src/cli/command-table.ts                             -> `| command ` table
//   exit codes     src/errors.ts EXIT_CODES + src/cli/exit-codes.ts     -> `| code ` table
//   library        run()'s RunOptions and RunEvents types (their doc comments), defaults from src/defaults.ts
//                  and the queue's QUEUE_DEFAULTS                       -> `| option ` and `| event ` tables
// `npx tsx scripts/settings-docs.ts` rewrites them; test/settings.test.ts fails when one is out of date.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { COMMAND_TABLE, usageLine } from '../src/cli/command-table.js';
import { exitCodeRows } from '../src/cli/exit-codes.js';
import { LIBRARY_DEFAULTS } from '../src/defaults.js';
import { QUEUE_DEFAULTS } from '../src/queue/queue-options.js';
import { envExampleValue, SETTINGS, type Setting, shownDefault } from '../src/settings.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
/** The line of .env.example where the demo portal's own variables start (they belong to src/demo). */
export const DEMO_MARKER = '# The embedded demo portal';

const settings = (): Setting[] => Object.values(SETTINGS);

/** A markdown table, padded like the rest of the README. */
function markdownTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(rows[0]!),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

/** The configuration table. */
export function readmeTable(): string {
  return markdownTable([
    ['flag', 'environment', 'default', 'meaning'],
    ...settings().map((s) => [
      s.flag === null ? '' : `\`--${s.flag}\``,
      s.env === null ? '' : `\`${s.env}\``,
      shownDefault(s),
      s.help,
    ]),
  ]);
}

/** The commands table. */
export function commandsTable(): string {
  return markdownTable([
    ['command', 'what it does'],
    ...COMMAND_TABLE.map((c) => [`\`${usageLine(c)}\``, c.summary]),
  ]);
}

/** The exit codes table. */
export function exitCodesTable(): string {
  return markdownTable([
    ['code', 'meaning'],
    ...exitCodeRows().map(([code, meaning]) => [String(code), meaning]),
  ]);
}

interface Documented {
  name: string;
  optional: boolean;
  /** The doc comment's text. */
  doc: string;
  /** The `@default` tag's text, if any. */
  defaultTag: string | null;
  type: ts.Type;
}

let program: { checker: ts.TypeChecker; file: (name: string) => ts.SourceFile } | null = null;

/** The TypeScript program of src/ (one per process: building it takes a few seconds). */
function sources() {
  if (program) return program;
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.build.json cannot be read');
  // The two files whose types are read, and what they import: not all of src/.
  const rootNames = ['src/run.ts', 'src/run-events.ts'].map((f) => path.join(ROOT, f));
  const built = ts.createProgram({ rootNames, options: { ...config.options, noEmit: true } });
  program = {
    checker: built.getTypeChecker(),
    file: (name) => {
      const file = built.getSourceFile(path.join(ROOT, name));
      if (!file) throw new Error(`${name} is not in the program`);
      return file;
    },
  };
  return program;
}

/** The properties of interface `name` in `file` (inherited ones included), with their doc comments. */
export function documentedProperties(file: string, name: string): Documented[] {
  const { checker, file: source } = sources();
  const sourceFile = source(file);
  const decl = sourceFile.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name,
  );
  if (!decl) throw new Error(`${file} has no interface ${name}`);
  const type = checker.getTypeAtLocation(decl.name);
  return checker.getPropertiesOfType(type).map((symbol) => {
    const tag = symbol.getJsDocTags(checker).find((t) => t.name === 'default');
    return {
      name: symbol.name,
      optional: (symbol.flags & ts.SymbolFlags.Optional) !== 0,
      doc: ts.displayPartsToString(symbol.getDocumentationComment(checker)).replace(/\s+/g, ' ').trim(),
      defaultTag: tag ? ts.displayPartsToString(tag.text).trim() : null,
      type: checker.getTypeOfSymbolAtLocation(symbol, decl),
    };
  });
}

/** Defaults written in code, by option name: what the table shows instead of a doc comment's `@default`. */
export function codeDefaults(): Record<string, unknown> {
  const { backoff, adaptive: _adaptive, ...queue } = QUEUE_DEFAULTS;
  return {
    ...queue,
    backoff: `${JSON.stringify(backoff).replaceAll('"', '').replaceAll(',', ', ').replaceAll(':', ': ')}`,
    ...LIBRARY_DEFAULTS,
  };
}

/** A default as the table shows it: numbers with `_` separators undone, 100 MiB spelled out. */
function shownLibraryDefault(name: string, tag: string | null): string {
  const value = codeDefaults()[name];
  if (name === 'diskMarginBytes' && typeof value === 'number') return `${value / 1024 / 1024} MiB`;
  if (name === 'backoff' && typeof value === 'string') return `\`${value}\``;
  if (value !== undefined) return `\`${JSON.stringify(value)}\``;
  return tag === null ? '' : tag.startsWith('`') || /\s/.test(tag) ? tag : `\`${tag}\``;
}

/** The first sentence of a doc comment, one line. */
function firstSentence(doc: string): string {
  const cut = /^(.+?)\.(\s|$)/.exec(doc)?.[1] ?? doc;
  return cut.replaceAll('|', '\\|');
}

/** run()'s options: required first, then optional, each with its default and what it is for. */
export function libraryOptionsTable(): string {
  const props = documentedProperties('src/run.ts', 'RunOptions');
  const sorted = [...props.filter((p) => !p.optional), ...props.filter((p) => p.optional)];
  return markdownTable([
    ['option', 'default', 'meaning'],
    ...sorted.map((p) => [
      `\`${p.name}\``,
      p.optional ? shownLibraryDefault(p.name, p.defaultTag) : '(required)',
      firstSentence(p.doc),
    ]),
  ]);
}

/** Every event of RunEvents with its payload's fields and what it says. */
export function eventsTable(): string {
  const { checker } = sources();
  const events = documentedProperties('src/run-events.ts', 'RunEvents');
  return markdownTable([
    ['event', 'payload', 'meaning'],
    ...events.map((e) => {
      const args = checker.isTupleType(e.type) ? checker.getTypeArguments(e.type as ts.TypeReference) : [];
      const payload = args[0];
      const fields = payload
        ? `\`{ ${checker
            .getPropertiesOfType(payload)
            .map((p) => `${p.name}${p.flags & ts.SymbolFlags.Optional ? '?' : ''}`)
            .join(', ')} }\``
        : '(none)';
      return [`\`${e.name}\``, fields, firstSentence(e.doc)];
    }),
  ]);
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

/** Every generated table of the README, by the header line it starts with. */
export function readmeTables(): Array<{ header: string; table: string }> {
  return [
    { header: '| flag ', table: readmeTable() },
    { header: '| command ', table: commandsTable() },
    { header: '| code ', table: exitCodesTable() },
    { header: '| option ', table: libraryOptionsTable() },
    { header: '| event ', table: eventsTable() },
  ];
}

/** The README with the table starting at a line `header...` replaced by `table`. */
export function withTable(readme: string, table: string, header = '| flag '): string {
  const start = readme.indexOf(`\n${header}`) + 1;
  if (start === 0) throw new Error(`README.md has no table starting \`${header}\``);
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
  let readme = await readFile(readmePath, 'utf8');
  for (const { header, table } of readmeTables()) readme = withTable(readme, table, header);
  await writeFile(readmePath, readme);
  await writeFile(envPath, withEnvHead(await readFile(envPath, 'utf8'), envExample()));
  process.stdout.write('README.md and .env.example now follow the code\n');
}
