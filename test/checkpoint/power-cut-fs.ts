// An in-memory CheckpointFs that remembers what was fsynced, so a test can cut the power at any point.
import { dirname } from 'node:path';
import type { CheckpointFile, CheckpointFs } from '../../src/checkpoint/checkpoint-fs.js';

class Inode {
  data = Buffer.alloc(0);
  durable = Buffer.alloc(0);
}

export type Op = 'write' | 'sync' | 'truncate' | 'rename' | 'syncDir' | 'openWrite' | 'openAppend' | 'unlink';

/**
 * File data survives a cut only up to its last sync(); a create, rename or unlink only once its folder was
 * synced. With `keepUnsynced: 'prefix'` a cut also keeps a seeded-random prefix of each file's unsynced
 * appended bytes, as a real disk may.
 */
export class PowerCutFs implements CheckpointFs {
  private entries = new Map<string, Inode>();
  private durableEntries = new Map<string, Inode>();
  private generation = 0;
  /** Called before each operation; return true to cut the power right there (the operation then fails). */
  beforeOp: ((op: Op, path: string) => boolean) | null = null;
  chunkSize = 61;
  keepUnsynced: 'none' | 'prefix' = 'none';
  private seed = 1;

  private random(): number {
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed / 2147483648;
  }

  cut(): void {
    this.generation++;
    this.entries = new Map(this.durableEntries);
    for (const inode of new Set(this.entries.values())) {
      const extra =
        inode.data.length > inode.durable.length &&
        inode.data.subarray(0, inode.durable.length).equals(inode.durable);
      const keep =
        this.keepUnsynced === 'prefix' && extra
          ? Math.floor(this.random() * (inode.data.length - inode.durable.length + 1))
          : 0;
      inode.data = Buffer.from(inode.data.subarray(0, inode.durable.length + keep));
      if (keep === 0) inode.data = Buffer.from(inode.durable);
      inode.durable = Buffer.from(inode.data);
    }
  }

  private check(op: Op, path: string, generation: number): void {
    if (generation !== this.generation) throw Object.assign(new Error('EIO: power was cut'), { code: 'EIO' });
    if (this.beforeOp?.(op, path)) {
      this.cut();
      throw Object.assign(new Error(`EIO: power cut before ${op} ${path}`), { code: 'EIO' });
    }
  }

  /** The current (not necessarily durable) bytes of a file. */
  contents(path: string): Buffer | null {
    const inode = this.entries.get(path);
    return inode ? Buffer.from(inode.data) : null;
  }

  files(): string[] {
    return [...this.entries.keys()].sort();
  }

  async mkdir(): Promise<void> {}

  async size(path: string): Promise<number | null> {
    return this.entries.get(path)?.data.length ?? null;
  }

  async *read(path: string, start = 0): AsyncIterable<Uint8Array> {
    const inode = this.entries.get(path);
    if (!inode) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    const data = Buffer.from(inode.data);
    for (let i = start; i < data.length; i += this.chunkSize) yield data.subarray(i, i + this.chunkSize);
  }

  private handle(path: string, inode: Inode): CheckpointFile {
    const generation = this.generation;
    return {
      write: async (data) => {
        this.check('write', path, generation);
        inode.data = Buffer.concat([inode.data, data]);
      },
      sync: async () => {
        this.check('sync', path, generation);
        inode.durable = Buffer.from(inode.data);
      },
      truncate: async (length) => {
        this.check('truncate', path, generation);
        inode.data = Buffer.from(inode.data.subarray(0, length));
      },
      close: async () => {},
    };
  }

  async openAppend(path: string): Promise<CheckpointFile> {
    this.check('openAppend', path, this.generation);
    let inode = this.entries.get(path);
    if (!inode) {
      inode = new Inode();
      this.entries.set(path, inode);
    }
    return this.handle(path, inode);
  }

  async openWrite(path: string): Promise<CheckpointFile> {
    this.check('openWrite', path, this.generation);
    const inode = new Inode();
    this.entries.set(path, inode);
    return this.handle(path, inode);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check('rename', to, this.generation);
    const inode = this.entries.get(from);
    if (!inode) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    this.entries.delete(from);
    this.entries.set(to, inode);
  }

  async unlink(path: string): Promise<void> {
    this.check('unlink', path, this.generation);
    this.entries.delete(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.check('syncDir', dir, this.generation);
    for (const path of [...this.durableEntries.keys()]) {
      if (dirname(path) === dir && !this.entries.has(path)) this.durableEntries.delete(path);
    }
    for (const [path, inode] of this.entries) if (dirname(path) === dir) this.durableEntries.set(path, inode);
  }
}
