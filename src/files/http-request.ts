// One GET through undici's dispatcher with a handler of our own: every byte the parser hands over is queued until
// the download takes it, the parser is never paused, and a failure of the client reaches the caller as an error.
//
// Why not `undici.request()`: its body is a Readable that pauses undici's HTTP/1 parser whenever more than 64 KiB
// wait unread (and the download reads slower than loopback delivers: it awaits each write). A server that then
// closes the connection (`Connection: close`: nginx with `keepalive_timeout 0`, `php -S`) makes undici 7 assert
// `!this.paused` inside its socket 'end' handler, an uncaught exception that kills the process (nodejs/undici#5360,
// fixed in undici 8, which needs Node >= 22.19). And when a connection fails, that Readable is destroyed with the
// bytes it had buffered: a resume then starts before them, or from zero. Here nothing pauses the parser on any
// Node, and bytes received before a failure are still handed over, then the failure.
import type { Dispatcher } from 'undici';

/**
 * A batch of queued bytes at least this big is written synchronously (`PartFile.write({ sync })`): while the disk
 * takes it, the event loop reads no socket, so the kernel's TCP window slows the sender down. That is the only
 * backpressure here (pausing the parser is what crashes undici 7), and it bounds what waits in memory to about
 * this much plus one turn of the event loop's reads, whatever the file's size. Below it, writes are asynchronous.
 */
export const SYNC_WRITE_BYTES = 1024 * 1024;
/** A body dumped to free its connection (a redirect, an error page) is read up to this much, then cut. */
const DUMP_LIMIT_BYTES = 128 * 1024;

export interface HttpResponse {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: ResponseBody;
}

/** Sends `GET url`; resolves with the status and headers, the body still arriving in `body`. */
export function sendGet(
  dispatcher: Dispatcher,
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<HttpResponse> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let body: ResponseBody | undefined;
    let settled = false;
    const onAbort = () => {
      const reason = signal.reason as Error;
      if (controller) controller.abort(reason);
      if (body) body.stop(reason);
      else if (!settled) {
        settled = true;
        reject(reason);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        // Aborted while it waited for a connection.
        if (signal.aborted) c.abort(signal.reason as Error);
      },
      onResponseStart(c, status, responseHeaders) {
        // 1xx (100 Continue, 103 Early Hints) come before the real answer.
        if (status < 200 || settled) return;
        settled = true;
        body = new ResponseBody((reason) => c.abort(reason));
        resolve({ status, headers: responseHeaders as HttpResponse['headers'], body });
      },
      // Never pauses: the bytes go to the queue, which the download empties at its own pace.
      onResponseData(_c, chunk) {
        body?.push(chunk);
      },
      onResponseEnd() {
        done();
        body?.end();
      },
      onResponseError(_c, error) {
        done();
        if (body) body.fail(error);
        else if (!settled) {
          settled = true;
          reject(error);
        }
      },
    };
    dispatcher.dispatch(
      { origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers },
      handler,
    );
  });
}

/**
 * A response body as it arrives: iterate it to take the bytes (all that is queued comes as one chunk), in order,
 * then its end or its failure. A failure (a cut, a timeout, `stop()`) comes only after every byte received before it.
 */
export class ResponseBody implements AsyncIterable<Buffer> {
  readonly #abort: (reason: Error) => void;
  #chunks: Buffer[] = [];
  #received = 0;
  #state: 'open' | 'ended' | 'failed' = 'open';
  #error: Error | undefined;
  #discard = false;
  #wake: (() => void) | undefined;

  constructor(abort: (reason: Error) => void) {
    this.#abort = abort;
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#received;
  }

  push(chunk: Buffer): void {
    if (this.#state !== 'open') return;
    this.#received += chunk.byteLength;
    if (this.#discard) {
      if (this.#received > DUMP_LIMIT_BYTES) this.stop(new Error('body too large to drain'));
      return;
    }
    this.#chunks.push(chunk);
    this.#notify();
  }

  end(): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#notify();
  }

  fail(error: Error): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#error = error;
    this.#notify();
  }

  /** Ends the transfer with `reason`: the request is aborted; bytes already queued are still handed over. */
  stop(reason: Error): void {
    if (this.#state !== 'open') return;
    this.fail(reason);
    this.#abort(reason);
  }

  /** Drops the body, reading a small one to its end so its connection can serve the next request. */
  async dump(): Promise<void> {
    this.#discard = true;
    this.#chunks = [];
    if (this.#received > DUMP_LIMIT_BYTES) this.stop(new Error('body too large to drain'));
    while (this.#state === 'open') await new Promise<void>((resolve) => (this.#wake = resolve));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.#chunks.length > 0) {
          const chunk = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
          this.#chunks = [];
          yield chunk;
        } else if (this.#state === 'ended') {
          return;
        } else if (this.#state === 'failed') {
          throw this.#error;
        } else {
          await new Promise<void>((resolve) => (this.#wake = resolve));
        }
      }
    } finally {
      // The reader stopped early (a wrong file, a failed write): the rest is not wanted.
      if (this.#state === 'open') this.stop(new Error('body abandoned'));
      this.#chunks = [];
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
