// The pieces of pages read over HTTP that need no server: the parsed page, the logged-out test on HTML, the
// charset, and the read memory's choice of way.
import type { Page } from 'playwright';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { decodeText } from '../../src/files/html-read.js';
import { HtmlPage } from '../../src/sites/html-page.js';
import { htmlLoggedOut, showsLoginFormHtml } from '../../src/sites/http-reader.js';
import { ReadMemory } from '../../src/sites/read-memory.js';

describe('HtmlPage', () => {
  const html = `<!doctype html><title> Vehicle S1 </title>
    <table><tr data-stock="S1"><td><a href="/vehicle/S1">S1</a></td></tr></table>
    <a id="sticker" href="../files/s1.pdf">PDF</a> <img id="photo" src="p.jpg"> <p class="price"> 12 000 </p>`;

  it('is queried as a document (no <html> or <head> needed, as in a browser): selectors, attributes, dataset, text, links made absolute against its URL', () => {
    const page = new HtmlPage(html, 'http://portal.test/app/vehicle/S1', 200);
    expect(page.title()).toBe('Vehicle S1');
    expect(page.querySelectorAll<HTMLElement>('tr[data-stock]').map((tr) => tr.dataset.stock)).toEqual([
      'S1',
    ]);
    expect(page.text('.price')).toBe('12 000');
    expect(page.text('.none')).toBeNull();
    expect(page.link('#sticker')).toBe('http://portal.test/app/files/s1.pdf');
    expect(page.link('#photo')).toBe('http://portal.test/app/vehicle/p.jpg');
    expect(page.link('a[rel=next]')).toBeNull();
    expect(page.content()).toBe(html);
    expect(page.evaluate(() => `${location.pathname} ${document.querySelectorAll('a').length}`)).toBe(
      '/app/vehicle/S1 2',
    );
  });

  it('resolves links against a <base href> first, as the browser does', () => {
    const page = new HtmlPage('<base href="/docs/"><a href="x.pdf">x</a>', 'http://portal.test/a/b');
    expect(page.link('a')).toBe('http://portal.test/docs/x.pdf');
  });
});

describe("the site's logged-out test on HTML", () => {
  it('runs a loggedOut written with page.url() on the HtmlPage', async () => {
    const test = htmlLoggedOut({
      name: 's',
      loggedOut: async (page) => page.url().includes('/login'),
    });
    expect(await test?.(new HtmlPage('<form></form>', 'http://p.test/login?next=/x'))).toBe(true);
    expect(await test?.(new HtmlPage('<p>ok</p>', 'http://p.test/vehicle/S1'))).toBe(false);
  });

  it('a loggedOut that needs a real page is a ConfigError naming loggedOutHtml', async () => {
    const test = htmlLoggedOut({
      name: 'portal',
      loggedOut: async (page: Page) => (await page.locator('#login').count()) > 0,
    });
    const error = await test?.(new HtmlPage('<p></p>', 'http://p.test/')).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^Site portal: its loggedOut\(page\) cannot judge a page read over HTTP \(.*\): give the site loggedOutHtml\(page\)/,
    );
  });

  it('loggedOutHtml wins; a site with neither has no test', async () => {
    const test = htmlLoggedOut({
      name: 's',
      loggedOut: async () => true,
      loggedOutHtml: (page) => page.querySelector('form#login') !== null,
    });
    expect(await test?.(new HtmlPage('<p></p>', 'http://p.test/'))).toBe(false);
    expect(htmlLoggedOut({ name: 's' })).toBeUndefined();
  });

  it('a visible password field is a login form; a hidden one is not', () => {
    const form = (inner: string) => showsLoginFormHtml(new HtmlPage(inner, 'http://p.test/'));
    expect(form('<form><input type=password name=p></form>')).toBe(true);
    expect(form('<div hidden><input type=password></div>')).toBe(false);
    expect(form('<input type=password style="display: none">')).toBe(false);
    expect(form('<input type=text>')).toBe(false);
  });
});

describe('decodeText', () => {
  const latin1 = Buffer.from('<p>caf\xe9</p>', 'latin1');
  it("takes the Content-Type's charset, else a <meta charset>, else UTF-8", () => {
    expect(decodeText(latin1, 'text/html; charset=ISO-8859-1')).toBe('<p>café</p>');
    const meta = Buffer.concat([Buffer.from('<meta charset="windows-1252">'), latin1]);
    expect(decodeText(meta, 'text/html')).toBe('<meta charset="windows-1252"><p>café</p>');
    expect(decodeText(Buffer.from('<p>café</p>'), undefined)).toBe('<p>café</p>');
    expect(decodeText(Buffer.from('<p>café</p>'), 'text/html; charset=no-such-charset')).toBe('<p>café</p>');
  });
});

describe('ReadMemory', () => {
  const miss = { http: { found: false, ms: 10 }, page: { found: true, ms: 300 } };
  const hit = { http: { found: true, ms: 10 } };

  it('keeps HTTP first while the HTML has the answer often enough to pay for itself', () => {
    const memory = new ReadMemory();
    // 1 in 3 found over HTTP: 0.33 x 300 ms of page saved > 10 ms of HTTP read.
    for (let i = 0; i < 30; i++) expect(memory.record('k', i % 3 === 0 ? hit : miss)).toBeUndefined();
    expect(memory.first('k')).toBe('http');
  });

  it('goes to the page first once HTTP never has it, probes HTTP every 10th read, and comes back', () => {
    const memory = new ReadMemory();
    const changes: Array<string | undefined> = [];
    for (let i = 0; i < 5; i++) changes.push(memory.record('k', miss));
    expect(changes).toEqual([undefined, undefined, undefined, undefined, 'page']);
    expect(memory.httpShare('k')).toBe(0);
    const ways = Array.from({ length: 20 }, () => memory.first('k'));
    expect(ways.filter((w) => w === 'http')).toHaveLength(2);
    expect(ways[9]).toBe('http');
    // The portal changed: the HTML has it now. A few found reads swing it back.
    let back: string | undefined;
    for (let i = 0; i < 20 && !back; i++) back = memory.record('k', hit);
    expect(back).toBe('http');
    expect(memory.first('k')).toBe('http');
    // Another kind of read learns on its own.
    expect(memory.first('other')).toBe('http');
  });
});
