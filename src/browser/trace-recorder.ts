// `--trace`: a Playwright trace of the shared context cut into chunks; a chunk that saw a failure is saved,
// scrubbed of the password and cookie values, as the failed item's trace.zip.
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unzipSync, type Zippable, zipSync } from 'fflate';
import type { BrowserContext } from 'playwright';
import { writeFileAtomic } from '../files/atomic-write.js';
import { bytesContainSecret, redactBytes } from './failure-snapshot.js';

/**
 * Tracing belongs to the context, so chunks are shared by every page: a chunk starts when an attempt begins
 * with no other attempt in flight, and ends when an attempt fails (saved) or at the next idle start
 * (discarded). With `--concurrency 1` a saved trace is exactly the failed attempt; with more pages it also
 * shows what the other pages did meanwhile, and may miss the start of an attempt that outlived a cut.
 */
export class TraceRecorder {
  private inFlight = 0;
  private used = false;
  private stopped = false;
  // Chunk operations must not interleave: startChunk while a stopChunk is pending throws.
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    /** The context new work runs in: the pool may move to a fresh one, and tracing must follow. */
    private readonly current: () => BrowserContext,
    private traced: BrowserContext,
    private readonly onWarning: (message: string) => void,
  ) {}

  /** Starts tracing on the current context (snapshots and screenshots on) and opens the first chunk. */
  static async start(
    current: () => BrowserContext,
    onWarning: (message: string) => void,
  ): Promise<TraceRecorder> {
    const context = current();
    await startTracing(context);
    return new TraceRecorder(current, context, onWarning);
  }

  /** An attempt begins: with nothing else in flight, what the chunk holds is of no use, so it starts afresh. */
  begin(): Promise<void> {
    return this.serial(async () => {
      const context = this.current();
      if (context !== this.traced) {
        // The pool moved to a new context: the old one's trace is dropped (it may be closed already).
        await this.traced.tracing.stop().catch(() => {});
        this.traced = context;
        this.used = false;
        await startTracing(context);
      } else if (this.inFlight === 0 && this.used) {
        await context.tracing.stopChunk();
        await context.tracing.startChunk();
      }
      this.inFlight += 1;
      this.used = true;
    });
  }

  /**
   * An attempt ended. When `saveTo` is given (it failed) the chunk is cut there, scrubbed of `secrets` and
   * written to `saveTo`; resolves false when no trace was written.
   */
  async end(saveTo: string | null, secrets: readonly string[]): Promise<boolean> {
    const temp = saveTo
      ? path.join(os.tmpdir(), `pagepool-trace-${randomBytes(6).toString('hex')}.zip`)
      : null;
    let cut = false;
    await this.serial(async () => {
      this.inFlight = Math.max(0, this.inFlight - 1);
      if (!temp) return;
      await this.traced.tracing.stopChunk({ path: temp });
      cut = true;
      await this.traced.tracing.startChunk();
    });
    if (!temp || !saveTo || !cut) return false;
    try {
      const safe = await scrubTrace(temp, saveTo, secrets);
      if (!safe)
        this.onWarning(
          `trace for ${path.basename(path.dirname(saveTo))} not saved: a secret survived scrubbing`,
        );
      return safe;
    } catch (err) {
      this.onWarning(`trace for ${path.basename(path.dirname(saveTo))} not saved: ${(err as Error).message}`);
      return false;
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Stops tracing, keeping nothing; idempotent. */
  async stop(): Promise<void> {
    await this.serial(async () => {
      this.stopped = true;
      await this.traced.tracing.stop();
    });
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(() => (this.stopped ? undefined : op()));
    // One failed tracing call (a closed context) must not wedge every later one.
    this.chain = next.catch((err: unknown) => this.onWarning(`tracing: ${(err as Error).message}`));
    return this.chain;
  }
}

const DOS_EPOCH = new Date(1980, 0, 1);

async function startTracing(context: BrowserContext): Promise<void> {
  await context.tracing.start({ snapshots: true, screenshots: true, sources: false });
  await context.tracing.startChunk();
}

/**
 * Rewrites the trace at `from` with every form of every secret replaced in every entry (action parameters,
 * request and response headers, bodies, DOM snapshots) and writes it to `to`. Resolves false, writing
 * nothing, if a secret still shows after the rewrite.
 */
export async function scrubTrace(from: string, to: string, secrets: readonly string[]): Promise<boolean> {
  const clean: Zippable = {};
  for (const [name, data] of Object.entries(unzipSync(await readFile(from)))) {
    clean[name] = redactBytes(Buffer.from(data.buffer, data.byteOffset, data.byteLength), secrets);
  }
  // A fixed time on every entry: the same trace scrubs to the same bytes.
  const zip = zipSync(clean, { mtime: DOS_EPOCH });
  // Checked again on what is about to be written, re-read through the zip: the rewrite itself is proven.
  const reread = Object.values(unzipSync(zip));
  if (reread.some((data) => bytesContainSecret(Buffer.from(data), secrets))) return false;
  await writeFileAtomic(to, zip);
  return true;
}
