// What an S3 SDK error means for pagepool: a preflight error the user must fix, a refusal that stops the run,
// or a transient failure the item's retry policy handles.
import { ConfigError, UploadDeniedError, UploadFailedError } from '../errors.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const asSdk = (err: unknown): SdkError => (typeof err === 'object' && err !== null ? (err as SdkError) : {});

/** The HTTP status the store answered with, if it answered. */
export function statusOf(err: unknown): number | undefined {
  return asSdk(err).$metadata?.httpStatusCode;
}

const DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

export function isDenied(err: unknown): boolean {
  const e = asSdk(err);
  return statusOf(err) === 403 || DENIED.has(e.name ?? '');
}

export function isNoBucket(err: unknown): boolean {
  return asSdk(err).name === 'NoSuchBucket';
}

export function isNotFound(err: unknown): boolean {
  const name = asSdk(err).name;
  return statusOf(err) === 404 || name === 'NotFound' || name === 'NoSuchKey';
}

/** No answer at all: refused, reset, unresolvable, timed out. */
export function isUnreachable(err: unknown): boolean {
  const e = asSdk(err);
  return (
    statusOf(err) === undefined &&
    (NETWORK.has(e.code ?? '') || NETWORK.has(e.name ?? '') || e.name === 'TimeoutError')
  );
}

const CREDENTIALS_HINT = 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)';

/** One line for a preflight failure: names the bucket and what to fix. */
export function preflightError(err: unknown, bucket: string, endpoint: string | undefined): ConfigError {
  const e = asSdk(err);
  const where = endpoint ? ` at ${endpoint}` : '';
  const name = e.name ?? '';
  let what: string;
  if (name === 'CredentialsProviderError') what = `no AWS credentials were found: set ${CREDENTIALS_HINT}`;
  else if (/region is missing/i.test(e.message ?? '')) what = 'no region is set: set AWS_REGION';
  else if (isUnreachable(err))
    what = `the endpoint cannot be reached (${e.code ?? name}): check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and that the store is running`;
  else if (name === 'InvalidAccessKeyId')
    what = `the access key is not known to the store: check ${CREDENTIALS_HINT}`;
  else if (name === 'SignatureDoesNotMatch')
    what = 'the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY';
  else if (name === 'ExpiredToken' || name === 'InvalidToken')
    what = 'the session token is expired or invalid: refresh the credentials (AWS_SESSION_TOKEN)';
  else if (isNoBucket(err) || isNotFound(err))
    what = 'the bucket does not exist: create it, or fix the bucket name in --upload';
  else if (isDenied(err))
    what =
      'access is denied: the credentials must allow s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on it';
  else what = `the store answered ${statusOf(err) ?? 'with an error'} (${firstLine(e.message ?? name)})`;
  return new ConfigError(`Cannot upload to bucket \`${bucket}\`${where}: ${what}.`, { cause: err });
}

/** A failed upload request, after the SDK's own retries: refused (stops the run) or transient (retried). */
export function uploadError(err: unknown, url: string): UploadDeniedError | UploadFailedError {
  const e = asSdk(err);
  const why = firstLine(e.message || e.name || String(err));
  if (isDenied(err) || isNoBucket(err)) {
    return new UploadDeniedError(
      `Upload to ${url} was refused (${e.name ?? statusOf(err)}: ${why}); the run stops, unfinished items stay pending. ` +
        'Fix the credentials or the bucket, then run again to resume.',
      { cause: err },
    );
  }
  return new UploadFailedError(`Upload to ${url} failed: ${why}`, { cause: err });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
