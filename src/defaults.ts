// The library's defaults and ranges that the settings table (src/settings.ts) shows and the engine applies, written
// once. A leaf module: it imports nothing, so `pagepool --help` and the engine's parts can all read it cheaply.

const MiB = 1024 * 1024;

/** Defaults in library units (ms, bytes), applied by the engine when an option is not given. */
export const LIBRARY_DEFAULTS = Object.freeze({
  /** A detail page of a slow portal loads in a few seconds, a hung one never. */
  pageTimeoutMs: 30_000,
  /** Items one page serves before it is replaced. */
  recycleAfter: 200,
  /** Longest silence while a file body streams. */
  fileIdleTimeoutMs: 10_000,
  /** The minimum transfer speed: fails a 1 byte/s trickle in ~10 s, spares 1 KiB/s (curl's --speed-limit/-time). */
  minSpeedBytesPerSec: 512,
  minSpeedWindowMs: 10_000,
  /** Free disk to keep; below it the run stops. */
  diskMarginBytes: 100 * MiB,
  /** Files uploading at once, across all items. */
  uploads: 8,
  /** Interface of the metrics endpoint: loopback, so nothing is exposed unless asked. */
  metricsHost: '127.0.0.1',
});

/** Inclusive ranges, in the user's unit, shared by the settings table and the option validators. */
export const LIMITS = Object.freeze({
  concurrency: Object.freeze({ min: 1, max: 64 }),
  downloads: Object.freeze({ min: 0, max: 256 }),
  uploads: Object.freeze({ min: 1, max: 256 }),
  rate: Object.freeze({ min: 0, max: 10_000 }),
  recycleAfter: Object.freeze({ min: 1, max: 1_000_000 }),
  slowMoMs: Object.freeze({ min: 0, max: 60_000 }),
  /** Seconds (scale: ms per second). */
  fileIdleTimeoutMs: Object.freeze({ min: 1, max: 3600, scale: 1000 }),
  minSpeedBytesPerSec: Object.freeze({ min: 0, max: 1_073_741_824 }),
  /** MB (scale: bytes per MB). */
  diskMarginBytes: Object.freeze({ min: 0, max: 1_000_000, scale: MiB }),
});
