// Counts the body bytes a response hands to its socket, whoever writes them (a paced or cut body included).
import type { ServerResponse } from 'node:http';

type Chunk = string | Uint8Array;

function size(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/** From now on, every chunk given to `res.write` or `res.end` is reported to `count` before it is written. */
export function meterBody(res: ServerResponse, count: (bytes: number) => void): void {
  const write = res.write.bind(res) as (chunk: Chunk, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: Chunk, ...rest: unknown[]) => {
    count(size(chunk));
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((...args: unknown[]) => {
    // end(cb) has no chunk; end(chunk, ...) does.
    if (typeof args[0] !== 'function') count(size(args[0]));
    return end(...args);
  }) as ServerResponse['end'];
}
