// Read-only status of a checkpoint for `pagepool status`: never writes, never truncates.
import { nodeCheckpointFs } from './checkpoint-fs.js';
import { loadCheckpoint } from './checkpoint-loader.js';
import { journalPathFor } from './checkpoint-paths.js';
import { type CheckpointSummary, summarize } from './checkpoint-summary.js';

/** Loads the checkpoint at `path` without changing any file (a torn last journal line is just not counted). */
export async function readStatus(path: string): Promise<CheckpointSummary> {
  const loaded = await loadCheckpoint(nodeCheckpointFs, path, journalPathFor(path));
  return summarize(loaded.state);
}

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

/** Human text, ASCII only (safe for any terminal and log). */
export function formatStatus(summary: CheckpointSummary, path: string): string {
  // The run summary's words (src/ui/run-summary.ts): a transient failure is tried again by the next run.
  const retried = summary.failuresByReason.filter((f) => !f.permanent).reduce((n, f) => n + f.count, 0);
  const row = (label: string, count: string, note: string) =>
    `  ${label.padEnd(24)}${count.padStart(9)} items, ${note}`;
  const lines = [
    `Checkpoint ${path}`,
    row('done', int(summary.done), size(summary.bytes)),
    ...(summary.uploaded > 0 ? [row('uploaded', int(summary.uploaded), 'every file in the bucket')] : []),
    row('failed (will be retried)', int(retried), 'tried again on the next run'),
    row('failed permanently', int(summary.failed), 'skipped unless --retry-failed'),
    row('started, not finished', int(Math.max(0, summary.pending - retried)), 'tried again on the next run'),
    `  updated  ${summary.firstUpdate ?? '-'} .. ${summary.lastUpdate ?? '-'}`,
  ];
  if (summary.failuresByReason.length > 0) {
    lines.push('  failures by reason:');
    for (const f of summary.failuresByReason) {
      lines.push(`    ${int(f.count).padStart(9)}  ${f.permanent ? 'permanent' : 'transient'}  ${f.reason}`);
    }
  }
  // Reasons come from remote pages and errors: keep the output plain ASCII.
  return lines.join('\n').replace(/[^\x20-\x7e\n]/g, '?');
}
