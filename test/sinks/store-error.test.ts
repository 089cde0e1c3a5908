// The one-line messages for store refusals s3rver cannot produce (it has no policies, tokens or regions).
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/errors.js';
import { preflightError, uploadError } from '../../src/sinks/store-error.js';

const sdk = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} message`), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
    ...extra,
  });

describe('preflightError', () => {
  it.each([
    [
      sdk('AccessDenied', 403),
      'access is denied: the credentials must allow s3:ListBucket, s3:PutObject, s3:GetObject and s3:DeleteObject on it',
    ],
    [
      sdk('ExpiredToken', 400),
      'the session token is expired or invalid: refresh the credentials (AWS_SESSION_TOKEN)',
    ],
    [
      sdk('CredentialsProviderError'),
      'no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)',
    ],
    [Object.assign(new Error('Region is missing'), { name: 'Error' }), 'no region is set: set AWS_REGION'],
    [
      sdk('Error', undefined, { code: 'ENOTFOUND' }),
      'the endpoint cannot be reached (ENOTFOUND): check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and that the store is running',
    ],
    [sdk('InternalError', 500), 'the store answered 500 (InternalError message)'],
  ])('%s', (err, what) => {
    const e = preflightError(err, 'b1', undefined);
    expect(e.code).toBe('CONFIG');
    expect(e.message).toBe(`Cannot upload to bucket \`b1\`: ${what}.`);
    expect(e.cause).toBe(err);
  });
});

describe('uploadError', () => {
  it.each([
    [sdk('AccessDenied', 403), 'UPLOAD_DENIED', 'fatal'],
    [sdk('NoSuchBucket', 404), 'UPLOAD_DENIED', 'fatal'],
    [sdk('SlowDown', 503), 'UPLOAD_FAILED', 'retry'],
    [sdk('InternalError', 500), 'UPLOAD_FAILED', 'retry'],
    [sdk('Error', undefined, { code: 'ECONNRESET' }), 'UPLOAD_FAILED', 'retry'],
  ])('%s -> %s', (err, code, decision) => {
    const e = uploadError(err, 's3://b1/k');
    expect(e.code).toBe(code);
    expect(classify(e)).toBe(decision);
    expect(e.message.startsWith('Upload to s3://b1/k ')).toBe(true);
  });
});
