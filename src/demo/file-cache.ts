// Recently built files, kept up to a byte budget, least recently used out first.
import { createHash } from 'node:crypto';
import type { FileBody } from './file-response.js';

export class FileCache {
  readonly #maxBytes: number;
  // Map order is the LRU order: a hit is re-inserted at the end.
  readonly #files = new Map<string, FileBody>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /**
   * The file under `key`, built on a miss; its strong ETag is the SHA-1 of its bytes unless `build` gives
   * one. `key` must name one version of the bytes (an edition, an encoding): a cached file is never rebuilt.
   */
  get(
    key: string,
    lastModified: string,
    build: () => Omit<FileBody, 'etag' | 'lastModified'> & { etag?: string },
  ): FileBody {
    const hit = this.#files.get(key);
    if (hit) {
      this.#files.delete(key);
      this.#files.set(key, hit);
      return hit;
    }
    const built = build();
    const file: FileBody = {
      ...built,
      etag: built.etag ?? `"${createHash('sha1').update(built.body).digest('hex')}"`,
      lastModified,
    };
    this.#files.set(key, file);
    this.#bytes += file.body.length;
    for (const [oldKey, old] of this.#files) {
      if (this.#bytes <= this.#maxBytes || oldKey === key) break;
      this.#files.delete(oldKey);
      this.#bytes -= old.body.length;
    }
    return file;
  }
}
