// One page read over HTTP, the way files go (http-download.ts): the browser's headers, the session's cookies for
// every hop and the cookies each hop sets back into the browser, redirects by hand, the body decoded as the
// browser would, and a failure of the client as a TransferError naming the chain. What the status means is the
// caller's (src/sites/http-reader.ts judges it as `checkResponse` judges a page).
import { PermanentError } from '../errors.js';
import { canDecode, contentCoding, decode } from './content-decoding.js';
import { clientError, header, type RequestAttempt, requestFollowingRedirects } from './http-download.js';
import type { HttpResponse } from './http-request.js';

/** A page bigger than this is not read into memory: a real portal's page is 100-300 KB. */
export const MAX_PAGE_BYTES = 32 * 1024 * 1024;

export interface HtmlResponse {
  /** The URL that answered (after redirects). */
  url: string;
  /** Every URL requested, first to last. */
  chain: string[];
  /** `http://a/x`, or after redirects `http://a/x -> 302 http://b/y`: how an error names the read. */
  where: string;
  status: number;
  headers: HttpResponse['headers'];
  /** The body as text (decoded from its Content-Encoding and charset). */
  text: string;
}

/** GETs `request.url` and reads the whole body as text, whatever the status (an error page is a page too). */
export async function readHtml(request: RequestAttempt): Promise<HtmlResponse> {
  const { response, route } = await requestFollowingRedirects(request, {});
  try {
    const coding = contentCoding(header(response.headers, 'content-encoding'));
    if (coding !== undefined && !canDecode(coding)) {
      throw new PermanentError(
        `${route.where} sent a page pagepool cannot decode (Content-Encoding: ${coding})`,
      );
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    const body =
      coding === undefined
        ? response.body
        : decode(response.body, coding, (err) => new Error(`the ${coding} body is corrupt`, { cause: err }));
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      if (bytes > MAX_PAGE_BYTES) {
        throw new PermanentError(
          `${route.where} is larger than ${MAX_PAGE_BYTES / 1024 / 1024} MiB: not read as a page`,
        );
      }
      chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks);
    return {
      url: route.chain[route.chain.length - 1] ?? request.url,
      chain: route.chain,
      where: route.where,
      status: response.status,
      headers: response.headers,
      text: decodeText(raw, header(response.headers, 'content-type')),
    };
  } catch (err) {
    response.body.stop(new Error('body not needed'));
    throw clientError(err, route, request.signal);
  }
}

/**
 * The body as text in its charset: the Content-Type's, else a `<meta charset>` (or http-equiv) in its first
 * 1024 bytes, else UTF-8, as a browser decides. A label TextDecoder does not know falls back to UTF-8.
 */
export function decodeText(raw: Buffer, contentType: string | undefined): string {
  const label =
    /;\s*charset="?([^";\s]+)/i.exec(contentType ?? '')?.[1] ??
    /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(raw.subarray(0, 1024).toString('latin1'))?.[1] ??
    'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(raw);
}
