// The mapping of pagepool settings onto BullMQ, and the `--queue` URL: pure functions, no Redis.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { jobIdFor, keyOfJobId, limiterFor, lockTiming } from '../../src/fleet/fleet-options.js';
import { connectRedis, redactUrl, redisOptionsFromUrl } from '../../src/fleet/redis-connection.js';

describe('jobIdFor', () => {
  it('keeps ordinary keys and escapes the ones BullMQ refuses (integers, colons), reversibly', () => {
    expect(jobIdFor('S00001')).toBe('S00001');
    const ids = new Set<string>();
    for (const key of ['12345', 'a:b', 'k=x', 'k=%41', '0', 'ü:/ 1']) {
      const id = jobIdFor(key);
      // BullMQ refuses an id that is an integer or holds a colon.
      expect(id, key).not.toMatch(/^\d+$|:/);
      expect(keyOfJobId(id)).toBe(key);
      ids.add(id);
    }
    expect(ids.size).toBe(6);
  });
});

describe('limiterFor', () => {
  it('turns items per second into short fixed windows, and "no limit" into one that never binds', () => {
    expect(limiterFor(8)).toEqual({ max: 1, duration: 125 });
    expect(limiterFor(0.5)).toEqual({ max: 1, duration: 2000 });
    expect(limiterFor(100)).toEqual({ max: 10, duration: 100 });
    expect(limiterFor(0).max).toBeGreaterThan(1e8);
  });
});

describe('lockTiming', () => {
  it('is a quarter of the task timeout, between 5 and 30 s', () => {
    expect(lockTiming(180_000)).toEqual({ lockDuration: 30_000, stalledInterval: 15_000 });
    expect(lockTiming(40_000)).toEqual({ lockDuration: 10_000, stalledInterval: 5_000 });
    expect(lockTiming(1_000)).toEqual({ lockDuration: 5_000, stalledInterval: 2_500 });
  });
});

describe('the --queue URL', () => {
  it('parses host, port, database and credentials', () => {
    expect(redisOptionsFromUrl('redis://10.0.0.5:6380/3')).toEqual({ host: '10.0.0.5', port: 6380, db: 3 });
    expect(redisOptionsFromUrl('rediss://u:p%40ss@h')).toEqual({
      host: 'h',
      port: 6379,
      db: 0,
      username: 'u',
      password: 'p@ss',
      tls: {},
    });
    expect(() => redisOptionsFromUrl('redis://h/99')).toThrow(ConfigError);
  });

  it('never shows the password', () => {
    expect(redactUrl('redis://:secret@h:1/0')).toBe('redis://***@h:1/0');
    expect(redactUrl('redis://user:secret@h:1/0')).toBe('redis://user:***@h:1/0');
    expect(redactUrl('redis://h:1/0')).toBe('redis://h:1/0');
  });

  it('an unreachable Redis is a one-line ConfigError, soon, without the password', async () => {
    const started = Date.now();
    const error = await connectRedis('redis://:secret@127.0.0.1:1/0', 2000).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('Cannot reach the queue at redis://***@127.0.0.1:1/0');
    expect((error as Error).message).not.toContain('secret');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
