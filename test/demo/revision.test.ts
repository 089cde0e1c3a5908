import { describe, expect, it } from 'vitest';
import { itemAt, revisionDate } from '../../src/demo/revision.js';

/** The items of 1..n that `revision` shows as changed (edition above 1) and as gone. */
function summary(n: number, revision: number) {
  const states = Array.from({ length: n }, (_, i) => [i + 1, itemAt(i + 1, revision)] as const);
  return {
    changed: states.filter(([, s]) => !s.gone && s.edition > 1).map(([i]) => i),
    gone: states.filter(([, s]) => s.gone).map(([i]) => i),
  };
}

describe('itemAt', () => {
  it('changes nothing in revision 1', () => {
    expect(summary(300, 1)).toEqual({ changed: [], gone: [] });
    expect(itemAt(10, 1)).toEqual({ edition: 1, changedIn: 1, gone: false });
  });

  it('changes every 10th item and removes every 50th in revision 2', () => {
    const { changed, gone } = summary(300, 2);
    expect(gone).toEqual([50, 100, 150, 200, 250, 300]);
    expect(changed).toEqual([
      10, 20, 30, 40, 60, 70, 80, 90, 110, 120, 130, 140, 160, 170, 180, 190, 210, 220, 230, 240, 260, 270,
      280, 290,
    ]);
    expect(itemAt(20, 2)).toEqual({ edition: 2, changedIn: 2, gone: false });
  });

  it('goes on one item earlier in each later revision, the changes and removals adding up', () => {
    const { changed, gone } = summary(100, 3);
    expect(gone).toEqual([49, 50, 99, 100]);
    expect(changed).toEqual([9, 10, 19, 20, 29, 30, 39, 40, 59, 60, 69, 70, 79, 80, 89, 90]);
    expect(itemAt(10, 3)).toEqual({ edition: 2, changedIn: 2, gone: false });
    expect(itemAt(9, 3)).toEqual({ edition: 2, changedIn: 3, gone: false });
    // Ten revisions later the rule has come round to item 10 again: its third edition.
    expect(itemAt(10, 12)).toEqual({ edition: 3, changedIn: 12, gone: false });
    expect(summary(300, 51).gone).toHaveLength(300);
  });
});

describe('revisionDate', () => {
  it('is 2024-01-01 for revision 1 and a day later for each revision after it', () => {
    expect(revisionDate(1)).toBe('Mon, 01 Jan 2024 00:00:00 GMT');
    expect(revisionDate(2)).toBe('Tue, 02 Jan 2024 00:00:00 GMT');
    expect(revisionDate(33)).toBe('Fri, 02 Feb 2024 00:00:00 GMT');
  });
});
