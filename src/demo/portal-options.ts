// The demo portal's options: defaults, validation (one message per bad field) and parsing from DEMO_* variables.
import { MAX_VEHICLES } from './inventory.js';
import { MAX_REVISION } from './revision.js';

export interface PortalOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host: string;
  /** TCP port; 0 picks a free one. @default 0 */
  port: number;
  /** The one account that can log in. @default 'demo' */
  username: string;
  /** @default 'demo-pass' */
  password: string;
  /** Vehicles in the inventory. @default 300 */
  vehicles: number;
  /** Trading cards. @default 50 */
  cards: number;
  /** Rows per inventory / card list page. @default 25 */
  pageSize: number;
  /** Delay added to every HTML page. @default 0 */
  pageLatencyMs: number;
  /**
   * Delay of the listing pages (inventory, search, card list) instead of `pageLatencyMs`; null = the page
   * latency. Detail pages keep `pageLatencyMs`. @default null
   */
  listLatencyMs: number | null;
  /** Delay added to every file response (PDF, PNG). @default 0 */
  fileLatencyMs: number;
  /** Share of item requests answered 500. @default 0 */
  failureRate: number;
  /** Share of item requests never answered (the socket is held until close()). @default 0 */
  stuckRate: number;
  /** Share of file requests cut after half the body, with the full Content-Length announced. @default 0 */
  truncateRate: number;
  /** Share of item requests answered 429 with Retry-After. @default 0 */
  rateLimitRate: number;
  /**
   * Share of file requests whose body stalls: the first KiB at once, then 1 byte per second (the headers and
   * the full Content-Length are honest). @default 0
   */
  stallRate: number;
  /**
   * Share of file requests answered `200 text/html` with a "your session has expired" page and no redirect,
   * while the session stays valid (a portal node that lost it): the client cannot tell it from a real expiry.
   * @default 0
   */
  htmlExpiredRate: number;
  /** Every file body is sent at this many bytes per second (an honest slow link; 0 = as fast as possible). @default 0 */
  fileBytesPerSec: number;
  /**
   * Every this many ms from the portal's start, a burst begins in which every item request is answered 429
   * with Retry-After, like a WAF that trips under load (0 = no bursts). @default 0
   */
  rateLimitBurstEveryMs: number;
  /** How long each 429 burst lasts. @default 1000 */
  rateLimitBurstMs: number;
  /** Retry-After of every 429, in seconds. @default 1 */
  retryAfterSec: number;
  /** A real sliding-window limit on item requests per second; above it they get 429 (0 = off). @default 0 */
  rateLimitPerSec: number;
  /** A session older than this is dropped and its requests go to /login (0 = never). @default 0 */
  sessionLifetimeMs: number;
  /** Pad every sticker PDF to at least this many bytes (download benchmarks). @default 0 */
  stickerPadBytes: number;
  /** Seed of the inventory and of the fault draws. @default 1 */
  seed: number;
  /** Starts every session cookie value (letters, digits, - and _), so tests can look for it in output. @default '' */
  sessionIdPrefix: string;
  /**
   * Every response says `Connection: close` and the socket is closed after it, as PHP's built-in server and
   * nginx with `keepalive_timeout 0` do. @default false
   */
  connectionClose: boolean;
  /**
   * Bind each session to the User-Agent, Accept-Language and Accept-Encoding of its login. A request whose
   * headers differ is re-validated (one at a time, `revalidateMs` each) and its session id rotated: the new
   * id is set on that response and the old one no longer works. @default false
   */
  bindSession: boolean;
  /** How long one re-validation of a bound session takes (a password hash). @default 300 */
  revalidateMs: number;
  /**
   * Every Nth vehicle and every Nth card (by its number in the full list: S0000N, C000N, ...) is forbidden to
   * the logged-in user: its detail page and its file alike answer 403 with a portal page ("You may not see
   * this document"), and the session stays valid. Its row stays in the listing. 0 = none. @default 0
   */
  forbiddenEvery: number;
  /** The inventory and card listings (every page, and the search) answer 403 to a logged-in user. @default false */
  forbiddenListing: boolean;
  /**
   * A GET of /login by a visitor whose session is valid (licence accepted) is redirected (302) to /inventory,
   * as Rails/Devise applications do; a POST of /login still logs in. @default false
   */
  loginRedirects: boolean;
  /**
   * The revision of the portal's data. Each revision from 2 on changes the file of every 10th vehicle and card
   * (new bytes, ETag and Last-Modified) and removes every 50th, shifted by one item per revision (revision.ts
   * has the rule). Portal.setRevision changes it while the portal runs. @default 1
   */
  revision: number;
  /**
   * Detail pages weigh what a real portal's do: about 150 KB of HTML and 2,000 elements, a 200-300 KB script
   * (/static/heavy.js) that builds about 600 elements on load, a 70 KB stylesheet and 8 photos, all public and
   * cacheable. The sticker link stays in the HTML. Deterministic for a seed. @default false
   */
  heavy: boolean;
  /**
   * Every Nth vehicle's detail page (by number) has no sticker link in its HTML: an inline script adds it
   * after the load event (a page that needs its script), light or heavy. 0 = none. @default 0
   */
  scriptLinkEvery: number;
  /**
   * A base32 TOTP secret (RFC 6238: SHA-1, 30 s, 6 digits): after a correct password the portal asks for the
   * current code at /login/code before the licence page. Empty = no second factor. @default ''
   */
  totpSecret: string;
  /**
   * HTML pages and files are sent in the best content coding the request's Accept-Encoding allows (br, then
   * zstd where node:zlib has it, gzip, deflate), with `Vary: Accept-Encoding`; a coded file has its own ETag
   * (the identity ETag with a `-br`, `-gzip`, ... suffix). A Range request gets the identity bytes (206 as
   * always), as most servers do. @default false
   */
  compress: boolean;
}

export const DEFAULT_PORTAL_OPTIONS: Readonly<PortalOptions> = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  username: 'demo',
  password: 'demo-pass',
  vehicles: 300,
  cards: 50,
  pageSize: 25,
  pageLatencyMs: 0,
  listLatencyMs: null,
  fileLatencyMs: 0,
  failureRate: 0,
  stuckRate: 0,
  truncateRate: 0,
  rateLimitRate: 0,
  stallRate: 0,
  htmlExpiredRate: 0,
  fileBytesPerSec: 0,
  rateLimitBurstEveryMs: 0,
  rateLimitBurstMs: 1000,
  retryAfterSec: 1,
  rateLimitPerSec: 0,
  sessionLifetimeMs: 0,
  stickerPadBytes: 0,
  seed: 1,
  sessionIdPrefix: '',
  connectionClose: false,
  bindSession: false,
  revalidateMs: 300,
  forbiddenEvery: 0,
  forbiddenListing: false,
  loginRedirects: false,
  revision: 1,
  heavy: false,
  scriptLinkEvery: 0,
  totpSecret: '',
  compress: false,
});

/** `nullable`: null is allowed too, and means "not set". */
type IntegerField = { kind: 'integer'; min: number; max: number; nullable?: true };
type RateField = { kind: 'rate' };
type StringField = { kind: 'string' };
type TokenField = { kind: 'token' };
type BooleanField = { kind: 'boolean' };
/** A secret in base32, or '' for none; a bad one is never shown in the message. */
type Base32Field = { kind: 'base32' };
type Field = IntegerField | RateField | StringField | TokenField | BooleanField | Base32Field;

const HOUR_MS = 3_600_000;
const FIELDS: Record<keyof PortalOptions, Field> = {
  host: { kind: 'string' },
  port: { kind: 'integer', min: 0, max: 65_535 },
  username: { kind: 'string' },
  password: { kind: 'string' },
  vehicles: { kind: 'integer', min: 0, max: MAX_VEHICLES },
  cards: { kind: 'integer', min: 0, max: MAX_VEHICLES },
  pageSize: { kind: 'integer', min: 1, max: 1000 },
  pageLatencyMs: { kind: 'integer', min: 0, max: HOUR_MS },
  listLatencyMs: { kind: 'integer', min: 0, max: HOUR_MS, nullable: true },
  fileLatencyMs: { kind: 'integer', min: 0, max: HOUR_MS },
  failureRate: { kind: 'rate' },
  stuckRate: { kind: 'rate' },
  truncateRate: { kind: 'rate' },
  rateLimitRate: { kind: 'rate' },
  stallRate: { kind: 'rate' },
  htmlExpiredRate: { kind: 'rate' },
  fileBytesPerSec: { kind: 'integer', min: 0, max: 1024 * 1024 * 1024 },
  rateLimitBurstEveryMs: { kind: 'integer', min: 0, max: HOUR_MS },
  rateLimitBurstMs: { kind: 'integer', min: 1, max: HOUR_MS },
  retryAfterSec: { kind: 'integer', min: 0, max: 3600 },
  rateLimitPerSec: { kind: 'integer', min: 0, max: 1_000_000 },
  sessionLifetimeMs: { kind: 'integer', min: 0, max: 24 * 365 * HOUR_MS },
  stickerPadBytes: { kind: 'integer', min: 0, max: 512 * 1024 * 1024 },
  seed: { kind: 'integer', min: 0, max: 0xffff_ffff },
  sessionIdPrefix: { kind: 'token' },
  connectionClose: { kind: 'boolean' },
  bindSession: { kind: 'boolean' },
  revalidateMs: { kind: 'integer', min: 0, max: 60_000 },
  forbiddenEvery: { kind: 'integer', min: 0, max: MAX_VEHICLES },
  forbiddenListing: { kind: 'boolean' },
  loginRedirects: { kind: 'boolean' },
  revision: { kind: 'integer', min: 1, max: MAX_REVISION },
  heavy: { kind: 'boolean' },
  scriptLinkEvery: { kind: 'integer', min: 0, max: MAX_VEHICLES },
  totpSecret: { kind: 'base32' },
  compress: { kind: 'boolean' },
};

/** The fault bands, drawn from one number: together at most 1. */
const RATE_NAMES = [
  'stuckRate',
  'failureRate',
  'rateLimitRate',
  'truncateRate',
  'stallRate',
  'htmlExpiredRate',
] as const;

function show(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'bigint' ? `${value}n` : String(value);
}

/** Throws when `value` does not fit `field`; the message names `name` (an option, or the variable it came from). */
function checkField(name: string, field: Field, value: unknown): void {
  if (field.kind === 'boolean') {
    if (typeof value !== 'boolean')
      throw new TypeError(`Expected \`${name}\` to be true or false, got \`${show(value)}\``);
    return;
  }
  if (field.kind === 'base32') {
    // 16 characters are 80 bits, the least RFC 4226 allows; '=' pads to a multiple of 8.
    if (typeof value !== 'string' || !(value === '' || /^[A-Za-z2-7]{16,1024}=*$/.test(value))) {
      throw new TypeError(
        `Expected \`${name}\` to be empty or a base32 secret of at least 16 letters A-Z and digits 2-7 (the value is not shown)`,
      );
    }
    return;
  }
  if (field.kind === 'token') {
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{0,64}$/.test(value)) {
      throw new TypeError(
        `Expected \`${name}\` to be up to 64 letters, digits, - or _, got \`${show(value)}\``,
      );
    }
    return;
  }
  if (field.kind === 'string') {
    if (typeof value !== 'string')
      throw new TypeError(`Expected \`${name}\` to be a string, got \`${show(value)}\``);
    if (value === '') throw new RangeError(`Expected \`${name}\` to be a non-empty string, got \`\``);
    return;
  }
  if (field.kind === 'integer' && field.nullable && value === null) return;
  if (typeof value !== 'number')
    throw new TypeError(`Expected \`${name}\` to be a number, got \`${show(value)}\``);
  if (field.kind === 'rate') {
    if (!(value >= 0 && value <= 1)) {
      throw new RangeError(`Expected \`${name}\` to be a number from 0 to 1, got \`${show(value)}\``);
    }
    return;
  }
  if (!Number.isInteger(value) || value < field.min || value > field.max) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${field.min} to ${field.max}, got \`${show(value)}\``,
    );
  }
}

/** Defaults spread in, every field checked; throws TypeError (wrong type, unknown name) or RangeError. */
export function resolvePortalOptions(options: Partial<PortalOptions> = {}): Readonly<PortalOptions> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected the portal options to be an object, got \`${show(options)}\``);
  }
  const merged: Record<string, unknown> = { ...DEFAULT_PORTAL_OPTIONS };
  for (const [name, value] of Object.entries(options)) {
    if (!Object.hasOwn(FIELDS, name)) throw new TypeError(`Unknown portal option \`${name}\``);
    // An explicit undefined means "not given", as with a spread of optional settings.
    if (value !== undefined) merged[name] = value;
  }
  for (const name of Object.keys(FIELDS) as (keyof PortalOptions)[])
    checkField(name, FIELDS[name], merged[name]);
  const resolved = merged as unknown as PortalOptions;
  const rates = RATE_NAMES.reduce((sum, name) => sum + resolved[name], 0);
  // The fault bands are drawn from one number in [0, 1); past 1 the later bands would silently shrink.
  if (rates > 1 + 1e-9) {
    throw new RangeError(
      `Expected ${RATE_NAMES.map((n) => `\`${n}\``).join(' + ')} to be at most 1, got \`${show(rates)}\``,
    );
  }
  if (resolved.rateLimitBurstEveryMs > 0 && resolved.rateLimitBurstMs >= resolved.rateLimitBurstEveryMs) {
    throw new RangeError(
      `Expected \`rateLimitBurstMs\` to be less than \`rateLimitBurstEveryMs\` (${resolved.rateLimitBurstEveryMs}), got \`${resolved.rateLimitBurstMs}\``,
    );
  }
  return Object.freeze(resolved);
}

const ENV_NAMES: [string, keyof PortalOptions][] = [
  ['DEMO_VEHICLES', 'vehicles'],
  ['DEMO_CARDS', 'cards'],
  ['DEMO_PAGE_LATENCY_MS', 'pageLatencyMs'],
  ['DEMO_LIST_LATENCY_MS', 'listLatencyMs'],
  ['DEMO_FILE_LATENCY_MS', 'fileLatencyMs'],
  ['DEMO_FAILURE_RATE', 'failureRate'],
  ['DEMO_STUCK_RATE', 'stuckRate'],
  ['DEMO_TRUNCATE_RATE', 'truncateRate'],
  ['DEMO_RATE_LIMIT_RATE', 'rateLimitRate'],
  ['DEMO_STALL_RATE', 'stallRate'],
  ['DEMO_HTML_EXPIRED_RATE', 'htmlExpiredRate'],
  ['DEMO_FILE_BYTES_PER_SEC', 'fileBytesPerSec'],
  ['DEMO_RATE_LIMIT_BURST_EVERY_MS', 'rateLimitBurstEveryMs'],
  ['DEMO_RATE_LIMIT_BURST_MS', 'rateLimitBurstMs'],
  ['DEMO_RETRY_AFTER_SEC', 'retryAfterSec'],
  ['DEMO_RATE_LIMIT_PER_SEC', 'rateLimitPerSec'],
  ['DEMO_SESSION_LIFETIME_MS', 'sessionLifetimeMs'],
  ['DEMO_STICKER_PAD_BYTES', 'stickerPadBytes'],
  ['DEMO_SEED', 'seed'],
  ['DEMO_USERNAME', 'username'],
  ['DEMO_PASSWORD', 'password'],
  ['DEMO_PORT', 'port'],
  ['DEMO_SESSION_ID_PREFIX', 'sessionIdPrefix'],
  ['DEMO_CONNECTION_CLOSE', 'connectionClose'],
  ['DEMO_BIND_SESSION', 'bindSession'],
  ['DEMO_REVALIDATE_MS', 'revalidateMs'],
  ['DEMO_FORBIDDEN_EVERY', 'forbiddenEvery'],
  ['DEMO_FORBIDDEN_LISTING', 'forbiddenListing'],
  ['DEMO_LOGIN_REDIRECTS', 'loginRedirects'],
  ['DEMO_REVISION', 'revision'],
  ['DEMO_HEAVY', 'heavy'],
  ['DEMO_SCRIPT_LINK_EVERY', 'scriptLinkEvery'],
  ['DEMO_TOTP_SECRET', 'totpSecret'],
  ['DEMO_COMPRESS', 'compress'],
];

const TRUE_WORDS = ['1', 'true', 'yes', 'on'];
const FALSE_WORDS = ['0', 'false', 'no', 'off'];

/** The value of one variable as its field's type; a word that does not parse is kept as text for checkField. */
function parseVariable(field: Field, raw: string): unknown {
  if (field.kind === 'string' || field.kind === 'token') return raw;
  if (field.kind === 'base32') return raw.trim();
  const text = raw.trim();
  if (field.kind === 'boolean') {
    const lower = text.toLowerCase();
    return TRUE_WORDS.includes(lower) ? true : FALSE_WORDS.includes(lower) ? false : text;
  }
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

/**
 * The portal options set in `env` (DEMO_VEHICLES, DEMO_FAILURE_RATE, ...). Unset or blank variables are left
 * out. Each value is checked on its own here, so a bad one throws a TypeError or RangeError naming the variable
 * (`DEMO_VEHICLES`, not `vehicles`); the rules across fields are checked by startPortal.
 */
export function portalOptionsFromEnv(env: Record<string, string | undefined>): Partial<PortalOptions> {
  const options: Record<string, unknown> = {};
  for (const [variable, name] of ENV_NAMES) {
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    const field = FIELDS[name];
    const value = parseVariable(field, raw);
    if ((field.kind === 'integer' || field.kind === 'rate') && typeof value !== 'number')
      throw new TypeError(`Expected \`${variable}\` to be a number, got \`${raw}\``);
    checkField(variable, field, value);
    options[name] = value;
  }
  return options as Partial<PortalOptions>;
}
