// The checkpoint part's public surface.
export {
  Checkpoint,
  type CheckpointOptions,
  type FailureInput,
} from './checkpoint.js';
export { CheckpointCorruptError } from './checkpoint-corrupt-error.js';
export { type CheckpointFile, type CheckpointFs, nodeCheckpointFs } from './checkpoint-fs.js';
export { journalPathFor } from './checkpoint-paths.js';
export type { CheckpointSummary } from './checkpoint-summary.js';
export { readManifestClaims } from './manifest-claims.js';
export type { RecordedFile } from './recorded-file.js';
export { repairCheckpoint } from './repair.js';
export { startFresh } from './start-fresh.js';
export { formatStatus, readStatus } from './status.js';
