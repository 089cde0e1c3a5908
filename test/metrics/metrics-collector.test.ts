// The collector on plain event sequences: counts, stages, queued, ages and peaks, the text format and the JSON.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PAGE_REPLACED_REASONS } from '../../src/browser/page-pool.js';
import { PermanentError, RateLimitedError, SessionExpiredError, TaskTimeoutError } from '../../src/errors.js';
import { MetricsCollector, type MetricsCollectorOptions } from '../../src/metrics/metrics-collector.js';
import type { TreeMemory } from '../../src/metrics/process-tree-memory.js';
import { METRIC_NAMES } from '../../src/metrics/prometheus-metrics.js';
import type { RunEvents } from '../../src/run-events.js';
import { parsePromText, sampleSum, sampleValue } from '../helpers/prom-text.js';

const MEMORY: TreeMemory = { bytes: 500, rssBytes: 500, anonBytes: 200, pss: false, processes: 3 };

function setup(options: MetricsCollectorOptions = {}) {
  const events = new EventEmitter<RunEvents>();
  const clock = { t: 1_000_000 };
  let memoryReads = 0;
  const collector = new MetricsCollector(events, {
    now: () => clock.t,
    memory: () => {
      memoryReads += 1;
      return MEMORY;
    },
    ...options,
  });
  return { events, clock, collector, memoryReads: () => memoryReads };
}

async function scrape(collector: MetricsCollector) {
  return parsePromText(await collector.registry.metrics());
}

describe('MetricsCollector', () => {
  it('counts a run of plain events: outcomes, failures by code, stages, files, logins, holds, replaced pages', () => {
    const { events, clock, collector } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 4, total: null, skipped: 0 });
    events.emit('login', { count: 1 });
    for (let n = 1; n <= 6; n++) events.emit('run:total', { total: n });
    events.emit('task:start', { key: 'a', attempt: 1 });
    events.emit('task:stage', { key: 'a', attempt: 1, slot: 0, stage: 'start' });
    events.emit('task:start', { key: 'b', attempt: 1 });
    events.emit('task:stage', { key: 'b', attempt: 1, slot: 1, stage: 'detail' });
    events.emit('page:released', { key: 'b', slot: 1 });
    events.emit('task:start', { key: 'c', attempt: 1 });
    clock.t += 2_500;

    let s = collector.snapshot();
    expect(s.inFlight).toEqual({ starting: 1, page: 1, download: 1 });
    expect(s.oldestInFlightSeconds).toBe(2.5);
    expect(s.queued).toBe(3);

    events.emit('file:saved', { key: 'b', path: 'demo/b.pdf', bytes: 1000 });
    events.emit('task:done', { key: 'b', attempt: 1, result: [], ms: 2500 });
    events.emit('backoff', { untilMs: clock.t + 4_000, reason: 'rate limited' });
    events.emit('task:retry', {
      key: 'a',
      attempt: 1,
      error: new RateLimitedError(4000),
      reason: 'rate limited',
      delayMs: 4000,
    });
    events.emit('concurrency', { limit: 2, reason: 'trouble' });
    events.emit('task:failed', {
      key: 'c',
      attempt: 1,
      error: new PermanentError('404'),
      reason: '404',
      permanent: true,
      ms: 2500,
    });
    events.emit('task:duplicate', { key: 'b' });
    events.emit('page:replaced', { slot: 0, reason: 'abandoned' });
    events.emit('page:replaced', { slot: 1, reason: 'recycled' });
    events.emit('page:replaced', { slot: 0, reason: 'abandoned' });
    events.emit('relogin', { done: false });
    events.emit('login', { count: 2 });
    events.emit('relogin', { done: true });
    clock.t += 1_000;

    s = collector.snapshot();
    expect(s).toEqual({
      items: { done: 1, failed: 1, retried: 1, abandoned: 0, duplicate: 1, interrupted: 0 },
      failures: { RATE_LIMITED: { failed: 0, retried: 1 }, PERMANENT: { failed: 1, retried: 0 } },
      // 6 from the source: b done, c failed, the 6th a duplicate, a waiting to retry; 2 never started.
      queued: 2,
      retryWaiting: 1,
      inFlight: { starting: 0, page: 0, download: 0 },
      oldestInFlightSeconds: 0,
      limit: 2,
      logins: 2,
      relogins: 1,
      filesWritten: 1,
      bytesWritten: 1000,
      rateLimitHolds: 1,
      rateLimitHoldSeconds: 3,
      pagesReplaced: { abandoned: 2, recycled: 1 },
      memory: { rssBytes: 500, anonBytes: 200, processes: 3 },
      peak: { inFlight: 3, oldestInFlightSeconds: 2.5 },
    });
  });

  it('ages the oldest attempt at read time, and keeps the longest one as the peak after it ends', () => {
    const { events, clock, collector } = setup();
    events.emit('task:start', { key: 'slow', attempt: 1 });
    clock.t += 1_000;
    events.emit('task:start', { key: 'fast', attempt: 1 });
    clock.t += 500;
    expect(collector.snapshot().oldestInFlightSeconds).toBe(1.5);
    clock.t += 8_500;
    expect(collector.snapshot().oldestInFlightSeconds).toBe(10);
    events.emit('task:abandoned', { key: 'slow', attempt: 1 });
    const error = new TaskTimeoutError('abandoned');
    events.emit('task:retry', { key: 'slow', attempt: 1, error, reason: 'abandoned', delayMs: 0 });
    // The abandoned attempt no longer counts; the younger one is now the oldest.
    let s = collector.snapshot();
    expect(s.oldestInFlightSeconds).toBe(9);
    expect(s.peak).toEqual({ inFlight: 2, oldestInFlightSeconds: 10 });
    expect(s.items.abandoned).toBe(1);
    expect(s.retryWaiting).toBe(1);
    // Its retry starts a new attempt with a new clock.
    events.emit('task:start', { key: 'slow', attempt: 2 });
    events.emit('task:done', { key: 'fast', attempt: 1, result: [], ms: 9000 });
    clock.t += 2_000;
    s = collector.snapshot();
    expect(s.oldestInFlightSeconds).toBe(2);
    expect(s.retryWaiting).toBe(0);
    expect(s.peak.oldestInFlightSeconds).toBe(10);
  });

  it('serves the same values as the snapshot, every metric with HELP and TYPE, and reads /proc once a scrape', async () => {
    const { events, clock, collector, memoryReads } = setup();
    events.emit('run:start', { site: 'demo', concurrency: 8, total: 10, skipped: 0 });
    events.emit('task:start', { key: 'a', attempt: 1 });
    events.emit('task:stage', { key: 'a', attempt: 1, slot: 0, stage: 'start' });
    events.emit('task:start', { key: 'b', attempt: 1 });
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    events.emit('task:retry', { key: 'b', attempt: 1, error, reason: 'socket hang up', delayMs: 1000 });
    events.emit('file:saved', { key: 'a', path: 'demo/a.pdf', bytes: 4096 });
    clock.t += 1_250;

    const before = memoryReads();
    const families = await scrape(collector);
    expect(memoryReads() - before).toBe(1);
    const s = collector.snapshot();
    expect([...families.keys()]).toEqual(METRIC_NAMES);
    for (const family of families.values()) {
      expect(family.help).toBeTruthy();
      expect(family.name.endsWith('_total')).toBe(family.type === 'counter');
    }
    for (const outcome of Object.keys(s.items)) {
      expect(sampleValue(families, 'pagepool_items_total', { outcome })).toBe(s.items[outcome as 'done']);
    }
    expect(
      sampleValue(families, 'pagepool_item_failures_total', { code: 'ECONNRESET', outcome: 'retried' }),
    ).toBe(1);
    expect(
      sampleValue(families, 'pagepool_item_failures_total', { code: 'ECONNRESET', outcome: 'failed' }),
    ).toBe(0);
    expect(sampleValue(families, 'pagepool_items_in_flight', { stage: 'page' })).toBe(1);
    expect(sampleSum(families, 'pagepool_items_in_flight')).toBe(1);
    expect(sampleValue(families, 'pagepool_items_queued')).toBe(s.queued);
    expect(s.queued).toBe(8);
    expect(sampleValue(families, 'pagepool_items_retry_waiting')).toBe(1);
    expect(sampleValue(families, 'pagepool_oldest_in_flight_seconds')).toBe(1.25);
    expect(sampleValue(families, 'pagepool_in_flight_limit')).toBe(8);
    expect(sampleValue(families, 'pagepool_written_bytes_total')).toBe(4096);
    expect(sampleValue(families, 'pagepool_files_written_total')).toBe(1);
    expect(sampleValue(families, 'pagepool_process_tree_resident_memory_bytes')).toBe(500);
    expect(sampleValue(families, 'pagepool_process_tree_anonymous_memory_bytes')).toBe(200);
    expect(sampleValue(families, 'pagepool_process_tree_processes')).toBe(3);
    // The next scrape reads /proc again: a value is never older than its scrape.
    const reads = memoryReads();
    await scrape(collector);
    expect(memoryReads() - reads).toBe(1);
  });

  it('labels every sample with `worker` in fleet mode', async () => {
    const { events, collector } = setup({ worker: 'box-2' });
    events.emit('task:start', { key: 'a', attempt: 1 });
    const families = await scrape(collector);
    for (const family of families.values()) {
      for (const sample of family.samples) expect(sample.labels.worker).toBe('box-2');
    }
    expect(collector.snapshot().worker).toBe('box-2');
  });

  it('names every reason a page is replaced in the metric help and the README (timeout, navigation failed)', async () => {
    const { collector } = setup();
    const help = (await scrape(collector)).get('pagepool_pages_replaced_total')?.help ?? '';
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const entry =
      readme.slice(readme.indexOf('- `pagepool_pages_replaced_total{reason}`')).split('\n- ')[0] ?? '';
    for (const reason of PAGE_REPLACED_REASONS) {
      expect(help, 'the metric help').toContain(reason);
      expect(entry.replace(/\s+/g, ' '), "the README's entry").toContain(`\`${reason}\``);
    }
  });

  it('names an error without a code UNKNOWN and folds codes past 32 into OTHER', () => {
    const { events, collector } = setup();
    const fail = (key: string, error: unknown) =>
      events.emit('task:failed', { key, attempt: 1, error, reason: 'x', permanent: false, ms: 1 });
    fail('plain', new Error('HTTP 500'));
    fail('string', 'thrown string');
    fail('expired', new SessionExpiredError());
    for (let i = 0; i < 40; i++) fail(`k${i}`, Object.assign(new Error('x'), { code: `E_${i}` }));
    const { failures, items } = collector.snapshot();
    expect(failures.UNKNOWN).toEqual({ failed: 2, retried: 0 });
    expect(failures.SESSION_EXPIRED).toEqual({ failed: 1, retried: 0 });
    expect(Object.keys(failures)).toHaveLength(32 + 1);
    expect(failures.OTHER?.failed).toBe(43 - 2 - 1 - 30);
    expect(items.failed).toBe(43);
  });

  it('empties the stages at run:end and counts interrupted items', () => {
    const { events, collector } = setup();
    events.emit('run:total', { total: 2 });
    events.emit('task:start', { key: 'a', attempt: 1 });
    events.emit('task:start', { key: 'b', attempt: 1 });
    events.emit('task:interrupted', { key: 'a', attempt: 1 });
    events.emit('run:end', { reason: 'interrupted' });
    const s = collector.snapshot();
    expect(s.items.interrupted).toBe(1);
    expect(s.inFlight).toEqual({ starting: 0, page: 0, download: 0 });
    expect(s.retryWaiting).toBe(0);
    expect(s.peak.inFlight).toBe(2);
  });

  it('stops counting after dispose()', () => {
    const { events, collector } = setup();
    events.emit('task:done', { key: 'a', attempt: 1, result: [], ms: 1 });
    collector.dispose();
    events.emit('task:done', { key: 'b', attempt: 1, result: [], ms: 1 });
    expect(collector.snapshot().items.done).toBe(1);
    expect(events.listenerCount('task:done')).toBe(0);
  });

  it('reads this process tree from /proc by default', () => {
    const collector = new MetricsCollector(new EventEmitter<RunEvents>());
    const { memory } = collector.snapshot();
    expect(memory.processes).toBeGreaterThanOrEqual(1);
    expect(memory.rssBytes).toBeGreaterThanOrEqual(process.memoryUsage.rss() / 2);
    expect(memory.anonBytes).toBeGreaterThan(0);
    expect(memory.anonBytes).toBeLessThanOrEqual(memory.rssBytes);
  });

  it('rejects a bad worker name and a clock that is not a function, naming both', () => {
    expect(
      () =>
        new MetricsCollector(new EventEmitter<RunEvents>(), {
          worker: 'has space',
          now: 5 as unknown as () => number,
        }),
    ).toThrow(
      'Expected `worker` to be 1 to 128 letters, digits or _.:@-, got `has space`; Expected `now` to be a function, got `5`',
    );
  });
});
