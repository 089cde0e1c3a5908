// The run's metrics, fed by its events only: counts, items queued and in flight per stage, the oldest attempt's
// age, and a prom-client Registry of its own that reads them at scrape time.
import type { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import type { RunEvents } from '../run-events.js';
import { type TreeMemory, treeMemory } from './process-tree-memory.js';
import { promClient } from './prom-client.js';
import { registerMetrics } from './prometheus-metrics.js';
import { RunCounts } from './run-counts.js';

type KeyedEvent = {
  [E in keyof RunEvents]: RunEvents[E] extends [{ key: string }] ? E : never;
}[keyof RunEvents];

/**
 * The stage an item in flight enters on each event; every attempt starts in 'starting' (waiting for a page) at
 * 'task:start'. A new stage is one line here: uploads will be `'upload:start': 'upload'`.
 */
const STAGE_ENTERED = {
  'task:stage': 'page',
  'page:released': 'download',
} as const satisfies Partial<Record<KeyedEvent, string>>;

export type Stage = 'starting' | (typeof STAGE_ENTERED)[keyof typeof STAGE_ENTERED];
export const STAGES: readonly Stage[] = ['starting', ...new Set(Object.values(STAGE_ENTERED))];

export const OUTCOMES = ['done', 'failed', 'retried', 'abandoned', 'duplicate', 'interrupted'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Failure codes kept apart; past this many distinct codes the rest count as 'OTHER' (bounded label values). */
const MAX_CODES = 32;

/** Everything the collector knows, as plain JSON: the values /metrics serves, plus the run's peaks. */
export interface MetricsSnapshot {
  /** The `worker` label in fleet mode. */
  worker?: string;
  /** Outcome events: items done, failed for good, retries scheduled, attempts abandoned, duplicates, interrupted. */
  items: Record<Outcome, number>;
  /** Failed attempts by error `code` ('UNKNOWN' without one): `failed` ended the item, `retried` did not. */
  failures: Record<string, { failed: number; retried: number }>;
  /** Items the source gave that have not started yet (0 while the run's total is not known, as in fleet mode). */
  queued: number;
  /** Items waiting in the retry queue (no page, no slot). */
  retryWaiting: number;
  /** Attempts running now, by stage. */
  inFlight: Record<Stage, number>;
  /** Age of the oldest attempt running now; 0 when none is. */
  oldestInFlightSeconds: number;
  /** Attempts allowed in flight now (the adaptive limit, or the run's concurrency). */
  limit: number;
  /** Logins done (the first one and every re-login, by the workers or the listing). */
  logins: number;
  /** Shared re-logins the queue started. */
  relogins: number;
  filesWritten: number;
  bytesWritten: number;
  /** Times new starts were held after a 429. */
  rateLimitHolds: number;
  /** How much longer new starts are held now; 0 when they are not. */
  rateLimitHoldSeconds: number;
  /** Pages closed and replaced, by reason ('recycled', 'memory', 'timeout'...: the page pool's list). */
  pagesReplaced: Record<string, number>;
  /** This process and its descendants (Chromium): RSS, anonymous RSS and process count, from /proc. */
  memory: { rssBytes: number; anonBytes: number; processes: number };
  /** The highest values seen so far in this run. */
  peak: { inFlight: number; oldestInFlightSeconds: number };
}

export interface MetricsCollectorOptions {
  /** Added as a `worker` label to every metric (fleet mode: one `work` process each). @default none */
  worker?: string;
  /**
   * The clock, for tests.
   * @default Date.now
   */
  now?: () => number;
  /**
   * How the process tree's memory is read, for tests.
   * @default this process and its descendants, from /proc/PID/status (not smaps_rollup: far too slow per scrape)
   */
  memory?: () => TreeMemory;
}

interface Attempt {
  startedAt: number;
  stage: Stage;
}

type Listeners = { [E in keyof RunEvents]?: (...args: RunEvents[E]) => void };

/**
 * Listens from construction. State is O(items in flight or waiting to retry + distinct codes and reasons), never
 * O(items). `registry` serves the Prometheus text format; `snapshot()` the same values as JSON.
 */
export class MetricsCollector {
  private prometheus: Registry | undefined;
  private readonly now: () => number;
  private readonly readMemory: () => TreeMemory;
  private readonly worker: string | undefined;
  /** The run's outcome counts, shared in kind with the progress display (run-counts.ts). */
  private readonly counts: RunCounts;
  private readonly failures = new Map<string, { failed: number; retried: number }>();
  private readonly pagesReplaced = new Map<string, number>();
  private readonly inFlight = new Map<string, Attempt>();
  private readonly waiting = new Set<string>();
  private total: number | null = null;
  private limit = 0;
  private rateLimitHolds = 0;
  private heldUntil = 0;
  private peakInFlight = 0;
  /** The longest any attempt that has ended was in flight. */
  private longestEndedMs = 0;
  private readonly listeners: Listeners;

  constructor(
    private readonly events: EventEmitter<RunEvents>,
    options: MetricsCollectorOptions = {},
  ) {
    validate(options);
    // First: every listener below (and every reader) sees counts that already include the event.
    this.counts = new RunCounts(events);
    this.now = options.now ?? Date.now;
    this.readMemory = options.memory ?? (() => treeMemory(process.pid, true, { pss: false }));
    this.worker = options.worker;

    const enter =
      (stage: Stage) =>
      ({ key }: { key: string }) => {
        const attempt = this.inFlight.get(key);
        if (attempt) attempt.stage = stage;
      };
    this.listeners = {
      'run:start': ({ concurrency, total }) => {
        this.limit = concurrency;
        if (total !== null) this.total = total;
      },
      'run:total': ({ total }) => {
        this.total = total;
      },
      'task:start': ({ key }) => {
        this.waiting.delete(key);
        this.inFlight.set(key, { startedAt: this.now(), stage: 'starting' });
        this.peakInFlight = Math.max(this.peakInFlight, this.inFlight.size);
      },
      ...Object.fromEntries(Object.entries(STAGE_ENTERED).map(([name, stage]) => [name, enter(stage)])),
      'task:done': ({ key }) => {
        this.end(key);
      },
      'task:failed': ({ key, error }) => {
        this.failure(error).failed += 1;
        this.end(key);
      },
      'task:retry': ({ key, error }) => {
        this.failure(error).retried += 1;
        this.end(key);
        this.waiting.add(key);
      },
      'task:abandoned': ({ key }) => {
        // Its slot is free now; the 'task:retry' or 'task:failed' that follows says what becomes of the item.
        this.end(key);
      },
      'task:interrupted': ({ key }) => {
        this.end(key);
        this.waiting.delete(key);
      },
      'page:replaced': ({ reason }) => {
        this.pagesReplaced.set(reason, (this.pagesReplaced.get(reason) ?? 0) + 1);
      },
      backoff: ({ untilMs }) => {
        this.rateLimitHolds += 1;
        this.heldUntil = Math.max(this.heldUntil, untilMs);
      },
      concurrency: ({ limit }) => {
        this.limit = limit;
      },
      'run:end': () => {
        // Nothing runs or waits after the end; what never reached an outcome stays pending in the checkpoint.
        for (const key of [...this.inFlight.keys()]) this.end(key);
        this.waiting.clear();
        this.heldUntil = 0;
      },
    };
    for (const [name, fn] of Object.entries(this.listeners)) {
      events.on(name as keyof RunEvents, fn as (...args: unknown[]) => void);
    }
  }

  /** The Prometheus registry of these values, made (and prom-client loaded) the first time it is asked for. */
  get registry(): Registry {
    if (!this.prometheus) {
      this.prometheus = new (promClient().Registry)();
      if (this.worker !== undefined) this.prometheus.setDefaultLabels({ worker: this.worker });
      registerMetrics(this.prometheus, this.scrapeSnapshot());
    }
    return this.prometheus;
  }

  /** Stops listening; the registry keeps serving the last values. */
  dispose(): void {
    this.counts.dispose();
    for (const [name, fn] of Object.entries(this.listeners)) {
      this.events.off(name as keyof RunEvents, fn as (...args: unknown[]) => void);
    }
  }

  /** The current values (memory read now) and the run's peaks, as plain JSON for report.json. */
  snapshot(): MetricsSnapshot {
    const now = this.now();
    let oldestStart = now;
    const inFlight = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
    for (const attempt of this.inFlight.values()) {
      oldestStart = Math.min(oldestStart, attempt.startedAt);
      inFlight[attempt.stage] += 1;
    }
    const oldestMs = Math.max(0, now - oldestStart);
    const open = this.inFlight.size + this.waiting.size;
    const c = this.counts;
    const items: Record<Outcome, number> = {
      done: c.done,
      failed: c.failed,
      retried: c.retries,
      abandoned: c.abandoned,
      duplicate: c.duplicates,
      interrupted: c.interrupted,
    };
    const { done, failed, interrupted, duplicate } = items;
    const memory = this.readMemory();
    return {
      ...(this.worker === undefined ? {} : { worker: this.worker }),
      items,
      failures: Object.fromEntries([...this.failures].map(([code, n]) => [code, { ...n }])),
      queued:
        this.total === null ? 0 : Math.max(0, this.total - done - failed - interrupted - duplicate - open),
      retryWaiting: this.waiting.size,
      inFlight,
      oldestInFlightSeconds: oldestMs / 1000,
      limit: this.limit,
      logins: c.logins,
      relogins: c.relogins,
      filesWritten: c.filesWritten,
      bytesWritten: c.bytes,
      rateLimitHolds: this.rateLimitHolds,
      rateLimitHoldSeconds: Math.max(0, this.heldUntil - now) / 1000,
      pagesReplaced: Object.fromEntries(this.pagesReplaced),
      memory: { rssBytes: memory.rssBytes, anonBytes: memory.anonBytes, processes: memory.processes },
      peak: {
        inFlight: this.peakInFlight,
        oldestInFlightSeconds: Math.max(this.longestEndedMs, oldestMs) / 1000,
      },
    };
  }

  /**
   * One snapshot per scrape: prom-client calls every metric's `collect` in the same tick, so they all read the
   * snapshot the first one took (and /proc is read once), which is dropped after that tick.
   */
  private scrapeSnapshot(): () => MetricsSnapshot {
    let current: MetricsSnapshot | null = null;
    return () => {
      if (current === null) {
        current = this.snapshot();
        queueMicrotask(() => {
          current = null;
        });
      }
      return current;
    };
  }

  private end(key: string): void {
    const attempt = this.inFlight.get(key);
    if (!attempt) return;
    this.inFlight.delete(key);
    this.longestEndedMs = Math.max(this.longestEndedMs, this.now() - attempt.startedAt);
  }

  private failure(error: unknown): { failed: number; retried: number } {
    let code = codeOf(error);
    if (!this.failures.has(code) && this.failures.size >= MAX_CODES) code = 'OTHER';
    let counts = this.failures.get(code);
    if (!counts) {
      counts = { failed: 0, retried: 0 };
      this.failures.set(code, counts);
    }
    return counts;
  }
}

/** The error's stable `code` (ours, undici's, Node's), or 'UNKNOWN'; never its message (unbounded). */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : 'UNKNOWN';
}

function validate(options: MetricsCollectorOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected \`options\` to be an object, got \`${String(options)}\``);
  }
  const problems: string[] = [];
  const { worker } = options;
  // A label value may be any UTF-8, but a worker name ends up in dashboards and shell commands: keep it plain.
  if (worker !== undefined && !(typeof worker === 'string' && /^[A-Za-z0-9_.:@-]{1,128}$/.test(worker))) {
    problems.push(`Expected \`worker\` to be 1 to 128 letters, digits or _.:@-, got \`${String(worker)}\``);
  }
  for (const name of ['now', 'memory'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      problems.push(`Expected \`${name}\` to be a function, got \`${String(options[name])}\``);
    }
  }
  if (problems.length > 0) throw new TypeError(problems.join('; '));
}
