import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUi, type UiOptions } from '../../src/ui/create-ui.js';
import { firstNonAscii, StringSink } from './fake-terminal.js';
import { newEvents, runDone } from './run-driver.js';

const PROGRESS_LINE =
  /^\[\d\d:\d\d\] \d+\/\d+ done \(\d+\.\d%\), \d+ failed, \d+ retrying, \d+\.\d items\/s, \d+\.\d MB\/s, ETA (\d\d:\d\d|--:--)$/;

function setup(mode: UiOptions['mode'], extra: Partial<UiOptions> = {}) {
  const events = newEvents();
  const out = new StringSink();
  const err = new StringSink();
  const ui = createUi(events, { mode, out: out.asStream(), err: err.asStream(), color: false, ...extra });
  const advance = (ms: number) => vi.advanceTimersByTime(ms);
  return { events, out, err, ui, advance };
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2030, 0, 1) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createUi plain mode', () => {
  it('prints a progress line every interval with counts, rates and ETA', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 5000 });
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 300, skipped: 0 });
    expect(out.lines).toEqual(['Starting demo: 300 items, 2 pages']);
    // 120 items done in 12 s, 1 MB each; one failed, one waiting to retry.
    for (let i = 0; i < 120; i++) runDone(events, advance, { key: `S${i}`, ms: 100, bytes: 1_000_000 });
    events.emit('task:start', { key: 'BAD', attempt: 1 });
    events.emit('task:failed', {
      key: 'BAD',
      attempt: 1,
      error: new Error('x'),
      reason: 'HTTP 404',
      permanent: true,
      ms: 5,
    });
    events.emit('task:start', { key: 'SLOW', attempt: 1 });
    events.emit('task:retry', {
      key: 'SLOW',
      attempt: 1,
      error: new Error('t'),
      reason: 'timeout',
      delayMs: 1000,
    });

    const progress = out.lines.filter((line) => PROGRESS_LINE.test(line));
    expect(progress.length).toBeGreaterThan(0);
    // The 5% line at 12 s restarted the interval: the next line is at 17 s, 120/17 = 7.1 items/s and MB/s,
    // 179 left at 121 finished per 17 s -> 25 s.
    out.text = '';
    advance(5000);
    expect(out.lines).toEqual([
      '[00:17] 120/300 done (40.0%), 1 failed, 1 retrying, 7.1 items/s, 7.1 MB/s, ETA 00:25',
    ]);
    ui.stop();
  });

  it('prints a line at each 5% of the total even before the interval', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 60_000 });
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 40, skipped: 0 });
    for (let i = 0; i < 40; i++) runDone(events, advance, { key: `K${i}`, ms: 10 });
    const progress = out.lines.filter((line) => PROGRESS_LINE.test(line));
    // 40 items, a step every 2: 20 lines, the last at 100%.
    expect(progress).toHaveLength(20);
    expect(progress[0]).toMatch(/ 2\/40 done \(5\.0%\)/);
    expect(progress.at(-1)).toMatch(/ 40\/40 done \(100\.0%\), 0 failed, 0 retrying/);
    ui.stop();
  });

  it('prints progress with an unknown total and picks up a total that grows', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 1000 });
    events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
    runDone(events, advance, { key: 'A', ms: 500 });
    advance(600);
    expect(out.lines.at(-1)).toMatch(
      /^\[00:01\] 1 done, 0 failed, 0 retrying, 1\.0 items\/s, 0\.0 MB\/s, ETA --:--$/,
    );
    events.emit('run:total', { total: 10 });
    advance(1000);
    expect(out.lines.at(-1)).toMatch(/^\[00:02\] 1\/10 done \(10\.0%\), .* ETA 00:18$/);
    ui.stop();
  });

  it('writes one FAILED line per final failure and one line per warning to err, not out', () => {
    const { events, out, err, ui } = setup('plain');
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 3, skipped: 0 });
    events.emit('task:start', { key: 'S00017', attempt: 1 });
    events.emit('task:retry', {
      key: 'S00017',
      attempt: 1,
      error: new Error('x'),
      reason: 'HTTP 503',
      delayMs: 10,
    });
    events.emit('task:start', { key: 'S00017', attempt: 2 });
    events.emit('task:failed', {
      key: 'S00017',
      attempt: 2,
      error: new Error('x'),
      reason: 'HTTP 503\nService Unavailable',
      permanent: false,
      ms: 20,
    });
    events.emit('warning', { message: 'dropped a torn journal line' });
    expect(err.lines).toEqual([
      'FAILED S00017: HTTP 503 Service Unavailable',
      'WARNING: dropped a torn journal line',
    ]);
    expect(out.text).not.toContain('FAILED');
    ui.stop();
  });

  it('prints one "Rate limited" line per hold, not one per 429 that moves its end', () => {
    const { events, out, advance } = setup('plain', { plainIntervalMs: 60_000 });
    events.emit('run:start', { site: 'demo', concurrency: 8, total: null, skipped: 0 });
    const hold = (ms: number) =>
      events.emit('backoff', {
        untilMs: Date.now() + ms,
        reason: 'x.pdf answered HTTP 429; retry after 1 s',
      });
    hold(1_000);
    advance(300);
    hold(1_000); // while the first is on: its end moves to 1.3 s
    advance(900);
    hold(1_000); // 1.2 s: still on
    advance(1_200); // 2.4 s: over
    hold(2_000);
    const lines = out.lines.filter((l) => l.startsWith('Rate limited'));
    expect(lines).toEqual([
      'Rate limited (x.pdf answered HTTP 429; retry after 1 s): new items wait 1.0 s',
      'Rate limited (x.pdf answered HTTP 429; retry after 1 s): new items wait 2.0 s',
    ]);
  });

  it('prints no progress line before run:start, however long the login takes (regression: `0 done` came first)', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 1000 });
    advance(7000);
    expect(out.text).toBe('');
    events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
    advance(1000);
    expect(out.lines[0]).toBe('Starting demo: item count not known yet, 1 page');
    expect(out.lines).toHaveLength(2);
    expect(out.lines[1]).toMatch(/^\[\d\d:\d\d\] 0 done, 0 failed/);
    ui.stop();
  });

  it('stops its timer on stop() and prints nothing more, even when called twice', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 1000 });
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 10, skipped: 0 });
    ui.stop();
    ui.stop();
    const before = out.text;
    advance(10_000);
    runDone(events, advance, { key: 'A' });
    events.emit('run:end', { reason: 'done' });
    expect(out.text).toBe(before);
  });

  it('says what the listing has found so far while it goes on with nothing to do (pages, items seen, none new)', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 5000 });
    events.emit('run:start', { site: 'demo', concurrency: 2, total: null, skipped: 0 });
    events.emit('list:progress', { pages: 4, seen: 100, fresh: 0, done: false });
    advance(5000);
    expect(out.lines.at(-1)).toBe(
      '[00:05] 0 done, 0 failed, 0 retrying, 0.0 items/s, 0.0 MB/s, ETA --:--, listing: 4 pages, 100 items seen, 0 to pull',
    );
    // `--refs` has no pages.
    events.emit('list:progress', { pages: null, seen: 1, fresh: 1, done: false });
    advance(5000);
    expect(out.lines.at(-1)).toMatch(/ETA --:--, listing: 1 item seen, 1 to pull$/);
    events.emit('list:progress', { pages: null, seen: 2, fresh: 1, done: true });
    advance(5000);
    expect(out.lines.at(-1)).toMatch(/ETA --:--$/);
    ui.stop();
  });

  it('a bad ref: one BAD REF line on err naming it and where it came from; the summary counts it, even in quiet mode', () => {
    for (const mode of ['plain', 'quiet'] as const) {
      const { events, out, err, ui, advance } = setup(mode);
      events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
      events.emit('ref:bad', {
        ref: '{"stock":"","url":"vehicle/"}',
        where: 'the listing page http://127.0.0.1:9/inventory?page=1',
        reason: 'site.key() gave an empty string',
      });
      runDone(events, advance, { key: 'A', ms: 1000, bytes: 1000 });
      events.emit('run:end', { reason: 'done' });
      expect(err.lines).toEqual([
        'BAD REF from the listing page http://127.0.0.1:9/inventory?page=1: site.key() gave an empty string: ' +
          '{"stock":"","url":"vehicle/"}',
      ]);
      // The run exits 1 for it: the summary is printed in quiet mode too.
      expect(out.lines.at(-1)).toBe('Done in 1.0 s: 1 item saved (1.0 kB), 1 bad ref skipped.');
      ui.stop();
    }
  });

  it('ends with the summary after run:end and prints no progress afterwards', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 1000 });
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 2, skipped: 0 });
    runDone(events, advance, { key: 'A', ms: 1500, bytes: 2_000_000 });
    runDone(events, advance, { key: 'B', ms: 1500, bytes: 500_000 });
    events.emit('run:end', { reason: 'done' });
    expect(out.lines.at(-1)).toBe('Done in 3.0 s: 2 of 2 items saved (2.5 MB).');
    const after = out.text;
    advance(5000);
    expect(out.text).toBe(after);
    ui.stop();
  });

  it('keeps every character ASCII even for non-ASCII keys, reasons and site names', () => {
    const { events, out, err, ui, advance } = setup('plain', { plainIntervalMs: 1000 });
    events.emit('run:start', { site: 'portail-\u00e9t\u00e9', concurrency: 1, total: 2, skipped: 0 });
    runDone(events, advance, { key: 'Caf\u00e9-\u2116-1', ms: 2000 });
    events.emit('task:failed', {
      key: '\u65e5\u672c-2',
      attempt: 1,
      error: new Error('x'),
      reason: 'Document introuvable \u2014 \u00ab 404 \u00bb \x1B[31m',
      permanent: true,
      ms: 1,
    });
    events.emit('warning', { message: 'lent \u2026' });
    advance(3000);
    events.emit('run:end', { reason: 'done' });
    expect(err.text).toContain('FAILED ??-2: Document introuvable ? ? 404 ? ?[31m');
    expect(firstNonAscii(out.text)).toBe(-1);
    expect(firstNonAscii(err.text)).toBe(-1);
    expect(out.text).toContain('Starting portail-ete');
    ui.stop();
  });
});

describe('createUi quiet mode', () => {
  it('prints nothing on out for a successful run', () => {
    const { events, out, err, ui, advance } = setup('quiet', { plainIntervalMs: 100 });
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 5, skipped: 0 });
    for (let i = 0; i < 5; i++) runDone(events, advance, { key: `K${i}`, ms: 400 });
    events.emit('login', { count: 2 });
    events.emit('run:end', { reason: 'done' });
    advance(10_000);
    expect(out.text).toBe('');
    expect(err.text).toBe('');
    ui.stop();
  });

  it('still reports failures and warnings on err', () => {
    const { events, out, err, ui } = setup('quiet');
    events.emit('task:failed', {
      key: 'K1',
      attempt: 3,
      error: new Error('x'),
      reason: 'timeout',
      permanent: false,
      ms: 9,
    });
    events.emit('warning', { message: 'slow page close' });
    events.emit('run:end', { reason: 'done' });
    expect(err.lines).toEqual(['FAILED K1: timeout', 'WARNING: slow page close']);
    // The run exits 1: quiet still prints the one-line summary.
    expect(out.lines).toEqual([
      expect.stringMatching(/^Done in .*: 0 items saved .*, 1 failed \(will be retried\)\.$/),
    ]);
    ui.stop();
  });

  it('prints the summary of a run stopped by an error, and nothing else', () => {
    const { events, out, ui, advance } = setup('quiet');
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 3, skipped: 0 });
    runDone(events, advance, { key: 'A', ms: 10 });
    events.emit('task:start', { key: 'B', attempt: 1 });
    events.emit('run:end', { reason: 'fatal', error: new Error('disk gone') });
    expect(out.lines).toEqual([expect.stringMatching(/^Stopped after .*Error: disk gone\./)]);
    ui.stop();
  });
});

describe('createUi at the edges of a run', () => {
  for (const mode of ['plain', 'quiet'] as const) {
    it(`${mode}: a run stopped before any item started prints no summary (the caller's error line says it)`, () => {
      const { events, out, ui } = setup(mode);
      events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
      events.emit('run:end', { reason: 'fatal', error: new Error('listing exploded') });
      expect(out.lines.filter((l) => !l.startsWith('Starting '))).toEqual([]);
      ui.stop();
    });
  }

  it('a run with nothing to try prints no "0 items saved" summary (the caller prints the counts)', () => {
    const { events, out, ui } = setup('plain');
    events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
    events.emit('run:end', { reason: 'done' });
    expect(out.text).not.toMatch(/saved/);
    ui.stop();
  });

  it('plain: a total that grows with the items (a lazy listing) gives at most one line per 5% step', () => {
    const { events, out, ui, advance } = setup('plain', { plainIntervalMs: 60_000 });
    events.emit('run:start', { site: 'demo', concurrency: 8, total: null, skipped: 0 });
    for (let i = 0; i < 300; i++) {
      // The listing stays 16 items ahead of the finished ones, as the queue's prefetch keeps it.
      events.emit('run:total', { total: Math.min(300, i + 16) });
      runDone(events, advance, { key: `K${i}`, ms: 50 });
    }
    const progress = out.lines.filter((line) => PROGRESS_LINE.test(line));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThanOrEqual(20);
    expect(progress.at(-1)).toMatch(/ 300\/300 done \(100\.0%\)/);
    ui.stop();
  });
});

describe('createUi options', () => {
  it('rejects bad options with messages naming each field and value', () => {
    const events = newEvents();
    const sink = new StringSink().asStream();
    expect(() =>
      createUi(events, { mode: 'fancy' as 'tty', out: sink, err: sink, color: false, plainIntervalMs: 0 }),
    ).toThrow(
      'Expected `mode` to be one of tty, plain, quiet, got `fancy`; Expected `plainIntervalMs` to be an integer from 100 to 86400000, got `0`',
    );
    expect(() =>
      createUi(events, { mode: 'plain', out: {} as NodeJS.WritableStream, err: sink, color: false }),
    ).toThrow('Expected `out` to be a writable stream');
    expect(events.eventNames()).toEqual([]);
  });

  it('removes all its listeners on stop()', () => {
    const { events, ui } = setup('plain');
    expect(events.listenerCount('task:done')).toBeGreaterThan(0);
    ui.stop();
    expect(events.eventNames()).toEqual([]);
  });
});
