// A plain static-file server on 127.0.0.1 (what nginx's autoindex gives): a folder of files under `/docs/`
// with an HTML directory listing, and `/private/` that answers 403. No login, no cookies.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface StaticServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startStaticServer(folder: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://static.invalid');
    requests.push(url.pathname);
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.pathname.startsWith('/private/')) return send(403, '<h1>403 Forbidden</h1>');
    if (url.pathname === '/docs') {
      res.writeHead(301, { location: '/docs/', 'content-length': 0 });
      return res.end();
    }
    if (url.pathname === '/docs/') {
      const names = (await readdir(folder)).sort();
      const links = names.map((n) => `<a href="${encodeURIComponent(n)}">${n}</a>`).join('\n');
      return send(
        200,
        `<html><body><h1>Index of /docs/</h1><pre><a href="../">../</a>\n${links}</pre></body></html>`,
      );
    }
    const name = url.pathname.startsWith('/docs/') ? decodeURIComponent(url.pathname.slice(6)) : '';
    const file = path.join(folder, path.basename(name));
    const info = name === '' ? undefined : await stat(file).catch(() => undefined);
    if (!info?.isFile()) return send(404, '<h1>404 Not Found</h1>');
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': info.size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
