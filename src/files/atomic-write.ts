// Writing `NAME.part` while hashing, then fsync -> abort check -> rename -> fsync of the folder,
// so a final name only ever holds a whole, checked file.
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { createReadStream, writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isErrno } from '../errors.js';
import { diskFullError, isDiskFull } from './disk-space.js';
import { HEAD_BYTES } from './file-kind.js';

/** The resume metadata kept next to a `.part`. */
export function metaPathOf(partPath: string): string {
  return `${partPath}.json`;
}

/** Removes a `.part` and its metadata; missing files are fine. */
export async function removePart(partPath: string): Promise<void> {
  await Promise.all([removeFile(partPath), removeFile(metaPathOf(partPath))]);
}

/**
 * Removes a file; a missing one is fine. One unlink: `rm({ force: true })` lstats first (twice for a file that is
 * there), and every file pays it a few times (`.part`, `.part.json`).
 */
export async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/** Size of a file, 0 when it does not exist. */
export async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** A `.part` open for writing: every byte goes through the hash and the first HEAD_BYTES are kept. */
export class PartFile {
  readonly path: string;
  #handle: FileHandle | undefined;
  readonly #hash: Hash;
  #head: Buffer;
  #bytes: number;
  readonly #neededBytes: number;

  private constructor(
    file: string,
    handle: FileHandle,
    hash: Hash,
    read: { bytes: number; head: Buffer },
    neededBytes: number,
  ) {
    this.path = file;
    this.#handle = handle;
    this.#hash = hash;
    this.#bytes = read.bytes;
    this.#head = read.head;
    this.#neededBytes = neededBytes;
  }

  /**
   * Opens `file` fresh (truncated), or, with `append`, after its current bytes: those are re-hashed
   * first so the final sha256 covers the whole file. `neededBytes` goes into a disk-full message.
   */
  static async open(file: string, options: { append: boolean; neededBytes: number }): Promise<PartFile> {
    const hash = createHash('sha256');
    const read = options.append ? await readThrough(file, hash) : { bytes: 0, head: Buffer.alloc(0) };
    let handle: FileHandle;
    try {
      handle = await open(file, options.append ? 'a' : 'w');
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(path.dirname(file), options.neededBytes, undefined, err);
      throw err;
    }
    return new PartFile(file, handle, hash, read, options.neededBytes);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The file's first bytes (up to HEAD_BYTES) written so far. */
  head(): Uint8Array {
    return this.#head;
  }

  get headComplete(): boolean {
    return this.#head.byteLength >= HEAD_BYTES;
  }

  /**
   * Appends `chunk`. `sync` writes it without leaving the event loop: nothing else runs meanwhile, sockets
   * included, which is how a download slows the network down to the disk's pace (see http-request.ts).
   */
  async write(chunk: Uint8Array, options: { sync?: boolean } = {}): Promise<void> {
    const handle = this.#open();
    this.#hash.update(chunk);
    this.#head = grownHead(this.#head, chunk);
    try {
      let done = 0;
      // write() may take fewer bytes than asked; a lost tail would be a corrupt file.
      while (done < chunk.byteLength) {
        done += options.sync
          ? writeSync(handle.fd, chunk, done, chunk.byteLength - done)
          : (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
      }
    } catch (err) {
      throw await this.#failed(err);
    }
    this.#bytes += chunk.byteLength;
  }

  /** fsync and close; the file is then ready to be renamed. */
  async finish(): Promise<{ bytes: number; sha256: string }> {
    const handle = this.#open();
    try {
      await handle.sync();
    } catch (err) {
      throw await this.#failed(err);
    }
    this.#handle = undefined;
    await handle.close();
    return { bytes: this.#bytes, sha256: this.#hash.digest('hex') };
  }

  /** Close without fsync, keeping the bytes (a later attempt may resume from them). */
  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => {});
  }

  /** Close and delete the part and its metadata. */
  async discard(): Promise<void> {
    await this.close();
    await removePart(this.path);
  }

  #open(): FileHandle {
    if (this.#handle === undefined) throw new Error(`${this.path} is already closed`);
    return this.#handle;
  }

  // A full disk must not leave half a file behind: delete it and say which folder needs room.
  async #failed(err: unknown): Promise<unknown> {
    if (!isDiskFull(err)) return err;
    await this.discard();
    return diskFullError(path.dirname(this.path), this.#neededBytes, undefined, err);
  }
}

/** Reads a finished file once: its sha256, size and first HEAD_BYTES bytes. */
export async function inspectFile(
  file: string,
): Promise<{ bytes: number; sha256: string; head: Uint8Array }> {
  const hash = createHash('sha256');
  const { bytes, head } = await readThrough(file, hash);
  return { bytes, sha256: hash.digest('hex'), head };
}

/** Reads `file` through `hash` (which goes on from there): its size and first HEAD_BYTES bytes. */
async function readThrough(file: string, hash: Hash): Promise<{ bytes: number; head: Buffer }> {
  let head: Buffer = Buffer.alloc(0);
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    head = grownHead(head, buf);
    bytes += buf.byteLength;
  }
  return { bytes, head };
}

/** `head` with the start of `chunk` after it, up to HEAD_BYTES in all (a copy: the chunk's buffer may be reused). */
function grownHead(head: Buffer, chunk: Uint8Array): Buffer {
  if (head.byteLength >= HEAD_BYTES) return head;
  return Buffer.concat([head, chunk.subarray(0, HEAD_BYTES - head.byteLength)]);
}

/** fsync a file someone else wrote (a browser download). */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The last step of every file: refuse if the attempt was abandoned (a late attempt must never
 * replace a good file), rename `.part` onto the final name, fsync the folder so the rename
 * survives a power loss, then drop the resume metadata.
 */
export async function commitPart(partPath: string, finalPath: string, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  await rename(partPath, finalPath);
  await fsyncDir(path.dirname(finalPath));
  await removeFile(metaPathOf(partPath));
}

/** fsync a folder, so a rename or a link in it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot open a folder for fsync; its rename is durable enough there.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `bytes` to `partPath` (fresh), fsyncs it; the caller commits. */
export async function writePart(
  partPath: string,
  bytes: Uint8Array,
  neededBytes: number,
): Promise<{ bytes: number; sha256: string }> {
  const part = await PartFile.open(partPath, { append: false, neededBytes });
  try {
    await part.write(bytes);
    return await part.finish();
  } catch (err) {
    await part.discard();
    throw err;
  }
}

/**
 * A small whole file (a report, a trace) written the way every file is: a temporary file beside it (exclusive
 * create), fsync, rename, fsync of the folder. The one helper for it: report.json and trace.zip use it too.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
  await removeDeadTemps(file);
}

/**
 * A writer killed between its temporary file and the rename (SIGKILL, power cut) leaves `<file>.<pid>.<hex>.tmp`
 * behind; the next write of the same file removes those of processes that are gone. A live process's temporary
 * file is its own business: two writers of one file may overlap.
 */
async function removeDeadTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = name.startsWith(prefix)
      ? /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length))?.[1]
      : undefined;
    if (pid !== undefined && !isAlive(Number(pid))) await rm(path.join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
