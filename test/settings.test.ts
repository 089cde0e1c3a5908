// The settings table is the one declaration of every setting: the README table, .env.example, --help, the
// Config defaults and the worker options all follow from it.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  codeDefaults,
  DEMO_MARKER,
  documentedProperties,
  envExample,
  ROOT,
  readmeTables,
} from '../scripts/settings-docs.js';
import { COMMAND_TABLE } from '../src/cli/command-table.js';
import { EXIT_CODE_MEANINGS } from '../src/cli/exit-codes.js';
import { helpText } from '../src/cli/help-text.js';
import { loadConfig, workerOptionsFrom } from '../src/config.js';
import { LIBRARY_DEFAULTS, LIMITS } from '../src/defaults.js';
import { portalOptionsFromEnv } from '../src/demo/portal.js';
import { ConfigError, EXIT_CODES } from '../src/errors.js';
import { resolveQueueOptions } from '../src/queue/queue-options.js';
import { SETTINGS } from '../src/settings.js';

const FIX = 'run `npx tsx scripts/settings-docs.ts` to regenerate it from src/settings.ts';

function config(argv: string[], env: Record<string, string> = {}) {
  const parsed = loadConfig({ argv, env, cwd: '/work' });
  if (parsed.kind !== 'command') throw new Error(`unexpected ${parsed.kind}`);
  return parsed.config;
}

describe('the settings table', () => {
  // Settings, commands, exit codes, run()'s options and its events: each README table is generated from the code.
  it('every generated README table is the one the code gives', { timeout: 120_000 }, async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    for (const { header, table } of readmeTables()) {
      expect(
        readme.includes(`\n${table}\n\n`),
        `README.md's \`${header}\` table is out of date: ${FIX}`,
      ).toBe(true);
    }
  });

  it('.env.example lists every variable of the table, with its default and help, as generated', async () => {
    const file = await readFile(path.join(ROOT, '.env.example'), 'utf8');
    const at = file.indexOf(DEMO_MARKER);
    expect(at).toBeGreaterThan(0);
    expect(file.slice(0, at), `.env.example is out of date: ${FIX}`).toBe(`${envExample()}\n`);
    for (const s of Object.values(SETTINGS)) if (s.env) expect(file).toContain(`\n${s.env}=`);
  });

  it('every DEMO_* variable in .env.example is one the demo portal reads', async () => {
    const file = await readFile(path.join(ROOT, '.env.example'), 'utf8');
    const demo = [...file.slice(file.indexOf(DEMO_MARKER)).matchAll(/^(DEMO_\w+)=(.+)$/gm)];
    expect(demo.length).toBeGreaterThan(10);
    for (const [, name, value] of demo) {
      expect(Object.keys(portalOptionsFromEnv({ [name!]: value! })), name).toHaveLength(1);
    }
  });

  it('--help names every flag and every environment variable', () => {
    const help = helpText();
    for (const s of Object.values(SETTINGS)) {
      if (s.flag) expect(help).toContain(`--${s.flag}`);
      if (s.env) expect(help).toContain(s.env);
    }
  });

  it("defaults are the README's numbers, in library units", () => {
    const c = config([]);
    expect(c).toMatchObject({
      concurrency: 8,
      taskTimeoutMs: 180_000,
      pageTimeoutMs: 30_000,
      retries: 2,
      rate: 0,
      recycleAfter: 200,
      fileIdleTimeoutMs: 10_000,
      minSpeedBytesPerSec: 512,
      diskMarginBytes: 100 * 1024 * 1024,
      uploads: 8,
      block: true,
      checkpoint: path.join('/work', 'downloads', '.pagepool', 'checkpoint.json'),
      refs: null,
      queue: null,
    });
    expect(config(['--timeout', '5', '--disk-margin', '2', '--no-block'])).toMatchObject({
      taskTimeoutMs: 5000,
      diskMarginBytes: 2 * 1024 * 1024,
      block: false,
    });
  });

  it("--retries allows the README's 0 to 20, and so does the queue", () => {
    expect(config(['--retries', '20']).retries).toBe(20);
    expect(() => config(['--retries', '21'])).toThrow(ConfigError);
    expect(() => resolveQueueOptions({ key: String, retries: 20 })).not.toThrow();
    expect(() => resolveQueueOptions({ key: String, retries: 21 })).toThrow(ConfigError);
  });

  it('workerOptionsFrom carries every worker setting, --trace included (the fleet used to drop it)', () => {
    const c = config(['--trace', '--concurrency', '3', '--recycle-after', '7', '--rate', '4/s']);
    expect(workerOptionsFrom(c)).toMatchObject({ trace: true, concurrency: 3, recycleAfter: 7, rate: 4 });
  });

  it('an environment error names the variable, not a flag the user never typed', () => {
    const err = (() => {
      try {
        config([], { PAGEPOOL_CONCURRENCY: 'abc' });
      } catch (e) {
        return e as Error;
      }
      throw new Error('no error');
    })();
    expect(err.message).toBe('Expected `PAGEPOOL_CONCURRENCY` to be an integer from 1 to 64, got `abc`');
  });

  it('config.ts reads DEMO_* as plain strings and does not import the demo portal', async () => {
    const source = await readFile(path.join(ROOT, 'src/config.ts'), 'utf8');
    expect(source).not.toMatch(/from '\.\/demo\//);
    expect(config([], { DEMO_VEHICLES: 'many' }).demoEnv).toEqual({ DEMO_VEHICLES: 'many' });
  });
});

describe('each default, range, command and exit code is written once', () => {
  it("a numeric @default in run()'s options says what the code applies", { timeout: 120_000 }, () => {
    const defaults = codeDefaults();
    const checked: string[] = [];
    for (const p of documentedProperties('src/run.ts', 'RunOptions')) {
      const tag = p.defaultTag?.replaceAll('_', '');
      if (tag === undefined || !/^\d+$/.test(tag) || !(p.name in defaults)) continue;
      expect(Number(tag), `@default of ${p.name}`).toBe(defaults[p.name]);
      checked.push(p.name);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['concurrency', 'taskTimeoutMs', 'retries', 'recycleAfter']),
    );
  });

  it('no library default is written again as a literal in src/ (they live in src/defaults.ts)', async () => {
    const literals: Array<[string, RegExp]> = [
      ['recycleAfter', /recycleAfter\b[^\n]*(\?\?|:)\s*200\b/],
      ['fileIdleTimeoutMs', /(fileIdleTimeoutMs|bodyIdleTimeoutMs)\b[^\n]*(\?\?|:)\s*10_?000\b/],
      ['diskMarginBytes', /diskMarginBytes\b[^\n]*(\?\?|:)\s*100 \* 1024 \* 1024/],
      ['pageTimeoutMs', /PAGE_TIMEOUT_MS = 30_?000/],
      ['uploads', /uploads \?\? 8\b/],
      ['metricsHost', /host = '127\.0\.0\.1'/],
      ['minSpeedBytesPerSec', /bytesPerSec: 512\b/],
    ];
    const files = (await readdir(path.join(ROOT, 'src'), { recursive: true })).filter(
      (f) => f.endsWith('.ts') && f !== 'defaults.ts' && !f.startsWith('demo'),
    );
    const found: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(ROOT, 'src', file), 'utf8');
      for (const [name, pattern] of literals) if (pattern.test(text)) found.push(`${name} in src/${file}`);
    }
    expect(found).toEqual([]);
    expect(Object.keys(LIBRARY_DEFAULTS)).toEqual(expect.arrayContaining(literals.map(([name]) => name)));
  });

  it("the settings table shows the library defaults and ranges, in the user's unit", () => {
    const c = config([]);
    expect(c).toMatchObject({
      pageTimeoutMs: LIBRARY_DEFAULTS.pageTimeoutMs,
      recycleAfter: LIBRARY_DEFAULTS.recycleAfter,
      fileIdleTimeoutMs: LIBRARY_DEFAULTS.fileIdleTimeoutMs,
      minSpeedBytesPerSec: LIBRARY_DEFAULTS.minSpeedBytesPerSec,
      diskMarginBytes: LIBRARY_DEFAULTS.diskMarginBytes,
      uploads: LIBRARY_DEFAULTS.uploads,
      metricsHost: LIBRARY_DEFAULTS.metricsHost,
    });
    for (const name of ['concurrency', 'downloads', 'uploads', 'rate', 'recycleAfter'] as const) {
      expect({ min: SETTINGS[name].min, max: SETTINGS[name].max }, name).toEqual(LIMITS[name]);
    }
  });

  it('every command of the table has a handler, a line in --help and a --help of its own', async () => {
    const help = helpText();
    for (const command of COMMAND_TABLE) {
      expect(typeof (await command.load()).default, command.name).toBe('function');
      expect(help).toMatch(new RegExp(`^  ${command.name}\\b`, 'm'));
      expect(helpText(command.name)).toContain(`Usage: pagepool ${command.name}`);
    }
  });

  it('--help and the README give every exit code of EXIT_CODES with its meaning', async () => {
    const help = helpText();
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    for (const [name, code] of Object.entries(EXIT_CODES)) {
      const meaning = EXIT_CODE_MEANINGS[name as keyof typeof EXIT_CODES];
      expect(help).toContain(`  ${String(code).padEnd(5)}${meaning.replaceAll('`', '')}`);
      expect(readme).toMatch(
        new RegExp(`^\\| ${code} +\\| ${meaning.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\|$`, 'm'),
      );
    }
  });

  it('a command word anywhere but first is refused, and so is an option that does not apply', () => {
    expect(() => config(['--max', '2', 'init'])).toThrow(
      'Unexpected argument `init`: the command comes first, as in `pagepool init ...`',
    );
    expect(() => config(['init', '--max', '2'])).toThrow('Option `--max` does not apply to `init`');
    expect(config(['init', 'adapters/x.ts']).args).toEqual(['adapters/x.ts']);
    expect(() => config(['init', 'a.ts', 'b.ts'])).toThrow('Unexpected argument `b.ts`');
  });

  it('integers are plain decimal digits: 1e3, 0x4, 0b1, 2.5 and +3 are refused', () => {
    for (const raw of ['1e3', '0x4', '0b1', '2.5', '+3', '']) {
      expect(() => config(['--max', raw]), raw).toThrow('Expected `--max` to be an integer');
    }
    expect(config(['--max', '1000']).max).toBe(1000);
    expect(config(['--rate', '2.5/s']).rate).toBe(2.5);
    expect(() => config(['--rate', '1e3'])).toThrow('Expected `--rate`');
  });

  it('--refresh-after is digits and one unit (s, m, h, d) or 0, in ms; off unless set', () => {
    expect(config([]).refreshAfter).toBeNull();
    expect(config(['--refresh-after', '7d']).refreshAfter).toBe(7 * 86_400_000);
    expect(config(['--refresh-after', '12h']).refreshAfter).toBe(12 * 3_600_000);
    expect(config(['--refresh-after', '30m']).refreshAfter).toBe(30 * 60_000);
    expect(config(['--refresh-after', '45s']).refreshAfter).toBe(45_000);
    expect(config(['--refresh-after', '0']).refreshAfter).toBe(0);
    expect(config([], { PAGEPOOL_REFRESH_AFTER: '2d' }).refreshAfter).toBe(2 * 86_400_000);
    expect(config(['enqueue', '--queue', 'redis://x', '--refresh-after', '1h']).refreshAfter).toBe(3_600_000);
    // A bare number leaves the unit to a guess; a week is 7d; no fractions, signs, spaces or upper case.
    for (const raw of ['7', '1w', '1.5h', '-1d', '7 d', '7D', 'd', '0d0', '36501d', '']) {
      expect(() => config(['--refresh-after', raw]), raw).toThrow(
        `Expected \`--refresh-after\` to be a duration like \`7d\`, \`12h\`, \`30m\` or \`0\` (digits and one unit: s, m, h, d), got \`${raw}\``,
      );
    }
    expect(() => config([], { PAGEPOOL_REFRESH_AFTER: '1w' })).toThrow(
      'Expected `PAGEPOOL_REFRESH_AFTER` to be a duration',
    );
    expect(() => config(['work', '--queue', 'redis://x', '--refresh-after', '1d'])).toThrow(
      'Option `--refresh-after` does not apply to `work`',
    );
    expect(config(['--keep-versions']).keepVersions).toBe(true);
    expect(workerOptionsFrom(config(['--keep-versions'])).keepVersions).toBe(true);
  });
});
