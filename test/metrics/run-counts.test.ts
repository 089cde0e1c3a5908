// The progress display (RunStats) and the metrics (MetricsCollector) used to count the same events each their
// own way (issue 23); both now read one RunCounts, so the summary, report.json and /metrics cannot disagree.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { RunCounts } from '../../src/metrics/run-counts.js';
import type { RunEvents } from '../../src/run-events.js';
import { RunStats } from '../../src/ui/run-stats.js';

function emitRun(events: EventEmitter<RunEvents>): void {
  events.emit('run:start', { site: 's', concurrency: 2, total: null, skipped: 0 });
  events.emit('login', { count: 1 });
  for (const key of ['a', 'b', 'c', 'd', 'e']) events.emit('task:start', { key, attempt: 1 });
  events.emit('file:saved', { key: 'a', path: 's/a.pdf', bytes: 100 });
  events.emit('task:done', { key: 'a', attempt: 1, result: [], ms: 5 });
  events.emit('task:retry', { key: 'b', attempt: 1, error: new Error('x'), reason: 'x', delayMs: 0 });
  events.emit('relogin', { done: false });
  events.emit('relogin', { done: true });
  events.emit('login', { count: 2 });
  events.emit('task:failed', {
    key: 'c',
    attempt: 1,
    error: new Error('y'),
    reason: 'y',
    permanent: true,
    ms: 1,
  });
  events.emit('task:abandoned', { key: 'd', attempt: 1 });
  events.emit('task:failed', {
    key: 'd',
    attempt: 1,
    error: new Error('z'),
    reason: 'z',
    permanent: false,
    ms: 1,
  });
  events.emit('task:duplicate', { key: 'a' });
  events.emit('task:interrupted', { key: 'e', attempt: 1 });
}

describe('one count of a run', () => {
  it('the display and the metrics give the same numbers for the same events', () => {
    const events = new EventEmitter<RunEvents>();
    const stats = new RunStats(events, () => 0);
    const metrics = new MetricsCollector(events, {
      now: () => 0,
      memory: () => ({ rssBytes: 0, anonBytes: 0, pssBytes: 0, processes: 1 }) as never,
    });
    const counts = new RunCounts(events);
    emitRun(events);
    const snapshot = metrics.snapshot();
    expect(counts).toMatchObject({
      done: 1,
      failed: 2,
      permanent: 1,
      retries: 1,
      abandoned: 1,
      duplicates: 1,
    });
    expect(snapshot.items).toEqual({
      done: stats.done,
      failed: stats.failed,
      retried: stats.retries,
      abandoned: stats.abandoned,
      duplicate: stats.duplicates,
      interrupted: stats.interrupted,
    });
    expect({ files: snapshot.filesWritten, bytes: snapshot.bytesWritten }).toEqual({
      files: 1,
      bytes: stats.bytes,
    });
    expect(snapshot.relogins).toBe(stats.relogins);
    metrics.dispose();
    stats.dispose();
    counts.dispose();
  });
});
