// The Prometheus names of the collector's values (base units, `_total` on counters), read from one snapshot per
// scrape. The README's metrics table follows this list.
import type { Registry } from 'prom-client';
import type { MetricsSnapshot } from './metrics-collector.js';
import { promClient } from './prom-client.js';

type Labels = Record<string, string>;
/** A metric's values: one number, or one per label set. */
type Values = number | Array<[Labels, number]>;

interface Definition {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labelNames?: string[];
  read(s: MetricsSnapshot): Values;
}

const byLabel = (label: string, record: Record<string, number>): Array<[Labels, number]> =>
  Object.entries(record).map(([value, n]) => [{ [label]: value }, n]);

const DEFINITIONS: Definition[] = [
  {
    name: 'pagepool_items_total',
    help: 'Items done, failed for good, retries scheduled, attempts abandoned, duplicates skipped, items interrupted.',
    type: 'counter',
    labelNames: ['outcome'],
    read: (s) => byLabel('outcome', s.items),
  },
  {
    name: 'pagepool_item_failures_total',
    help: 'Failed attempts by error code; outcome="failed" ended the item, outcome="retried" sent it to the retry queue.',
    type: 'counter',
    labelNames: ['code', 'outcome'],
    read: (s) =>
      Object.entries(s.failures).flatMap(
        ([code, n]): Array<[Labels, number]> => [
          [{ code, outcome: 'failed' }, n.failed],
          [{ code, outcome: 'retried' }, n.retried],
        ],
      ),
  },
  {
    name: 'pagepool_items_queued',
    help: 'Items the source gave that have not started yet (0 while the total is unknown, as in fleet mode).',
    type: 'gauge',
    read: (s) => s.queued,
  },
  {
    name: 'pagepool_items_retry_waiting',
    help: 'Items waiting in the retry queue, holding no page.',
    type: 'gauge',
    read: (s) => s.retryWaiting,
  },
  {
    name: 'pagepool_items_in_flight',
    help: 'Attempts running, by stage: starting (waiting for a page), page (holding one), download (page released).',
    type: 'gauge',
    labelNames: ['stage'],
    read: (s) => byLabel('stage', s.inFlight),
  },
  {
    name: 'pagepool_oldest_in_flight_seconds',
    help: 'Age of the oldest attempt running now (0 when none is).',
    type: 'gauge',
    read: (s) => s.oldestInFlightSeconds,
  },
  {
    name: 'pagepool_in_flight_limit',
    help: 'Attempts allowed in flight now: the concurrency, or less while the adaptive limit is down.',
    type: 'gauge',
    read: (s) => s.limit,
  },
  {
    name: 'pagepool_logins_total',
    help: 'Logins done, the first one included.',
    type: 'counter',
    read: (s) => s.logins,
  },
  {
    name: 'pagepool_relogins_total',
    help: 'Shared re-logins started after a session expired.',
    type: 'counter',
    read: (s) => s.relogins,
  },
  {
    name: 'pagepool_files_written_total',
    help: 'Files whole on disk.',
    type: 'counter',
    read: (s) => s.filesWritten,
  },
  {
    name: 'pagepool_written_bytes_total',
    help: 'Bytes of the files whole on disk.',
    type: 'counter',
    read: (s) => s.bytesWritten,
  },
  {
    name: 'pagepool_rate_limit_holds_total',
    help: 'Times new starts were held after a 429.',
    type: 'counter',
    read: (s) => s.rateLimitHolds,
  },
  {
    name: 'pagepool_rate_limit_hold_seconds',
    help: 'How much longer new starts are held after a 429 (0 when they are not).',
    type: 'gauge',
    read: (s) => s.rateLimitHoldSeconds,
  },
  {
    name: 'pagepool_pages_replaced_total',
    help: 'Pages closed and replaced, by reason (recycled, memory, context, aborted, abandoned, crashed, timeout, navigation failed).',
    type: 'counter',
    labelNames: ['reason'],
    read: (s) => byLabel('reason', s.pagesReplaced),
  },
  {
    name: 'pagepool_process_tree_resident_memory_bytes',
    help: 'Resident memory of this process and its descendants (Chromium) summed: shared pages count once per process.',
    type: 'gauge',
    read: (s) => s.memory.rssBytes,
  },
  {
    name: 'pagepool_process_tree_anonymous_memory_bytes',
    help: 'Resident anonymous memory (heaps) of this process and its descendants summed: mostly private, close to PSS.',
    type: 'gauge',
    read: (s) => s.memory.anonBytes,
  },
  {
    name: 'pagepool_process_tree_processes',
    help: 'This process and its live descendants (Chromium browser, GPU and renderer processes).',
    type: 'gauge',
    read: (s) => s.memory.processes,
  },
];

/** The names `registerMetrics` serves, in order. */
export const METRIC_NAMES: readonly string[] = DEFINITIONS.map((d) => d.name);

/** Registers every metric on `registry`; each reads `read()` when scraped. */
export function registerMetrics(registry: Registry, read: () => MetricsSnapshot): void {
  const { Counter, Gauge } = promClient();
  for (const d of DEFINITIONS) {
    const labelNames = d.labelNames ?? [];
    if (d.type === 'gauge') {
      new Gauge({
        name: d.name,
        help: d.help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          const values = d.read(read());
          if (typeof values === 'number') this.set(values);
          else for (const [labels, n] of values) this.set(labels, n);
        },
      });
    } else {
      new Counter({
        name: d.name,
        help: d.help,
        labelNames,
        registers: [registry],
        // The collector holds the totals; the counter shows them (a counter can only be reset and increased).
        collect() {
          this.reset();
          const values = d.read(read());
          if (typeof values === 'number') this.inc(values);
          else for (const [labels, n] of values) this.inc(labels, n);
        },
      });
    }
  }
}
