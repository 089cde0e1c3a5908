// The one-paragraph summary in words printed when a run ends, in every mode but quiet.
import { describe, EXIT_CODES, exitCodeOf } from '../errors.js';
import type { RunStats } from './run-stats.js';
import { formatBytes, formatDuration, plural, toAscii } from './text-format.js';

/**
 * E.g. `Done in 31.2 s: 298 of 300 items saved (412.5 MB), 2 failed, 5 retries, 1 re-login.`, or for a refresh
 * `Done in 4.1 s: 100 of 100 items done: 2 saved, 8 updated, 90 unchanged (52.3 KB written), ...`, followed by the
 * items the listing no longer showed, and for a stopped run how many items are left and that running again resumes.
 */
export function formatSummary(stats: RunStats, now: number): string {
  const total = stats.total;
  const of = total === null ? plural(stats.done, 'item') : `${stats.done} of ${plural(total, 'item')}`;
  const parts = [
    stats.refreshing
      ? `${of} done: ${stats.saved} saved, ${stats.updated} updated, ${stats.unchanged} unchanged (${formatBytes(stats.bytes)} written)`
      : `${of} saved (${formatBytes(stats.bytes)})`,
  ];
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
  if (stats.badRefs > 0) parts.push(`${plural(stats.badRefs, 'bad ref')} skipped`);

  const duration = formatDuration(stats.elapsedMs(now));
  const head = stats.reason === 'fatal' ? `Stopped after ${duration}` : `Done in ${duration}`;
  let text = `${head}: ${parts.join(', ')}.`;
  if (stats.gone && stats.gone.length > 0) text += ` ${formatGone(stats.gone)}`;

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

/** One skipped bad ref, as stderr shows it: `BAD REF from the listing page URL: site.key() gave an empty string: {...}`. */
export function formatBadRef({ ref, where, reason }: { ref: string; where: string; reason: string }): string {
  return `BAD REF from ${toAscii(where)}: ${toAscii(reason)}: ${toAscii(ref)}`;
}

/**
 * `2 items not in the last listing (kept on disk): S00050, S00100.`: the done items a complete listing no longer
 * showed, up to 5 keys named (report.json and `pagepool status` have them all).
 */
export function formatGone(keys: readonly string[]): string {
  const named = keys
    .slice(0, 5)
    .map((k) => toAscii(k))
    .join(', ');
  return `${plural(keys.length, 'item')} not in the last listing (kept on disk): ${named}${keys.length > 5 ? ', ...' : ''}.`;
}

/** How the run summary names the two kinds of failure; `pagepool status` uses the same words (tested). */
export const FAILED_RETRIED = 'failed (will be retried)';
export const FAILED_PERMANENTLY = 'failed permanently';

/**
 * A run that found nothing left to try, with what the checkpoint holds, what the source showed (`listed`: the last
 * 'list:progress') and the bad refs it skipped.
 */
export function formatNothingToDo(counts: {
  done: number;
  failedPermanently: number;
  listed?: { pages: number | null; seen: number } | null;
  badRefs?: number;
  /** The done items the listing, complete, no longer showed ('list:gone'). */
  gone?: readonly string[] | null;
}): string {
  const { listed, badRefs = 0, gone } = counts;
  const source =
    listed === undefined || listed === null
      ? ''
      : listed.pages === null
        ? `the refs gave ${plural(listed.seen, 'item')}, none new; `
        : `the listing showed ${plural(listed.seen, 'item')} on ${plural(listed.pages, 'page')}, none new; `;
  const held =
    counts.failedPermanently === 0
      ? `all ${plural(counts.done, 'item')} in the checkpoint are done already.`
      : `${plural(counts.done, 'item')} in the checkpoint are done already and ` +
        `${counts.failedPermanently} ${FAILED_PERMANENTLY} (--retry-failed tries them again).`;
  const bad = badRefs > 0 ? ` ${plural(badRefs, 'bad ref')} skipped (see above).` : '';
  const left = gone && gone.length > 0 ? ` ${formatGone(gone)}` : '';
  return `Nothing to do: ${source}${held}${bad}${left}`;
}
