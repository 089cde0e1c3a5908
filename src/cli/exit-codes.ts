// What each exit code of errors.ts EXIT_CODES means, written once: `--help` and the README's table come from here.
import { EXIT_CODES } from '../errors.js';

/** One entry per code of EXIT_CODES (the type makes a new code without a meaning a compile error). */
export const EXIT_CODE_MEANINGS: Readonly<Record<keyof typeof EXIT_CODES, string>> = {
  ok: 'every item is done (or nothing was left to do)',
  failed:
    'the run finished but some items failed (see `pagepool status` and `<out>/.pagepool/report.json`), or the listing or the `--refs` file produced no items at all',
  usage:
    'a problem to fix before anything can be pulled: a usage or configuration error, a bad `--refs` file, the adapter does not load, the browser does not start, the login failed, the portal is unreachable, `--out` or `--checkpoint` cannot be created, the checkpoint is corrupt or in use by another run, or the bucket of `--upload` cannot be written. Found before the first item, it leaves nothing in `--out`; a bucket that refuses writes mid-run (403) stops the run with the rest pending',
  diskSpace:
    'stopped for disk space (`--disk-margin` reached, or the disk is full); free space and run again',
  interrupted: 'interrupted (Ctrl+C or SIGTERM); run again to resume',
};

/** `[code, meaning]` in the order of EXIT_CODES. */
export function exitCodeRows(): Array<[number, string]> {
  return (Object.keys(EXIT_CODES) as Array<keyof typeof EXIT_CODES>).map((name) => [
    EXIT_CODES[name],
    EXIT_CODE_MEANINGS[name],
  ]);
}
