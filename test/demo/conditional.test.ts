import { describe, expect, it } from 'vitest';
import { notModified } from '../../src/demo/conditional.js';

const file = { etag: '"abc"', lastModified: 'Tue, 02 Jan 2024 00:00:00 GMT' };

describe('notModified', () => {
  it.each([
    ['the same ETag', { 'if-none-match': '"abc"' }, true],
    ['the weak form of it', { 'if-none-match': 'W/"abc"' }, true],
    ['one of a list', { 'if-none-match': '"x", "abc"' }, true],
    ['a star', { 'if-none-match': '*' }, true],
    ['another ETag', { 'if-none-match': '"abd"' }, false],
    ['the same date', { 'if-modified-since': 'Tue, 02 Jan 2024 00:00:00 GMT' }, true],
    ['a later date', { 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT' }, true],
    ['an earlier date', { 'if-modified-since': 'Mon, 01 Jan 2024 23:59:59 GMT' }, false],
    ['a date that does not parse', { 'if-modified-since': 'yesterday' }, false],
    // If-None-Match decides alone when present (RFC 9110 13.2.2).
    [
      'a stale ETag with a current date',
      { 'if-none-match': '"old"', 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT' },
      false,
    ],
    ['no condition', {}, false],
  ])('%s', (_, headers, expected) => {
    expect(notModified('GET', headers, file)).toBe(expected);
  });

  it('reads If-Modified-Since for GET and HEAD only', () => {
    const headers = { 'if-modified-since': 'Wed, 03 Jan 2024 00:00:00 GMT' };
    expect(notModified('HEAD', headers, file)).toBe(true);
    expect(notModified('POST', headers, file)).toBe(false);
  });
});
