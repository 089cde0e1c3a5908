// A private s3rver (a real S3 protocol server) for one test file, on a free port on 127.0.0.1, with its own
// credentials. s3rver 3.7.1 only checks that a SigV4 request's access key exists and never checks the
// signature, so a small middleware in front of it verifies the signature with the secret, as S3 does.
import { createHash, createHmac } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';

const require = createRequire(import.meta.url);

interface KoaContext {
  method: string;
  status: number;
  path: string;
  req: { url?: string };
  headers: Record<string, string | string[] | undefined>;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rverInstance {
  middleware: Middleware[];
  httpServer?: Server;
  run(): Promise<{ port: number }>;
}
interface S3rverClass {
  new (options: Record<string, unknown>): S3rverInstance;
}
interface AccountClass {
  new (
    id: number,
    name: string,
  ): { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void };
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

const S3rver = require('s3rver') as S3rverClass;
const AWSAccount = require('s3rver/lib/models/account') as AccountClass;
const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;

interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: Record<string, string>;
}
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}
const FilesystemStoreClass = require('s3rver/lib/stores/filesystem') as { prototype: FilesystemStore };

/**
 * s3rver 3.7.1 answers a PUT once the body has passed its MD5 (a Buffer body: at once), before its write stream has
 * even opened the object's file, and that stream has no error handler: a DELETE that comes first (our preflight
 * puts, heads and deletes a test object within milliseconds) removes the folder, the open fails with ENOENT, and
 * the exception is uncaught in the test process (seen in CI). A store answers a PUT once the object is written:
 * this writes it through a pipeline that finishes when the file is closed and fails the PUT on an error.
 */
FilesystemStoreClass.prototype.putObject = async function putObject(this: FilesystemStore, object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await mkdir(path.dirname(objectPath), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
  await pipeline(
    source,
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    }),
    createWriteStream(objectPath),
  );
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

export interface S3Server {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The folder s3rver keeps buckets in (survives stop/start). */
  directory: string;
  /** `METHOD /bucket/key?query` of every request whose signature was accepted, in order. */
  requests: string[];
  /** The headers of each of `requests`, same index. */
  headers: Array<Record<string, string | string[] | undefined>>;
  /**
   * Each of `requests` the store got to the end of, with the status it answered, in the order they ended: a PUT
   * answered 200 is an object stored (a PUT cut off by `stop()` is not here, or not with 200).
   */
  answered: Array<{ request: string; status: number }>;
  /** Closes the listener and every open connection (the store goes down). */
  stop(): Promise<void>;
  /** Starts again on the same port with the same buckets and objects. */
  start(): Promise<void>;
  /** The access key stops being valid: every request is answered 403 InvalidAccessKeyId. */
  revokeCredentials(): void;
  /** A read-only policy (s3rver has none of its own): while on, PUT, POST and DELETE get 403 AccessDenied. */
  denyWrites(on: boolean): void;
  /** Turns `denyWrites` on by itself once `count` PUTs whose path starts with `prefix` have been let through. */
  denyWritesAfter(prefix: string, count: number): void;
  /** Stops the server and removes its folder; safe to call twice. */
  close(): Promise<void>;
  /** A client of this server with its credentials, for a test to list and read what landed. */
  client(): S3Client;
}

let accounts = 0;

/** Starts s3rver on 127.0.0.1 with the given buckets; requests must be SigV4-signed with `credentials`. */
export async function startS3Server(options: { buckets?: string[] } = {}): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'pagepool-s3-'));
  accounts++;
  const credentials = {
    accessKeyId: `PAGEPOOLTEST${process.pid}X${accounts}`,
    secretAccessKey: `secret-${process.pid}-${accounts}-${Math.random().toString(36).slice(2)}`,
  };
  const account = new AWSAccount(900_000_000_000 + accounts, 'pagepool-test');
  account.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const secrets = new Map([[credentials.accessKeyId, credentials.secretAccessKey]]);
  const requests: string[] = [];
  const headers: Array<Record<string, string | string[] | undefined>> = [];
  const answered: S3Server['answered'] = [];
  let port = 0;
  let readOnly = false;
  let denyAfter: { prefix: string; left: number } | null = null;
  let instance: S3rverInstance | null = null;

  const launch = async (): Promise<void> => {
    const server = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory,
      configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
      vhostBuckets: false,
    });
    // Koa runs middleware in array order: the signature check goes before s3rver's own.
    server.middleware.unshift(verifySignature(secrets), async (ctx, next) => {
      if (readOnly && ['PUT', 'POST', 'DELETE'].includes(ctx.method))
        throw new S3Error('AccessDenied', 'Access Denied');
      if (denyAfter && ctx.method === 'PUT' && (ctx.req.url ?? '').startsWith(denyAfter.prefix)) {
        denyAfter.left -= 1;
        if (denyAfter.left <= 0) {
          readOnly = true;
          denyAfter = null;
        }
      }
      const request = `${ctx.method} ${ctx.req.url ?? ctx.path}`;
      requests.push(request);
      headers.push({ ...ctx.headers });
      try {
        await next();
        answered.push({ request, status: ctx.status });
      } catch (err) {
        answered.push({ request, status: (err as { status?: number }).status ?? 500 });
        throw err;
      }
    });
    const address = await server.run();
    port = address.port;
    instance = server;
  };
  const stop = async (): Promise<void> => {
    const server = instance?.httpServer;
    instance = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  await launch();
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    credentials,
    directory,
    requests,
    headers,
    answered,
    stop,
    start: async () => {
      if (!instance) await launch();
    },
    denyWrites: (on) => {
      readOnly = on;
      if (!on) denyAfter = null;
    },
    denyWritesAfter: (prefix, count) => {
      denyAfter = { prefix, left: count };
    },
    revokeCredentials: () => {
      secrets.delete(credentials.accessKeyId);
      account.revokeAccessKey(credentials.accessKeyId);
    },
    client: () =>
      new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials,
      }),
    close: () => {
      closing ??= (async () => {
        await stop();
        await rm(directory, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

const hmac = (key: string | Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();
const rfc3986 = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Checks an `Authorization: AWS4-HMAC-SHA256 ...` header against the secret of its access key. */
function verifySignature(secrets: Map<string, string>): Middleware {
  return async (ctx, next) => {
    const auth = header(ctx, 'authorization');
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m) throw new S3Error('AccessDenied', 'Requests must be signed with AWS Signature Version 4');
    const [, keyId = '', scope = '', signedHeaders = '', signature = ''] = m;
    const secret = secrets.get(keyId);
    if (secret === undefined) {
      throw new S3Error(
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    }
    const [date = '', region = '', service = ''] = scope.split('/');
    const url = ctx.req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = (q === -1 ? '' : url.slice(q + 1))
      .split('&')
      .filter((part) => part !== '')
      .map((part) => {
        const eq = part.indexOf('=');
        const k = decodeURIComponent(eq === -1 ? part : part.slice(0, eq));
        const v = eq === -1 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
        return [rfc3986(k), rfc3986(v)] as const;
      })
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const names = signedHeaders.split(';');
    const canonicalHeaders = names
      .map((n) => `${n}:${header(ctx, n).trim().replace(/\s+/g, ' ')}\n`)
      .join('');
    const canonical = [
      ctx.method,
      rawPath,
      query,
      canonicalHeaders,
      signedHeaders,
      header(ctx, 'x-amz-content-sha256'),
    ].join('\n');
    const toSign = [
      'AWS4-HMAC-SHA256',
      header(ctx, 'x-amz-date'),
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    if (hmac(key, toSign).toString('hex') !== signature) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
    }
    await next();
  };
}

function header(ctx: KoaContext, name: string): string {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}
