// The sinks part's public surface: where finished files go after the disk.
export { contentTypeOf } from './content-type.js';
export { objectKey, parseS3Url, type S3Destination } from './s3-destination.js';
export { type LocalFile, S3Sink, type S3SinkOptions, type UploadRecord } from './s3-sink.js';
export type { UploadEvents } from './upload-events.js';
export {
  openUploadStage,
  type Uploader,
  type UploadStage,
  type UploadStageOptions,
  type UploadStats,
} from './upload-stage.js';
