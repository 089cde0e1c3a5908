import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { objectKey, parseS3Url } from '../../src/sinks/s3-destination.js';

describe('parseS3Url', () => {
  it('splits bucket and prefix, trimming slashes', () => {
    expect(parseS3Url('s3://my-bucket/cards/2026/')).toEqual({ bucket: 'my-bucket', prefix: 'cards/2026' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Url('s3://my-bucket/')).toEqual({ bucket: 'my-bucket', prefix: '' });
  });

  it.each([
    ['https://my-bucket/x', 'it must start with s3://'],
    ['s3:///x', 'the bucket name is missing'],
    ['s3://a/x', '`a` is not a valid bucket name'],
    ['s3://bad!bucket/x', '`bad!bucket` is not a valid bucket name'],
    ['s3://my-bucket/a/../b', 'the prefix must not contain `.` or `..` segments'],
    ['s3://my-bucket/a//b', 'the prefix must not contain empty segments'],
  ])('%s: %s', (url, why) => {
    const err = (() => {
      try {
        parseS3Url(url);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `Expected \`upload\` to be s3://BUCKET/PREFIX, got \`${url}\`: ${why}`,
    );
  });

  it('builds keys under the prefix', () => {
    expect(objectKey({ bucket: 'b', prefix: 'p/q' }, 'demo/a.pdf')).toBe('p/q/demo/a.pdf');
    expect(objectKey({ bucket: 'b', prefix: '' }, 'demo/a.pdf')).toBe('demo/a.pdf');
  });
});
