// A file as the checkpoint and manifest record it: whole on disk, where it was uploaded (if it was), and where it was
// fetched from with the server's validators (`http`, from SavedFile), which a refresh asks with.
import type { SavedFile } from '../files/types.js';

export interface RecordedFile extends SavedFile {
  /** `s3://BUCKET/KEY` of the object holding these bytes; absent until uploaded. */
  object?: string;
  /** The store's ETag for the object (quotes removed). */
  etag?: string;
}
