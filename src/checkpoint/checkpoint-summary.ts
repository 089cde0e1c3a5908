// The counts a user sees for a checkpoint: done, failed, pending, bytes, failures grouped by reason.
import { type CheckpointState, FAILED } from './checkpoint-state.js';

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
  /** Every failed item (permanent and transient), grouped; most frequent first. */
  failuresByReason: Array<{ reason: string; count: number; permanent: boolean }>;
  firstUpdate: string | null;
  lastUpdate: string | null;
}

export function summarize(state: CheckpointState): CheckpointSummary {
  const groups = new Map<string, { reason: string; count: number; permanent: boolean }>();
  if (state.failedCount + state.pendingCount > 0) {
    for (const item of state.items.values()) {
      if (typeof item === 'number' || item.status !== FAILED || !item.failure) continue;
      const id = `${item.failure.permanent ? 'p' : 't'}${item.failure.reason}`;
      const group = groups.get(id);
      if (group) group.count++;
      else groups.set(id, { reason: item.failure.reason, count: 1, permanent: item.failure.permanent });
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
