import { describe, expect, it } from 'vitest';
import { formatBytes, formatClock, formatDuration, plural, toAscii } from '../../src/ui/text-format.js';

describe('text-format', () => {
  it('turns untrusted text into one ASCII line', () => {
    expect(toAscii('R\u00e9sum\u00e9 \u00e9t\u00e9')).toBe('Resume ete');
    expect(toAscii('a\r\n\tb')).toBe('a b');
    expect(toAscii('\x1B[2J\u65e5')).toBe('?[2J?');
    expect(toAscii('x'.repeat(50), 10)).toBe('xxxxxxx...');
  });

  it('formats clocks, durations, sizes and counts', () => {
    expect(formatClock(12_999)).toBe('00:12');
    expect(formatClock(3_723_000)).toBe('1:02:03');
    expect(formatDuration(31_240)).toBe('31.2 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(412_500_000)).toBe('412.5 MB');
    expect(formatBytes(2_000_000_000)).toBe('2.0 GB');
    expect(plural(1, 'retry', 'retries')).toBe('1 retry');
    expect(plural(0, 'item')).toBe('0 items');
  });
});
