// The portal's data over time: which vehicles and cards a revision has changed or removed, by one rule.

/** The highest revision a portal can be set to (the rule loops over the revisions, so it stays bounded). */
export const MAX_REVISION = 1000;

/** The date of revision 1: every file is this old until a revision changes it. */
const FIRST_REVISION_MS = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

export interface ItemState {
  /** 1 until a revision changes the item's file; each change adds one. */
  edition: number;
  /** The revision that last changed it (1 = never changed). */
  changedIn: number;
  /** Removed by a revision: absent from the listing, its page and file 404. */
  gone: boolean;
}

/**
 * The state of item number `n` (1-based place in the full list: S0000n, C000n) at `revision`.
 *
 * The rule: each revision k from 2 on changes the items with (n + k - 2) % 10 === 0 and removes those with
 * (n + k - 2) % 50 === 0. So revision 2 changes every 10th item (10, 20, ...) and removes every 50th (50,
 * 100, ...); revision 3 changes 9, 19, ... and removes 49, 99, ...; changes and removals add up, and a
 * removed item never comes back.
 */
export function itemAt(n: number, revision: number): ItemState {
  const state: ItemState = { edition: 1, changedIn: 1, gone: false };
  for (let k = 2; k <= revision && !state.gone; k++) {
    const shifted = n + k - 2;
    if (shifted % 50 === 0) state.gone = true;
    else if (shifted % 10 === 0) {
      state.edition++;
      state.changedIn = k;
    }
  }
  return state;
}

/** The Last-Modified date of a file last changed in `revision`: revision 1 is 2024-01-01, each later one a day on. */
export function revisionDate(revision: number): string {
  return new Date(FIRST_REVISION_MS + (revision - 1) * DAY_MS).toUTCString();
}
