// The counts a user sees for a checkpoint: done, failed, pending, bytes, failures grouped by reason.
import { type CheckpointState, FAILED } from './checkpoint-state.js';
import type { LastListing } from './last-listing.js';

export interface CheckpointSummary {
  done: number;
  /** Items whose last outcome is a permanent failure (skipped on resume). */
  failed: number;
  /** Started and not finished, plus transient failures (both processed again on resume). */
  pending: number;
  /** Done items whose every file is recorded as uploaded. */
  uploaded: number;
  /** Bytes of all files of done items. */
  bytes: number;
  /**
   * Every failed item (permanent and transient), grouped by reason with the item's own key taken out (`vehicle
   * <key> answered HTTP 500` once, not once per vehicle); most frequent first, with up to 3 example keys.
   */
  failuresByReason: FailureGroup[];
  firstUpdate: string | null;
  lastUpdate: string | null;
  /** What the last complete listing showed (read by `readStatus`; absent where unknown). */
  lastListing?: LastListing | null;
}

export interface FailureGroup {
  reason: string;
  count: number;
  permanent: boolean;
  /** Up to 3 keys of items that failed so. */
  examples?: string[];
}

/** Where a reason names its item, the key is replaced by this, so items that failed alike group together. */
export const KEY_PLACEHOLDER = '<key>';

export function summarize(state: CheckpointState): CheckpointSummary {
  const groups = new Map<string, FailureGroup & { examples: string[] }>();
  if (state.failedCount + state.pendingCount > 0) {
    for (const [key, item] of state.items) {
      if (typeof item === 'number' || item.status !== FAILED || !item.failure) continue;
      const reason = withoutKey(item.failure.reason, key);
      const id = `${item.failure.permanent ? 'p' : 't'}${reason}`;
      const group = groups.get(id);
      if (group) {
        group.count++;
        if (group.examples.length < 3) group.examples.push(key);
      } else groups.set(id, { reason, count: 1, permanent: item.failure.permanent, examples: [key] });
    }
  }
  return {
    done: state.doneCount,
    failed: state.failedCount,
    pending: state.pendingCount,
    uploaded: state.uploadedCount,
    bytes: state.bytes,
    failuresByReason: [...groups.values()].sort(
      (a, b) => b.count - a.count || a.reason.localeCompare(b.reason),
    ),
    firstUpdate: state.firstUpdate,
    lastUpdate: state.lastUpdate,
  };
}

/** `reason` with `key` (as a whole word, 3 characters or more: a short key could be part of any word) taken out. */
function withoutKey(reason: string, key: string): string {
  if (key.length < 3 || !reason.includes(key)) return reason;
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return reason.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, 'g'), KEY_PLACEHOLDER);
}
