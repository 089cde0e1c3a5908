// The one-paragraph summary in words printed when a run ends, in every mode but quiet.
import { describe, EXIT_CODES, exitCodeOf } from '../errors.js';
import type { RunStats } from './run-stats.js';
import { formatBytes, formatDuration, plural, toAscii } from './text-format.js';

/**
 * E.g. `Done in 31.2 s: 298 of 300 items saved (412.5 MB), 2 failed, 5 retries, 1 re-login.`
 * followed, for a stopped run, by how many items are left and that running again resumes.
 */
export function formatSummary(stats: RunStats, now: number): string {
  const total = stats.total;
  const saved =
    total === null
      ? `${plural(stats.done, 'item')} saved`
      : `${stats.done} of ${plural(total, 'item')} saved`;
  const parts = [`${saved} (${formatBytes(stats.bytes)})`];
  const u = stats.uploads;
  if (stats.uploading) {
    const already = u.skipped > 0 ? `, ${u.skipped} already in the bucket` : '';
    parts.push(`${plural(u.uploaded, 'file')} uploaded (${formatBytes(u.bytes)}${already})`);
  }
  if (u.failed > 0) parts.push(plural(u.failed, 'failed upload'));
  // The same words as `pagepool status`: a transient failure is tried again by the next run.
  const retriedLater = stats.failed - stats.permanent;
  if (retriedLater > 0) parts.push(`${retriedLater} ${FAILED_RETRIED}`);
  if (stats.permanent > 0) parts.push(`${stats.permanent} ${FAILED_PERMANENTLY}`);
  if (stats.retries > 0) parts.push(plural(stats.retries, 'retry', 'retries'));
  if (stats.relogins > 0) parts.push(plural(stats.relogins, 're-login'));
  if (stats.abandoned > 0) parts.push(`${plural(stats.abandoned, 'stuck task')} restarted`);
  if (stats.skipped > 0) parts.push(`${stats.skipped} skipped (done in an earlier run)`);
  if (stats.duplicates > 0) parts.push(`${plural(stats.duplicates, 'duplicate key')} ignored`);

  const duration = formatDuration(stats.elapsedMs(now));
  const head = stats.reason === 'fatal' ? `Stopped after ${duration}` : `Done in ${duration}`;
  let text = `${head}: ${parts.join(', ')}.`;

  const pending = stats.pending();
  const left = pending > 0 ? ` ${plural(pending, 'item')} left pending; run again to resume.` : '';
  if (stats.reason === 'interrupted') {
    text += ` Interrupted:${left || ' nothing left pending.'}`;
  } else if (stats.reason === 'fatal' && exitCodeOf(stats.error) === EXIT_CODES.diskSpace) {
    // The one line on stderr says where, how much is free and how much is needed; numbers taken at another
    // moment here would tell a second story.
    text += ` Out of disk space.${left}`;
  } else if (stats.reason === 'fatal') {
    const cause =
      stats.error === undefined ? 'unknown error' : toAscii(describe(stats.error)).replace(/\.+$/, '');
    // A setting to fix (a bad --refs line, say) would stop the next run the same way: no "run again".
    const fixFirst = exitCodeOf(stats.error) === EXIT_CODES.usage;
    const rest = fixFirst && pending > 0 ? ` ${plural(pending, 'item')} left pending.` : fixFirst ? '' : left;
    text += ` Error: ${cause}.${rest}`;
  }
  return text;
}

/** How the run summary names the two kinds of failure; `pagepool status` uses the same words (tested). */
export const FAILED_RETRIED = 'failed (will be retried)';
export const FAILED_PERMANENTLY = 'failed permanently';

/** A run that found nothing left to try, with what the checkpoint holds. */
export function formatNothingToDo(counts: { done: number; failedPermanently: number }): string {
  if (counts.failedPermanently === 0) {
    return `Nothing to do: all ${plural(counts.done, 'item')} in the checkpoint are done already.`;
  }
  return (
    `Nothing to do: ${plural(counts.done, 'item')} in the checkpoint are done already and ` +
    `${counts.failedPermanently} ${FAILED_PERMANENTLY} (--retry-failed tries them again).`
  );
}
