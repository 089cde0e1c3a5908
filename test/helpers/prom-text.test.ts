// The strict text-format parser the metrics tests rely on: it must reject what Prometheus rejects.
import { describe, expect, it } from 'vitest';
import { parsePromText, sampleSum, sampleValue } from './prom-text.js';

const GOOD = [
  '# HELP a_total Things, with a \\\\ and a \\n.',
  '# TYPE a_total counter',
  'a_total{kind="x",note="say \\"hi\\"\\n"} 3',
  'a_total{kind="y"} 1.5e3',
  '',
  '# TYPE b gauge',
  'b -0.25',
  '# TYPE h histogram',
  'h_bucket{le="+Inf"} 2',
  'h_sum 4',
  'h_count 2',
  '',
].join('\n');

describe('parsePromText', () => {
  it('reads families, escaped labels and help, values and histogram suffixes', () => {
    const families = parsePromText(GOOD);
    expect([...families.keys()]).toEqual(['a_total', 'b', 'h']);
    expect(families.get('a_total')?.help).toBe('Things, with a \\ and a \n.');
    expect(sampleValue(families, 'a_total', { note: 'say "hi"\n' })).toBe(3);
    expect(sampleSum(families, 'a_total')).toBe(1503);
    expect(sampleValue(families, 'b')).toBe(-0.25);
    expect(families.get('h')?.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_sum', 'h_count']);
    expect(() => sampleValue(families, 'a_total')).toThrow('2 samples of a_total match {}, expected 1');
  });

  it.each([
    ['no final newline', '# TYPE b gauge\nb 1', 'does not end with a newline'],
    ['a sample before its TYPE', 'b 1\n', 'outside its family'],
    ['a sample of another family', '# TYPE b gauge\nc 1\n', 'outside its family'],
    ['a family split in two', '# TYPE b gauge\nb 1\n# TYPE c gauge\nc 1\n# HELP b again\n', 'not contiguous'],
    ['two TYPE lines', '# TYPE b gauge\n# TYPE b counter\n', 'second TYPE'],
    ['an unknown type', '# TYPE b meter\n', 'unknown type'],
    ['a negative counter', '# TYPE c_total counter\nc_total -1\n', 'negative'],
    ['a duplicate series', '# TYPE b gauge\nb{x="1"} 1\nb{x="1"} 2\n', 'duplicate series'],
    ['a label twice', '# TYPE b gauge\nb{x="1",x="2"} 1\n', 'label x twice'],
    ['a bad label name', '# TYPE b gauge\nb{1x="1"} 1\n', 'bad label name'],
    ['an unquoted label value', '# TYPE b gauge\nb{x=1} 1\n', 'expected ="value"'],
    ['a bad escape', '# TYPE b gauge\nb{x="\\t"} 1\n', 'bad escape'],
    ['a bad value', '# TYPE b gauge\nb one\n', 'bad value'],
    [
      'two spaces (Prometheus takes them; no exporter should write them)',
      '# TYPE b gauge\nb  1\n',
      'expected " value',
    ],
    ['a missing value', '# TYPE b gauge\nb\n', 'expected " value'],
  ])('rejects %s', (_, text, message) => {
    expect(() => parsePromText(text)).toThrow(message);
  });
});
