import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { RunReport } from '../../src/ui/run-report.js';
import { ManualClock, newEvents, runDone } from './run-driver.js';

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

/** 20 done items taking 1..20 s, one retried item, one permanent failure, one interrupted, one duplicate. */
function mixedRun() {
  const events = newEvents();
  const clock = new ManualClock();
  const startedAt = clock.t;
  const report = new RunReport(events, { now: clock.now });
  const advance = (ms: number) => clock.advance(ms);
  events.emit('run:start', { site: 'demo', concurrency: 2, total: 23, skipped: 0 });
  for (let i = 1; i <= 20; i++) runDone(events, advance, { key: `K${i}`, ms: i * 1000, bytes: 100 });

  // Retried once, then abandoned and restarted under attempt 2, then done: 3 starts, 4.5 s from the first.
  events.emit('task:start', { key: 'R', attempt: 1 });
  advance(500);
  events.emit('task:retry', { key: 'R', attempt: 1, error: new Error('x'), reason: '503', delayMs: 1000 });
  advance(1000);
  events.emit('task:start', { key: 'R', attempt: 2 });
  advance(1000);
  events.emit('task:abandoned', { key: 'R', attempt: 2 });
  events.emit('task:start', { key: 'R', attempt: 2 });
  advance(2000);
  events.emit('file:saved', { key: 'R', path: 'downloads/demo/R-1.pdf', bytes: 7 });
  events.emit('file:saved', { key: 'R', path: 'downloads/demo/R-2.png', bytes: 8 });
  events.emit('task:done', { key: 'R', attempt: 2, result: undefined, ms: 2000 });

  events.emit('task:start', { key: 'P', attempt: 1 });
  advance(300);
  events.emit('task:failed', {
    key: 'P',
    attempt: 1,
    error: new Error('x'),
    reason: 'HTTP 404',
    permanent: true,
    ms: 300,
  });
  events.emit('task:duplicate', { key: 'K1' });
  events.emit('ref:bad', {
    ref: '{"stock":""}',
    where: 'the listing page http://portal/inventory?page=2',
    reason: 'site.key() gave an empty string',
  });
  events.emit('relogin', { done: false });
  events.emit('relogin', { done: true });
  events.emit('task:start', { key: 'I', attempt: 1 });
  advance(200);
  events.emit('task:interrupted', { key: 'I', attempt: 1 });
  events.emit('run:end', { reason: 'interrupted' });
  return { events, clock, report, startedAt };
}

describe('RunReport', () => {
  it('carries the metrics snapshot taken at the end of the run, with its peaks', () => {
    const { report, clock } = mixedRun();
    const json = report.toJSON();
    expect(json.metrics.items).toEqual({
      done: 21,
      failed: 1,
      retried: 1,
      abandoned: 1,
      duplicate: 1,
      interrupted: 1,
    });
    expect(json.metrics.failures).toEqual({ UNKNOWN: { failed: 1, retried: 1 } });
    expect(json.metrics.bytesWritten).toBe(json.totals.bytes);
    expect(json.metrics.inFlight).toEqual({ starting: 0, page: 0, download: 0 });
    // The longest attempt ran 20 s (K20); one at a time, as runDone drives them.
    expect(json.metrics.peak).toEqual({ inFlight: 1, oldestInFlightSeconds: 20 });
    // Taken at 'run:end': a later report says the same, whatever the clock.
    clock.advance(60_000);
    expect(report.toJSON().metrics).toEqual(json.metrics);
  });

  it('uses the collector it is given, so report.json and /metrics read the same counters', () => {
    const events = newEvents();
    const collector = new MetricsCollector(events, { worker: 'host:1' });
    const report = new RunReport(events, { metrics: collector });
    events.emit('run:start', { site: 'demo', concurrency: 1, total: 1, skipped: 0 });
    events.emit('task:start', { key: 'A', attempt: 1 });
    events.emit('task:done', { key: 'A', attempt: 1, result: undefined, ms: 5 });
    events.emit('run:end', { reason: 'done' });
    expect(report.toJSON().metrics).toMatchObject({ worker: 'host:1', items: { done: 1 } });
    expect(() => new RunReport(events, { metrics: {} as MetricsCollector })).toThrow(
      'Expected `metrics` to be a MetricsCollector, got `[object Object]`',
    );
  });

  it('counts what the events said and computes percentiles over done items', () => {
    const { report, clock, startedAt } = mixedRun();
    const json = report.toJSON();
    expect(json.site).toBe('demo');
    expect(json.reason).toBe('interrupted');
    expect(json.startedAt).toBe(new Date(startedAt).toISOString());
    expect(json.endedAt).toBe(new Date(clock.t).toISOString());
    expect(json.totals).toEqual({
      items: 23,
      done: 21,
      saved: 21,
      updated: 0,
      unchanged: 0,
      failed: 1,
      permanent: 1,
      retries: 1,
      relogins: 1,
      abandoned: 1,
      duplicates: 1,
      bytes: 20 * 100 + 15,
      interrupted: 1,
      badRefs: 1,
    });
    // A bad ref has no key: it is listed on its own, with where it came from, not among the items.
    expect(json.badRefs).toEqual([
      {
        ref: '{"stock":""}',
        where: 'the listing page http://portal/inventory?page=2',
        reason: 'site.key() gave an empty string',
      },
    ]);
    expect(json.items.some((item) => item.key === '')).toBe(false);
    const wallMs = 210_000 + 4500 + 300 + 200;
    // Done durations: 1..20 s and 4.5 s. Nearest rank: p50 is the 11th of 21, p95 the 20th.
    expect(json.timing).toEqual({
      wallMs,
      p50Ms: 10_000,
      p95Ms: 19_000,
      itemsPerSec: Math.round((21 / (wallMs / 1000)) * 100) / 100,
    });
    const byKey = new Map(json.items.map((item) => [item.key, item]));
    expect(byKey.get('K3')).toEqual({
      key: 'K3',
      outcome: 'done',
      attempts: 1,
      ms: 3000,
      bytes: 100,
      files: ['downloads/demo/K3.pdf'],
    });
    expect(byKey.get('R')).toEqual({
      key: 'R',
      outcome: 'done',
      attempts: 3,
      ms: 4500,
      bytes: 15,
      files: ['downloads/demo/R-1.pdf', 'downloads/demo/R-2.png'],
    });
    expect(byKey.get('P')).toEqual({
      key: 'P',
      outcome: 'failed',
      attempts: 1,
      ms: 300,
      bytes: 0,
      files: [],
      reason: 'HTTP 404',
      permanent: true,
    });
    expect(byKey.get('I')).toMatchObject({ outcome: 'interrupted', attempts: 1, ms: 200 });
  });

  it('reports items still open at the end of the run as interrupted', () => {
    const events = newEvents();
    const clock = new ManualClock();
    const report = new RunReport(events, { now: clock.now });
    events.emit('run:start', { site: 'demo', concurrency: 1, total: null, skipped: 0 });
    events.emit('task:start', { key: 'W', attempt: 1 });
    events.emit('task:retry', {
      key: 'W',
      attempt: 1,
      error: new Error('x'),
      reason: '503',
      delayMs: 60_000,
    });
    clock.advance(1000);
    events.emit('run:end', { reason: 'fatal', error: new Error('disk full\nat ...') });
    const json = report.toJSON();
    expect(json.totals.interrupted).toBe(1);
    expect(json.items).toEqual([
      { key: 'W', outcome: 'interrupted', attempts: 1, ms: 1000, bytes: 0, files: [] },
    ]);
    expect(json.error).toBe('disk full');
    expect(json.timing.p50Ms).toBeNull();
  });

  it('writes the same JSON to disk atomically, replacing an older report', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pagepool-report-'));
    const path = join(dir, 'nested', 'report.json');
    const { report } = mixedRun();
    await report.write(path);
    const first = await readFile(path, 'utf8');
    expect(JSON.parse(first)).toEqual(report.toJSON());
    // One item per line keeps huge reports readable.
    expect(first.split('\n').filter((line) => line.startsWith('    {"key":'))).toHaveLength(23);

    await writeFile(path, 'old');
    await report.write(path);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(report.toJSON());
    expect(await readdir(join(dir, 'nested'))).toEqual(['report.json']);
  });

  it('writes a report with no items as valid JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pagepool-report-'));
    const report = new RunReport(newEvents());
    await report.write(join(dir, 'r.json'));
    const json = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8'));
    expect(json.items).toEqual([]);
    expect(json.totals.items).toBe(0);
  });

  it('leaves no temp file behind when the write fails', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pagepool-report-'));
    const report = new RunReport(newEvents());
    // The target is a directory: rename fails after the temp file was written.
    const target = join(dir, 'taken');
    await writeFile(join(dir, 'keep'), '');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(target, 'x'), { recursive: true }));
    await expect(report.write(target)).rejects.toMatchObject({ code: expect.stringMatching(/^E/) });
    expect((await readdir(dir)).sort()).toEqual(['keep', 'taken']);
  });

  it('keeps the percentiles right past the first buffer of durations', () => {
    const events = newEvents();
    const clock = new ManualClock();
    const report = new RunReport(events, { now: clock.now });
    // 3000 items taking 1..3000 ms, in a shuffled order.
    const order = Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 3000) + 1);
    for (const ms of order) runDone(events, (d) => clock.advance(d), { key: `K${ms}`, ms, bytes: 1 });
    const { timing, totals } = report.toJSON();
    expect(totals.done).toBe(3000);
    expect(timing.p50Ms).toBe(1500);
    expect(timing.p95Ms).toBe(2850);
  });
});
