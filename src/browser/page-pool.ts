// The page pool: one logged-in BrowserContext, N pages handed out one task at a time, replaced when they go bad.
import type { Browser, BrowserContext, Page } from 'playwright';

/** Resource types that listing and detail pages never need. */
const BLOCKED_TYPES = new Set(['image', 'font', 'media', 'stylesheet']);

export interface PagePoolOptions {
  browser: Browser;
  /** Pages in the pool. */
  size: number;
  /** Logs a page in (and accepts the licence); cookies land in the shared context. */
  login(page: Page): Promise<void>;
  /** Block images, fonts, media and stylesheets. @default true */
  block?: boolean;
  /** Replace a page after this many tasks. @default 200 */
  recycleAfter?: number;
  /** Bound on `page.close()`, which can hang after an aborted navigation. @default 5000 */
  closeTimeoutMs?: number;
  onReplaced?(slot: number, reason: string): void;
  onLogin?(count: number): void;
  onWarning?(message: string): void;
}

interface Slot {
  index: number;
  page: Page | null;
  uses: number;
  busy: boolean;
  /** Bumped whenever the slot's page is taken away, so a late task cannot release the new one. */
  generation: number;
}

export class PagePool {
  readonly context: BrowserContext;
  private readonly options: Required<Omit<PagePoolOptions, 'onReplaced' | 'onLogin' | 'onWarning'>> &
    Pick<PagePoolOptions, 'onReplaced' | 'onLogin' | 'onWarning'>;
  private readonly slots: Slot[];
  private readonly waiters: Array<(slot: Slot) => void> = [];
  private readonly unblocked = new WeakSet<Page>();
  private readonly closing = new Set<Promise<void>>();
  private logins = 0;
  private closed = false;

  private constructor(context: BrowserContext, options: PagePoolOptions) {
    this.context = context;
    this.options = { block: true, recycleAfter: 200, closeTimeoutMs: 5000, ...options };
    this.slots = Array.from({ length: options.size }, (_, index) => ({
      index,
      page: null,
      uses: 0,
      busy: false,
      generation: 0,
    }));
  }

  /** Opens the context and logs in once; the login page becomes the first page of the pool. */
  static async open(options: PagePoolOptions): Promise<PagePool> {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`Expected \`size\` to be an integer from 1, got \`${options.size}\``);
    }
    const context = await options.browser.newContext({ acceptDownloads: true });
    const pool = new PagePool(context, options);
    try {
      const page = await pool.newPage();
      await pool.loginOn(page);
      pool.slots[0]!.page = page;
    } catch (err) {
      await context.close().catch(() => {});
      throw err;
    }
    return pool;
  }

  get loginCount(): number {
    return this.logins;
  }

  get pagesInUse(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /**
   * Runs `fn` with a page of its own. When `signal` aborts (deadline, shutdown) or `abandoned` fires, the page is
   * closed so that whatever `fn` is waiting on in Playwright fails at once, and the slot gets a fresh page.
   */
  async withPage<R>(
    fn: (page: Page, slot: number) => Promise<R>,
    { signal, abandoned }: { signal: AbortSignal; abandoned?: AbortSignal },
  ): Promise<R> {
    signal.throwIfAborted();
    const slot = await this.acquire(signal);
    const lease = { slot, generation: slot.generation, released: false };
    let page: Page;
    try {
      slot.page ??= await this.newPage();
      page = slot.page;
    } catch (err) {
      this.release(lease);
      throw err;
    }
    slot.uses += 1;
    const poison = (reason: string) => {
      if (slot.generation === lease.generation) this.replace(slot, reason);
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
    page.once('crash', onCrash);
    try {
      return await fn(page, slot.index);
    } finally {
      signal.removeEventListener('abort', onAbort);
      abandoned?.removeEventListener('abort', onAbandon);
      page.off('crash', onCrash);
      this.unblocked.delete(page);
      if (slot.generation === lease.generation && slot.uses >= this.options.recycleAfter) {
        this.replace(slot, 'recycled');
      }
      this.release(lease);
    }
  }

  /** Lets images, fonts and stylesheets load on this page until it goes back to the pool (render path). */
  unblock(page: Page): void {
    this.unblocked.add(page);
  }

  /** One new login on a page of its own; the shared context's cookies then serve every page. */
  async relogin(): Promise<void> {
    const page = await this.newPage();
    try {
      await this.loginOn(page);
    } finally {
      await this.closePage(page);
    }
  }

  /** A page outside the pool (the listing walks the inventory on it while workers run). */
  async extraPage(): Promise<Page> {
    return this.newPage();
  }

  /** Closes every page and the context, each under a time bound. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) if (slot.page) this.replace(slot, 'closing');
    await Promise.all(this.closing);
    await bounded(this.context.close(), this.options.closeTimeoutMs);
  }

  private async loginOn(page: Page): Promise<void> {
    await this.options.login(page);
    this.logins += 1;
    this.options.onLogin?.(this.logins);
  }

  private async newPage(): Promise<Page> {
    if (this.closed) throw new Error('page pool is closed');
    const page = await this.context.newPage();
    if (this.options.block) {
      await page.route('**/*', (route) => {
        const blocked = BLOCKED_TYPES.has(route.request().resourceType()) && !this.unblocked.has(page);
        return (blocked ? route.abort('blockedbyclient') : route.continue()).catch(() => {});
      });
    }
    return page;
  }

  /** Takes the slot's page away and closes it in the background, under a bound. */
  private replace(slot: Slot, reason: string): void {
    const page = slot.page;
    slot.page = null;
    slot.uses = 0;
    slot.generation += 1;
    if (page) {
      const closing = this.closePage(page).finally(() => this.closing.delete(closing));
      this.closing.add(closing);
    }
    if (reason !== 'closing') this.options.onReplaced?.(slot.index, reason);
  }

  private async closePage(page: Page): Promise<void> {
    const ok = await bounded(
      page.close().catch(() => {}),
      this.options.closeTimeoutMs,
    );
    if (!ok)
      this.options.onWarning?.(`a page did not close within ${this.options.closeTimeoutMs} ms; left behind`);
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
