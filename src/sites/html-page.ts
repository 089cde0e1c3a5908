// A page's HTML parsed into a DOM in Node (linkedom): what `job.http.html(url)` and `job.read(url, ...)` give an
// adapter, queried as `document` is queried inside a page. No script has run on it and nothing was rendered.
//
// Why linkedom: it gives the DOM's own interfaces (Document, Element: querySelector/All, getAttribute, textContent,
// dataset, closest), so adapter code reads as it does in `page.evaluate`, at a cost a pull can pay per item.
// Parse + one querySelector of the demo's 151 KB heavy detail page (2,000 elements), median CPU on this machine:
// node-html-parser 4.1 ms (but no Document, its own element API), linkedom 10.9 ms (1.5 MB held per document),
// cheerio 24.5 ms (jQuery's API), happy-dom 75.8 ms, jsdom 93.0 ms (8.8 MB held).
import { linkedom } from '../lazy-deps.js';

export class HtmlPage {
  /** The parsed document: `querySelector`, `getAttribute`, `textContent`, as in the browser. */
  readonly document: Document;
  /** The HTTP status it came with (200 for a page the browser rendered). */
  readonly status: number;
  readonly #url: string;
  readonly #html: string;

  /** `html` as read from `url` (the URL after redirects: relative links resolve against it). */
  constructor(html: string, url: string, status = 200) {
    this.#html = html;
    this.#url = url;
    this.status = status;
    this.document = new (linkedom().DOMParser)().parseFromString(html, 'text/html') as unknown as Document;
  }

  /** The URL the page came from, after redirects (as `page.url()`). */
  url(): string {
    return this.#url;
  }

  /**
   * The document's title (as `page.title()`: whitespace collapsed). Read from the first <title> itself: linkedom
   * builds no implied <head>, so its `document.title` is empty for a page that leaves out <html> and <head>.
   */
  title(): string {
    return (this.document.querySelector('title')?.textContent ?? '').replace(/\s+/g, ' ').trim();
  }

  /** The HTML as it was read (as `page.content()`, without what scripts would have added). */
  content(): string {
    return this.#html;
  }

  /** The first element matching a CSS selector, or null. */
  querySelector<E extends Element = Element>(selectors: string): E | null {
    return this.document.querySelector<E>(selectors);
  }

  /** Every element matching a CSS selector, in document order. */
  querySelectorAll<E extends Element = Element>(selectors: string): E[] {
    return Array.from(this.document.querySelectorAll<E>(selectors));
  }

  /** The trimmed text of the first element matching `selectors`, or null when there is none. */
  text(selectors: string): string | null {
    return this.querySelector(selectors)?.textContent?.trim() ?? null;
  }

  /**
   * The absolute URL the first element matching `selectors` points to (its `href`, else `src`, else `action`),
   * resolved against the page's URL as the browser resolves `a.href`; null when there is none.
   */
  link(selectors: string): string | null {
    const element = this.querySelector(selectors);
    const value =
      element?.getAttribute('href') ?? element?.getAttribute('src') ?? element?.getAttribute('action');
    return value == null ? null : this.resolve(value);
  }

  /** `href` made absolute against the page's URL (a `<base href>` first, as in the browser). */
  resolve(href: string): string {
    const base = this.document.querySelector('base[href]')?.getAttribute('href');
    return new URL(href.trim(), base ? new URL(base, this.#url) : this.#url).href;
  }

  /**
   * Runs `fn(arg)` with `document`, `window` and `location` bound to this page, as `page.evaluate(fn, arg)` runs it
   * in the browser: `fn` must not use variables from around it (it is compiled again from its source). So a
   * site's `loggedOut(page)` written with `page.url()` or `page.evaluate(() => document...)` judges HTML too.
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R, arg?: A): R {
    const location = new URL(this.#url);
    const window = { document: this.document, location };
    const compiled = compile(String(fn));
    return compiled(this.document, window, location, arg) as R;
  }
}

type Compiled = (document: Document, window: object, location: URL, arg: unknown) => unknown;
const compiled = new Map<string, Compiled>();

/** `source` compiled once with `document`, `window` and `location` in its scope. */
function compile(source: string): Compiled {
  let fn = compiled.get(source);
  if (!fn) {
    fn = new Function('document', 'window', 'location', 'arg', `return (${source})(arg);`) as Compiled;
    if (compiled.size < 1000) compiled.set(source, fn);
  }
  return fn;
}
