// The small file layer the checkpoint writes through: node:fs by default, injectable to simulate power cuts.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';

/** An open file the checkpoint appends to or writes from the start. */
export interface CheckpointFile {
  /** Write `data` at the end of the file (append mode) or at the current position (write mode). */
  write(data: Uint8Array): Promise<void>;
  /** fsync: returns once every byte written so far survives a power cut. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface CheckpointFs {
  /** Create a folder and its parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** Size in bytes, or null when the file does not exist. */
  size(path: string): Promise<number | null>;
  /** The file's bytes in chunks, from `start` (default 0); throws ENOENT when it does not exist. */
  read(path: string, start?: number): AsyncIterable<Uint8Array>;
  /** Open for appending, creating the file when it is missing. */
  openAppend(path: string): Promise<CheckpointFile>;
  /** Create (or empty) a file and open it for writing. */
  openWrite(path: string): Promise<CheckpointFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync a folder, so that creates and renames inside it survive a power cut. */
  syncDir(path: string): Promise<void>;
}

async function openFile(path: string, flags: string): Promise<CheckpointFile> {
  const handle = await open(path, flags);
  return {
    async write(data) {
      let done = 0;
      // A short write is legal; loop so a line is never left half-written on a live file.
      while (done < data.length) {
        const { bytesWritten } = await handle.write(data, done, data.length - done);
        done += bytesWritten;
      }
    },
    // An appended record only needs its data and the new size on disk: fdatasync skips the mtime flush.
    sync: () => (flags === 'a' ? handle.datasync() : handle.sync()),
    truncate: (length) => handle.truncate(length),
    close: () => handle.close(),
  };
}

/** The default file layer, on node:fs. */
export const nodeCheckpointFs: CheckpointFs = {
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async size(path) {
    try {
      return (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  read(path, start = 0) {
    return createReadStream(path, { start, highWaterMark: 1 << 20 });
  },
  openAppend: (path) => openFile(path, 'a'),
  openWrite: (path) => openFile(path, 'w'),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(path) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } catch (err) {
      // Some file systems (and Windows) refuse fsync on a folder; the rename is still atomic there.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
    } finally {
      await handle.close();
    }
  },
};
