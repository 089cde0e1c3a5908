// Which item owns which file name in one output folder: a second item wanting a taken name gets a
// deterministic `base~<hash of its key>.ext`, so two items never overwrite each other. Names saved by earlier
// runs are reserved up front (from the manifest), so the answer does not depend on this run's order.
import { createHash } from 'node:crypto';
import { FileNameError } from '../errors.js';
import { capBytes, splitExtension } from './safe-name.js';

export class NameRegistry {
  // Keyed by the lower-cased name: macOS and Windows folders are case-insensitive.
  readonly #owners = new Map<string, string>();
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Records that `name` (a file in the folder) belongs to `key`, as an earlier run saved it; the last call wins. */
  reserve(name: string, key: string): void {
    this.#owners.set(name.toLowerCase(), key);
  }

  /** The name `key` may use for `wanted` (already sanitised): the same answer every time for one key. */
  claim(key: string, wanted: string): string {
    const hash = createHash('sha256').update(key).digest('hex');
    // 8 hex digits is the documented suffix; longer ones only if a key literally asked for that name.
    for (const length of [0, 8, 16, 64]) {
      const name = length === 0 ? wanted : withSuffix(wanted, `~${hash.slice(0, length)}`, this.#maxBytes);
      const owner = this.#owners.get(name.toLowerCase());
      if (owner === undefined) {
        this.#owners.set(name.toLowerCase(), key);
        return name;
      }
      if (owner === key) return name;
    }
    throw new FileNameError(`No free file name for key \`${key}\` (wanted \`${wanted}\`)`);
  }
}

function withSuffix(name: string, suffix: string, maxBytes: number): string {
  const { base, ext } = splitExtension(name);
  const room = maxBytes - Buffer.byteLength(suffix) - Buffer.byteLength(ext);
  const cut = capBytes(base, Math.max(1, room)) || 'file';
  return `${cut}${suffix}${ext}`;
}
