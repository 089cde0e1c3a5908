// Flags > environment (.env through dotenv) > defaults, validated at once into one frozen Config.
// The only module that reads process.env.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import {
  COMMAND_NAMES,
  type CommandName,
  commandSpec,
  DEFAULT_COMMAND,
  isCommandName,
} from './cli/command-table.js';
import { ConfigError } from './errors.js';
import { noProxyProblem, proxyHasPassword, proxyUrlProblem, redactProxyUrl } from './proxy/proxy-settings.js';
import { SETTINGS, type Setting, type SettingName, type SettingValues } from './settings.js';
import { s3UrlProblem } from './sinks/s3-destination.js';
import type { S3SinkOptions } from './sinks/s3-sink.js';

/** One validated, frozen configuration: every setting of src/settings.ts in library units (ms, bytes). */
export interface Config extends Omit<SettingValues, 'checkpoint' | 'noColor'> {
  command: CommandName;
  /** The command's positional arguments (`init`'s PATH, `try`'s N), as given. */
  args: readonly string[];
  /** The folder relative paths (`--site`, `--out`, `--refs`, .env) are read from: where the user typed the command. */
  cwd: string;
  /** Absolute; `<out>/.pagepool/checkpoint.json` unless set. */
  checkpoint: string;
  /** ANSI colours: stdout is a TTY and NO_COLOR is not set. */
  color: boolean;
  /** The DEMO_* variables as written; the embedded demo portal parses them when it is started. */
  demoEnv: Readonly<Record<string, string>>;
}

/** Every flag, by its name on the command line, with the setting it sets. */
const FLAG_SETTINGS = new Map<string, SettingName>(
  (Object.entries(SETTINGS) as Array<[SettingName, Setting]>)
    .filter(([, s]) => s.flag !== null)
    .map(([name, s]) => [s.flag!, name]),
);

/** Flags that are not settings: they stand alone, whatever else is on the line. */
export const STANDALONE_FLAGS = [
  { flag: 'help', short: 'h', help: "show this help (`pagepool COMMAND --help`: that command's)" },
  { flag: 'version', short: 'v', help: 'print the version' },
] as const;

export interface LoadOptions {
  argv: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  isTTY?: boolean;
}

/** The parsed command line: a request for help or the version, or a command with its configuration. */
export type Parsed =
  | { kind: 'help'; command: CommandName | null }
  | { kind: 'version' }
  | { kind: 'command'; config: Readonly<Config> };

const SEE_HELP = 'See `pagepool --help`.';

export function loadConfig({ argv, env, cwd = userCwd(), isTTY = false }: LoadOptions): Parsed {
  // The command word comes first, or there is none (`run`); after `--` nothing is an option.
  const word = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : null;
  const known = word !== null && isCommandName(word) ? word : null;
  const options = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (options.includes('--version') || options.includes('-v')) return { kind: 'version' };
  if (options.includes('--help') || options.includes('-h')) return { kind: 'help', command: known };
  if (word !== null && known === null) {
    throw new ConfigError(
      `Unknown command \`${word}\`; expected one of ${COMMAND_NAMES.join(', ')}. ${SEE_HELP}`,
    );
  }
  const command: CommandName = known ?? DEFAULT_COMMAND;
  const spec = commandSpec(command);
  const seeHelp = known ? `See \`pagepool ${command} --help\`.` : SEE_HELP;
  const { environment, fromFile } = env
    ? { environment: setOnly(env), fromFile: new Set<string>() }
    : readEnv(cwd);
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(known ? argv.slice(1) : argv);
  } catch (err) {
    throw new ConfigError(`${parseErrorSentence(err)} ${seeHelp}`);
  }
  const { values, positionals } = parsed;

  const usage: string[] = [];
  const problems: string[] = [];
  const applies = new Set<SettingName>(spec.settings);
  for (const [flag, name] of FLAG_SETTINGS) {
    if ((values as Record<string, unknown>)[flag] !== undefined && !applies.has(name)) {
      const where = COMMAND_NAMES.filter((c) =>
        (commandSpec(c).settings as readonly string[]).includes(name),
      );
      usage.push(`Option \`--${flag}\` does not apply to \`${command}\` (only to ${where.join(', ')})`);
    }
  }
  const extra = positionals.slice(spec.args.length);
  if (extra.length > 0) {
    const first = extra[0]!;
    usage.push(
      isCommandName(first)
        ? `Unexpected argument \`${first}\`: the command comes first, as in \`pagepool ${first} ...\``
        : `Unexpected argument \`${first}\``,
    );
  }

  const read = (name: SettingName): { raw: string; from: string; isFlag: boolean } | null => {
    const setting: Setting = SETTINGS[name];
    const v = setting.flag === null ? undefined : (values as Record<string, unknown>)[setting.flag];
    if (v !== undefined) {
      // A negated flag given on the command line means "true" for the flag, i.e. the setting is off.
      return { raw: String(v), from: `\`--${setting.flag}\``, isFlag: true };
    }
    const e = setting.env === null ? undefined : environment[setting.env];
    if (setting.env !== null && e !== undefined) {
      const where = fromFile.has(setting.env) ? ' (in .env)' : '';
      return { raw: e, from: `\`${setting.env}\`${where}`, isFlag: false };
    }
    return null;
  };
  const values_ = {} as Record<SettingName, unknown>;
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const setting: Setting = SETTINGS[name];
    // A setting that does not apply keeps its default: a bad PAGEPOOL_CONCURRENCY must not stop `status`.
    const given = applies.has(name) ? read(name) : null;
    if (given === null) {
      values_[name] =
        setting.parser === 'path' ? path.resolve(cwd, String(setting.default)) : setting.default;
      continue;
    }
    const result = parseValue(setting, given.raw, cwd);
    if ('problem' in result) {
      // A proxy URL may carry a password: never echo it.
      const shown = setting.parser === 'proxy-url' ? redactProxyUrl(given.raw) : given.raw;
      (given.isFlag ? usage : problems).push(
        `Expected ${given.from} to be ${result.problem}, got \`${shown}\``,
      );
      values_[name] = setting.default;
    } else values_[name] = result.value;
  }
  const v = values_ as SettingValues;

  const demoEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    if (name.startsWith('DEMO_') && value !== undefined) demoEnv[name] = value;
  }
  const { checkpoint, noColor, ...rest } = v;
  const config: Config = {
    ...rest,
    command,
    args: positionals.slice(0, spec.args.length),
    cwd,
    checkpoint: checkpoint ?? path.join(v.out, '.pagepool', 'checkpoint.json'),
    color: isTTY && noColor === null && environment.NO_COLOR === undefined,
    demoEnv,
  };
  if (applies.has('site') && config.site.trim() === '') {
    problems.push('Expected `--site` to name a site, got ``');
  }
  if (applies.has('metricsHost') && !/^[^\s/]+$/.test(config.metricsHost)) {
    const from = read('metricsHost')?.from ?? '`--metrics-host`';
    problems.push(`Expected ${from} to be a host name or address, got \`${config.metricsHost}\``);
  }
  if ((command === 'enqueue' || command === 'work') && !config.queue) {
    usage.push(`\`${command}\` needs \`--queue redis://HOST:PORT\` (or PAGEPOOL_QUEUE)`);
  }
  if (applies.has('upload') && (config.awsAccessKeyId === null) !== (config.awsSecretAccessKey === null)) {
    problems.push(
      'Set both `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, or neither (the SDK then finds credentials)',
    );
  }
  // Issue 24: a password on the command line is visible to every user of the machine (ps, /proc).
  if (config.proxy !== null && read('proxy')?.isFlag && proxyHasPassword(config.proxy)) {
    usage.push(
      '`--proxy` must not carry a password: put the whole URL in PAGEPOOL_PROXY (environment or .env)',
    );
  }
  const noProxy = config.proxy === null ? null : noProxyProblem(config.noProxy);
  if (noProxy !== null) problems.push(noProxy);
  if (config.refs && config.refs !== '-' && !existsSync(config.refs)) {
    problems.push(`Cannot read \`--refs\` file \`${read('refs')?.raw}\`: it does not exist`);
  }
  if (usage.length > 0) throw new ConfigError(`${[...usage, ...problems].join('; ')}. ${seeHelp}`);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return { kind: 'command', config: Object.freeze(config) };
}

/** The settings `run` and the fleet commands hand to the item worker and its queue. */
export interface WorkerSettings {
  out: string;
  concurrency: number;
  /** 0: the item worker's default (2 × concurrency). */
  downloads: number;
  taskTimeoutMs: number;
  pageTimeoutMs: number;
  retries: number;
  rate: number;
  block: boolean;
  recycleAfter: number;
  fileIdleTimeoutMs: number;
  minSpeedBytesPerSec: number;
  diskMarginBytes: number;
  chromiumPath: string | null;
  headed: boolean;
  slowMoMs: number;
  trace: boolean;
  keepVersions: boolean;
}

/** The one mapping from Config onto worker options, shared by `run` and the fleet's `work`/`run`. */
export function workerOptionsFrom(config: Readonly<Config>): WorkerSettings {
  return {
    out: config.out,
    concurrency: config.concurrency,
    downloads: config.downloads,
    taskTimeoutMs: config.taskTimeoutMs,
    pageTimeoutMs: config.pageTimeoutMs,
    retries: config.retries,
    rate: config.rate,
    block: config.block,
    recycleAfter: config.recycleAfter,
    fileIdleTimeoutMs: config.fileIdleTimeoutMs,
    minSpeedBytesPerSec: config.minSpeedBytesPerSec,
    diskMarginBytes: config.diskMarginBytes,
    chromiumPath: config.chromiumPath,
    headed: config.headed,
    slowMoMs: config.slowMoMs,
    trace: config.trace,
    keepVersions: config.keepVersions,
  };
}

/** Where and how `run` and `work` upload (`--upload`), or null when they do not. */
export interface UploadSettings {
  sink: S3SinkOptions;
  uploads: number;
  keepLocal: boolean;
}

/** The one mapping from Config onto the upload step: the SDK's standard variables, path-style with an endpoint. */
export function uploadSettingsFrom(config: Readonly<Config>): UploadSettings | null {
  if (config.upload === null) return null;
  const endpoint = config.awsEndpointS3 || config.awsEndpoint;
  const sink: S3SinkOptions = { url: config.upload };
  if (endpoint !== '') sink.endpoint = endpoint;
  if (config.awsRegion !== null) sink.region = config.awsRegion;
  // Variables from .env never reach the SDK's own chain (dotenv does not write process.env): pass them here.
  if (config.awsAccessKeyId !== null && config.awsSecretAccessKey !== null) {
    sink.credentials = {
      accessKeyId: config.awsAccessKeyId,
      secretAccessKey: config.awsSecretAccessKey,
      ...(config.awsSessionToken !== null ? { sessionToken: config.awsSessionToken } : {}),
    };
  }
  return { sink, uploads: config.uploads, keepLocal: config.keepLocal };
}

type Parse = { value: unknown } | { problem: string };

/** One raw string through its setting's parser; a problem reads "Expected X to be <problem>, got `raw`". */
function parseValue(setting: Setting, raw: string, cwd: string): Parse {
  const text = raw.trim();
  switch (setting.parser) {
    case 'text':
      return { value: raw };
    case 'optional-text':
      return { value: raw === '' ? null : raw };
    case 'path':
      return { value: path.resolve(cwd, raw) };
    case 'optional-path':
      return { value: raw === '' ? null : raw === '-' ? '-' : path.resolve(cwd, raw) };
    case 'http-url': {
      const url = raw.replace(/\/+$/, '');
      // `demo` starts the embedded portal for any site (src/cli/cli.ts).
      return url === '' || url === 'demo' || /^https?:\/\/[^/]+/.test(url)
        ? { value: url }
        : { problem: 'an http(s) URL or `demo`' };
    }
    case 'redis-url':
      return /^rediss?:\/\/[^/]+/.test(raw) ? { value: raw } : { problem: 'a redis:// URL' };
    case 's3-url': {
      const problem = s3UrlProblem(raw);
      return problem === null ? { value: raw } : { problem: `s3://BUCKET/PREFIX (${problem})` };
    }
    case 'proxy-url': {
      const problem = proxyUrlProblem(raw);
      return problem === null ? { value: raw.trim() } : { problem };
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      const on = ['1', 'true', 'yes', 'on'].includes(lower);
      if (!on && !['0', 'false', 'no', 'off'].includes(lower)) return { problem: 'true or false' };
      return { value: on !== Boolean(setting.negated) };
    }
    case 'duration': {
      const ms = parseDuration(text, setting.max ?? Number.MAX_SAFE_INTEGER);
      return ms === null
        ? { problem: `a duration like \`7d\`, \`12h\`, \`30m\` or \`0\` (digits and one unit: s, m, h, d)` }
        : { value: ms };
    }
    case 'optional-integer':
      if (text === '') return { value: null };
      return parseValue({ ...setting, parser: 'integer' }, raw, cwd);
    case 'integer':
    case 'rate': {
      const min = setting.min ?? 0;
      const max = setting.max ?? Number.MAX_SAFE_INTEGER;
      // Plain decimal digits only: Number() would also take `1e3`, `0x4` and `0b1`, which nobody means here.
      const digits = setting.parser === 'rate' ? /^\d+(\.\d+)?(\/s)?$/ : /^\d+$/;
      const n = digits.test(text) ? Number(text.replace(/\/s$/, '')) : Number.NaN;
      if (!(n >= min && n <= max)) {
        return {
          problem:
            setting.parser === 'rate'
              ? `a number of items per second from ${min} to ${max} (like 8 or 8/s)`
              : `an integer from ${min} to ${max}`,
        };
      }
      return { value: n * (setting.scale ?? 1) };
    }
  }
}

const DURATION_UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `7d`, `12h`, `30m`, `45s` or `0` in ms; null for anything else (`1w`, `1.5h`, `7`, `7 d`, `-1d`): a bare number
 * would leave the unit to a guess, and a week is `7d`. `maxDays` bounds it (a typo of ten extra digits is no date).
 */
export function parseDuration(text: string, maxDays: number): number | null {
  if (text === '0') return 0;
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
  return ms <= maxDays * DURATION_UNITS_MS.d ? ms : null;
}

/** node:util's parse errors as one plain sentence. */
function parseErrorSentence(err: unknown): string {
  const { code, message } = err as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option \`${option}\`.`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return FLAG_SETTINGS.has(option?.replace(/^--/, '') ?? '') &&
        SETTINGS[FLAG_SETTINGS.get(option!.replace(/^--/, ''))!].parser !== 'boolean'
        ? `Option \`${option}\` needs a value.`
        : `Option \`${option}\` takes no value.`;
    default:
      return `${(message ?? String(err)).split('.')[0]}.`;
  }
}

function parseFlags(argv: string[]) {
  // `--concurrency -3` would read as a flag named 3: join such values so validation can name them.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = FLAG_SETTINGS.get(arg.slice(2));
    const isStringFlag = arg.startsWith('--') && name !== undefined && SETTINGS[name].parser !== 'boolean';
    if (isStringFlag && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of STANDALONE_FLAGS) options[f.flag] = { type: 'boolean', short: f.short };
  for (const [flag, name] of FLAG_SETTINGS) {
    options[flag] = { type: SETTINGS[name].parser === 'boolean' ? 'boolean' : 'string' };
  }
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/** pagepool's own scripts in package.json that run the command. */
const OWN_SCRIPTS = ['start', 'demo', 'test:10', 'test:30'];

/**
 * Where the user typed the command. Under `npm start --` or `npm run test:10 --` in a checkout, npm runs us in the
 * package's root whatever folder the user was in, and says where that was in INIT_CWD: paths the user typed are
 * relative to it. Only for our own scripts, run in our own root: a user's script that does `cd sub && pagepool`
 * means `sub`.
 */
function userCwd(): string {
  const { INIT_CWD, npm_lifecycle_event, npm_package_name } = process.env;
  const ownRoot = path.resolve(import.meta.dirname, '..');
  const ours =
    npm_package_name === 'pagepool' &&
    OWN_SCRIPTS.includes(npm_lifecycle_event ?? '') &&
    path.resolve(process.cwd()) === ownRoot;
  return ours && INIT_CWD ? path.resolve(INIT_CWD) : process.cwd();
}

/** process.env with .env (in the working folder) underneath; .env never overrides the real environment. */
function readEnv(cwd: string): { environment: Record<string, string | undefined>; fromFile: Set<string> } {
  const file: Record<string, string> = {};
  dotenv.config({ path: path.join(cwd, '.env'), processEnv: file, quiet: true });
  const real = setOnly(process.env);
  const inFile = setOnly(file);
  const fromFile = new Set(Object.keys(inFile).filter((name) => real[name] === undefined));
  return { environment: { ...inFile, ...real }, fromFile };
}

/**
 * The variables that are set: an empty one counts as not set, in the environment and in .env alike. An empty value
 * is never a setting's value (no setting takes an empty string), and it is what a CI template or a compose file
 * gives for a secret it does not have (`PAGEPOOL_PASSWORD: ${{ secrets.PW }}`) and what `VAR=` in a shell leaves;
 * taken as set, it would hide the .env file's value for nothing (NO_COLOR: "present and not empty", no-color.org).
 * A flag is the way to override .env for one run.
 */
function setOnly(variables: Record<string, string | undefined>): Record<string, string> {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables))
    if (value !== undefined && value !== '') set[name] = value;
  return set;
}
