// Read-only status of a checkpoint for `pagepool status`: never writes, never truncates.
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { loadCheckpoint } from './checkpoint-loader.js';
import { journalPathFor } from './checkpoint-paths.js';
import { type CheckpointSummary, summarize } from './checkpoint-summary.js';
import { readLastListing } from './last-listing.js';

/**
 * Loads the checkpoint at `path` without changing any file (a torn last journal line is just not counted), with
 * what the last complete listing showed.
 */
export async function readStatus(path: string): Promise<CheckpointSummary> {
  const loaded = await loadCheckpoint(nodeCheckpointFs, path, journalPathFor(path));
  return { ...summarize(loaded.state), lastListing: await readLastListing(path) };
}

/** The status row and `--json` field of the done items the last complete listing no longer showed. */
export const NOT_IN_LAST_LISTING = 'not in the last listing';

const int = (n: number): string => n.toLocaleString('en-US');

function size(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The counts `status` shows, in the words of its text and of the run summary (src/ui/run-summary.ts): the text and
 * `--json` are both made from these, so they say the same. `failed` counts every item whose last try failed, as the
 * run summary does; `pending` is what the next run tries again.
 */
export interface StatusCounts {
  done: number;
  uploaded: number;
  failed: number;
  failedWillBeRetried: number;
  failedPermanently: number;
  startedNotFinished: number;
  pending: number;
  bytes: number;
  failuresByReason: CheckpointSummary['failuresByReason'];
  firstUpdate: string | null;
  lastUpdate: string | null;
  /**
   * Done items the last complete listing no longer showed (they left the portal; their files are kept), with when
   * that listing ended; null before any listing ended complete.
   */
  notInLastListing: { count: number; keys: string[]; listedAt: string } | null;
}

export function statusCounts(summary: CheckpointSummary): StatusCounts {
  const retried = summary.failuresByReason.filter((f) => !f.permanent).reduce((n, f) => n + f.count, 0);
  return {
    done: summary.done,
    uploaded: summary.uploaded,
    failed: retried + summary.failed,
    failedWillBeRetried: retried,
    failedPermanently: summary.failed,
    startedNotFinished: Math.max(0, summary.pending - retried),
    pending: summary.pending,
    bytes: summary.bytes,
    failuresByReason: summary.failuresByReason,
    firstUpdate: summary.firstUpdate,
    lastUpdate: summary.lastUpdate,
    notInLastListing: goneOf(summary),
  };
}

/** The gone keys that are still done in the checkpoint (a `--fresh` start or a repair may have dropped some). */
function goneOf(summary: CheckpointSummary): StatusCounts['notInLastListing'] {
  const listing = summary.lastListing;
  if (!listing) return null;
  return { count: listing.gone.length, keys: listing.gone, listedAt: listing.at };
}

/** Up to 5 keys, then `...`. */
function examples(keys: readonly string[]): string {
  return `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''}`;
}

/** Human text, ASCII only (safe for any terminal and log). */
export function formatStatus(summary: CheckpointSummary, path: string): string {
  const c = statusCounts(summary);
  const row = (label: string, count: string, note: string) =>
    `  ${label.padEnd(24)}${count.padStart(9)} items, ${note}`;
  const lines = [
    `Checkpoint ${path}`,
    row('done', int(c.done), size(c.bytes)),
    ...(c.uploaded > 0 ? [row('uploaded', int(c.uploaded), 'every file in the bucket')] : []),
    row('failed (will be retried)', int(c.failedWillBeRetried), 'tried again on the next run'),
    row('failed permanently', int(c.failedPermanently), 'skipped unless --retry-failed'),
    row('started, not finished', int(c.startedNotFinished), 'tried again on the next run'),
    ...(c.notInLastListing && c.notInLastListing.count > 0
      ? [
          row(
            NOT_IN_LAST_LISTING,
            int(c.notInLastListing.count),
            `kept on disk (listing of ${c.notInLastListing.listedAt}): ${examples(c.notInLastListing.keys)}`,
          ),
        ]
      : []),
    `  updated  ${c.firstUpdate ?? '-'} .. ${c.lastUpdate ?? '-'}`,
  ];
  if (c.failuresByReason.length > 0) {
    lines.push('  failures by reason:');
    for (const f of c.failuresByReason) {
      const examples = f.examples?.length
        ? ` (${f.examples.join(', ')}${f.count > f.examples.length ? ', ...' : ''})`
        : '';
      lines.push(
        `    ${int(f.count).padStart(9)}  ${f.permanent ? 'permanent' : 'transient'}  ${f.reason}${examples}`,
      );
    }
  }
  // Reasons come from remote pages and errors: keep the output plain ASCII.
  return lines.join('\n').replace(/[^\x20-\x7e\n]/g, '?');
}
