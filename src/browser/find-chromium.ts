// Finds a Chromium to launch without downloading one: CHROMIUM_PATH, Playwright's browsers, Debian's package.
import { accessSync, constants } from 'node:fs';
import { chromium } from 'playwright';
import { PagepoolError } from '../errors.js';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export class NoBrowserError extends PagepoolError {
  constructor(message: string) {
    super('NO_BROWSER', message);
  }
}

/** The first executable of: `explicit` (CHROMIUM_PATH), Playwright's own browser, /usr/bin/chromium. */
export function findChromium(explicit: string | null): string {
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new NoBrowserError(`CHROMIUM_PATH is \`${explicit}\`, which is not an executable file`);
  }
  const candidates = [playwrightChromium(), DEBIAN_CHROMIUM];
  for (const candidate of candidates) if (candidate && isExecutable(candidate)) return candidate;
  throw new NoBrowserError(
    "No Chromium found. Get one with `npm run setup` (installs Debian's chromium) or `npx playwright install chromium`, or set CHROMIUM_PATH.",
  );
}

function playwrightChromium(): string | null {
  try {
    return chromium.executablePath();
  } catch {
    return null; // Playwright throws when its browsers are not installed.
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
