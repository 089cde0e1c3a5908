// Every setting of the `pagepool` command, declared once: flag, environment variable, parser, range, default
// (in library units: ms, bytes) and help. Pure data: src/config.ts parses with it; `--help`, the README's
// configuration table and .env.example are generated from it (scripts/settings-docs.ts).

import { LIBRARY_DEFAULTS as D, LIMITS } from './defaults.js';
import { DEFAULT_PORTAL_OPTIONS } from './demo/portal-options.js';
import { MAX_RETRIES, QUEUE_DEFAULTS } from './queue/queue-options.js';

/**
 * How a raw string becomes a value. `integer`, `optional-integer` and `rate` are read in the user's unit and multiplied by
 * `scale`; `text`/`path` keep '' as ''; `optional-*` turn '' into null; `boolean` reads true/false/1/0/yes/no/on/off;
 * `duration` is digits and one unit (`30s`, `30m`, `12h`, `7d`) or `0`, in ms (unset: the default, null = off).
 */
export type SettingParser =
  | 'text'
  | 'optional-text'
  | 'path'
  | 'optional-path'
  | 'http-url'
  | 'redis-url'
  | 's3-url'
  | 'proxy-url'
  | 'integer'
  | 'optional-integer'
  | 'rate'
  | 'duration'
  | 'boolean';

export interface Setting {
  /** `--name` on the command line; null for environment-only settings (secrets never go on a command line). */
  readonly flag: string | null;
  /** The environment variable (also read from .env); null for command-line-only settings. */
  readonly env: string | null;
  readonly parser: SettingParser;
  /** Inclusive range in the user's unit (`integer`, `rate`); `max` in days for a `duration`. */
  readonly min?: number;
  readonly max?: number;
  /** Library units per user unit: 1000 for seconds -> ms, 1 MiB for MB -> bytes. @default 1 */
  readonly scale?: number;
  /** A `boolean` whose flag turns the setting off (`--no-block` sets `block` to false). @default false */
  readonly negated?: boolean;
  /** In library units (ms, bytes), or the raw text for text parsers. */
  readonly default: number | boolean | string | null;
  /** How the default reads in --help, the README and .env.example when it is not just the value. */
  readonly shownDefault?: string;
  /** What goes in .env.example (the default as a user would write it). @default the shown value, else '' */
  readonly envExample?: string;
  /** One line: what the setting does. */
  readonly help: string;
}

export const SETTINGS = {
  site: {
    flag: 'site',
    env: 'PAGEPOOL_SITE',
    parser: 'text',
    default: 'demo',
    help: '`demo`, `demo-cards`, or the path of your adapter module',
  },
  baseUrl: {
    flag: 'base-url',
    env: 'PAGEPOOL_BASE_URL',
    parser: 'http-url',
    default: '',
    shownDefault: '(empty)',
    help: 'portal URL; `demo` (or empty, with a demo site) starts the embedded portal',
  },
  username: {
    flag: 'username',
    env: 'PAGEPOOL_USERNAME',
    parser: 'text',
    default: '',
    shownDefault: `(demo: \`${DEFAULT_PORTAL_OPTIONS.username}\`)`,
    help: 'login name',
  },
  password: {
    flag: null,
    env: 'PAGEPOOL_PASSWORD',
    parser: 'text',
    default: '',
    shownDefault: `(demo: \`${DEFAULT_PORTAL_OPTIONS.password}\`)`,
    help: 'login password: environment only, never a flag, never logged',
  },
  totpSecret: {
    flag: null,
    env: 'PAGEPOOL_TOTP_SECRET',
    parser: 'text',
    default: '',
    shownDefault: '(none)',
    help: 'base32 seed of the one-time codes (TOTP) for `totp()` in an adapter: environment only, never logged',
  },
  concurrency: {
    flag: 'concurrency',
    env: 'PAGEPOOL_CONCURRENCY',
    parser: 'integer',
    ...LIMITS.concurrency,
    default: QUEUE_DEFAULTS.concurrency,
    help: `pages working at once, ${LIMITS.concurrency.min} to ${LIMITS.concurrency.max}`,
  },
  downloads: {
    flag: 'downloads',
    env: 'PAGEPOOL_DOWNLOADS',
    parser: 'integer',
    ...LIMITS.downloads,
    default: 0,
    shownDefault: '0 (2 × `--concurrency`)',
    help: 'items downloading at once after their page is freed; a page waits while all are busy; 0 = 2 × concurrency',
  },
  taskTimeoutMs: {
    flag: 'timeout',
    env: 'PAGEPOOL_TIMEOUT',
    parser: 'integer',
    min: 1,
    max: 86_400,
    scale: 1000,
    default: QUEUE_DEFAULTS.taskTimeoutMs,
    help: 'seconds one item may take; then it is abandoned and retried',
  },
  pageTimeoutMs: {
    flag: 'page-timeout',
    env: 'PAGEPOOL_PAGE_TIMEOUT',
    parser: 'integer',
    min: 1,
    max: 3600,
    scale: 1000,
    default: D.pageTimeoutMs,
    help: 'seconds a navigation, a wait on a page or a page read over HTTP may take; then the item is retried',
  },
  retries: {
    flag: 'retries',
    env: 'PAGEPOOL_RETRIES',
    parser: 'integer',
    min: 0,
    max: MAX_RETRIES,
    default: QUEUE_DEFAULTS.retries,
    help: `retries of a transient failure (timeout, 5xx, network), 0 to ${MAX_RETRIES}`,
  },
  max: {
    flag: 'max',
    env: 'PAGEPOOL_MAX',
    parser: 'integer',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    default: 0,
    help: 'only the first N items of the listing; 0 is all',
  },
  out: {
    flag: 'out',
    env: 'PAGEPOOL_OUT',
    parser: 'path',
    default: 'downloads',
    help: 'output folder; files go to `<out>/<site>/`',
  },
  checkpoint: {
    flag: 'checkpoint',
    env: 'PAGEPOOL_CHECKPOINT',
    parser: 'optional-path',
    default: null,
    shownDefault: '`<out>/.pagepool/checkpoint.json`',
    envExample: '',
    help: 'checkpoint file',
  },
  refs: {
    flag: 'refs',
    env: 'PAGEPOOL_REFS',
    parser: 'optional-path',
    default: null,
    shownDefault: '(listing)',
    envExample: '',
    help: 'JSONL or CSV file of refs, `-` for stdin',
  },
  retryFailed: {
    flag: 'retry-failed',
    env: 'PAGEPOOL_RETRY_FAILED',
    parser: 'boolean',
    default: false,
    help: 'also retry items that failed permanently before',
  },
  refreshAfter: {
    flag: 'refresh-after',
    env: 'PAGEPOOL_REFRESH_AFTER',
    parser: 'duration',
    max: 36_500,
    default: null,
    shownDefault: 'off',
    envExample: '',
    help: 'pull done items again whose files are older than this (`7d`, `12h`, `30m`; `0` = all), asking only for changes',
  },
  keepVersions: {
    flag: 'keep-versions',
    env: 'PAGEPOOL_KEEP_VERSIONS',
    parser: 'boolean',
    default: false,
    help: 'a refresh that replaces a file keeps the old one beside it as `NAME.<saved at>.EXT`',
  },
  fresh: {
    flag: 'fresh',
    env: null,
    parser: 'boolean',
    default: false,
    help: 'start over; the old checkpoint is kept as a backup',
  },
  session: {
    flag: 'session',
    env: 'PAGEPOOL_SESSION',
    parser: 'optional-path',
    default: null,
    shownDefault: '`<out>/.pagepool/session.json`',
    envExample: '',
    help: 'saved login session (a credential, mode 0600): runs start from it, each login replaces it',
  },
  freshSession: {
    flag: 'fresh-session',
    env: null,
    parser: 'boolean',
    default: false,
    help: 'do not start from the saved session: log in anew (it replaces it); `--fresh` alone keeps it',
  },
  proxy: {
    flag: 'proxy',
    env: 'PAGEPOOL_PROXY',
    parser: 'proxy-url',
    default: null,
    shownDefault: '(none)',
    envExample: '',
    help: '`http://host:port`: pages and files go through this proxy; a password goes only in PAGEPOOL_PROXY',
  },
  noProxy: {
    flag: null,
    env: 'NO_PROXY',
    parser: 'text',
    default: '',
    shownDefault: '(none)',
    help: 'hosts that bypass `--proxy`, comma-separated; each covers its subdomains; `*` is all',
  },
  headed: {
    flag: 'headed',
    env: 'PAGEPOOL_HEADED',
    parser: 'boolean',
    default: false,
    help: 'show the browser',
  },
  slowMoMs: {
    flag: 'slow-mo',
    env: 'PAGEPOOL_SLOW_MO',
    parser: 'integer',
    ...LIMITS.slowMoMs,
    default: 0,
    help: 'milliseconds between browser actions',
  },
  block: {
    flag: 'no-block',
    env: 'PAGEPOOL_NO_BLOCK',
    parser: 'boolean',
    negated: true,
    default: true,
    help: 'load images, fonts, media and stylesheets on every page',
  },
  recycleAfter: {
    flag: 'recycle-after',
    env: 'PAGEPOOL_RECYCLE_AFTER',
    parser: 'integer',
    ...LIMITS.recycleAfter,
    default: D.recycleAfter,
    help: 'replace a page after this many items',
  },
  fileIdleTimeoutMs: {
    flag: 'file-timeout',
    env: 'PAGEPOOL_FILE_TIMEOUT',
    parser: 'integer',
    ...LIMITS.fileIdleTimeoutMs,
    default: D.fileIdleTimeoutMs,
    help: 'seconds a download may stall',
  },
  minSpeedBytesPerSec: {
    flag: 'min-speed',
    env: 'PAGEPOOL_MIN_SPEED',
    parser: 'integer',
    ...LIMITS.minSpeedBytesPerSec,
    default: D.minSpeedBytesPerSec,
    help: `bytes/s a file download must average over ${D.minSpeedWindowMs / 1000} s; slower ones are aborted and resumed (0 is off)`,
  },
  diskMarginBytes: {
    flag: 'disk-margin',
    env: 'PAGEPOOL_DISK_MARGIN',
    parser: 'integer',
    ...LIMITS.diskMarginBytes,
    default: D.diskMarginBytes,
    help: 'MB of free disk to keep; below it the run stops cleanly (exit 3)',
  },
  rate: {
    flag: 'rate',
    env: 'PAGEPOOL_RATE',
    parser: 'rate',
    ...LIMITS.rate,
    default: QUEUE_DEFAULTS.rate,
    help: 'at most N item starts per second (`8` or `8/s`); 0 is no limit; fleet: shared',
  },
  queue: {
    flag: 'queue',
    env: 'PAGEPOOL_QUEUE',
    parser: 'redis-url',
    default: null,
    shownDefault: '(none)',
    envExample: '',
    help: '`redis://host:port/db` of a shared queue (fleet mode)',
  },
  upload: {
    flag: 'upload',
    env: 'PAGEPOOL_UPLOAD',
    parser: 's3-url',
    default: null,
    shownDefault: '(none)',
    envExample: '',
    help: '`s3://BUCKET/PREFIX`: upload every file to `PREFIX/<path under --out>`; an item is done once uploaded',
  },
  uploads: {
    flag: 'uploads',
    env: 'PAGEPOOL_UPLOADS',
    parser: 'integer',
    ...LIMITS.uploads,
    default: D.uploads,
    help: `files uploading at once, ${LIMITS.uploads.min} to ${LIMITS.uploads.max}`,
  },
  keepLocal: {
    flag: 'no-keep-local',
    env: 'PAGEPOOL_NO_KEEP_LOCAL',
    parser: 'boolean',
    negated: true,
    default: true,
    help: 'with `--upload`: delete each local file once its item is recorded done',
  },
  awsRegion: {
    flag: null,
    env: 'AWS_REGION',
    parser: 'optional-text',
    default: null,
    shownDefault: "(the SDK's; `us-east-1` with an endpoint)",
    envExample: '',
    help: 'region of the `--upload` bucket',
  },
  awsEndpointS3: {
    flag: null,
    env: 'AWS_ENDPOINT_URL_S3',
    parser: 'http-url',
    default: '',
    shownDefault: '(AWS)',
    help: 'URL of an S3-compatible store (path-style addressing); wins over AWS_ENDPOINT_URL',
  },
  awsEndpoint: {
    flag: null,
    env: 'AWS_ENDPOINT_URL',
    parser: 'http-url',
    default: '',
    shownDefault: '(AWS)',
    help: 'URL of an S3-compatible store, when AWS_ENDPOINT_URL_S3 is not set',
  },
  awsAccessKeyId: {
    flag: null,
    env: 'AWS_ACCESS_KEY_ID',
    parser: 'optional-text',
    default: null,
    shownDefault: "(the SDK's default chain)",
    envExample: '',
    help: 'access key for `--upload`; unset, the SDK reads shared config files, SSO or an instance role',
  },
  awsSecretAccessKey: {
    flag: null,
    env: 'AWS_SECRET_ACCESS_KEY',
    parser: 'optional-text',
    default: null,
    shownDefault: "(the SDK's default chain)",
    envExample: '',
    help: 'secret of AWS_ACCESS_KEY_ID: environment only, never logged',
  },
  awsSessionToken: {
    flag: null,
    env: 'AWS_SESSION_TOKEN',
    parser: 'optional-text',
    default: null,
    shownDefault: '(none)',
    envExample: '',
    help: 'session token of temporary credentials',
  },
  quiet: {
    flag: 'quiet',
    env: 'PAGEPOOL_QUIET',
    parser: 'boolean',
    default: false,
    help: 'errors only, and the summary when the exit code is not 0',
  },
  json: {
    flag: 'json',
    env: null,
    parser: 'boolean',
    default: false,
    help: '`status` prints JSON',
  },
  trace: {
    flag: 'trace',
    env: 'PAGEPOOL_TRACE',
    parser: 'boolean',
    default: false,
    help: 'keep a Playwright trace for failed items',
  },
  chromiumPath: {
    flag: null,
    env: 'CHROMIUM_PATH',
    parser: 'optional-text',
    default: null,
    shownDefault: '(found)',
    envExample: '',
    help: 'the Chromium to launch',
  },
  noColor: {
    flag: null,
    env: 'NO_COLOR',
    parser: 'optional-text',
    default: null,
    shownDefault: '',
    envExample: '',
    help: 'any value but empty turns colours off',
  },
  metricsPort: {
    flag: 'metrics-port',
    env: 'PAGEPOOL_METRICS_PORT',
    parser: 'optional-integer',
    min: 1,
    max: 65_535,
    default: null,
    shownDefault: 'off',
    envExample: '',
    help: '`run`, `work`: serve Prometheus metrics on this port at `/metrics`',
  },
  metricsHost: {
    flag: 'metrics-host',
    env: 'PAGEPOOL_METRICS_HOST',
    parser: 'text',
    default: D.metricsHost,
    help: 'interface of the metrics endpoint; another exposes it to the network',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

type ValueOf<S extends Setting> = S['parser'] extends 'integer' | 'rate'
  ? number
  : S['parser'] extends 'optional-integer' | 'duration'
    ? number | null
    : S['parser'] extends 'boolean'
      ? boolean
      : S['parser'] extends 'optional-text' | 'optional-path' | 'redis-url' | 's3-url' | 'proxy-url'
        ? string | null
        : string;

/** Every setting's value, in library units: the part of `Config` that comes from the table. */
export type SettingValues = { [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> };

/** The default as a user reads it (in the user's unit): for --help, the README and .env.example. */
export function shownDefault(setting: Setting): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  const value = setting.default;
  if (typeof value === 'boolean') return value !== Boolean(setting.negated) ? 'on' : 'off';
  if (typeof value === 'number') return `\`${value / (setting.scale ?? 1)}\``;
  return value === null || value === '' ? '' : `\`${value}\``;
}

/** The line of .env.example: the default as it would be written there. */
export function envExampleValue(setting: Setting): string {
  if (setting.envExample !== undefined) return setting.envExample;
  const value = setting.default;
  if (typeof value === 'boolean') return String(value !== Boolean(setting.negated));
  if (typeof value === 'number') return String(value / (setting.scale ?? 1));
  return value ?? '';
}
