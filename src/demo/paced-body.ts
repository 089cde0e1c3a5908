// Sends a response body at a pace: some bytes at once, the rest at N bytes per second, optionally cut short.
import type { ServerResponse } from 'node:http';

export interface Pace {
  /** Bytes sent at once before the pacing starts. @default 0 */
  burstBytes?: number;
  /** Bytes per second after the burst; 0 sends the rest at once. @default 0 */
  bytesPerSec?: number;
  /** Destroy the socket after this many bytes, like a dropped connection; unset sends it all and ends. */
  cutAt?: number;
}

/** Runs `fn` after `ms`; the portal's version tracks the timer so close() can clear it. */
export type Schedule = (fn: () => void, ms: number) => void;

/** Writes `body` to `res` as `pace` says; stops quietly when the client goes away. */
export function writePaced(res: ServerResponse, body: Buffer, pace: Pace, schedule: Schedule): void {
  const last = Math.min(body.length, pace.cutAt ?? body.length);
  const cut = pace.cutAt !== undefined && pace.cutAt < body.length;
  const finish = (chunk: Buffer): void => {
    if (!cut) {
      res.end(chunk);
      return;
    }
    // A cut drops the connection right behind its last bytes: they and the close arrive together, as when a
    // server or a proxy dies mid-transfer, and the client must keep every byte it got.
    res.write(chunk, () => res.socket?.destroy());
  };
  const rate = pace.bytesPerSec ?? 0;
  let sent = Math.min(last, pace.burstBytes ?? 0);
  if (rate === 0 || sent === last) {
    finish(body.subarray(0, last));
    return;
  }
  if (sent > 0) res.write(body.subarray(0, sent));
  // The pace is measured from the start, so late timers do not slow it down; a tick sends at least a byte.
  const started = Date.now();
  const paced = sent;
  const tickMs = Math.min(1000, Math.max(100, 1000 / rate));
  const tick = (): void => {
    if (res.destroyed) return;
    const due = Math.min(last, paced + Math.floor(((Date.now() - started) * rate) / 1000));
    if (due >= last) {
      finish(body.subarray(sent, last));
      return;
    }
    if (due > sent) {
      res.write(body.subarray(sent, due));
      sent = due;
    }
    schedule(tick, tickMs);
  };
  schedule(tick, tickMs);
}
