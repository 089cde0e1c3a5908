// The settings table is the one declaration of every setting: the README table, .env.example, --help, the
// Config defaults and the worker options all follow from it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MARKER, envExample, ROOT, readmeTable } from '../scripts/settings-docs.js';
import { helpText, loadConfig, workerOptionsFrom } from '../src/config.js';
import { portalOptionsFromEnv } from '../src/demo/portal.js';
import { ConfigError } from '../src/errors.js';
import { MAX_RETRIES, QUEUE_DEFAULTS, resolveQueueOptions } from '../src/queue/queue-options.js';
import { SETTINGS } from '../src/settings.js';

const FIX = 'run `npx tsx scripts/settings-docs.ts` to regenerate it from src/settings.ts';

function config(argv: string[], env: Record<string, string> = {}) {
  const parsed = loadConfig({ argv, env, cwd: '/work' });
  if (parsed.help) throw new Error('unexpected help');
  return parsed.config;
}

describe('the settings table', () => {
  it('the README configuration table is the generated one', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.includes(`${readmeTable()}\n\n`), `README.md's table is out of date: ${FIX}`).toBe(true);
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

  it('defaults are the library defaults, in library units', () => {
    const c = config([]);
    expect(c).toMatchObject({
      concurrency: QUEUE_DEFAULTS.concurrency,
      taskTimeoutMs: QUEUE_DEFAULTS.taskTimeoutMs,
      retries: QUEUE_DEFAULTS.retries,
      rate: QUEUE_DEFAULTS.rate,
      fileIdleTimeoutMs: 10_000,
      diskMarginBytes: 100 * 1024 * 1024,
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

  it('--retries allows exactly what the queue allows', () => {
    expect(config(['--retries', String(MAX_RETRIES)]).retries).toBe(MAX_RETRIES);
    expect(() => config(['--retries', String(MAX_RETRIES + 1)])).toThrow(ConfigError);
    expect(() => resolveQueueOptions({ key: String, retries: MAX_RETRIES })).not.toThrow();
    expect(() => resolveQueueOptions({ key: String, retries: MAX_RETRIES + 1 })).toThrow(ConfigError);
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
