// The embedded demo dealer portal on node:http: login, licence, inventory, stickers, cards, and injected faults.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { meterBody } from './body-meter.js';
import { cardPng } from './card-png.js';
import { type Encoding, encode, negotiate } from './content-encoding.js';
import { type Fault, FaultPlan, type ItemRouteKind } from './fault-plan.js';
import { FileCache } from './file-cache.js';
import { type FileBody, sendFile } from './file-response.js';
import { heavyScript, heavyStylesheet } from './heavy-assets.js';
import { HEAVY_SCRIPT_PATH, HEAVY_STYLESHEET_PATH, heavyVehiclePage } from './heavy-page.js';
import { cardIds, makeVehicles, type Vehicle } from './inventory.js';
import { type Pace, writePaced } from './paced-body.js';
import {
  cardPage,
  cardsPage,
  forbiddenPage,
  inventoryPage,
  messagePage,
  sessionExpiredPage,
  vehiclePage,
} from './pages.js';
import { PHOTOS_PER_VEHICLE, vehiclePhoto } from './photo-png.js';
import { type PortalOptions, resolvePortalOptions } from './portal-options.js';
import { emptyStats, type PortalStats } from './portal-stats.js';
import { SlidingWindowLimiter } from './rate-limiter.js';
import { decodeSegment } from './request-parts.js';
import { itemAt, revisionDate } from './revision.js';
import { SessionStore } from './session-store.js';
import { createSignIn } from './sign-in.js';
import { stickerPdf } from './sticker-pdf.js';
import { SITE_CSS } from './stylesheet.js';

export { DEFAULT_PORTAL_OPTIONS, type PortalOptions, portalOptionsFromEnv } from './portal-options.js';
export type { PortalStats } from './portal-stats.js';

export interface Portal {
  /** `http://host:port`, no trailing slash. */
  url: string;
  port: number;
  /** The options it was started with (`revision` is the first revision; see `revision` for the current one). */
  options: Readonly<PortalOptions>;
  /** The revision the portal serves now. */
  readonly revision: number;
  /**
   * Serves revision `n` from the next request on (see revision.ts for what each revision changes and
   * removes), at the same URL; a test can pull, change the portal, and refresh. Throws a RangeError naming
   * `revision` for a value out of range.
   */
  setRevision(n: number): void;
  /** A copy of the counters so far. */
  stats(): PortalStats;
  /** Stops listening and destroys every connection, stuck ones included; safe to call twice. */
  close(): Promise<void>;
}

// Recently built files are kept so benchmarks with padded stickers do not rebuild megabytes per request.
const FILE_CACHE_BYTES = 64 * 1024 * 1024;
/** The faults that change how a file's body is sent (the others answer before any body). */
function bodyFault(fault: Fault | undefined): 'truncate' | 'stall' | undefined {
  return fault === 'truncate' || fault === 'stall' ? fault : undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Starts the portal on `options.host:options.port` (a free port by default). Options are validated first. */
export async function startPortal(options: Partial<PortalOptions> = {}): Promise<Portal> {
  const opts = resolvePortalOptions(options);
  const vehicles = makeVehicles(opts.vehicles, opts.seed);
  const vehicleByStock = new Map(vehicles.map((v) => [v.stock, v]));
  // An item's number (1-based, its place in the full inventory or card list) drives the every-Nth rules.
  const vehicleNumber = new Map(vehicles.map((v, i) => [v.stock, i + 1]));
  const cards = cardIds(opts.cards);
  const cardNumber = new Map(cards.map((id, i) => [id, i + 1]));
  const sessions = new SessionStore(opts.sessionLifetimeMs, opts.sessionIdPrefix);
  const faults = new FaultPlan(opts.seed, opts);
  const limiter = new SlidingWindowLimiter(opts.rateLimitPerSec);
  const timers = new Set<NodeJS.Timeout>();
  const stuck = new Set<ServerResponse>();
  const fileCache = new FileCache(FILE_CACHE_BYTES);
  let revision = opts.revision;
  // What the listings show at this revision: the items not removed, in their order.
  const present = <T>(items: readonly T[]): T[] => items.filter((_, i) => !itemAt(i + 1, revision).gone);
  let listedVehicles = present(vehicles);
  let listedCards = present(cards);
  let closing: Promise<void> | undefined;
  const stats = emptyStats();

  const later = (fn: () => void, ms: number): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const delay = (ms: number): Promise<void> =>
    ms === 0 ? Promise.resolve() : new Promise((resolve) => later(resolve, ms));
  const startedAt = Date.now();
  // The bursts run on the portal's clock: the same schedule from every start, whatever the client does.
  const inBurst = (): boolean =>
    opts.rateLimitBurstEveryMs > 0 &&
    (Date.now() - startedAt) % opts.rateLimitBurstEveryMs >=
      opts.rateLimitBurstEveryMs - opts.rateLimitBurstMs;

  const bump = (counts: Record<string, number>, key: string): void => {
    counts[key] = (counts[key] ?? 0) + 1;
  };

  const sendHtml = async (
    res: ServerResponse,
    status: number,
    page: string,
    headers: Record<string, string> = {},
    latencyMs = opts.pageLatencyMs,
  ): Promise<void> => {
    await delay(latencyMs);
    if (res.destroyed) return;
    if (status >= 500) stats.sent5xx++;
    if (status === 429) stats.sent429++;
    if (status === 403) stats.sent403++;
    let body: Buffer = Buffer.from(page);
    let encoding: Encoding | 'identity' = 'identity';
    if (opts.compress) {
      res.setHeader('Vary', 'Accept-Encoding');
      encoding = negotiate(res.req.headers['accept-encoding']);
      if (encoding !== 'identity') body = encode(body, encoding);
    }
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(body.length),
      'Cache-Control': 'no-store',
      ...(encoding === 'identity' ? {} : { 'Content-Encoding': encoding }),
      ...headers,
    });
    res.end(body);
  };

  const redirect = (res: ServerResponse, status: 302 | 303, location: string, headers = {}): void => {
    res.writeHead(status, {
      Location: location,
      'Content-Length': '0',
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end();
  };

  const notFound = (res: ServerResponse, what: string, loggedIn: boolean): Promise<void> =>
    sendHtml(res, 404, messagePage('Not found', `${what} does not exist.`, loggedIn));

  const signIn = createSignIn({ opts, stats, sessions, delay, sendHtml, redirect });

  /** One rule for a vehicle or card: its page and its file alike answer 403 to a logged-in user. */
  const forbidden = (itemNumber: number): boolean =>
    opts.forbiddenEvery > 0 && itemNumber % opts.forbiddenEvery === 0;

  /**
   * The common path of the four item routes: draw the fault for this attempt, apply the real limiter, wait
   * the latency, then either fail or let `answer` respond. A forbidden item draws no fault: its 403 is the
   * application's answer, given after the limiter and the latency like any other.
   */
  const itemRoute = async (
    res: ServerResponse,
    kind: ItemRouteKind,
    item: string,
    itemNumber: number,
    answer: (fault: 'truncate' | 'stall' | undefined) => Promise<void> | void,
  ): Promise<void> => {
    const denied = forbidden(itemNumber);
    const fault = denied ? undefined : faults.next(kind, item);
    const retryAfter = { 'Retry-After': String(opts.retryAfterSec) };
    const tooMany = messagePage('Too many requests', 'Slow down and try again shortly.', true);
    // A limiter refuses at once, before any work: that is what makes it cheap for the server.
    if (inBurst() || !limiter.tryTake()) return sendHtml(res, 429, tooMany, retryAfter, 0);
    if (fault === 'stuck') {
      // Never answered: the socket is held until the client gives up or close() destroys it.
      stats.stuck++;
      stuck.add(res);
      res.on('close', () => stuck.delete(res));
      return;
    }
    // A file's fault answers after the file latency; a page's after the page latency (inside sendHtml).
    const isFile = kind === 'sticker' || kind === 'card-png';
    if (isFile) {
      stats.filesInFlight++;
      stats.peakFilesInFlight = Math.max(stats.peakFilesInFlight, stats.filesInFlight);
      res.once('close', () => stats.filesInFlight--);
      await delay(opts.fileLatencyMs);
    }
    if (res.destroyed) return;
    const latency = isFile ? 0 : opts.pageLatencyMs;
    if (denied) return sendHtml(res, 403, forbiddenPage(), {}, latency);
    if (fault === 'error') {
      const page = messagePage('Server error', 'Something went wrong. Please try again.', true);
      return sendHtml(res, 500, page, {}, latency);
    }
    if (fault === 'rate-limit') return sendHtml(res, 429, tooMany, retryAfter, latency);
    if (fault === 'html-expired') {
      stats.htmlExpired++;
      return sendHtml(res, 200, sessionExpiredPage(), {}, 0);
    }
    await answer(bodyFault(fault));
  };

  /**
   * The representation of `file` (cached under `cacheKey`) to send: as it is, or with `compress` the best
   * coding the request accepts, cached beside it with its own ETag (the identity one with a `-br`, `-gzip`...
   * suffix, as Apache does). A Range request always gets the identity bytes: ranges, If-Range and resumes
   * are of the file as it is, as most servers do.
   */
  const represent = (
    req: IncomingMessage,
    res: ServerResponse,
    cacheKey: string,
    file: FileBody,
  ): FileBody => {
    if (!opts.compress) return file;
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.headers.range !== undefined) return file;
    const encoding = negotiate(req.headers['accept-encoding']);
    if (encoding === 'identity') return file;
    return fileCache.get(`${cacheKey}:${encoding}`, file.lastModified, () => ({
      ...file,
      body: encode(file.body, encoding),
      contentEncoding: encoding,
      etag: file.etag.replace(/"$/, `-${encoding}"`),
    }));
  };

  /** Sends an item's file (PDF, PNG) as `represent` picks it, paced or cut as `fault` says, and counts it. */
  const serveFile = (
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    cacheKey: string,
    identity: FileBody,
    fault: 'truncate' | 'stall' | undefined,
  ) => {
    const file = represent(req, res, cacheKey, identity);
    const { outcome, start } = sendFile(req, res, file, (slice) => {
      meterBody(res, (bytes) => {
        stats.fileBodyBytes += bytes;
      });
      const pace: Pace =
        fault === 'stall'
          ? { burstBytes: 1024, bytesPerSec: 1 }
          : fault === 'truncate'
            ? { bytesPerSec: opts.fileBytesPerSec, cutAt: Math.floor(slice.length / 2) }
            : { bytesPerSec: opts.fileBytesPerSec };
      writePaced(res, slice, pace, later);
    });
    if (outcome === 'not-modified') stats.notModified++;
    if (outcome !== 'body') return;
    bump(stats.filesServed, key);
    if (start === 0) bump(stats.filesFromZero, key);
    else stats.filesResumed++;
    if (fault === 'truncate') stats.truncated++;
    if (fault === 'stall') stats.stalled++;
  };

  const vehicleRoutes: Handler = async (req, res, url) => {
    const sticker = /^\/vehicle\/([^/]+)\/sticker\.pdf$/.exec(url.pathname);
    const detail = /^\/vehicle\/([^/]+)$/.exec(url.pathname);
    const stock = decodeSegment((sticker ?? detail)?.[1] ?? '');
    const vehicle: Vehicle | undefined = stock === undefined ? undefined : vehicleByStock.get(stock);
    const number = vehicle && vehicleNumber.get(vehicle.stock)!;
    const state = number === undefined ? undefined : itemAt(number, revision);
    if (!vehicle || number === undefined || !state || state.gone)
      return notFound(res, `Vehicle ${stock ?? ''}`, true);
    if (sticker) {
      return itemRoute(res, 'sticker', vehicle.stock, number, (fault) => {
        const key = `sticker:${vehicle.stock}:${state.edition}`;
        const file = fileCache.get(key, revisionDate(state.changedIn), () => ({
          body: stickerPdf(vehicle, opts.stickerPadBytes, state.edition),
          contentType: 'application/pdf',
          contentDisposition: `attachment; filename="${vehicle.stock}-window-sticker.pdf"`,
        }));
        serveFile(req, res, vehicle.stock, key, file, fault);
      });
    }
    return itemRoute(res, 'detail', vehicle.stock, number, async () => {
      const view = { linkByScript: opts.scriptLinkEvery > 0 && number % opts.scriptLinkEvery === 0 };
      const page = opts.heavy
        ? heavyVehiclePage(vehicle, number, opts.seed, view)
        : vehiclePage(vehicle, view);
      await sendHtml(res, 200, page);
      if (!res.destroyed) bump(stats.pagesServed, vehicle.stock);
    });
  };

  const cardRoutes: Handler = async (req, res, url) => {
    const png = /^\/card\/([^/]+)\.png$/.exec(url.pathname);
    const page = /^\/card\/([^/]+)$/.exec(url.pathname);
    const id = decodeSegment((png ?? page)?.[1] ?? '');
    const number = id === undefined ? undefined : cardNumber.get(id);
    const state = number === undefined ? undefined : itemAt(number, revision);
    if (id === undefined || number === undefined || !state || state.gone)
      return notFound(res, `Card ${id ?? ''}`, true);
    if (png) {
      return itemRoute(res, 'card-png', id, number, (fault) => {
        const key = `card:${id}:${state.edition}`;
        const file = fileCache.get(key, revisionDate(state.changedIn), () => ({
          body: cardPng(id, state.edition),
          contentType: 'image/png',
          contentDisposition: `inline; filename="${id}.png"`,
        }));
        serveFile(req, res, id, key, file, fault);
      });
    }
    return itemRoute(res, 'card', id, number, async () => {
      await sendHtml(res, 200, cardPage(id, state.edition));
      if (!res.destroyed) bump(stats.pagesServed, id);
    });
  };

  // The listing pages (inventory, cards) have a latency of their own when one is set.
  const listLatencyMs = opts.listLatencyMs ?? opts.pageLatencyMs;
  const sendList = (res: ServerResponse, status: number, page: string): Promise<void> =>
    sendHtml(res, status, page, {}, listLatencyMs);

  /**
   * Page `?page=` of `items` through `render(rows, page, pages)`: 400 for a page number that is not a positive
   * integer, 404 past the last page.
   */
  const paged = <T>(
    res: ServerResponse,
    url: URL,
    items: readonly T[],
    what: string,
    render: (rows: T[], page: number, pages: number) => string,
  ): Promise<void> => {
    const pages = Math.max(1, Math.ceil(items.length / opts.pageSize));
    const page = Number(url.searchParams.get('page') ?? '1');
    if (!Number.isInteger(page) || page < 1) {
      return sendList(
        res,
        400,
        messagePage('Bad request', 'The page number must be a positive integer.', true),
      );
    }
    if (page > pages)
      return sendList(res, 404, messagePage('Not found', `${what} page ${page} does not exist.`, true));
    const start = (page - 1) * opts.pageSize;
    return sendList(res, 200, render(items.slice(start, start + opts.pageSize), page, pages));
  };

  const inventory: Handler = (_req, res, url) => {
    const total = listedVehicles.length;
    const query = (url.searchParams.get('q') ?? '').trim();
    if (query !== '') {
      // Stock numbers are upper case, so one map lookup is an exact, case-insensitive search.
      const stock = query.toUpperCase();
      const found = vehicleByStock.get(stock);
      const shown = found && !itemAt(vehicleNumber.get(stock)!, revision).gone ? [found] : [];
      return sendList(res, 200, inventoryPage({ vehicles: shown, total, page: 1, pages: 1, query }));
    }
    return paged(res, url, listedVehicles, 'Inventory', (rows, page, pages) =>
      inventoryPage({ vehicles: rows, total, page, pages, query: '' }),
    );
  };

  const cardList: Handler = (_req, res, url) =>
    paged(res, url, listedCards, 'Card', (rows, page, pages) =>
      cardsPage(rows, listedCards.length, page, pages),
    );

  /**
   * The public assets: the site's stylesheet, and in heavy mode the heavy page's script, stylesheet and
   * photos. Cacheable, built on first use (file cache); undefined for any other path.
   */
  const staticAsset = (path: string): { key: string; file: FileBody } | undefined => {
    const asset = (key: string, contentType: string, build: () => Buffer) => ({
      key,
      file: fileCache.get(key, revisionDate(1), () => ({
        body: build(),
        contentType,
        cacheControl: 'public, max-age=3600',
      })),
    });
    if (path === '/static/site.css')
      return asset(path, 'text/css; charset=utf-8', () => Buffer.from(SITE_CSS));
    if (!opts.heavy) return undefined;
    if (path === HEAVY_SCRIPT_PATH) {
      return asset(path, 'text/javascript; charset=utf-8', () => Buffer.from(heavyScript(opts.seed)));
    }
    if (path === HEAVY_STYLESHEET_PATH) {
      return asset(path, 'text/css; charset=utf-8', () => Buffer.from(heavyStylesheet(opts.seed)));
    }
    const photo = /^\/photos\/([^/]+)\/(\d+)\.png$/.exec(path);
    const stock = decodeSegment(photo?.[1] ?? '');
    const n = Number(photo?.[2]);
    if (stock === undefined || !vehicleByStock.has(stock) || !(n >= 1 && n <= PHOTOS_PER_VEHICLE))
      return undefined;
    return asset(`photo:${stock}:${n}`, 'image/png', () => vehiclePhoto(stock, n));
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://portal.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const isRead = method === 'GET' || method === 'HEAD';
    const allow = (methods: string): void => {
      res.writeHead(405, { Allow: methods, 'Content-Length': '0' });
      res.end();
    };

    if (path.startsWith('/static/') || path.startsWith('/photos/')) {
      // Public, like a CDN's: an unknown asset is a 404 whoever asks.
      const asset = staticAsset(path);
      if (!asset) return notFound(res, 'This file', false);
      if (!isRead) return allow('GET, HEAD');
      sendFile(req, res, represent(req, res, asset.key, asset.file));
      return;
    }
    if (path === '/_stats') {
      if (!isRead) return allow('GET, HEAD');
      const body = JSON.stringify(snapshot());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(body);
      return;
    }
    const forms = { '/login': signIn.login, '/login/code': signIn.loginCode, '/licence': signIn.licence };
    if (Object.hasOwn(forms, path)) {
      const handler = forms[path as keyof typeof forms];
      return method === 'POST' || isRead ? handler(req, res) : allow('GET, HEAD, POST');
    }
    if (path === '/logout') return method === 'POST' ? signIn.logout(req, res) : allow('POST');
    if (path === '/') return redirect(res, 302, '/inventory');
    if (path === '/favicon.ico') {
      res.writeHead(404, { 'Content-Length': '0', 'Cache-Control': 'public, max-age=3600' });
      res.end();
      return;
    }

    const session = await signIn.sessionOf(req, res);
    if (res.destroyed) return;
    if (!session?.licenceAccepted) return signIn.toLogin(req, res, session);
    if (!isRead) return allow('GET, HEAD');
    if ((path === '/inventory' || path === '/cards') && opts.forbiddenListing)
      return sendList(res, 403, forbiddenPage());
    if (path === '/inventory') return inventory(req, res, url);
    if (path === '/cards') return cardList(req, res, url);
    if (path.startsWith('/vehicle/')) return vehicleRoutes(req, res, url);
    if (path.startsWith('/card/')) return cardRoutes(req, res, url);
    return notFound(res, 'This page', true);
  };

  function snapshot(): PortalStats {
    return {
      ...stats,
      expiredSessions: sessions.expired,
      revalidations: signIn.revalidations(),
      filesServed: { ...stats.filesServed },
      filesFromZero: { ...stats.filesFromZero },
      pagesServed: { ...stats.pagesServed },
    };
  }

  const server = createServer((req, res) => {
    stats.requests++;
    // Node sees the header, ends the socket once this response is flushed, and never reads a next request on it.
    if (opts.connectionClose) res.setHeader('Connection', 'close');
    route(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        stats.sent5xx++;
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Internal server error');
      } else {
        res.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    options: opts,
    get revision() {
      return revision;
    },
    setRevision(n: number): void {
      revision = resolvePortalOptions({ ...opts, revision: n }).revision;
      listedVehicles = present(vehicles);
      listedCards = present(cards);
    },
    stats: snapshot,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const res of stuck) res.socket?.destroy();
        stuck.clear();
        server.close(() => resolve());
        // Keep-alive and stuck connections would hold close() open forever.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
