// A 401/403 is judged by what the portal shows, before any re-login: on real Chromium against a small login portal
// whose item pages and files can be refused to a logged-in user, whose sessions can be dropped, and whose files
// answer a stale session with 403 (as APIs and Rails `head :forbidden` do) or with an HTML page.
import { EventEmitter } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttemptContext, type ItemWorker, openItemWorker } from '../../src/engine/item-worker.js';
import {
  classify,
  FileInvalidError,
  ForbiddenError,
  LoginError,
  SessionExpiredError,
} from '../../src/errors.js';
import { run } from '../../src/run.js';
import type { RunEvents } from '../../src/run-events.js';
import { checkResponse } from '../../src/sites/check-response.js';
import { defineSite, type Site } from '../../src/sites/site.js';
import { pdfBytes, startServer, type TestServer } from '../files/helpers.js';
import { launchTestBrowser } from '../helpers/chromium.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

/** A login portal: `/login` (redirects a logged-in visitor away), `/item/ID` pages and `/item/ID/doc.pdf` files. */
interface Portal {
  server: TestServer;
  url: string;
  /** Logins that succeeded (form posts with the right password). */
  logins: number;
  password: string;
  /** Item ids whose page answers 403 to a logged-in user. */
  forbiddenPages: Set<string>;
  /** Item ids whose file answers 403 to a logged-in user. */
  forbiddenFiles: Set<string>;
  /** Item ids whose file answers `200 text/html` to a logged-in user. */
  htmlFiles: Set<string>;
  /** Item ids whose file request drops every session first. */
  dropBeforeFile: Set<string>;
  /** Requests per path. */
  hits: Map<string, number>;
  /** Drops every session (the next request of each goes to /login; a file gets 403). */
  expire(): void;
}

async function startLoginPortal(): Promise<Portal> {
  const sessions = new Set<string>();
  let next = 0;
  const html = (res: http.ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><body>${body}</body></html>`);
  };
  const portal: Portal = {
    server: undefined as unknown as TestServer,
    url: '',
    logins: 0,
    password: 'pw',
    forbiddenPages: new Set(),
    forbiddenFiles: new Set(),
    htmlFiles: new Set(),
    dropBeforeFile: new Set(),
    hits: new Map(),
    expire: () => sessions.clear(),
  };
  portal.server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    portal.hits.set(url.pathname, (portal.hits.get(url.pathname) ?? 0) + 1);
    const fileOf = /^\/item\/(\w+)\/doc\.pdf$/.exec(url.pathname)?.[1];
    if (fileOf && portal.dropBeforeFile.has(fileOf)) sessions.clear();
    const sid = /sid=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
    const loggedIn = sid !== undefined && sessions.has(sid);
    if (url.pathname === '/login') {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => {
          body += c.toString();
        });
        req.on('end', () => {
          if (new URLSearchParams(body).get('pw') !== portal.password)
            return html(res, 401, '<form method="post"><input type="password" name="pw"></form>');
          const id = `s${++next}`;
          sessions.add(id);
          portal.logins += 1;
          res.writeHead(303, { location: '/items', 'set-cookie': `sid=${id}; Path=/` });
          res.end();
        });
        return;
      }
      // A logged-in visitor of /login is sent on, as Rails applications do.
      if (loggedIn) {
        res.writeHead(302, { location: '/items' });
        return res.end();
      }
      return html(
        res,
        200,
        '<form method="post"><input type="password" name="pw"><button type="submit">Go</button></form>',
      );
    }
    const item = /^\/item\/(\w+)(\/doc\.pdf)?$/.exec(url.pathname);
    if (item?.[2]) {
      const id = item[1]!;
      if (!loggedIn || portal.forbiddenFiles.has(id)) return html(res, 403, '<h1>Forbidden</h1>');
      if (portal.htmlFiles.has(id)) return html(res, 200, '<p>Please try again later</p>');
      res.writeHead(200, { 'content-type': 'application/pdf' });
      return res.end(pdfBytes(2000, id.length));
    }
    if (!loggedIn) {
      res.writeHead(302, { location: '/login' });
      return res.end();
    }
    if (item && portal.forbiddenPages.has(item[1]!))
      return html(res, 403, '<h1>You may not see this item</h1>');
    html(res, 200, `<h1>${url.pathname}</h1><a id="doc" href="${url.pathname}/doc.pdf">doc</a>`);
  });
  portal.url = portal.server.origin;
  return portal;
}

interface Ref {
  id: string;
}

/** The portal's adapter, as a user writes it (`loggedOut` optional: without it pagepool's own test applies). */
function siteFor(withLoggedOut: boolean): Site<Ref> {
  return defineSite<Ref>({
    name: 'fixture',
    key: (ref) => ref.id,
    async login(page, creds, baseUrl) {
      await page.goto(`${baseUrl}/login`);
      if (!page.url().includes('/login')) return;
      await page.fill('input[name=pw]', creds.password);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      if (page.url().includes('/login')) throw new LoginError('the portal refused the login');
    },
    ...(withLoggedOut ? { loggedOut: async (page) => page.url().includes('/login') } : {}),
    async *list() {
      for (const id of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) yield { id };
    },
    async process({ ref, page, baseUrl, files, releasePage }) {
      await checkResponse(page, await page.goto(`${baseUrl}/item/${ref.id}`), {
        what: `item ${ref.id}`,
        ...(withLoggedOut ? { loggedOut: async (p) => p.url().includes('/login') } : {}),
      });
      await releasePage();
      await files.fetch(`${baseUrl}/item/${ref.id}/doc.pdf`, { kind: 'pdf', name: `${ref.id}.pdf` });
    },
  });
}

let browser: Browser;
const portals: Portal[] = [];
beforeAll(async () => {
  browser = await launchTestBrowser();
});
afterAll(async () => {
  await browser?.close();
  for (const p of portals) await p.server.close();
  await removeTempDirs();
});

async function portal(): Promise<Portal> {
  const p = await startLoginPortal();
  portals.push(p);
  return p;
}

function ctx(key: string, attempt = 1): AttemptContext {
  return { key, attempt, signal: new AbortController().signal, abandoned: new AbortController().signal };
}

async function open(p: Portal, out: string, withLoggedOut = true): Promise<ItemWorker<Ref>> {
  return openItemWorker({
    site: siteFor(withLoggedOut),
    baseUrl: p.url,
    credentials: { username: 'u', password: p.password },
    out,
    concurrency: 2,
    events: new EventEmitter<RunEvents>(),
    browser,
  });
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('a 401/403 on a file, looked into before any re-login', () => {
  it('refused to a live session: FORBIDDEN, permanent, error.txt, no login; the other items are fine', async () => {
    const p = await portal();
    p.forbiddenFiles.add('a2');
    const out = await tempDir();
    const worker = await open(p, out);
    try {
      expect(await worker.work({ id: 'a1' }, ctx('a1'))).toHaveLength(1);
      const err = await failure(worker.work({ id: 'a2' }, ctx('a2')));
      expect(err).toBeInstanceOf(ForbiddenError);
      expect(classify(err)).toBe('permanent');
      expect((err as Error).message).toBe(
        `${p.url}/item/a2/doc.pdf answered HTTP 403 while the session is still logged in: the portal refuses it to this account`,
      );
      // The look opened the item's own page again, on a page of its own.
      expect(p.hits.get('/item/a2')).toBe(2);
      const folder = path.join(out, '.pagepool', 'failures', 'a2');
      expect(await readdir(folder)).toEqual(['error.txt']);
      expect(await readFile(path.join(folder, 'error.txt'), 'utf8')).toMatch(
        /ForbiddenError \[FORBIDDEN\]: .*answered HTTP 403 while the session is still logged in/,
      );
      expect(p.logins).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('a 403 page (not the login page): FORBIDDEN at once with its screenshot, no look needed', async () => {
    const p = await portal();
    p.forbiddenPages.add('a3');
    const out = await tempDir();
    const worker = await open(p, out);
    try {
      const err = await failure(worker.work({ id: 'a3' }, ctx('a3')));
      expect(err).toMatchObject({ code: 'FORBIDDEN', status: 403 });
      expect(p.hits.get('/item/a3')).toBe(1);
      const folder = path.join(out, '.pagepool', 'failures', 'a3');
      expect((await readdir(folder)).sort()).toEqual(['error.txt', 'page.html', 'screenshot.png']);
      expect(await readFile(path.join(folder, 'page.html'), 'utf8')).toContain('You may not see this item');
    } finally {
      await worker.close();
    }
  });

  it("the session really gone (the item's page goes to /login): a session expiry; the re-login logs in once", async () => {
    const p = await portal();
    const worker = await open(p, await tempDir());
    try {
      expect(await worker.work({ id: 'a1' }, ctx('a1'))).toHaveLength(1);
      // The session is dropped between the item's page and its file: the file answers 403.
      p.dropBeforeFile.add('a4');
      const expired = await failure(worker.work({ id: 'a4' }, ctx('a4')));
      expect(expired).toBeInstanceOf(SessionExpiredError);
      expect(expired).not.toBeInstanceOf(ForbiddenError);
      expect(classify(expired)).toBe('relogin');
      expect(p.hits.get('/item/a4')).toBe(2);
      expect(p.logins).toBe(1);
      p.dropBeforeFile.clear();
      await worker.login.relogin(0);
      expect(p.logins).toBe(2);
      expect(await worker.work({ id: 'a4' }, ctx('a4', 2))).toHaveLength(1);
    } finally {
      await worker.close();
    }
  });

  it('a file 403 met on a live session after the page was fine, for a site without loggedOut: FORBIDDEN (no password field)', async () => {
    const p = await portal();
    p.forbiddenFiles.add('a5');
    const worker = await open(p, await tempDir(), false);
    try {
      expect(await failure(worker.work({ id: 'a5' }, ctx('a5')))).toBeInstanceOf(ForbiddenError);
      p.expire();
      // Now the look lands on /login, whose password field says "login page": an expiry.
      expect(await failure(worker.work({ id: 'a5' }, ctx('a5', 2)))).toBeInstanceOf(SessionExpiredError);
      expect(p.logins).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('an HTML page instead of the file while the session is live: a retried error, not a re-login', async () => {
    const p = await portal();
    p.htmlFiles.add('a6');
    const worker = await open(p, await tempDir());
    try {
      const err = await failure(worker.work({ id: 'a6' }, ctx('a6')));
      expect(err).toBeInstanceOf(FileInvalidError);
      expect(classify(err)).toBe('retry');
      expect((err as Error).message).toMatch(/got an HTML page .*while the session is still logged in/);
      expect(p.logins).toBe(1);
    } finally {
      await worker.close();
    }
  });
});

describe('a run with forbidden items', () => {
  it('records them as permanent FORBIDDEN failures, makes no re-login, and pulls the rest', async () => {
    const p = await portal();
    p.forbiddenPages.add('a2');
    p.forbiddenFiles.add('a5');
    const out = await tempDir();
    const events = new EventEmitter<RunEvents>();
    const failed: Array<{ key: string; permanent: boolean }> = [];
    events.on('task:failed', ({ key, permanent }) => failed.push({ key, permanent }));
    const summary = await run({
      site: siteFor(true),
      baseUrl: p.url,
      credentials: { username: 'u', password: p.password },
      out,
      checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
      concurrency: 2,
      browser,
      events,
    });
    expect(summary).toMatchObject({ done: 4, failed: 2, permanent: 2, relogins: 0, retries: 0 });
    expect(failed.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'a2', permanent: true },
      { key: 'a5', permanent: true },
    ]);
    expect(p.logins).toBe(1);
    const journal = await readFile(path.join(out, '.pagepool', 'checkpoint.jsonl'), 'utf8').catch(() => '');
    const snapshot = await readFile(path.join(out, '.pagepool', 'checkpoint.json'), 'utf8').catch(() => '');
    expect(`${journal}${snapshot}`).toMatch(/"code":\s*"FORBIDDEN"/);
    for (const key of ['a2', 'a5'])
      expect(await readdir(path.join(out, '.pagepool', 'failures', key))).toContain('error.txt');
  });

  it('a re-login that fails is the login failure: the run stops fatal with a LoginError naming the re-login', async () => {
    const p = await portal();
    const out = await tempDir();
    const events = new EventEmitter<RunEvents>();
    let done = 0;
    const site = siteFor(true);
    events.on('task:done', () => {
      done += 1;
      // After the first item, the session goes and the password changes: the re-login is refused.
      if (done === 1) {
        p.expire();
        p.password = 'changed';
      }
    });
    const summary = await run({
      site,
      baseUrl: p.url,
      credentials: { username: 'u', password: 'pw' },
      out,
      checkpoint: path.join(out, '.pagepool', 'checkpoint.json'),
      concurrency: 1,
      browser,
      events,
    });
    expect(summary.reason).toBe('fatal');
    expect(summary.error).toBeInstanceOf(LoginError);
    expect((summary.error as Error).message).toBe('The re-login failed: the portal refused the login');
    expect(summary.failed).toBe(0);
    expect(summary.pending.length).toBeGreaterThan(0);
  });
});
