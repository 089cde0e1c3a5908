// A logging reverse proxy on 127.0.0.1 for the README-promise tests, in front of the demo portal or s3rver: it
// records every request (arrival time, method, path, status) and can do what a misbehaving server does, one
// request at a time: answer with a body of its own, never answer, send the headers and part of a body and then
// stall, or change the response's headers (a store that answers a wrong ETag). Requests and bodies are forwarded
// untouched (the Host header too, so SigV4 signatures still verify behind it).
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

export interface TappedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  /** The path and query as sent. */
  path: string;
  /** The response's status (0 until the upstream answers; never set for a request held forever). */
  status: number;
}

export interface TapOptions {
  /** Answer this request here (status, headers, body) instead of forwarding it. */
  respond?: (
    req: TappedRequest,
  ) => { status: number; headers?: Record<string, string>; body?: string } | undefined;
  /** Never answer this request: the socket stays open until the client gives up or the proxy closes. */
  hang?: (req: TappedRequest) => boolean;
  /** Forward this request, send the response's headers and only this many body bytes, then stall. */
  stallAfter?: (req: TappedRequest) => number | undefined;
  /** Change the upstream response's headers (names are lower case) before they are sent on. */
  rewriteHeaders?: (req: TappedRequest, headers: Record<string, string | string[] | undefined>) => void;
}

export interface TapProxy {
  url: string;
  requests: TappedRequest[];
  /** Closes the listener and every connection, held and stalled ones included. */
  close(): Promise<void>;
}

export async function startTapProxy(target: string, options: TapOptions = {}): Promise<TapProxy> {
  const upstream = new URL(target);
  const requests: TappedRequest[] = [];
  const forward = (req: IncomingMessage, res: ServerResponse, entry: TappedRequest): void => {
    const stallAt = options.stallAfter?.(entry);
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        entry.status = upRes.statusCode ?? 0;
        // The client may have gone while the upstream was answering; Node 24's pipeline throws
        // (ERR_STREAM_UNABLE_TO_PIPE) outside any handler when asked to write into a destroyed response.
        if (res.destroyed) {
          upRes.resume();
          return;
        }
        const headers = { ...upRes.headers };
        options.rewriteHeaders?.(entry, headers);
        res.writeHead(upRes.statusCode ?? 502, headers);
        if (stallAt === undefined) {
          // A response the upstream cuts off is cut off here too.
          pipeline(upRes, res, (err) => {
            if (err) res.destroy();
          });
          return;
        }
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          const room = stallAt - sent;
          if (room > 0) res.write(chunk.subarray(0, room));
          sent += chunk.length;
          // The rest is never sent: the client sees a body that stops, on a connection that stays open.
          if (sent >= stallAt) upRes.destroy();
        });
      },
    );
    up.on('error', () => {
      if (stallAt === undefined) res.destroy();
    });
    pipeline(req, up, () => {});
  };
  const server = createServer((req, res) => {
    const entry: TappedRequest = {
      at: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 0,
    };
    requests.push(entry);
    const answer = options.respond?.(entry);
    if (answer) {
      entry.status = answer.status;
      req.resume();
      const body = answer.body ?? '';
      res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return;
    }
    if (options.hang?.(entry)) {
      req.resume();
      return;
    }
    forward(req, res, entry);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
