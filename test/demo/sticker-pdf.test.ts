import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeVehicles } from '../../src/demo/inventory.js';
import { stickerPdf } from '../../src/demo/sticker-pdf.js';
import { checkPdfStructure } from './pdf-structure.js';

const [vehicle, other] = makeVehicles(2, 1) as [
  ReturnType<typeof makeVehicles>[0],
  ReturnType<typeof makeVehicles>[0],
];

describe('stickerPdf', () => {
  it('is a PDF whose xref offsets and stream lengths are exact', () => {
    const pdf = stickerPdf(vehicle);
    const check = checkPdfStructure(pdf);
    expect(check.objects).toBe(7);
    expect(check.streams.size).toBe(1);
  });

  it('shows the title, VIN, year, make and model', () => {
    const text = stickerPdf(vehicle).toString('latin1');
    expect(text).toContain('(Window sticker)');
    expect(text).toContain(`(${vehicle.vin})`);
    expect(text).toContain(`(${vehicle.year} ${vehicle.make} ${vehicle.model})`);
  });

  it('is a pure function of the vehicle', () => {
    expect(stickerPdf(vehicle).equals(stickerPdf({ ...vehicle }))).toBe(true);
    expect(stickerPdf(vehicle).equals(stickerPdf(other))).toBe(false);
  });

  it('escapes parentheses and backslashes in text', () => {
    const pdf = stickerPdf({ ...vehicle, model: 'Roadster (S) \\ GT' });
    expect(pdf.toString('latin1')).toContain('Roadster \\(S\\) \\\\ GT');
    checkPdfStructure(pdf);
  });

  it('pads to at least padBytes with a valid extra stream, and ignores a pad smaller than the file', () => {
    const plain = stickerPdf(vehicle);
    expect(stickerPdf(vehicle, 10).equals(plain)).toBe(true);
    for (const pad of [plain.length + 1, 5_000, 99_999, 100_000, 1_000_003]) {
      const padded = stickerPdf(vehicle, pad);
      expect(padded.length).toBeGreaterThanOrEqual(pad);
      // The pad object has a fixed overhead, so only a pad well above the plain size is hit almost exactly.
      if (pad >= 5_000) expect(padded.length).toBeLessThan(pad + 8);
      const check = checkPdfStructure(padded);
      expect(check.objects).toBe(8);
      expect(check.streams.size).toBe(2);
    }
    expect(stickerPdf(vehicle, 50_000).equals(stickerPdf(vehicle, 50_000))).toBe(true);
  });

  it('rejects a negative pad', () => {
    expect(() => stickerPdf(vehicle, -1)).toThrow(RangeError);
  });

  it('adds a price line in a later edition, with a total that follows it, and stays a valid PDF', () => {
    const first = stickerPdf(vehicle).toString('latin1');
    const second = stickerPdf(vehicle, 0, 2);
    const text = second.toString('latin1');
    expect(first).not.toContain('Market adjustment');
    expect(text).toContain('(Market adjustment \\(edition 2\\)) Tj ET');
    expect(text).toContain('($250) Tj ET');
    const total = (pdf: string) =>
      Number(/\(Total MSRP\)[^$]*\(\$([\d,]+)\)/.exec(pdf)![1]!.replaceAll(',', ''));
    expect(total(text) - total(first)).toBe(250);
    expect(total(stickerPdf(vehicle, 0, 3).toString('latin1')) - total(first)).toBe(500);
    checkPdfStructure(second);
    expect(() => stickerPdf(vehicle, 0, 0)).toThrow('`edition`');
  });

  // The one check that does not trust our own generator or parser: poppler (Debian poppler-utils, which CI
  // installs) must read it without a complaint, render one page and find the vehicle's text on it.
  it('renders with pdftoppm and reads back with pdftotext, with no syntax warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sticker-'));
    try {
      const pdf = join(dir, 'a.pdf');
      writeFileSync(pdf, stickerPdf(vehicle, 20_000));
      const poppler = (tool: string, args: string[]) => {
        const result = spawnSync(tool, args, { encoding: 'utf8' });
        expect(result.error, `${tool} missing: install poppler-utils`).toBeUndefined();
        expect({ status: result.status, stderr: result.stderr }, tool).toEqual({ status: 0, stderr: '' });
        return result.stdout;
      };
      poppler('pdftoppm', ['-r', '20', '-png', pdf, join(dir, 'page')]);
      expect(readdirSync(dir).filter((f) => f.endsWith('.png'))).toHaveLength(1);
      const text = poppler('pdftotext', [pdf, '-']);
      for (const field of [vehicle.stock, vehicle.vin, `${vehicle.year} ${vehicle.make} ${vehicle.model}`]) {
        expect(text).toContain(field);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
