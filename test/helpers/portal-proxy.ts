// A logging reverse proxy in front of the demo portal, on 127.0.0.1: it records every request (time, path,
// Range, session cookie, status, body bytes sent), and can answer a request itself, change response headers or
// hold a request back, so an end-to-end test can see what the portal saw and inject what a real portal does (a
// hostile filename).
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

export interface ProxiedRequest {
  /** Date.now() when the request arrived. */
  at: number;
  method: string;
  path: string;
  range: string | undefined;
  /** The pp_session cookie it carried: one per logged-in browser context. */
  session: string | undefined;
  status: number;
  /** Body bytes the client was sent (a cut-off response counts what got through). */
  bytes: number;
  /** The client went away while the request was held: it was never forwarded. */
  dropped: boolean;
}

export interface ProxyOptions {
  /** Answer this request here instead of the portal. */
  intercept?: (req: ProxiedRequest) => { status: number; headers: Record<string, string> } | undefined;
  /** Headers to set on the portal's response to this request. */
  headers?: (req: ProxiedRequest) => Record<string, string> | undefined;
  /**
   * Forward this request only once the promise settles (a test holds work in flight). A held request whose client
   * gave up meanwhile (its headers timeout, a retry of its own) is dropped, never forwarded: the portal serves
   * what a client still waits for, once.
   */
  hold?: (req: ProxiedRequest) => Promise<void> | undefined;
}

export interface PortalProxy {
  url: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

function session(req: IncomingMessage): string | undefined {
  return /(?:^|;\s*)pp_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
}

export async function startPortalProxy(target: string, options: ProxyOptions = {}): Promise<PortalProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = createServer((req, res) => {
    const entry: ProxiedRequest = {
      at: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      range: req.headers.range,
      session: session(req),
      status: 0,
      bytes: 0,
      dropped: false,
    };
    requests.push(entry);
    const answer = options.intercept?.(entry);
    if (answer) {
      entry.status = answer.status;
      req.resume();
      res.writeHead(answer.status, { ...answer.headers, 'content-length': '0' });
      res.end();
      return;
    }
    const forward = () => {
      const up = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (upRes) => {
          entry.status = upRes.statusCode ?? 0;
          upRes.on('data', (chunk: Buffer) => {
            entry.bytes += chunk.length;
          });
          // The client may have gone while the portal was answering (a cut, a killed worker); Node 24's
          // pipeline throws (ERR_STREAM_UNABLE_TO_PIPE) outside any handler when asked to write into it.
          if (res.destroyed) {
            upRes.resume();
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, ...options.headers?.(entry) });
          // A response the portal cuts off is cut off here too: the client sees the same short body.
          pipeline(upRes, res, (err) => {
            if (err) res.destroy();
          });
        },
      );
      up.on('error', () => res.destroy());
      pipeline(req, up, () => {});
    };
    const held = options.hold?.(entry);
    if (!held) {
      forward();
      return;
    }
    let forwarded = false;
    res.once('close', () => {
      if (!forwarded) entry.dropped = true;
    });
    void held.finally(() => {
      if (entry.dropped) return;
      forwarded = true;
      forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
