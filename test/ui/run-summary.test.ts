import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { RunStats } from '../../src/ui/run-stats.js';
import { formatNothingToDo, formatSummary } from '../../src/ui/run-summary.js';
import { firstNonAscii } from './fake-terminal.js';
import { ManualClock, newEvents, runDone } from './run-driver.js';

function start(total: number | null, skipped = 0) {
  const events = newEvents();
  const clock = new ManualClock();
  const stats = new RunStats(events, clock.now);
  events.emit('run:start', { site: 'demo', concurrency: 4, total, skipped });
  const advance = (ms: number) => clock.advance(ms);
  return { events, clock, stats, advance };
}

function fail(events: ReturnType<typeof newEvents>, key: string, permanent: boolean) {
  events.emit('task:start', { key, attempt: 1 });
  events.emit('task:failed', {
    key,
    attempt: 1,
    error: new Error('x'),
    reason: 'HTTP 404',
    permanent,
    ms: 1,
  });
}

describe('formatSummary', () => {
  it('says how long a clean run took and what it saved', () => {
    const { events, clock, stats, advance } = start(3);
    for (const key of ['A', 'B', 'C']) runDone(events, advance, { key, ms: 10_400, bytes: 137_500_000 });
    events.emit('run:end', { reason: 'done' });
    expect(formatSummary(stats, clock.t)).toBe('Done in 31.2 s: 3 of 3 items saved (412.5 MB).');
  });

  it('lists failures, retries and re-logins', () => {
    const { events, clock, stats, advance } = start(300);
    for (let i = 0; i < 298; i++) runDone(events, advance, { key: `K${i}`, ms: 100, bytes: 1000 });
    fail(events, 'BAD1', true);
    fail(events, 'BAD2', false);
    for (let i = 0; i < 5; i++) {
      events.emit('task:retry', {
        key: `K${i}`,
        attempt: 1,
        error: new Error('x'),
        reason: '503',
        delayMs: 1,
      });
    }
    events.emit('login', { count: 1 });
    events.emit('relogin', { done: false });
    events.emit('relogin', { done: true });
    events.emit('login', { count: 2 });
    events.emit('run:end', { reason: 'done' });
    expect(formatSummary(stats, clock.t)).toBe(
      'Done in 29.8 s: 298 of 300 items saved (298.0 kB), 1 failed (will be retried), 1 failed permanently, 5 retries, 1 re-login.',
    );
  });

  it('tells an interrupted run how many items are left and that running again resumes', () => {
    const { events, clock, stats, advance } = start(300);
    for (let i = 0; i < 286; i++) runDone(events, advance, { key: `K${i}`, ms: 100, bytes: 1_000_000 });
    fail(events, 'BAD1', true);
    fail(events, 'BAD2', true);
    events.emit('task:start', { key: 'R1', attempt: 1 });
    events.emit('task:interrupted', { key: 'R1', attempt: 1 });
    events.emit('run:end', { reason: 'interrupted' });
    expect(formatSummary(stats, clock.t)).toBe(
      'Done in 28.6 s: 286 of 300 items saved (286.0 MB), 2 failed permanently. ' +
        'Interrupted: 12 items left pending; run again to resume.',
    );
  });

  it('counts open items as pending when the total is unknown', () => {
    const { events, clock, stats, advance } = start(null, 50);
    runDone(events, advance, { key: 'A', ms: 61_000, bytes: 10 });
    events.emit('task:start', { key: 'B', attempt: 1 });
    events.emit('task:start', { key: 'C', attempt: 1 });
    events.emit('task:retry', { key: 'C', attempt: 1, error: new Error('x'), reason: '503', delayMs: 1 });
    events.emit('run:end', { reason: 'interrupted' });
    expect(formatSummary(stats, clock.t)).toBe(
      'Done in 1 min 01 s: 1 item saved (10 B), 1 retry, 50 skipped (done in an earlier run). ' +
        'Interrupted: 2 items left pending; run again to resume.',
    );
  });

  it('names the error of a fatal run, in ASCII', () => {
    const { events, clock, stats, advance } = start(2);
    runDone(events, advance, { key: 'A', ms: 3_600_000 + 120_000, bytes: 0 });
    events.emit('run:end', { reason: 'fatal', error: new Error('Disque plein \u2014 ENOSPC.\nstack...') });
    const text = formatSummary(stats, clock.t);
    expect(text).toBe(
      'Stopped after 1 h 02 min: 1 of 2 items saved (0 B). Error: Disque plein ? ENOSPC. ' +
        '1 item left pending; run again to resume.',
    );
    expect(firstNonAscii(text)).toBe(-1);
  });

  it('a setting to fix (a malformed --refs line) does not say that running again resumes', () => {
    const { events, clock, stats, advance } = start(null);
    runDone(events, advance, { key: 'A', ms: 100, bytes: 0 });
    events.emit('task:start', { key: 'B', attempt: 1 });
    events.emit('run:end', {
      reason: 'fatal',
      error: new ConfigError('`--refs` refs.jsonl line 3 is not valid JSON: {"stock'),
    });
    const text = formatSummary(stats, clock.t);
    expect(text).toMatch(
      /Error: `--refs` refs\.jsonl line 3 is not valid JSON: \{"stock\. 1 item left pending\.$/,
    );
    expect(text).not.toMatch(/run again|resume/);
  });
});

describe('formatNothingToDo', () => {
  it('names the done items the complete listing no longer showed', () => {
    expect(
      formatNothingToDo({ done: 3, failedPermanently: 0, listed: { pages: 1, seen: 2 }, gone: ['S00050'] }),
    ).toBe(
      'Nothing to do: the listing showed 2 items on 1 page, none new; all 3 items in the checkpoint are done already. ' +
        '1 item not in the last listing (kept on disk): S00050.',
    );
  });

  it('says every item is done already, with the counts', () => {
    expect(formatNothingToDo({ done: 300, failedPermanently: 0 })).toBe(
      'Nothing to do: all 300 items in the checkpoint are done already.',
    );
    expect(formatNothingToDo({ done: 298, failedPermanently: 2 })).toBe(
      'Nothing to do: 298 items in the checkpoint are done already and 2 failed permanently ' +
        '(--retry-failed tries them again).',
    );
  });

  it('says what the listing (or --refs) showed, and the bad refs it skipped', () => {
    expect(
      formatNothingToDo({ done: 300, failedPermanently: 0, listed: { pages: 12, seen: 301 }, badRefs: 1 }),
    ).toBe(
      'Nothing to do: the listing showed 301 items on 12 pages, none new; all 300 items in the checkpoint are ' +
        'done already. 1 bad ref skipped (see above).',
    );
    expect(formatNothingToDo({ done: 2, failedPermanently: 0, listed: { pages: null, seen: 2 } })).toBe(
      'Nothing to do: the refs gave 2 items, none new; all 2 items in the checkpoint are done already.',
    );
  });
});
