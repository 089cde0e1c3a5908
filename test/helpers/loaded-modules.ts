// Runs the real `pagepool` command with a probe preloaded (NODE_OPTIONS=--import) that records every module the
// process loads: ES modules through a loader hook (module.register), CommonJS ones from require.cache at exit.
// A test reads back which packages a command pulled in, and which of them came through the ESM loader.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CliOptions, type CliResult, runCli } from './cli.js';
import { tempDir } from './temp-dir.js';

export interface ModulesResult extends CliResult {
  /** file: URLs (and node: builtins) of every module loaded, deduplicated. */
  modules: string[];
  /** Those of `modules` that went through the ESM loader (an `import`, or a require() inside an imported CommonJS file). */
  imported: string[];
}

/** Whether any loaded module sits in `node_modules/<name>/` (a scope like `@aws-sdk` matches every package in it). */
export function loadedPackage(modules: string[], name: string): boolean {
  return modules.some((m) => m.includes(`/node_modules/${name}/`));
}

export async function runCliRecordingModules(
  args: string[],
  options: CliOptions = {},
): Promise<ModulesResult> {
  const dir = await tempDir('pagepool-modules-');
  const log = path.join(dir, 'modules.txt');
  const hooks = path.join(dir, 'hooks.mjs');
  const probe = path.join(dir, 'probe.mjs');
  await writeFile(log, '');
  await writeFile(
    hooks,
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function load(url, context, next) {',
      `  appendFileSync(${JSON.stringify(log)}, 'esm ' + url + '\\n');`,
      '  return next(url, context);',
      '}',
    ].join('\n'),
  );
  await writeFile(
    probe,
    [
      "import { appendFileSync } from 'node:fs';",
      "import { createRequire, register } from 'node:module';",
      "import { pathToFileURL } from 'node:url';",
      `register(${JSON.stringify(pathToFileURL(hooks).href)});`,
      'const require = createRequire(import.meta.url);',
      "process.on('exit', () => {",
      `  const files = Object.keys(require.cache).map((f) => pathToFileURL(f).href);`,
      `  appendFileSync(${JSON.stringify(log)}, files.map((f) => 'cjs ' + f).join('\\n') + '\\n');`,
      '});',
    ].join('\n'),
  );
  const result = await runCli(args, {
    ...options,
    env: { ...options.env, NODE_OPTIONS: `--import=${pathToFileURL(probe).href}` },
  });
  const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  const urls = (kind: string) => lines.filter((l) => l.startsWith(kind)).map((l) => l.slice(kind.length));
  const imported = [...new Set(urls('esm '))];
  return { ...result, modules: [...new Set([...imported, ...urls('cjs ')])], imported };
}
