import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUi } from '../../src/ui/create-ui.js';
import { FakeTerminal, firstNonAscii, StringSink } from './fake-terminal.js';
import { newEvents, runDone } from './run-driver.js';

const FRAME_MS = 250;

function setup(options: { color?: boolean; errIsTerminal?: boolean; slowAfterMs?: number } = {}) {
  const events = newEvents();
  const term = new FakeTerminal();
  const err = options.errIsTerminal ? term : new StringSink();
  const ui = createUi(events, {
    mode: 'tty',
    out: term.asStream(),
    err: err.asStream(),
    color: options.color ?? false,
    ...(options.slowAfterMs === undefined ? {} : { slowAfterMs: options.slowAfterMs }),
  });
  const advance = (ms: number) => vi.advanceTimersByTime(ms);
  return { events, term, err, ui, advance };
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2030, 0, 1) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('tty renderer', () => {
  it('shows the oldest item in flight once it has run past the page timeout, and drops it when it ends', () => {
    const { events, term, ui, advance } = setup({ slowAfterMs: 10_000 });
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 10, skipped: 0 });
    events.emit('task:start', { key: 'OLD', attempt: 1 });
    advance(4000);
    events.emit('task:start', { key: 'NEW', attempt: 1 });
    advance(6000);
    // 10 s exactly is not past it.
    expect(term.visible[0]).toMatch(/retrying 0$/);
    advance(2000);
    expect(term.visible[0]).toMatch(/ \| retrying 0 \| oldest 12s$/);
    // The oldest is retried: the next one's age (8 s) is under the timeout again.
    events.emit('task:retry', {
      key: 'OLD',
      attempt: 1,
      error: new Error('x'),
      reason: '503',
      delayMs: 1000,
    });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/retrying 1$/);
    advance(3000);
    expect(term.visible[0]).toMatch(/ \| retrying 1 \| oldest 11s$/);
    events.emit('task:done', { key: 'NEW', attempt: 1, result: undefined, ms: 11_000 });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/retrying 1$/);
    ui.stop();
  });

  it('rejects a bad `slowAfterMs`', () => {
    expect(() =>
      createUi(newEvents(), {
        mode: 'tty',
        out: new StringSink().asStream(),
        err: new StringSink().asStream(),
        color: false,
        slowAfterMs: -1,
      }),
    ).toThrow('Expected `slowAfterMs` to be an integer from 0 to 86400000, got `-1`');
  });

  it('shows what the listing has found while it goes on (pages, items seen, how many new), and drops it at its end', () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
    events.emit('list:progress', { pages: 1, seen: 25, fresh: 0, done: false });
    events.emit('list:progress', { pages: 3, seen: 75, fresh: 2, done: false });
    advance(FRAME_MS);
    expect(term.visible[0]).toBe(
      '[------------------------] 0/? | 0.0 items/s | 0.0 MB/s | ETA --:-- | failed 0 | retrying 0 | ' +
        'listing 3 pages, 75 items seen, 2 to pull',
    );
    events.emit('list:progress', { pages: 12, seen: 300, fresh: 2, done: true });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/retrying 0$/);
    ui.stop();
  });

  it('draws a total bar and one idle line per page slot', () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 3, total: 300, skipped: 0 });
    advance(FRAME_MS);
    expect(term.visible).toEqual([
      '[------------------------] 0/300 | 0.0 items/s | 0.0 MB/s | ETA --:-- | failed 0 | retrying 0',
      '  page  1  idle',
      '  page  2  idle',
      '  page  3  idle',
    ]);
    ui.stop();
  });

  it('shows both stages when the run has two: pages busy and items downloading, each against its bound', () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 2, downloads: 4, total: 10, skipped: 0 });
    for (const [slot, key] of ['S1', 'S2'].entries()) {
      events.emit('task:start', { key, attempt: 1 });
      events.emit('task:stage', { key, attempt: 1, slot, stage: 'detail' });
    }
    events.emit('page:released', { key: 'S1', slot: 0 });
    events.emit('task:start', { key: 'S3', attempt: 1 });
    events.emit('task:stage', { key: 'S3', attempt: 1, slot: 0, stage: 'detail' });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/\| retrying 0 \| pages 2\/2 \| downloads 1\/4$/);
    // Out of the download stage (its outcome may come later, after the commit): no longer counted there.
    events.emit('download:left', { key: 'S1' });
    events.emit('page:released', { key: 'S2', slot: 1 });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/\| pages 1\/2 \| downloads 1\/4$/);
    ui.stop();
  });

  it("changes a page's line on 'task:stage' and counts the seconds in that stage", () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 10, skipped: 0 });
    events.emit('task:start', { key: 'S00017', attempt: 1 });
    events.emit('task:stage', { key: 'S00017', attempt: 1, slot: 1, stage: 'search' });
    advance(FRAME_MS);
    expect(term.visible[1]).toBe('  page  1  idle');
    expect(term.visible[2]).toMatch(/^ {2}page {2}2 {2}S00017 +search +0s$/);

    advance(3000);
    expect(term.visible[2]).toMatch(/^ {2}page {2}2 {2}S00017 +search +3s$/);

    events.emit('task:stage', { key: 'S00017', attempt: 1, slot: 1, stage: 'download' });
    advance(FRAME_MS);
    expect(term.visible[2]).toMatch(/^ {2}page {2}2 {2}S00017 +download +0s$/);
    advance(2000);
    expect(term.visible[2]).toMatch(/download +2s$/);

    events.emit('file:saved', { key: 'S00017', path: 'x.pdf', bytes: 3_000_000 });
    events.emit('task:done', { key: 'S00017', attempt: 1, result: undefined, ms: 5250 });
    advance(FRAME_MS);
    expect(term.visible[2]).toBe('  page  2  idle');
    // 5.75 s in: 1 of 10 done, 3 MB saved; 9 left at 5.75 s each.
    expect(term.visible[0]).toBe(
      '[==----------------------] 1/10 | 0.2 items/s | 0.5 MB/s | ETA 00:51 | failed 0 | retrying 0',
    );
    ui.stop();
  });

  it('shows the total as unknown, then grows it, and shows failed and retrying counts', () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
    runDone(events, advance, { key: 'A', ms: 1000 });
    events.emit('task:start', { key: 'B', attempt: 1 });
    events.emit('task:retry', { key: 'B', attempt: 1, error: new Error('x'), reason: '503', delayMs: 100 });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/^\[-+\] 1\/\? \| .* \| ETA --:-- \| failed 0 \| retrying 1$/);
    events.emit('run:total', { total: 4 });
    events.emit('task:start', { key: 'B', attempt: 2 });
    events.emit('task:failed', {
      key: 'B',
      attempt: 2,
      error: new Error('x'),
      reason: '503',
      permanent: false,
      ms: 1,
    });
    advance(FRAME_MS);
    expect(term.visible[0]).toMatch(/^\[=+-+\] 1\/4 \| .* \| failed 1 \| retrying 0$/);
    ui.stop();
  });

  it('adds a line for a slot past the announced pool size', () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 5, skipped: 0 });
    events.emit('task:stage', { key: 'K9', attempt: 1, slot: 2, stage: 'detail' });
    advance(FRAME_MS);
    expect(term.visible).toHaveLength(4);
    expect(term.visible[3]).toMatch(/^ {2}page {2}3 {2}K9 +detail +0s$/);
    ui.stop();
  });

  it('leaves only the summary on screen after run:end, with the cursor shown again', () => {
    const { events, term, ui, advance } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 2, skipped: 0 });
    runDone(events, advance, { key: 'A', slot: 0, ms: 1000, bytes: 1_500_000 });
    runDone(events, advance, { key: 'B', slot: 1, ms: 1000, bytes: 1_500_000 });
    advance(FRAME_MS);
    expect(term.visible).toHaveLength(3);
    events.emit('run:end', { reason: 'done' });
    expect(term.visible).toEqual(['Done in 2.3 s: 2 of 2 items saved (3.0 MB).']);
    expect(term.text.lastIndexOf('\x1B[?25h')).toBeGreaterThan(term.text.lastIndexOf('\x1B[?25l'));
    expect(term.text.lastIndexOf('\x1B[?7h')).toBeGreaterThan(term.text.lastIndexOf('\x1B[?7l'));
    // No more frames once the run is over.
    const after = term.text;
    advance(5000);
    ui.stop();
    expect(term.text).toBe(after);
  });

  it('puts failures above the bars when stderr is the same terminal', () => {
    const { events, term, ui, advance } = setup({ errIsTerminal: true });
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 2, skipped: 0 });
    advance(FRAME_MS);
    events.emit('task:failed', {
      key: 'S1',
      attempt: 3,
      error: new Error('x'),
      reason: 'HTTP 500',
      permanent: false,
      ms: 1,
    });
    events.emit('warning', { message: 'slow page close' });
    advance(FRAME_MS);
    expect(term.visible.slice(0, 3)).toEqual([
      'FAILED S1: HTTP 500',
      'WARNING: slow page close',
      expect.stringMatching(/^\[/),
    ]);
    ui.stop();
    expect(term.visible).toEqual(['FAILED S1: HTTP 500', 'WARNING: slow page close']);
  });

  it('writes failures straight to a redirected stderr', () => {
    const { events, err, ui } = setup();
    events.emit('task:failed', {
      key: 'S1',
      attempt: 1,
      error: new Error('x'),
      reason: 'gone',
      permanent: true,
      ms: 1,
    });
    expect(err.text).toBe('FAILED S1: gone\n');
    ui.stop();
  });

  it('uses colors only when asked, and only ASCII either way', () => {
    for (const color of [false, true]) {
      const { events, term, ui, advance } = setup({ color });
      events.emit('run:start', { site: 'demo', concurrency: 1, total: 2, skipped: 0 });
      runDone(events, advance, { key: 'Caf\u00e9\u2013\u65e5', ms: 500 });
      events.emit('task:stage', { key: 'Stra\u00dfe', attempt: 1, slot: 0, stage: '\u00e9tape' });
      advance(FRAME_MS);
      expect(term.text.includes('\x1B[32m')).toBe(color);
      expect(term.visible[1]).toMatch(/^ {2}page {2}1 {2}Stra\?e +etape +0s$/);
      events.emit('run:end', { reason: 'interrupted' });
      expect(firstNonAscii(term.text)).toBe(-1);
      ui.stop();
    }
  });

  it('restores the terminal when stopped before the run ends, and stop() is idempotent', () => {
    const exitListeners = process.listenerCount('exit');
    const { events, term, ui, advance } = setup();
    expect(process.listenerCount('exit')).toBe(exitListeners + 1);
    events.emit('run:start', { site: 'demo', concurrency: 2, total: 9, skipped: 0 });
    advance(FRAME_MS);
    ui.stop();
    ui.stop();
    expect(term.visible).toEqual([]);
    expect(term.text.lastIndexOf('\x1B[?25h')).toBeGreaterThan(term.text.lastIndexOf('\x1B[?25l'));
    expect(vi.getTimerCount()).toBe(0);
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });
});
