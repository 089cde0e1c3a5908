import { describe, expect, it } from 'vitest';
import { RunStats } from '../../src/ui/run-stats.js';
import { ManualClock, newEvents } from './run-driver.js';

describe('RunStats', () => {
  it('tracks what each page slot is doing and frees it when its task ends', () => {
    const events = newEvents();
    const clock = new ManualClock();
    const stats = new RunStats(events, clock.now);
    events.emit('run:start', { site: 'demo', concurrency: 3, total: 10, skipped: 0 });
    expect(stats.slots).toEqual([null, null, null]);
    events.emit('task:stage', { key: 'A', attempt: 1, slot: 0, stage: 'search' });
    clock.advance(2000);
    // The same stage again keeps its clock; a new stage restarts it.
    events.emit('task:stage', { key: 'A', attempt: 1, slot: 0, stage: 'search' });
    expect(stats.slots[0]).toEqual({ key: 'A', stage: 'search', since: clock.t - 2000 });
    events.emit('task:stage', { key: 'A', attempt: 1, slot: 0, stage: 'download' });
    expect(stats.slots[0]).toEqual({ key: 'A', stage: 'download', since: clock.t });

    events.emit('task:stage', { key: 'B', attempt: 1, slot: 1, stage: 'detail' });
    events.emit('task:retry', { key: 'B', attempt: 1, error: null, reason: '503', delayMs: 1 });
    expect(stats.slots[1]).toBeNull();
    expect(stats.retrying).toBe(1);

    events.emit('task:stage', { key: 'C', attempt: 1, slot: 2, stage: 'detail' });
    events.emit('task:abandoned', { key: 'C', attempt: 1 });
    expect(stats.slots[2]).toBeNull();
    events.emit('task:stage', { key: 'D', attempt: 1, slot: 2, stage: 'detail' });
    events.emit('page:replaced', { slot: 2, reason: 'crashed' });
    expect(stats.slots[2]).toBeNull();

    // A page that was reused by another key is not freed by the old key's outcome.
    events.emit('task:stage', { key: 'B', attempt: 2, slot: 1, stage: 'detail' });
    expect(stats.retrying).toBe(0);
    events.emit('task:done', { key: 'A', attempt: 1, result: null, ms: 1 });
    expect(stats.slots[0]).toBeNull();
    expect(stats.slots[1]).toMatchObject({ key: 'B' });
  });

  it('counts uploads: sent, already in the bucket, failed, and bytes sent per second', () => {
    const events = newEvents();
    const clock = new ManualClock();
    const stats = new RunStats(events, clock.now);
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 2, skipped: 0 });
    expect(stats.uploading).toBe(false);
    const file = { key: 'A', path: 'demo/a.pdf', object: 's3://b/demo/a.pdf', bytes: 3_000_000 };
    events.emit('upload:start', file);
    events.emit('upload:progress', { key: 'A', path: file.path, bytes: 3_000_000 });
    events.emit('upload:done', { ...file, skipped: false, ms: 10 });
    events.emit('upload:done', { ...file, path: 'demo/b.pdf', skipped: true, ms: 1 });
    events.emit('upload:failed', { key: 'B', path: 'demo/c.pdf', object: 's3://b/demo/c.pdf', error: null });
    clock.advance(2000);
    expect(stats.uploads).toEqual({ uploaded: 1, skipped: 1, failed: 1, bytes: 3_000_000 });
    expect(stats.uploading).toBe(true);
    expect(stats.uploadBytesPerSec()).toBe(1_500_000);
  });

  it('never shows a total below what is finished, and stops listening on dispose()', () => {
    const events = newEvents();
    const stats = new RunStats(events, () => 0);
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 1, skipped: 0 });
    for (const key of ['A', 'B']) events.emit('task:done', { key, attempt: 1, result: null, ms: 1 });
    expect(stats.total).toBe(2);
    stats.dispose();
    expect(events.eventNames()).toEqual([]);
  });
});
