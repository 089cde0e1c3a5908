// Flags > environment (.env through dotenv) > defaults, validated at once into one frozen Config.
// The only module that reads process.env.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import { type PortalOptions, portalOptionsFromEnv } from './demo/portal.js';
import { ConfigError } from './errors.js';

export const COMMANDS = ['run', 'list', 'status', 'repair', 'enqueue', 'work', 'init'] as const;
export type Command = (typeof COMMANDS)[number];

export interface Config {
  command: Command;
  /** Built-in site name (`demo`, `demo-cards`) or the path of an adapter module. @default 'demo' */
  site: string;
  /** Portal base URL; for the demo sites, empty means "start the embedded demo portal". */
  baseUrl: string;
  username: string;
  password: string;
  /** Pages in the pool = tasks in flight. @default 8 */
  concurrency: number;
  /** Per-item deadline. @default 180_000 */
  taskTimeoutMs: number;
  /** Retries of a transient failure. @default 2 */
  retries: number;
  /** Only the first N items of the source (0 = all). @default 0 */
  max: number;
  /** Output folder (absolute). @default downloads */
  out: string;
  /** Checkpoint file (absolute). @default <out>/.pagepool/checkpoint.json */
  checkpoint: string;
  /** JSONL/CSV refs instead of the site's listing; '-' is stdin. */
  refs: string | null;
  retryFailed: boolean;
  fresh: boolean;
  headed: boolean;
  slowMoMs: number;
  /** Block images, fonts, media and stylesheets on listing/detail pages. @default true */
  block: boolean;
  /** Close and reopen a page after this many items. @default 200 */
  recycleAfter: number;
  /** Body-idle timeout of a file download. @default 10_000 */
  fileIdleTimeoutMs: number;
  /** Free space required before each file. @default 100 MiB */
  diskMarginBytes: number;
  quiet: boolean;
  json: boolean;
  trace: boolean;
  color: boolean;
  chromiumPath: string | null;
  /** Item starts per second toward the portal (0 = no limit); in fleet mode shared by every machine. @default 0 */
  rate: number;
  /** Redis URL of a shared BullMQ queue (fleet mode); null runs the in-process queue and checkpoint file. */
  queue: string | null;
  /** Fault and size knobs of the embedded demo portal (DEMO_* variables). */
  demo: Partial<PortalOptions>;
}

/** Every flag, for parseArgs and for `--help` (kept in one place so help cannot drift). */
export const FLAGS = {
  site: {
    type: 'string',
    env: 'PAGEPOOL_SITE',
    help: 'site adapter: demo, demo-cards, or a path to a module',
    def: 'demo',
  },
  'base-url': {
    type: 'string',
    env: 'PAGEPOOL_BASE_URL',
    help: 'portal URL; `demo` (or empty, for the demo sites) starts the embedded portal',
    def: '',
  },
  username: { type: 'string', env: 'PAGEPOOL_USERNAME', help: 'login name (demo: demo)', def: '' },
  concurrency: {
    type: 'string',
    env: 'PAGEPOOL_CONCURRENCY',
    help: 'pages working at once, 1 to 64',
    def: '8',
  },
  timeout: {
    type: 'string',
    env: 'PAGEPOOL_TIMEOUT',
    help: 'seconds one item may take before it is retried',
    def: '180',
  },
  retries: {
    type: 'string',
    env: 'PAGEPOOL_RETRIES',
    help: 'retries of a transient failure, 0 to 20',
    def: '2',
  },
  max: {
    type: 'string',
    env: 'PAGEPOOL_MAX',
    help: 'only the first N items of the listing (0 = all)',
    def: '0',
  },
  out: { type: 'string', env: 'PAGEPOOL_OUT', help: 'output folder', def: 'downloads' },
  checkpoint: {
    type: 'string',
    env: 'PAGEPOOL_CHECKPOINT',
    help: 'checkpoint file',
    def: '<out>/.pagepool/checkpoint.json',
  },
  refs: {
    type: 'string',
    env: 'PAGEPOOL_REFS',
    help: 'read refs from a JSONL or CSV file (- for stdin) instead of listing',
    def: '',
  },
  'retry-failed': {
    type: 'boolean',
    env: 'PAGEPOOL_RETRY_FAILED',
    help: 'also retry items that failed permanently last time',
    def: 'false',
  },
  fresh: {
    type: 'boolean',
    env: '',
    help: 'start over; the old checkpoint is kept as a backup',
    def: 'false',
  },
  headed: { type: 'boolean', env: 'PAGEPOOL_HEADED', help: 'show the browser window', def: 'false' },
  'slow-mo': {
    type: 'string',
    env: 'PAGEPOOL_SLOW_MO',
    help: 'milliseconds between browser actions (debugging)',
    def: '0',
  },
  'no-block': {
    type: 'boolean',
    env: 'PAGEPOOL_NO_BLOCK',
    help: 'load images, fonts, media and stylesheets on every page',
    def: 'false',
  },
  'recycle-after': {
    type: 'string',
    env: 'PAGEPOOL_RECYCLE_AFTER',
    help: 'replace a page after this many items',
    def: '200',
  },
  'file-timeout': {
    type: 'string',
    env: 'PAGEPOOL_FILE_TIMEOUT',
    help: 'seconds a file download may stall',
    def: '10',
  },
  'disk-margin': {
    type: 'string',
    env: 'PAGEPOOL_DISK_MARGIN',
    help: 'MB of free disk to keep; below it the run stops',
    def: '100',
  },
  quiet: { type: 'boolean', env: 'PAGEPOOL_QUIET', help: 'print errors only', def: 'false' },
  json: { type: 'boolean', env: '', help: 'status: print JSON', def: 'false' },
  trace: {
    type: 'boolean',
    env: 'PAGEPOOL_TRACE',
    help: 'keep a Playwright trace for each failed item',
    def: 'false',
  },
  rate: {
    type: 'string',
    env: 'PAGEPOOL_RATE',
    help: 'at most N item starts per second, e.g. 8 or 8/s (0 = no limit)',
    def: '0',
  },
  queue: {
    type: 'string',
    env: 'PAGEPOOL_QUEUE',
    help: 'redis://host:port/db of a shared queue (fleet mode)',
    def: '',
  },
  help: { type: 'boolean', env: '', help: 'show this help', def: 'false' },
} as const;

type FlagName = keyof typeof FLAGS;

/** Environment variables that are not flags (secrets never go on a command line). */
export const ENV_ONLY = {
  PAGEPOOL_PASSWORD: 'login password (demo: demo-pass)',
  CHROMIUM_PATH: 'Chromium to launch (default: Playwright browsers, then /usr/bin/chromium)',
  NO_COLOR: 'any value turns colors off',
} as const;

export interface LoadOptions {
  argv: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  isTTY?: boolean;
}

/** Parsed command line: the command, or a request for help. */
export type Parsed = { help: true } | { help: false; config: Readonly<Config> };

export function loadConfig({ argv, env, cwd = process.cwd(), isTTY = false }: LoadOptions): Parsed {
  const environment = env ?? readEnv(cwd);
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. See pagepool --help`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };

  const problems: string[] = [];
  const pick = (name: FlagName): string => {
    const flag = FLAGS[name];
    const v = values[name];
    if (v !== undefined) return String(v);
    if (flag.env && environment[flag.env] !== undefined && environment[flag.env] !== '')
      return environment[flag.env]!;
    return flag.def;
  };
  const int = (name: FlagName, min: number, max: number, scale = 1): number => {
    const raw = pick(name);
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      problems.push(`Expected \`--${name}\` to be an integer from ${min} to ${max}, got \`${raw}\``);
      return min;
    }
    return n * scale;
  };
  const bool = (name: FlagName): boolean => {
    const raw = pick(name).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(raw)) return false;
    problems.push(`Expected \`--${name}\` to be true or false, got \`${raw}\``);
    return false;
  };

  const rate = (): number => {
    const raw = pick('rate');
    const n = Number(raw.replace(/\/s$/, ''));
    if (!Number.isFinite(n) || n < 0 || n > 10_000 || raw.trim() === '') {
      problems.push(
        `Expected \`--rate\` to be a number of items per second from 0 to 10000 (like 8 or 8/s), got \`${raw}\``,
      );
      return 0;
    }
    return n;
  };

  const command = (positionals[0] ?? 'run') as Command;
  if (!COMMANDS.includes(command))
    problems.push(`Unknown command \`${positionals[0]}\`; expected one of ${COMMANDS.join(', ')}`);
  if (positionals.length > 1) problems.push(`Unexpected argument \`${positionals[1]}\``);

  const out = path.resolve(cwd, pick('out'));
  const checkpointRaw = pick('checkpoint');
  const checkpoint =
    checkpointRaw === FLAGS.checkpoint.def
      ? path.join(out, '.pagepool', 'checkpoint.json')
      : path.resolve(cwd, checkpointRaw);
  const refs = pick('refs');
  let demo: Partial<PortalOptions> = {};
  try {
    demo = portalOptionsFromEnv(environment);
  } catch (err) {
    problems.push((err as Error).message);
  }

  const config: Config = {
    command,
    site: pick('site'),
    baseUrl: pick('base-url').replace(/\/+$/, ''),
    username: pick('username'),
    password: environment.PAGEPOOL_PASSWORD ?? '',
    concurrency: int('concurrency', 1, 64),
    taskTimeoutMs: int('timeout', 1, 86_400, 1000),
    retries: int('retries', 0, 20),
    max: int('max', 0, Number.MAX_SAFE_INTEGER),
    out,
    checkpoint,
    refs: refs === '' ? null : refs === '-' ? '-' : path.resolve(cwd, refs),
    retryFailed: bool('retry-failed'),
    fresh: bool('fresh'),
    headed: bool('headed'),
    slowMoMs: int('slow-mo', 0, 60_000),
    block: !bool('no-block'),
    recycleAfter: int('recycle-after', 1, 1_000_000),
    fileIdleTimeoutMs: int('file-timeout', 1, 3600, 1000),
    diskMarginBytes: int('disk-margin', 0, 1_000_000, 1024 * 1024),
    quiet: bool('quiet'),
    json: bool('json'),
    trace: bool('trace'),
    color: isTTY && environment.NO_COLOR === undefined,
    chromiumPath: environment.CHROMIUM_PATH || null,
    rate: rate(),
    queue: pick('queue') || null,
    demo,
  };
  if (config.site.trim() === '') problems.push('Expected `--site` to name a site, got ``');
  if (config.baseUrl !== '' && config.baseUrl !== 'demo' && !/^https?:\/\/[^/]+/.test(config.baseUrl)) {
    problems.push(`Expected \`--base-url\` to be an http(s) URL, got \`${config.baseUrl}\``);
  }
  if (config.queue && !/^rediss?:\/\/[^/]+/.test(config.queue)) {
    problems.push(`Expected \`--queue\` to be a redis:// URL, got \`${config.queue}\``);
  }
  if ((command === 'enqueue' || command === 'work') && !config.queue) {
    problems.push(`\`${command}\` needs \`--queue redis://HOST:PORT\` (or PAGEPOOL_QUEUE)`);
  }
  if (config.refs && config.refs !== '-' && !existsSync(config.refs)) {
    problems.push(`Cannot read \`--refs\` file \`${refs}\`: it does not exist`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return { help: false, config: Object.freeze(config) };
}

function parseFlags(argv: string[]) {
  // `--concurrency -3` would read as a flag named 3: join such values so validation can name them.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const isStringFlag = arg.startsWith('--') && FLAGS[arg.slice(2) as FlagName]?.type === 'string';
    if (isStringFlag && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  const options = Object.fromEntries(
    Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type }]),
  ) as { [K in FlagName]: { type: (typeof FLAGS)[K]['type'] } };
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/** process.env with .env (in the working folder) underneath; .env never overrides the real environment. */
function readEnv(cwd: string): Record<string, string | undefined> {
  const fromFile: Record<string, string> = {};
  dotenv.config({ path: path.join(cwd, '.env'), processEnv: fromFile, quiet: true });
  return { ...fromFile, ...process.env };
}

/** The text of `pagepool --help`, generated from FLAGS so it is always true. */
export function helpText(): string {
  const lines = [
    'pagepool - pull every document out of a web portal that has no API',
    '',
    'Usage: pagepool [command] [options]',
    '',
    'Commands:',
    '  run       pull every item (default)',
    "  list      print the site's refs as JSONL on stdout; downloads nothing",
    '  status    summarise the checkpoint (--json for JSON); starts no browser',
    '  repair    set aside corrupt checkpoint journal lines so a run can resume',
    '  enqueue   fleet: add every item of the site to the shared queue (--queue)',
    '  work      fleet: pull items from the shared queue on this machine (--queue)',
    '  init      write a commented adapter skeleton to [PATH] (default adapters/my-portal.ts)',
    '',
    'Options (flag, environment variable, default):',
  ];
  for (const [name, flag] of Object.entries(FLAGS)) {
    const arg = flag.type === 'string' ? ` <${name === 'refs' ? 'file' : 'value'}>` : '';
    lines.push(`  --${name}${arg}`.padEnd(30) + flag.help);
    const extra = [flag.env, flag.type === 'string' && flag.def !== '' ? `default ${flag.def}` : ''].filter(
      Boolean,
    );
    if (extra.length > 0) lines.push(`${''.padEnd(30)}(${extra.join(', ')})`);
  }
  lines.push('', 'Environment only:');
  for (const [name, text] of Object.entries(ENV_ONLY)) lines.push(`  ${name}`.padEnd(30) + text);
  lines.push(
    '',
    'Settings come from flags, then the environment (a .env file in the working folder is read), then defaults.',
    '',
    'Exit codes: 0 all items done, 1 some items failed, 2 usage, config or login error, 130 interrupted.',
  );
  return lines.join('\n');
}
