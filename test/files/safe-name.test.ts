// Untrusted names become one readable file name inside the output folder.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  capBytes,
  nameFromContentDisposition,
  nameFromUrl,
  resolveInside,
  safeName,
} from '../../src/files/safe-name.js';

const opts = { maxBytes: 120, fallback: 'item-7' };

describe('safeName', () => {
  it.each([
    ['../../x', 'x'],
    ['..\\x', 'x'],
    ['C:\\x', 'x'],
    ['C:x.pdf', 'C_x.pdf'],
    ['/etc/passwd', 'passwd'],
    ['a\u0000b.pdf', 'ab.pdf'],
    ['tab\there\n.pdf', 'tabhere.pdf'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['LPT9.tar.gz', '_LPT9.tar.gz'],
    ['console.txt', 'console.txt'],
    ['report...  ', 'report'],
    ['..', 'item-7'],
    ['.', 'item-7'],
    ['', 'item-7'],
    ['   ', 'item-7'],
    ['a/b/', 'b'],
    ['what?<now>|"*:.pdf', 'what__now_____.pdf'],
    ['Fenêtre été.pdf', 'Fenêtre été.pdf'],
    ['報告書.pdf', '報告書.pdf'],
    ['.hidden', 'hidden'],
    ['evil\u202Efdp.exe', 'evilfdp.exe'],
    ['x.pdf.part', 'x.pdf.part_'],
  ])('%j -> %j', (raw, expected) => {
    expect(safeName(raw, opts)).toBe(expected);
  });

  it('caps a 300-character name in UTF-8 bytes, keeping the extension', () => {
    const name = safeName(`${'a'.repeat(300)}.pdf`, opts);
    expect(Buffer.byteLength(name)).toBe(120);
    expect(name.endsWith('.pdf')).toBe(true);
  });

  it('never splits a multi-byte character or an emoji when cutting', () => {
    const name = safeName(`${'é'.repeat(100)}👍🏽👍🏽.pdf`, { maxBytes: 60, fallback: 'k' });
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(60);
    expect(name).toBe(`${'é'.repeat(28)}.pdf`);
    expect(capBytes('ab👍🏽cd', 6)).toBe('ab');
    expect(capBytes('ab👍🏽cd', 10)).toBe('ab👍🏽');
  });

  it('sanitises the fallback too', () => {
    expect(safeName('', { maxBytes: 120, fallback: 'vin/123:45' })).toBe('123_45');
    expect(safeName('', { maxBytes: 120, fallback: '..' })).toBe('file');
  });
});

describe('resolveInside', () => {
  it('accepts a plain name and refuses anything that leaves the folder', () => {
    expect(resolveInside('/out', 'a.pdf')).toBe(path.resolve('/out/a.pdf'));
    expect(() => resolveInside('/out', '../a.pdf')).toThrow(/outside/);
    expect(() => resolveInside('/out', 'sub/a.pdf')).toThrow(/outside/);
    expect(() => resolveInside('/out', '..')).toThrow(/outside/);
    expect(() => resolveInside('/out', '')).toThrow(/outside/);
  });
});

describe('names from the response', () => {
  it('reads Content-Disposition, preferring filename*', () => {
    expect(nameFromContentDisposition('attachment; filename="a b.pdf"')).toBe('a b.pdf');
    expect(nameFromContentDisposition(`attachment; filename="x.pdf"; filename*=UTF-8''%E2%82%AC.pdf`)).toBe(
      '€.pdf',
    );
  });

  it('tolerates garbage Content-Disposition', () => {
    expect(nameFromContentDisposition('attachment; filename=my file.pdf')).toBe('my file.pdf');
    expect(nameFromContentDisposition(';;;')).toBeUndefined();
    expect(nameFromContentDisposition('inline')).toBeUndefined();
    expect(nameFromContentDisposition(undefined)).toBeUndefined();
  });

  it('takes the last URL segment, decoded', () => {
    expect(nameFromUrl('http://h/a/b/R%C3%A9sum%C3%A9.pdf?x=1')).toBe('Résumé.pdf');
    expect(nameFromUrl('http://h/a/b/')).toBe('b');
    expect(nameFromUrl('http://h/')).toBeUndefined();
    expect(nameFromUrl('http://h/bad%E0%A4%A.pdf')).toBe('bad%E0%A4%A.pdf');
  });
});
