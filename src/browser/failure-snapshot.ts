// Failure snapshots: the screenshot, HTML and error chain of a failed attempt under `<dir>/<safe key>/`,
// scrubbed of the password and cookie values before anything reaches the disk.
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright';

/** What replaces a secret in the HTML, the error text and a trace. */
export const REDACTED = '[redacted]';

/**
 * Secrets shorter than this are not searched for in free text: replacing every `ab` would wreck the HTML
 * for nothing (password inputs lose their value attribute whatever its length).
 */
export const MIN_SECRET_LENGTH = 4;

export interface FailureSnapshotOptions {
  /** One sub-folder per item key is made in here (`<out>/.pagepool/failures`). */
  dir: string;
  /** The strings that must never be written (the password, the context's cookie values), read at each save. */
  secrets(): Promise<string[]> | string[];
  /** Bound on each browser step (HTML, screenshot): the page may be the reason the item failed. @default 5000 */
  timeoutMs?: number;
}

export interface SaveOptions {
  key: string;
  attempt: number;
  error: unknown;
  /** The page the attempt held, or null when it had given the page back (the failure came later). */
  page: Page | null;
  /** Without a page: the page the attempt last read over HTTP (`job.http`), kept as page.html. */
  read?: { url: string; html: string } | null;
  /** The item's deadline: reading the page stops when it comes (the snapshot never outlasts the item). */
  signal?: AbortSignal;
}

/** What `save` wrote, for the caller and for tests. */
export interface SavedSnapshot {
  folder: string;
  files: string[];
}

export class FailureSnapshots {
  private readonly options: Required<FailureSnapshotOptions>;

  constructor(options: FailureSnapshotOptions) {
    const problems: string[] = [];
    if (typeof options?.dir !== 'string' || options.dir === '') {
      problems.push(`Expected \`dir\` to be a folder path, got \`${String(options?.dir)}\``);
    }
    if (typeof options?.secrets !== 'function') {
      problems.push(`Expected \`secrets\` to be a function, got \`${String(options?.secrets)}\``);
    }
    const timeoutMs = options?.timeoutMs ?? 5000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
      problems.push(`Expected \`timeoutMs\` to be an integer from 1 to 600000, got \`${String(timeoutMs)}\``);
    }
    if (problems.length > 0) throw new TypeError(problems.join('; '));
    this.options = { ...options, timeoutMs };
  }

  /** The item's folder: `<dir>/<safe key>`. */
  folder(key: string): string {
    return path.join(this.options.dir, safeKey(key));
  }

  /**
   * Replaces the item's folder with this attempt's error.txt, and page.html and screenshot.png when the page
   * was still held. Never throws for a page that misbehaves: what could not be captured is said in error.txt.
   */
  async save({ key, attempt, error, page, read, signal }: SaveOptions): Promise<SavedSnapshot> {
    const secrets = usableSecrets(await this.options.secrets());
    const notes: string[] = [];
    const files = new Map<string, Buffer>();
    let url = '';
    if (page && !page.isClosed()) {
      url = page.url();
      const captured = await bounded(readPage(page), this.options.timeoutMs, signal).catch((err: unknown) => {
        notes.push(`page.html not saved: ${firstLine(err)}`);
        return null;
      });
      if (captured) {
        files.set('page.html', Buffer.from(redact(captured.html, secrets), 'utf8'));
        // Pixels cannot be scrubbed: a page that shows a secret (a token in text, a revealed password) gets none.
        if (secrets.some((s) => captured.shown.some((text) => containsSecret(text, [s])))) {
          notes.push('screenshot.png not saved: the page shows a password or cookie value');
        } else {
          const shot = page.screenshot({ timeout: this.options.timeoutMs, type: 'png' });
          const png = await bounded(shot, this.options.timeoutMs, signal).catch((err: unknown) => {
            notes.push(`screenshot.png not saved: ${firstLine(err)}`);
            return null;
          });
          if (png) files.set('screenshot.png', png);
        }
      }
    } else if (read) {
      url = read.url;
      files.set('page.html', Buffer.from(redact(read.html, secrets), 'utf8'));
      notes.push('no screenshot.png: the page was read over HTTP, never shown');
    } else {
      notes.push('no page.html or screenshot.png: the item had given its page back when it failed');
    }
    files.set('error.txt', Buffer.from(redact(errorText(key, attempt, url, error, notes), secrets), 'utf8'));

    const folder = this.folder(key);
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    const written: string[] = [];
    for (const [name, bytes] of files) {
      // The last line of defence: whatever was missed above (an encoding we did not think of) is not written.
      if (bytesContainSecret(bytes, secrets)) continue;
      await writeFile(path.join(folder, name), bytes);
      written.push(name);
    }
    return { folder, files: written };
  }

  /** Removes the item's folder (the item succeeded); a missing folder is fine. */
  async clear(key: string): Promise<void> {
    await rm(this.folder(key), { recursive: true, force: true });
  }
}

/**
 * A folder name for an item key: letters, digits, `.`, `_` and `-` kept, anything else `_`, at most 80
 * characters; a key that had to change gets a hash suffix so that two keys never share a folder.
 */
export function safeKey(key: string): string {
  const cleaned = key.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  if (cleaned === key && key.length > 0 && key.length <= 80) return key;
  const hash = createHash('sha1').update(key).digest('hex').slice(0, 10);
  return `${cleaned.slice(0, 69)}-${hash}`;
}

/** Every form in which a secret can show up in HTML, JSON, a URL or a form body. */
export function secretForms(secret: string): string[] {
  const forms = new Set([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    escapeHtml(secret),
    // How a browser serializes an attribute value and a text node (outerHTML, page.content()).
    secret.replaceAll('&', '&amp;').replaceAll('"', '&quot;'),
    secret.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'),
  ]);
  return [...forms].filter((form) => form.length > 0);
}

/** `text` with every form of every secret replaced by `[redacted]`; longest first, so no fragment survives. */
export function redact(text: string, secrets: readonly string[]): string {
  const forms = usableSecrets(secrets)
    .flatMap(secretForms)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) out = out.split(form).join(REDACTED);
  return out;
}

/** True when any form of any secret occurs in `text`. */
export function containsSecret(text: string, secrets: readonly string[]): boolean {
  return usableSecrets(secrets)
    .flatMap(secretForms)
    .some((form) => text.includes(form));
}

/** `bytes` with every form of every secret replaced, byte for byte elsewhere (binary entries survive). */
export function redactBytes(bytes: Buffer, secrets: readonly string[]): Buffer {
  const forms = byteForms(secrets);
  // latin1 maps bytes one to one, so searching and replacing in it never changes an unmatched byte.
  let text = bytes.toString('latin1');
  if (!forms.some((form) => text.includes(form))) return bytes;
  for (const form of forms) text = text.split(form).join(REDACTED);
  return Buffer.from(text, 'latin1');
}

/** True when any form of any secret occurs in `bytes`, as UTF-8. */
export function bytesContainSecret(bytes: Buffer, secrets: readonly string[]): boolean {
  const text = bytes.toString('latin1');
  return byteForms(secrets).some((form) => text.includes(form));
}

function byteForms(secrets: readonly string[]): string[] {
  return usableSecrets(secrets)
    .flatMap(secretForms)
    .sort((a, b) => b.length - a.length)
    .map((form) => Buffer.from(form, 'utf8').toString('latin1'));
}

/** Secrets long enough to search for, without duplicates. */
export function usableSecrets(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH))];
}

interface CapturedPage {
  html: string;
  /** Text a screenshot would show: the body's text and the values typed into visible fields. */
  shown: string[];
}

/** The page's HTML with password inputs emptied (on a copy: the page itself is left alone). */
function readPage(page: Page): Promise<CapturedPage> {
  return page.evaluate(() => {
    const root = document.documentElement.cloneNode(true) as HTMLElement;
    for (const input of Array.from(root.querySelectorAll('input'))) {
      if ((input.getAttribute('type') ?? '').toLowerCase() === 'password') input.removeAttribute('value');
    }
    const doctype = document.doctype ? `<!DOCTYPE ${document.doctype.name}>\n` : '';
    const typed = Array.from(document.querySelectorAll('input, textarea'))
      .filter(
        (el) => (el as HTMLInputElement).type !== 'password' && (el as HTMLInputElement).type !== 'hidden',
      )
      .map((el) => (el as HTMLInputElement).value);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a screenshot would show.
    const shown = document.body?.innerText ?? '';
    return { html: doctype + root.outerHTML, shown: [shown, ...typed] };
  });
}

/** Terminal colour codes: Playwright colours its call log, and error.txt is read in an editor. */
const ANSI = /\x1B\[[0-9;]*[A-Za-z]/g;

/** The error chain, newest first, with the stack of each error: what an adapter author needs. */
function errorText(key: string, attempt: number, url: string, error: unknown, notes: string[]): string {
  return plainErrorText(key, attempt, url, error, notes).replace(ANSI, '');
}

function plainErrorText(key: string, attempt: number, url: string, error: unknown, notes: string[]): string {
  const lines = [`key: ${key}`, `attempt: ${attempt}`, `time: ${new Date().toISOString()}`];
  if (url) lines.push(`url: ${url}`);
  for (const note of notes) lines.push(`note: ${note}`);
  lines.push('');
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 10; depth++) {
    const prefix = depth === 0 ? '' : 'Caused by: ';
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      const head = `${current.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${current.message}`;
      const stack = (current.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
      lines.push(`${prefix}${head}`, ...stack);
      current = current.cause;
    } else {
      lines.push(`${prefix}${String(current)}`);
      current = undefined;
    }
  }
  return `${lines.join('\n')}\n`;
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** `promise`, or a rejection after `ms` (the page may never answer) or when `signal` aborts (the item's deadline). */
async function bounded<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the page did not answer within ${ms} ms`)), ms);
    onAbort = () => reject(new Error("the item's deadline came first"));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
