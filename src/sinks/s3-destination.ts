// `s3://BUCKET/PREFIX`: where uploads go, parsed once with an error that says what is wrong.
import { ConfigError } from '../errors.js';

export interface S3Destination {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

// S3's rules for bucket names (3-63 lowercase letters, digits, dots, hyphens; starts and ends alphanumeric).
// Underscores and capitals are accepted too, as some S3-compatible stores allow them with path-style addressing.
const BUCKET = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$/;

/** What is wrong with `url` as `s3://BUCKET[/PREFIX]`, or null when nothing is. */
export function s3UrlProblem(url: string): string | null {
  if (!url.startsWith('s3://')) return 'it must start with s3://';
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (bucket === '') return 'the bucket name is missing';
  if (!BUCKET.test(bucket)) return `\`${bucket}\` is not a valid bucket name`;
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '..' || part === '.'))
    return 'the prefix must not contain `.` or `..` segments';
  if (prefix.includes('//')) return 'the prefix must not contain empty segments';
  return null;
}

/** Parses `s3://BUCKET[/PREFIX]`; `field` names the setting in the error (e.g. `--upload`). */
export function parseS3Url(url: string, field = 'upload'): S3Destination {
  const problem = s3UrlProblem(url);
  if (problem !== null)
    throw new ConfigError(`Expected \`${field}\` to be s3://BUCKET/PREFIX, got \`${url}\`: ${problem}`);
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  return { bucket, prefix };
}

/** The object key of a file saved at `path` (relative to the output folder, forward slashes). */
export function objectKey(dest: S3Destination, path: string): string {
  return dest.prefix === '' ? path : `${dest.prefix}/${path}`;
}

export function formatS3Url(bucket: string, key = ''): string {
  return `s3://${bucket}/${key}`;
}
