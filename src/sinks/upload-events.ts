// What the upload stage tells its listeners (progress UI, report, metrics); RunEvents can extend it.
export interface UploadEvents {
  /** A file got an upload slot and is being checked against the bucket / sent. */
  'upload:start': [{ key: string; path: string; object: string; bytes: number }];
  /** `bytes` more of the file reached the store. */
  'upload:progress': [{ key: string; path: string; bytes: number }];
  /** The object is in the bucket; `skipped` when it already was, with the same sha256. */
  'upload:done': [{ key: string; path: string; object: string; bytes: number; skipped: boolean; ms: number }];
  /** The upload failed (after the SDK's retries); the item's policy decides what happens next. */
  'upload:failed': [{ key: string; path: string; object: string; error: unknown }];
}
