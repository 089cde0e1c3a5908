// What a refresh shows: saved, updated and unchanged beside each other in the progress line, the terminal's total
// line, the summary and report.json; the bytes written (an unchanged file writes none); and the items the listing
// no longer showed.
import { describe, expect, it } from 'vitest';
import type { FileChange } from '../../src/files/types.js';
import { formatProgressLine } from '../../src/ui/progress-line.js';
import { RunReport } from '../../src/ui/run-report.js';
import { RunStats } from '../../src/ui/run-stats.js';
import { formatSummary } from '../../src/ui/run-summary.js';
import { TtyRenderer } from '../../src/ui/tty-renderer.js';
import { ManualClock, newEvents } from './run-driver.js';

function refreshRun() {
  const events = newEvents();
  const clock = new ManualClock();
  const stats = new RunStats(events, clock.now);
  const report = new RunReport(events, { now: clock.now });
  events.emit('run:start', { site: 'demo', concurrency: 4, total: 12, skipped: 0 });
  const item = (key: string, changes: Array<FileChange | undefined>) => {
    events.emit('task:start', { key, attempt: 1 });
    clock.advance(100);
    const files = changes.map((change, i) => ({
      path: `demo/${key}-${i}.pdf`,
      bytes: 1000,
      sha256: 'a'.repeat(64),
      ...(change ? { change } : {}),
    }));
    for (const f of files) {
      events.emit('file:saved', {
        key,
        path: f.path,
        bytes: f.bytes,
        ...(f.change ? { change: f.change } : {}),
      });
    }
    events.emit('task:done', { key, attempt: 1, result: files, ms: 100 });
  };
  item('NEW', [undefined]);
  item('SAME', ['unchanged', 'unchanged']);
  item('CHANGED', ['unchanged', 'updated']);
  item('GREW', ['unchanged', 'added']);
  for (let i = 0; i < 8; i++) item(`S${i}`, ['unchanged']);
  events.emit('list:gone', { keys: ['S00050', 'S00100'], listed: 12 });
  events.emit('run:end', { reason: 'done' });
  return { stats, report, clock };
}

describe('a refresh on display', () => {
  it('the summary says what was saved, updated and unchanged, the bytes written, and what left', () => {
    const { stats, clock } = refreshRun();
    expect(formatSummary(stats, clock.t)).toBe(
      'Done in 1.2 s: 12 of 12 items done: 1 saved, 2 updated, 9 unchanged (3.0 kB written). ' +
        '2 items not in the last listing (kept on disk): S00050, S00100.',
    );
  });

  it('the progress line and the terminal total line show them beside done', () => {
    const { stats, clock } = refreshRun();
    expect(formatProgressLine(stats, clock.t)).toContain(
      '12/12 done (100.0%: 1 saved, 2 updated, 9 unchanged)',
    );
    const out = process.stdout;
    const tty = new TtyRenderer(stats, { out, err: out, color: false, now: clock.now, slowAfterMs: 60_000 });
    expect(tty.totalLine()).toContain('12/12 | 1 saved, 2 updated, 9 unchanged | ');
  });

  it('report.json: the counts, each refreshed item with its change, and gone', () => {
    const { report } = refreshRun();
    const json = report.toJSON();
    expect(json.totals).toMatchObject({ done: 12, saved: 1, updated: 2, unchanged: 9, bytes: 3000 });
    expect(json.gone).toEqual(['S00050', 'S00100']);
    const changeOf = Object.fromEntries(json.items.map((i) => [i.key, i.change]));
    expect(changeOf).toMatchObject({
      NEW: undefined,
      SAME: 'unchanged',
      CHANGED: 'updated',
      GREW: 'updated',
    });
  });

  it('a run that is no refresh reads as before, and gone is null without a complete listing', () => {
    const events = newEvents();
    const clock = new ManualClock();
    const stats = new RunStats(events, clock.now);
    const report = new RunReport(events, { now: clock.now });
    events.emit('run:start', { site: 'demo', concurrency: 4, total: 1, skipped: 0 });
    events.emit('task:start', { key: 'A', attempt: 1 });
    events.emit('file:saved', { key: 'A', path: 'demo/A.pdf', bytes: 500 });
    events.emit('task:done', { key: 'A', attempt: 1, result: [{ path: 'demo/A.pdf' }], ms: 1 });
    events.emit('run:end', { reason: 'done' });
    expect(formatSummary(stats, clock.t)).toBe('Done in 0.0 s: 1 of 1 item saved (500 B).');
    expect(report.toJSON().gone).toBeNull();
  });
});
