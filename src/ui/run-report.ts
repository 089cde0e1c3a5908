// The machine-readable report of one run (counts, timing percentiles, one record per item), written atomically.
import type { EventEmitter } from 'node:events';
import { describe } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { MetricsCollector, type MetricsSnapshot } from '../metrics/metrics-collector.js';
import { refreshOutcome } from '../metrics/run-counts.js';
import type { RunEvents } from '../run-events.js';
import { RunStats } from './run-stats.js';

export type ItemOutcome = 'done' | 'failed' | 'interrupted';

export interface ReportItem {
  key: string;
  outcome: ItemOutcome;
  attempts: number;
  /** From the item's first 'task:start' to its final outcome. */
  ms: number;
  bytes: number;
  files: string[];
  /** A refresh of a done item: what it found (`updated`: some file written; `unchanged`: none). */
  change?: 'updated' | 'unchanged';
  reason?: string;
  permanent?: boolean;
}

export interface ReportJson {
  site: string;
  /** ISO 8601. */
  startedAt: string;
  endedAt: string | null;
  reason: 'done' | 'interrupted' | 'fatal' | null;
  /** The fatal error, in one line. */
  error?: string;
  totals: {
    items: number;
    done: number;
    /** Of `done`: pulled the first time, refreshed and changed, refreshed and the same (nothing written). */
    saved: number;
    updated: number;
    unchanged: number;
    failed: number;
    permanent: number;
    retries: number;
    relogins: number;
    abandoned: number;
    duplicates: number;
    bytes: number;
    interrupted: number;
    /** Refs skipped as unworkable (listed in `badRefs`). */
    badRefs: number;
  };
  /** `--upload`: files sent, files already in the bucket (same sha256), failed uploads, bytes sent, MB/s. */
  uploads: { uploaded: number; skipped: number; failed: number; bytes: number; mbPerSec: number };
  timing: { wallMs: number; p50Ms: number | null; p95Ms: number | null; itemsPerSec: number };
  /** The metrics /metrics serves, as they stood when the report was taken, with the run's peaks. */
  metrics: MetricsSnapshot;
  /** Refs that could not be worked, skipped: as JSON (cut to 120 characters), where from, and why. */
  badRefs: Array<{ ref: string; where: string; reason: string }>;
  /**
   * Done items the run's listing, complete, no longer showed (they left the portal; their files are kept); null
   * when the run read no complete listing (`--refs`, `--max`, stopped).
   */
  gone: string[] | null;
  items: ReportItem[];
}

export interface RunReportOptions {
  /**
   * The collector whose snapshot the report carries: pass the one /metrics serves, so both say the same.
   * @default a collector of its own on the same events
   */
  metrics?: MetricsCollector;
  /**
   * The clock, for tests.
   * @default Date.now
   */
  now?: () => number;
}

/** An item between its first event and its outcome. */
interface OpenItem {
  startedAt: number;
  starts: number;
  maxAttempt: number;
  bytes: number;
  files: string[];
}

/**
 * Listens from construction. Memory: one small record per finished item (the report lists them all) plus
 * one per item in flight; durations of done items sit in a flat Float64Array for the percentiles.
 */
export class RunReport {
  private readonly stats: RunStats;
  private readonly now: () => number;
  private readonly open = new Map<string, OpenItem>();
  private readonly items: ReportItem[] = [];
  private readonly badRefs: ReportJson['badRefs'] = [];
  private doneMs = new Float64Array(1024);
  private doneCount = 0;
  private readonly metrics: MetricsCollector;
  /** Taken at 'run:end', so the report written after it says what the run ended with. */
  private finalMetrics: MetricsSnapshot | null = null;

  constructor(events: EventEmitter<RunEvents>, options: RunReportOptions = {}) {
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new TypeError(`Expected \`now\` to be a function, got \`${String(options.now)}\``);
    }
    if (options.metrics !== undefined && !(options.metrics instanceof MetricsCollector)) {
      throw new TypeError(
        `Expected \`metrics\` to be a MetricsCollector, got \`${String(options.metrics)}\``,
      );
    }
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics ?? new MetricsCollector(events, { now: this.now });
    this.stats = new RunStats(events, this.now);

    events.on('task:start', ({ key, attempt }) => {
      const item = this.touch(key);
      item.starts += 1;
      item.maxAttempt = Math.max(item.maxAttempt, attempt);
    });
    events.on('task:stage', ({ key, attempt }) => {
      const item = this.touch(key);
      item.maxAttempt = Math.max(item.maxAttempt, attempt);
    });
    events.on('file:saved', ({ key, path, bytes }) => {
      // A file reported after its item's outcome still counts in the totals, just not per item.
      const item = this.open.get(key);
      if (!item) return;
      item.bytes += bytes;
      item.files.push(path);
    });
    events.on('task:done', ({ key, attempt, ms, result }) => {
      const record = this.finish(key, 'done', attempt, ms);
      const change = refreshOutcome(result);
      if (change !== 'saved') record.change = change;
      this.pushDoneMs(record.ms);
    });
    events.on('task:failed', ({ key, attempt, ms, reason, permanent }) => {
      const record = this.finish(key, 'failed', attempt, ms);
      record.reason = reason;
      record.permanent = permanent;
    });
    events.on('ref:bad', ({ ref, where, reason }) => {
      this.badRefs.push({ ref, where, reason });
    });
    events.on('task:interrupted', ({ key, attempt }) => {
      this.finish(key, 'interrupted', attempt, 0);
    });
    events.on('run:end', () => {
      // Still open at the end (waiting to retry, or the run died): pending for the next run.
      for (const key of [...this.open.keys()]) this.finish(key, 'interrupted', 0, 0);
      this.finalMetrics = this.metrics.snapshot();
    });
  }

  toJSON(): ReportJson {
    const s = this.stats;
    const wallMs = s.elapsedMs();
    const sorted = this.doneMs.slice(0, this.doneCount).sort();
    const report: ReportJson = {
      site: s.site,
      startedAt: new Date(s.startedAt).toISOString(),
      endedAt: s.endedAt === null ? null : new Date(s.endedAt).toISOString(),
      reason: s.reason,
      totals: {
        items: this.items.length,
        done: s.done,
        saved: s.saved,
        updated: s.updated,
        unchanged: s.unchanged,
        failed: s.failed,
        permanent: s.permanent,
        retries: s.retries,
        relogins: s.relogins,
        abandoned: s.abandoned,
        duplicates: s.duplicates,
        bytes: s.bytes,
        interrupted: s.interrupted,
        badRefs: s.badRefs,
      },
      uploads: {
        ...s.uploads,
        mbPerSec: wallMs > 0 ? Math.round((s.uploads.bytes / 1e6 / (wallMs / 1000)) * 100) / 100 : 0,
      },
      timing: {
        wallMs,
        p50Ms: percentile(sorted, 50),
        p95Ms: percentile(sorted, 95),
        itemsPerSec: wallMs > 0 ? Math.round((s.done / (wallMs / 1000)) * 100) / 100 : 0,
      },
      metrics: this.finalMetrics ?? this.metrics.snapshot(),
      badRefs: this.badRefs,
      gone: s.gone,
      items: this.items,
    };
    if (s.reason === 'fatal' && s.error !== undefined) report.error = describe(s.error);
    return report;
  }

  /** Writes the report atomically (files/atomic-write.ts): `path` is always a whole report. */
  async write(path: string): Promise<void> {
    const { items, ...head } = this.toJSON();
    // One item per line: a 100,000-item report stays readable and diffable.
    const headText = JSON.stringify({ ...head, items: [] }, null, 2);
    const text =
      items.length === 0
        ? `${headText}\n`
        : `${headText.slice(0, headText.lastIndexOf('[]'))}[\n${items.map((i) => `    ${JSON.stringify(i)}`).join(',\n')}\n  ]\n}\n`;
    await writeFileAtomic(path, text);
  }

  private touch(key: string): OpenItem {
    let item = this.open.get(key);
    if (!item) {
      item = { startedAt: this.now(), starts: 0, maxAttempt: 0, bytes: 0, files: [] };
      this.open.set(key, item);
    }
    return item;
  }

  private finish(key: string, outcome: ItemOutcome, attempt: number, fallbackMs: number): ReportItem {
    const item = this.open.get(key);
    this.open.delete(key);
    const record: ReportItem = item
      ? {
          key,
          outcome,
          // An abandoned try is restarted under the same attempt number; count the starts too.
          attempts: Math.max(item.starts, item.maxAttempt, attempt),
          ms: Math.max(0, this.now() - item.startedAt),
          bytes: item.bytes,
          files: item.files,
        }
      : {
          key,
          outcome,
          attempts: Math.max(attempt, outcome === 'interrupted' ? 0 : 1),
          ms: fallbackMs,
          bytes: 0,
          files: [],
        };
    this.items.push(record);
    return record;
  }

  private pushDoneMs(ms: number): void {
    if (this.doneCount === this.doneMs.length) {
      const grown = new Float64Array(this.doneMs.length * 2);
      grown.set(this.doneMs);
      this.doneMs = grown;
    }
    this.doneMs[this.doneCount++] = ms;
  }
}

/** Nearest-rank percentile of an ascending array; null when empty. */
function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}
