// The page pool: one logged-in BrowserContext, N pages handed out one task at a time, replaced when they go bad,
// grow, or get old; every M tasks the pool moves to a fresh context carrying the old one's storage state.
import { EventEmitter } from 'node:events';
import type { Browser, BrowserContext, BrowserContextOptions, Page, Response } from 'playwright';
import { LIBRARY_DEFAULTS } from '../defaults.js';
import { ConfigError, describe, LoginError, ShutdownError } from '../errors.js';
import type { HtmlResponse } from '../files/html-read.js';
import { PageSession } from './page-session.js';
import { playwright } from './playwright.js';

const CONTEXT_OPTIONS = { acceptDownloads: true } as const;
type StorageState = Exclude<BrowserContextOptions['storageState'], string | undefined>;
const MIB = 1024 * 1024;
/** Tries of a re-login that failed without the portal refusing it (see relogin()). */
const RELOGIN_TRIES = 2;
/** The default of `pageTimeoutMs`: a detail page of a slow portal loads in a few seconds, a hung one never. */
export const PAGE_TIMEOUT_MS = LIBRARY_DEFAULTS.pageTimeoutMs;

export interface PagePoolOptions {
  browser: Browser;
  /** Pages in the pool. */
  size: number;
  /** Logs a page in (and accepts the licence); cookies land in the shared context. None: no login, ever. */
  login?: ((page: Page) => Promise<void>) | undefined;
  /**
   * A saved session to start from instead of logging in (issue 24, src/sessions/saved-session.ts): the first
   * context gets `storageState`, and `login` runs only when `isLoggedIn(firstPage)` says it no longer works.
   */
  restore?: { storageState: StorageState; isLoggedIn(page: Page): Promise<boolean> } | undefined;
  /** Options of every context the pool makes, the first and each recycled one (the proxy). @default {} */
  contextOptions?: BrowserContextOptions;
  /** Block images, fonts, media and stylesheets. @default true */
  block?: boolean;
  /** Replace a page after this many tasks. @default 200 */
  recycleAfter?: number;
  /** Collect a page's garbage and read its live JS heap after every this many of its tasks; 0 never. @default 20 */
  memoryCheckEvery?: number;
  /** A page whose JS heap in use is above this many bytes when checked is replaced (no new login). @default 64 MiB */
  pageHeapLimitBytes?: number;
  /**
   * Every this many tasks, move to a fresh context made from the old one's `storageState()` (cookies and local
   * storage: no new login); pages move over as they come back and the old context closes with its last page.
   * A context keeps growing for its whole life, pages replaced or not. 0 keeps one context.
   * @default 1000
   */
  contextRecycleAfter?: number;
  /** Bound on `page.close()`, which can hang after an aborted navigation. @default 5000 */
  closeTimeoutMs?: number;
  /**
   * Every page's default timeout for navigations and waits (`page.setDefaultTimeout`), so adapter code needs
   * none of its own; a task that fails on one gets its page replaced.
   * @default 30_000
   */
  pageTimeoutMs?: number;
  /**
   * Run JavaScript on the pages items get (`withPage`, `withSlot`); false runs them with it disabled, as
   * Playwright's `javaScriptEnabled: false` does (CDP `Emulation.setScriptExecutionDisabled`: inline and external
   * scripts alike, `page.evaluate` still works). Login, re-login and `extraPage()` pages always run it.
   * @default true
   */
  scripts?: boolean;
  /**
   * Tasks open their page only when they ask for one (the site's `pageOnDemand`): the login page is closed once
   * logged in, so a run that reads every page over HTTP keeps no renderer alive for pages nobody uses.
   * @default false
   */
  pageOnDemand?: boolean;
}

/** A slot of the pool held by one task (`withSlot`): its number, and its page, opened on first ask. */
export interface PageLease {
  readonly slot: number;
  /** The slot's page, opened (or made) on the first call; the same page after. */
  page(): Promise<Page>;
}

/**
 * Why a slot's page was taken away: it served `recycleAfter` items, its heap grew too large, its context retired,
 * its task was aborted (deadline, shutdown) or abandoned, it crashed, a wait or navigation on it timed out, or a
 * navigation failed in the browser. The README's `pagepool_pages_replaced_total` lists these (a test holds it).
 */
export const PAGE_REPLACED_REASONS = [
  'recycled',
  'memory',
  'context',
  'aborted',
  'abandoned',
  'crashed',
  'timeout',
  'navigation failed',
] as const;
export type PageReplacedReason = (typeof PAGE_REPLACED_REASONS)[number];

/** What the pool reports; the engine forwards these to the run's events. */
export interface PagePoolEvents {
  /** A slot's page was taken away (see PAGE_REPLACED_REASONS). */
  'page:replaced': [{ slot: number; reason: PageReplacedReason }];
  /** A login completed (the first one and every re-login); `count` so far. */
  login: [{ count: number }];
  /** The saved session (`restore`) still worked: the pool opened without a login. */
  'session:restored': [];
  /** A fresh context took over; `count` is the number of contexts moved to so far. */
  'context:recycled': [{ count: number }];
  warning: [{ message: string }];
}

/** One browser context and how many of the pool's pages (extra pages included) are still open in it. */
interface ContextEntry {
  context: BrowserContext;
  pages: number;
  /** A newer context took over: no new pages here; closed when `pages` reaches 0. */
  retiring: boolean;
}

interface Slot {
  index: number;
  page: Page | null;
  uses: number;
  busy: boolean;
  /** Bumped whenever the slot's page is taken away, so a late task cannot release the new one. */
  generation: number;
}

/**
 * `new PagePool(options)`, attach listeners, then `await pool.open()`: the first login is reported too.
 */
export class PagePool extends EventEmitter<PagePoolEvents> {
  private readonly options: Required<Omit<PagePoolOptions, 'login' | 'restore'>> &
    Pick<PagePoolOptions, 'login' | 'restore'>;
  private readonly slots: Slot[];
  private readonly waiters: Array<(slot: Slot) => void> = [];
  private readonly unblocked = new WeakSet<Page>();
  /** Pages whose JavaScript is disabled (`scripts: false`): slot pages once an item has had them. */
  private readonly withoutScripts = new WeakSet<Page>();
  private readonly closing = new Set<Promise<void>>();
  private readonly sessions = new WeakMap<Page, PageSession>();
  /** Each page's last main-frame document response in its current task (see `lastDocument`). */
  private readonly documents = new WeakMap<Page, Response>();
  private readonly contextOf = new WeakMap<Page, ContextEntry>();
  private readonly contexts = new Set<ContextEntry>();
  private current!: ContextEntry;
  private logins = 0;
  private recycledContexts = 0;
  private tasksInContext = 0;
  private rotating: Promise<void> | null = null;
  private closed = false;
  /**
   * How this session's pages are read over HTTP (its cookies, the browser's headers): set by whoever opened the
   * session's HTTP client (the item worker's file store), so the listing on an extra page reads the same way.
   */
  readHtml: ((url: string, options: { signal: AbortSignal }) => Promise<HtmlResponse>) | undefined;

  /** Checks the options (a ConfigError names every bad one); no browser work until `open()`. */
  constructor(options: PagePoolOptions) {
    super();
    const problems = poolOptionProblems(options);
    if (problems.length > 0) throw new ConfigError(problems.join('; '));
    this.options = {
      block: true,
      scripts: true,
      pageOnDemand: false,
      recycleAfter: LIBRARY_DEFAULTS.recycleAfter,
      memoryCheckEvery: 20,
      pageHeapLimitBytes: 64 * MIB,
      contextRecycleAfter: 1000,
      closeTimeoutMs: 5000,
      pageTimeoutMs: PAGE_TIMEOUT_MS,
      contextOptions: {},
      ...options,
    };
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      page: null,
      uses: 0,
      busy: false,
      generation: 0,
    }));
  }

  /**
   * Opens the context and logs in once; the login page becomes the first page of the pool (with `pageOnDemand`,
   * it is closed). `alongside(context)` runs while the login does (the file layer reads the browser's headers on a
   * page of its own) and is waited for before `open` returns; it must handle its own failures.
   */
  async open(alongside?: (context: BrowserContext) => Promise<void>): Promise<this> {
    const { restore } = this.options;
    const context = await this.options.browser.newContext({
      ...CONTEXT_OPTIONS,
      ...this.options.contextOptions,
      ...(restore ? { storageState: restore.storageState } : {}),
    });
    this.current = { context, pages: 0, retiring: false };
    this.contexts.add(this.current);
    const beside = alongside?.(context);
    try {
      const page = await this.newPage();
      // A saved session that still works needs no login: the first page looks at the portal instead.
      if (restore && (await restore.isLoggedIn(page))) this.emit('session:restored');
      else await this.loginOn(page);
      // Closed in the background (close() waits for it): the run goes on meanwhile.
      if (this.options.pageOnDemand) this.replace(this.slots[0]!, 'closing', page);
      else this.slots[0]!.page = page;
    } catch (err) {
      await beside;
      this.contexts.clear();
      await context.close().catch(() => {});
      throw err;
    }
    await beside;
    return this;
  }

  /** The context new pages open in (it changes when the pool recycles its context). */
  get context(): BrowserContext {
    return this.current.context;
  }

  get loginCount(): number {
    return this.logins;
  }

  /** Contexts the pool has moved to after its first one. */
  get contextRecycleCount(): number {
    return this.recycledContexts;
  }

  /**
   * Runs `fn` with a page of its own. When `signal` aborts (deadline, shutdown) or `abandoned` fires, the page is
   * closed so that whatever `fn` is waiting on in Playwright fails at once, and the slot gets a fresh page.
   */
  withPage<R>(
    fn: (page: Page, slot: number) => Promise<R>,
    options: { signal: AbortSignal; abandoned?: AbortSignal },
  ): Promise<R> {
    return this.withSlot(async (lease) => fn(await lease.page(), lease.slot), options);
  }

  /**
   * Runs `fn` holding a slot of the pool, whose page is opened only when `fn` asks for it (`lease.page()`): an
   * item read over HTTP holds its place in the pool without a browser page. Once the page is open, it is the
   * task's as in `withPage`: closed on abort, abandon or crash, replaced when it grew or got old.
   */
  async withSlot<R>(
    fn: (lease: PageLease) => Promise<R>,
    { signal, abandoned }: { signal: AbortSignal; abandoned?: AbortSignal },
  ): Promise<R> {
    signal.throwIfAborted();
    const slot = await this.acquire(signal);
    const lease = { slot, generation: slot.generation, released: false };
    let page: Page | null = null;
    let opening: Promise<Page> | null = null;
    const poison = (reason: PageReplacedReason) => {
      if (page && slot.generation === lease.generation) this.replace(slot, reason);
    };
    const onAbort = () => poison('aborted');
    // An abandoned task no longer holds its slot: hand the slot on now, not when the task comes back.
    const onAbandon = () => {
      poison('abandoned');
      this.release(lease);
    };
    const onCrash = () => poison('crashed');
    signal.addEventListener('abort', onAbort, { once: true });
    abandoned?.addEventListener('abort', onAbandon, { once: true });
    const open = async (): Promise<Page> => {
      signal.throwIfAborted();
      if (lease.released)
        throw new ShutdownError('the page pool took this slot back (the task was given up)');
      slot.page ??= await this.newPage();
      const opened = slot.page;
      if (!this.options.scripts) await this.scriptsOff(opened);
      slot.uses += 1;
      this.documents.delete(opened);
      opened.once('crash', onCrash);
      page = opened;
      return opened;
    };
    try {
      return await fn({ slot: slot.index, page: () => (opening ??= open()) });
    } catch (err) {
      // A navigation or wait that timed out leaves its request loading in the browser: it holds Chromium's HTTP
      // cache lock on that URL (another page asking for it waits 20 s, long enough for a short session to expire
      // meanwhile, again on every retry) and one of the 6 sockets per host. Closing the page cancels it; the
      // attempt fails once it is closed (bounded), so its retry cannot start while the request still holds on.
      if (page && isTimeout(err) && slot.generation === lease.generation) await this.replace(slot, 'timeout');
      // A navigation that failed in the browser (an error status with no body, a refused connection) goes on to
      // Chromium's error page by itself, later: the next task's goto on this page would be interrupted by it.
      // Not awaited: nothing of it holds on in the browser, and the task's error (a 429 to hold on) goes out now.
      else if (page && isFailedNavigation(err) && slot.generation === lease.generation)
        void this.replace(slot, 'navigation failed');
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      abandoned?.removeEventListener('abort', onAbandon);
      let releaseLater = false;
      // A task that never opened its page left nothing on it: no use counted, nothing to check or recycle.
      const used = page as Page | null;
      if (used) {
        used.off('crash', onCrash);
        this.unblocked.delete(used);
        this.countTask();
        if (slot.generation === lease.generation && !lease.released) {
          if (slot.uses >= this.options.recycleAfter) this.replace(slot, 'recycled');
          else if (this.contextOf.get(used)?.retiring) this.replace(slot, 'context');
          else if (this.options.memoryCheckEvery > 0 && slot.uses % this.options.memoryCheckEvery === 0) {
            // The slot stays busy while the heap is read; the caller has its result without waiting for it.
            releaseLater = true;
            void this.checkMemory(slot, lease.generation, used).finally(() => this.release(lease));
          }
        }
      }
      if (!releaseLater) this.release(lease);
    }
  }

  /**
   * The last main-frame document response `page` received in its current task. A goto that fails with
   * net::ERR_HTTP_RESPONSE_CODE_FAILURE (Chromium's own error page for a 4xx/5xx with an empty body) returns no
   * response; this is where its status and Retry-After are.
   */
  lastDocument(page: Page): Response | undefined {
    return this.documents.get(page);
  }

  /** Disables JavaScript on `page` for the rest of its life (once per page): the option `scripts: false`. */
  private async scriptsOff(page: Page): Promise<void> {
    if (this.withoutScripts.has(page)) return;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    this.withoutScripts.add(page);
  }

  /** Every page's timeout for a navigation or a wait; a page read over HTTP gets the same (`job.http`). */
  get pageTimeoutMs(): number {
    return this.options.pageTimeoutMs;
  }

  /**
   * Stops whatever `page` is still loading. A navigation that timed out is still pending in Chromium, and until it
   * commits or stops the page answers nothing: an evaluate, a screenshot or a locator waits out its own timeout
   * (measured: 5 s of every failure snapshot after a page timeout). Stopped, the page shows the document it had at
   * once. Bounded; never throws.
   */
  async stopLoading(page: Page): Promise<void> {
    const stop = async () => {
      const cdp = await page.context().newCDPSession(page);
      try {
        await cdp.send('Page.stopLoading');
      } finally {
        await cdp.detach().catch(() => {});
      }
    };
    await bounded(stop(), this.options.closeTimeoutMs);
  }

  /** Lets images, fonts and stylesheets load on this page until it goes back to the pool (render path). */
  unblock(page: Page): void {
    this.unblocked.add(page);
  }

  /**
   * One new login on a page of its own; the shared context's cookies then serve every page. A login that fails
   * is the login's failure, not the item's (or the listing's) that asked for it: a `LoginError` saying so, which
   * stops the run (exit 2) rather than sending every item round again into the same failing login. Only a login
   * the portal refused (the adapter's `LoginError`) stops it at once; one that failed otherwise (a navigation that
   * timed out on a busy machine, a crashed page) is tried once more on a fresh page first.
   */
  async relogin(): Promise<void> {
    if (!this.options.login) return;
    for (let tries = 1; ; tries++) {
      const page = await this.newPage();
      try {
        await this.loginOn(page);
        break;
      } catch (err) {
        if (err instanceof ShutdownError || this.closed) throw err;
        if (!(err instanceof LoginError) && tries < RELOGIN_TRIES) {
          this.#warn(`the re-login failed (${describe(err)}); trying once more`);
          continue;
        }
        const advice = err instanceof LoginError ? '' : " (check the adapter's login())";
        throw new LoginError(`The re-login failed: ${describe(err)}${advice}`, { cause: err });
      } finally {
        await this.closePage(page);
      }
    }
    // Pages still out in a retiring context would otherwise meet the expired session and ask for another login.
    const retiring = [...this.contexts].filter((e) => e !== this.current);
    if (retiring.length > 0) {
      const cookies = await this.current.context.cookies();
      await Promise.all(retiring.map((e) => e.context.addCookies(cookies).catch(() => {})));
    }
  }

  /** A page outside the pool (the listing walks the inventory on it while workers run). */
  async extraPage(): Promise<Page> {
    return this.newPage();
  }

  /** Closes every page and every context, each under a time bound. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A context being made now closes itself once it sees `closed`; do not wait on a wedged browser for it.
    if (this.rotating) await bounded(this.rotating, this.options.closeTimeoutMs);
    for (const slot of this.slots) if (slot.page) this.replace(slot, 'closing');
    await Promise.all(this.closing);
    await Promise.all([...this.contexts].map((e) => bounded(e.context.close(), this.options.closeTimeoutMs)));
    this.contexts.clear();
  }

  private async loginOn(page: Page): Promise<void> {
    if (!this.options.login) return;
    await this.options.login(page);
    this.logins += 1;
    this.emit('login', { count: this.logins });
  }

  private async newPage(): Promise<Page> {
    // Only while the run ends: the item that asked stays pending.
    if (this.closed) throw new ShutdownError('page pool is closed');
    const entry = this.current;
    // Counted before it exists: a retiring context must not close under a page being made in it.
    entry.pages += 1;
    let page: Page;
    try {
      page = await entry.context.newPage();
    } catch (err) {
      this.pageClosed(entry);
      throw err;
    }
    this.contextOf.set(page, entry);
    page.once('close', () => this.pageClosed(entry));
    page.on('response', (response) => {
      if (response.request().isNavigationRequest() && response.frame() === page.mainFrame())
        this.documents.set(page, response);
    });
    // Navigations included (no setDefaultNavigationTimeout overrides it).
    page.setDefaultTimeout(this.options.pageTimeoutMs);
    try {
      const session = await PageSession.attach(entry.context, page, {
        block: this.options.block,
        metrics: this.options.memoryCheckEvery > 0,
        isUnblocked: () => this.unblocked.has(page),
      });
      this.sessions.set(page, session);
    } catch (err) {
      await this.closePage(page);
      throw err;
    }
    return page;
  }

  /** Every finished task counts toward the context's age; the move to a new one is single-flight. */
  private countTask(): void {
    this.tasksInContext += 1;
    const every = this.options.contextRecycleAfter;
    if (every > 0 && this.tasksInContext >= every && this.rotating === null && !this.closed) {
      this.rotating = this.recycleContext().finally(() => {
        this.rotating = null;
      });
    }
  }

  /** A fresh context with the old one's storage state takes over; the old one closes with its last page. */
  private async recycleContext(): Promise<void> {
    const old = this.current;
    const loginsBefore = this.logins;
    let next: BrowserContext;
    try {
      const storageState = await old.context.storageState();
      next = await this.options.browser.newContext({
        ...CONTEXT_OPTIONS,
        ...this.options.contextOptions,
        storageState,
      });
      // A re-login while the state was being copied left the new context with the old session.
      if (this.logins !== loginsBefore) await next.addCookies(await old.context.cookies());
    } catch (err) {
      this.tasksInContext = 0;
      if (!this.closed) this.#warn(`a fresh browser context could not be made: ${(err as Error).message}`);
      return;
    }
    if (this.closed) {
      await bounded(next.close(), this.options.closeTimeoutMs);
      return;
    }
    this.tasksInContext = 0;
    this.current = { context: next, pages: 0, retiring: false };
    this.contexts.add(this.current);
    old.retiring = true;
    this.recycledContexts += 1;
    this.emit('context:recycled', { count: this.recycledContexts });
    // Idle pages move now; busy ones when their task gives them back.
    for (const slot of this.slots) {
      if (!slot.busy && slot.page && this.contextOf.get(slot.page) === old) this.replace(slot, 'context');
    }
    if (old.pages === 0) this.closeContext(old);
  }

  private pageClosed(entry: ContextEntry): void {
    entry.pages -= 1;
    if (entry.retiring && entry.pages === 0) this.closeContext(entry);
  }

  private closeContext(entry: ContextEntry): void {
    if (!this.contexts.delete(entry)) return;
    const closing = bounded(entry.context.close(), this.options.closeTimeoutMs).then((ok) => {
      if (!ok) this.#warn(`an old browser context did not close within ${this.options.closeTimeoutMs} ms`);
    });
    const tracked = closing.finally(() => this.closing.delete(tracked));
    this.closing.add(tracked);
  }

  /** Replaces the slot's page when its JS heap is over the limit; the slot is still leased meanwhile. */
  private async checkMemory(slot: Slot, generation: number, page: Page): Promise<void> {
    const session = this.sessions.get(page);
    if (!session) return;
    let heap: number | undefined;
    await bounded(
      session.heapUsedBytes().then((bytes) => {
        heap = bytes;
      }),
      this.options.closeTimeoutMs,
    );
    if (heap !== undefined && heap > this.options.pageHeapLimitBytes && slot.generation === generation) {
      this.replace(slot, 'memory');
    }
  }

  /**
   * Takes the slot's page (or `page`, not yet the slot's) away and closes it in the background, under a bound;
   * resolves once it is closed.
   */
  private replace(
    slot: Slot,
    reason: PageReplacedReason | 'closing',
    page: Page | null = slot.page,
  ): Promise<void> {
    slot.page = null;
    slot.uses = 0;
    slot.generation += 1;
    let closing = Promise.resolve();
    if (page) {
      closing = this.closePage(page).finally(() => this.closing.delete(closing));
      this.closing.add(closing);
    }
    if (reason !== 'closing') this.emit('page:replaced', { slot: slot.index, reason });
    return closing;
  }

  private async closePage(page: Page): Promise<void> {
    const ok = await bounded(
      page.close().catch(() => {}),
      this.options.closeTimeoutMs,
    );
    if (!ok) this.#warn(`a page did not close within ${this.options.closeTimeoutMs} ms; left behind`);
  }

  #warn(message: string): void {
    this.emit('warning', { message });
  }

  private acquire(signal: AbortSignal): Promise<Slot> {
    const free = this.slots.find((s) => !s.busy && s.page) ?? this.slots.find((s) => !s.busy);
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(take);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal.reason);
      };
      // The releasing task hands its slot over still marked busy, so nobody can take it in between.
      const take = (slot: Slot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(slot);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(take);
    });
  }

  private release(lease: { slot: Slot; released: boolean }): void {
    if (lease.released) return;
    lease.released = true;
    const next = this.waiters.shift();
    if (next) next(lease.slot);
    else lease.slot.busy = false;
  }
}

/**
 * What is wrong with the pool's options, one message per bad field ([] when none): callers check these before
 * they launch a browser, the constructor again.
 */
export function poolOptionProblems(options: Omit<PagePoolOptions, 'browser'>): string[] {
  const problems: string[] = [];
  const integer = (name: keyof typeof options, min: number, required = false) => {
    const value = options[name];
    if (value === undefined && !required) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      problems.push(`Expected \`${name}\` to be an integer from ${min}, got \`${String(value)}\``);
    }
  };
  integer('size', 1, true);
  integer('recycleAfter', 1);
  integer('memoryCheckEvery', 0);
  integer('pageHeapLimitBytes', 1);
  integer('contextRecycleAfter', 0);
  integer('closeTimeoutMs', 1);
  integer('pageTimeoutMs', 1);
  return problems;
}

/** A Playwright timeout, or an error caused by one (an adapter may wrap it). */
export function isTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof playwright().errors.TimeoutError) return true;
  }
  return false;
}

/** A navigation the browser itself failed (net::ERR_...), or one Chromium's error page interrupted. */
export function isFailedNavigation(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (/net::ERR_|chrome-error:\/\//.test(e.message)) return true;
  }
  return false;
}

/** Resolves true when `promise` settles within `ms`, false otherwise (never rejects). */
async function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
