// The `--queue redis://...` URL: parsed into connection options, checked once with a bound, shown without secrets.
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, describe } from '../errors.js';

/** Connection options of `redis://[user:pass@]host[:port][/db]` (`rediss://` for TLS). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`Expected \`--queue\` to be a redis:// URL, got \`${redactUrl(url)}\``);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`Expected \`--queue\` to be a redis:// URL, got \`${redactUrl(url)}\``);
  }
  const dbText = parsed.pathname.replace(/^\/+/, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) {
    throw new ConfigError(
      `Expected the \`--queue\` database to be an integer from 0 to 15, got \`${dbText}\``,
    );
  }
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}

/** The URL with any password replaced: safe for logs and `status`. */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => {
    const user = auth.split(':')[0] ?? '';
    return `${scheme}${user === '' ? '' : `${user}:`}***@`;
  });
}

/**
 * A client for pagepool's own commands (locks, status scans). The first connection is bounded: a wrong host or
 * password is a one-line ConfigError within `timeoutMs`, not an endless reconnect loop.
 */
export async function connectRedis(url: string, timeoutMs = 5_000): Promise<Redis> {
  const options = redisOptionsFromUrl(url);
  const client = new Redis({
    ...options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: null,
    // Reconnect for ever once we are running (Redis restarts are survivable), but not before the first ready.
    retryStrategy: (times) => (ready ? Math.min(times * 200, 5_000) : null),
  });
  let ready = false;
  // ioredis also emits errors it is retrying; they are not ours to crash on.
  client.on('error', () => {});
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref()),
    ]);
    await client.ping();
    ready = true;
    return client;
  } catch (err) {
    client.disconnect();
    throw new ConfigError(`Cannot reach the queue at ${redactUrl(url)}: ${describe(err)}`, { cause: err });
  }
}
