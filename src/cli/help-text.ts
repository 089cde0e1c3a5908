// `pagepool --help` and `pagepool COMMAND --help`, generated from the command table, the settings table and the
// exit codes, so they are always true.
import { STANDALONE_FLAGS } from '../config.js';
import { SETTINGS, type Setting, type SettingName, shownDefault } from '../settings.js';
import { COMMAND_TABLE, type CommandName, commandSpec, usageLine } from './command-table.js';
import { exitCodeRows } from './exit-codes.js';

const COLUMN = 30;
const plain = (text: string) => text.replaceAll('`', '');

/** The general help, or one command's (its usage, arguments and the options that apply to it). */
export function helpText(command: CommandName | null = null): string {
  return command === null ? generalHelp() : commandHelp(command);
}

function generalHelp(): string {
  const width = Math.max(...COMMAND_TABLE.map((c) => c.name.length)) + 2;
  return [
    'pagepool - pull every document out of a web portal that has no API',
    '',
    'Usage: pagepool [COMMAND] [options]    (the command comes first; none is `run`)',
    '',
    'Commands:',
    ...COMMAND_TABLE.map((c) => {
      const args = c.args.map((a) => ` [${a.name}]`).join('');
      return `  ${`${c.name}${args}`.padEnd(width + 4)}${plain(c.summary)}`;
    }),
    '',
    'Options (flag, environment variable, default; `pagepool COMMAND --help` lists those of one command):',
    ...optionLines(Object.keys(SETTINGS) as SettingName[]),
    ...environmentLines(Object.keys(SETTINGS) as SettingName[]),
    ...footer(),
  ].join('\n');
}

function commandHelp(name: CommandName): string {
  const spec = commandSpec(name);
  const lines = [`Usage: ${usageLine(spec)}`, '', plain(spec.summary)];
  if (spec.args.length > 0) {
    lines.push('', 'Arguments:', ...spec.args.map((a) => `  ${a.name}`.padEnd(COLUMN) + plain(a.help)));
  }
  lines.push('', 'Options:', ...optionLines(spec.settings));
  lines.push(...environmentLines(spec.settings), ...footer());
  return lines.join('\n');
}

function optionLines(names: readonly SettingName[]): string[] {
  const lines: string[] = [];
  for (const name of names) {
    const s: Setting = SETTINGS[name];
    if (s.flag === null) continue;
    const arg = s.parser === 'boolean' ? '' : ` <${s.flag === 'refs' ? 'file' : 'value'}>`;
    lines.push(`  --${s.flag}${arg}`.padEnd(COLUMN) + plain(s.help));
    const shown = plain(shownDefault(s));
    const extra = [s.env ?? '', shown !== '' && shown !== 'off' ? `default ${shown}` : ''].filter(Boolean);
    if (extra.length > 0) lines.push(`${''.padEnd(COLUMN)}(${extra.join(', ')})`);
  }
  for (const f of STANDALONE_FLAGS) lines.push(`  -${f.short}, --${f.flag}`.padEnd(COLUMN) + plain(f.help));
  return lines;
}

function environmentLines(names: readonly SettingName[]): string[] {
  const envOnly = names.map((n): Setting => SETTINGS[n]).filter((s) => s.flag === null);
  if (envOnly.length === 0) return [];
  return ['', 'Environment only:', ...envOnly.map((s) => `  ${s.env}`.padEnd(COLUMN) + plain(s.help))];
}

function footer(): string[] {
  return [
    '',
    'Settings come from flags, then the environment (a .env file in the working folder is read), then defaults.',
    '',
    'Exit codes:',
    ...exitCodeRows().map(([code, meaning]) => `  ${String(code).padEnd(5)}${plain(meaning)}`),
  ];
}
