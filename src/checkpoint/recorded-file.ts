// A file as the checkpoint and manifest record it: whole on disk, and where it was uploaded, if it was.
import type { SavedFile } from '../files/types.js';

export interface RecordedFile extends SavedFile {
  /** `s3://BUCKET/KEY` of the object holding these bytes; absent until uploaded. */
  object?: string;
  /** The store's ETag for the object (quotes removed). */
  etag?: string;
}
