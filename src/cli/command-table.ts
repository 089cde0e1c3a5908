// Every command of `pagepool`, declared once: name, summary, usage, the positional arguments it takes, the
// settings that apply to it, and its handler (src/cli/commands/<name>.ts). The parser (src/config.ts), the router
// (src/cli/cli.ts), `--help` and the README's command list all follow from this table.
import type { SettingName } from '../settings.js';
import type { CommandHandler } from './command-context.js';

export interface CommandArg {
  /** As shown in the usage line: `PATH`, `N`. */
  readonly name: string;
  /** What the argument is, for `pagepool <command> --help`. */
  readonly help: string;
}

export interface CommandSpec {
  readonly name: string;
  /** One line for `--help` and the README. */
  readonly summary: string;
  /** Optional positional arguments after the command word, in order. */
  readonly args: readonly CommandArg[];
  /** The settings that apply: a flag outside them is a usage error, a variable outside them is not read. */
  readonly settings: readonly SettingName[];
  /** The handler, loaded only when the command runs (the fleet's and the SDK's modules are heavy). */
  readonly load: () => Promise<{ default: CommandHandler }>;
}

/** What logs in and lists: the portal, the account and the browser. */
const BROWSER: readonly SettingName[] = [
  'site',
  'baseUrl',
  'username',
  'password',
  'chromiumPath',
  'headed',
  'slowMoMs',
  'quiet',
  'noColor',
  // Issue 24: the saved session, a one-time-code seed for login(), and the proxy.
  'session',
  'freshSession',
  'totpSecret',
  'proxy',
  'noProxy',
];

/** How one machine pulls items: pages, deadlines, retries, files, disk, rate, uploads, metrics. */
const PULL: readonly SettingName[] = [
  ...BROWSER,
  'out',
  'concurrency',
  'downloads',
  'taskTimeoutMs',
  'pageTimeoutMs',
  'retries',
  'block',
  'recycleAfter',
  'fileIdleTimeoutMs',
  'minSpeedBytesPerSec',
  'diskMarginBytes',
  'rate',
  'trace',
];

const UPLOAD: readonly SettingName[] = [
  'upload',
  'uploads',
  'keepLocal',
  'awsRegion',
  'awsEndpointS3',
  'awsEndpoint',
  'awsAccessKeyId',
  'awsSecretAccessKey',
  'awsSessionToken',
];

const METRICS: readonly SettingName[] = ['metricsPort', 'metricsHost'];

export const COMMAND_TABLE = [
  {
    name: 'run',
    summary:
      'pull every item (the default command); with --queue, list into the shared queue and work on it, as one machine of a fleet',
    args: [],
    settings: [
      ...PULL,
      ...UPLOAD,
      ...METRICS,
      'checkpoint',
      'max',
      'refs',
      'retryFailed',
      'fresh',
      'queue',
      'refreshAfter',
      'keepVersions',
    ],
    load: () => import('./commands/run.js'),
  },
  {
    name: 'list',
    summary: "print the site's refs as JSONL on stdout; downloads nothing",
    args: [],
    settings: [...BROWSER, 'max'],
    load: () => import('./commands/list.js'),
  },
  {
    name: 'try',
    summary:
      'pull N items (default 10) into a temporary folder, check every file, print what it saved; keeps nothing',
    args: [{ name: 'N', help: 'how many items to try, 1 to 1000 (default 10)' }],
    settings: [...PULL, 'refs'],
    load: () => import('./commands/try.js'),
  },
  {
    name: 'status',
    summary: 'summarise the checkpoint (--json for JSON); starts no browser',
    args: [],
    settings: ['out', 'checkpoint', 'json', 'queue', 'site', 'session'],
    load: () => import('./commands/status.js'),
  },
  {
    name: 'repair',
    summary: 'set aside corrupt checkpoint lines so a run can resume',
    args: [],
    settings: ['out', 'checkpoint'],
    load: () => import('./commands/repair.js'),
  },
  {
    name: 'enqueue',
    summary: 'fleet: add every item of the site to the shared queue (--queue)',
    args: [],
    // No --retries: what an item may spend is the worker's (`work --retries`), charged on the job.
    settings: [...BROWSER, 'queue', 'refs', 'max', 'retryFailed', 'out', 'refreshAfter'],
    load: () => import('./commands/enqueue.js'),
  },
  {
    name: 'work',
    summary: 'fleet: pull items from the shared queue on this machine (--queue)',
    args: [],
    settings: [...PULL, ...UPLOAD, ...METRICS, 'queue', 'keepVersions'],
    load: () => import('./commands/work.js'),
  },
  {
    name: 'init',
    summary: 'write a commented adapter skeleton that runs on the demo portal as it is',
    args: [
      { name: 'PATH', help: 'where to write it, ending in .ts or .mts (default adapters/my-portal.ts)' },
    ],
    settings: [],
    load: () => import('./commands/init.js'),
  },
  {
    name: 'login',
    summary:
      "log in once and save the session runs start from; by hand in a window for login: 'manual' or --headed",
    args: [],
    settings: [...BROWSER, 'out'],
    load: () => import('./commands/login.js'),
  },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMAND_TABLE)[number]['name'];

export const COMMAND_NAMES: readonly CommandName[] = COMMAND_TABLE.map((c) => c.name);

/** The command run when the first argument is an option or there is none. */
export const DEFAULT_COMMAND: CommandName = 'run';

export function commandSpec(name: CommandName): CommandSpec {
  return COMMAND_TABLE.find((c) => c.name === name)!;
}

export function isCommandName(word: string): word is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(word);
}

/** `pagepool init [PATH]`. */
export function usageLine(spec: CommandSpec): string {
  const args = spec.args.map((a) => ` [${a.name}]`).join('');
  return `pagepool ${spec.name}${args}${spec.settings.length > 0 ? ' [options]' : ''}`;
}
