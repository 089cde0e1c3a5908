// The checkpoint's side of a refresh: which done items are stale (--refresh-after), their recorded files (with the
// validators) for the comparison, what the manifest gets per new version, and the done items a complete listing
// no longer showed.
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { lastListingPathFor, readLastListing } from '../../src/checkpoint/last-listing.js';
import type { RecordedFile } from '../../src/checkpoint/recorded-file.js';
import { journalLine } from '../../src/checkpoint/records.js';
import { formatStatus, readStatus, statusCounts } from '../../src/checkpoint/status.js';

const sha = (n: number) => String(n).repeat(64).slice(0, 64);
const fetched = (key: string, n = 1): RecordedFile => ({
  path: `demo/${key}.pdf`,
  bytes: 100 + n,
  sha256: sha(n),
  http: {
    url: `http://portal/${key}.pdf`,
    etag: `"${key}-${n}"`,
    lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
  },
});
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

let dir: string;
let path: string;
let manifestPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pagepool-refresh-'));
  path = join(dir, '.pagepool', 'checkpoint.json');
  manifestPath = join(dir, 'manifest.jsonl');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A journal as earlier runs left it: `old` done 10 days ago, `new` an hour ago, `f` failed. */
async function earlierRuns(
  lines = [journalLine({ t: 'done', key: 'old', attempt: 1, at: daysAgo(10), files: [fetched('old')] })],
) {
  await mkdir(join(dir, '.pagepool'), { recursive: true });
  await writeFile(
    `${path}l`,
    [
      ...lines,
      journalLine({ t: 'done', key: 'new', attempt: 1, at: daysAgo(1 / 24), files: [fetched('new')] }),
      journalLine({ t: 'failed', key: 'f', attempt: 1, at: daysAgo(10), reason: 'x', permanent: true }),
    ].join(''),
  );
}

describe('stale items (--refresh-after)', () => {
  it('are the done items recorded longer ago than the duration; their files come with the validators', async () => {
    await earlierRuns();
    const checkpoint = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 7 * DAY });
    expect(['old', 'new', 'f', 'never'].map((k) => checkpoint.isStale(k))).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(checkpoint.previousFiles('old')).toEqual([fetched('old')]);
    expect(checkpoint.previousFiles('new')).toBeNull();
    // Still done: a run without the refresh filter skips it as before.
    expect(checkpoint.shouldSkip('old')).toBe(true);
    await checkpoint.close();
  });

  it('0 makes every item done before the run stale; without the option none is', async () => {
    await earlierRuns();
    const all = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 0 });
    expect([all.isStale('old'), all.isStale('new')]).toEqual([true, true]);
    await all.close();
    const none = await Checkpoint.open({ path, manifestPath });
    expect([none.isStale('old'), none.isStale('new')]).toEqual([false, false]);
    expect(none.previousFiles('old')).toBeNull();
    await none.close();
  });

  it('an item refreshed in this run is no longer stale, its new record kept (and read back after reopening)', async () => {
    await earlierRuns();
    const checkpoint = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 0 });
    await checkpoint.done('old', 2, [{ ...fetched('old', 2), change: 'updated' }]);
    expect(checkpoint.isStale('old')).toBe(false);
    expect(checkpoint.previousFiles('old')).toBeNull();
    await checkpoint.close();
    const again = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 0 });
    expect(again.previousFiles('old')).toEqual([fetched('old', 2)]);
    await again.close();
  });

  it('a compaction in the middle of a refresh keeps the stale files it has not compared yet', async () => {
    await earlierRuns();
    const checkpoint = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 7 * DAY });
    await checkpoint.compact();
    expect(checkpoint.previousFiles('old')).toEqual([fetched('old')]);
    await checkpoint.close();
    // From the snapshot now, through the fast line parser.
    const reopened = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 7 * DAY });
    expect(reopened.previousFiles('old')).toEqual([fetched('old')]);
    expect(reopened.isStale('new')).toBe(false);
    await reopened.close();
  });

  it('a checkpoint written before validators were recorded loads, and its items refresh without them', async () => {
    const plain = { path: 'demo/old.pdf', bytes: 101, sha256: sha(1) };
    await earlierRuns([journalLine({ t: 'done', key: 'old', attempt: 1, at: daysAgo(10), files: [plain] })]);
    const checkpoint = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 7 * DAY });
    expect(checkpoint.previousFiles('old')).toEqual([plain]);
    await checkpoint.close();
  });
});

describe('the manifest in a refresh', () => {
  it('gets a line per new version: none for an unchanged file, the kept version before the updated one', async () => {
    await earlierRuns();
    const checkpoint = await Checkpoint.open({ path, manifestPath, refreshAfterMs: 0 });
    const before = await readFile(manifestPath, 'utf8').catch(() => '');
    await checkpoint.done('new', 2, [{ ...fetched('new'), change: 'unchanged' }]);
    const kept = { path: 'demo/old.2024-01-01T000000Z.pdf', bytes: 101, sha256: sha(1) };
    await checkpoint.done('old', 2, [{ ...fetched('old', 2), change: 'updated', kept }]);
    await checkpoint.close();
    const lines = (await readFile(manifestPath, 'utf8')).slice(before.length).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { key: 'old', ...kept },
      { key: 'old', ...fetched('old', 2) },
    ]);
    // The journal records the current files only, without the run's words for them.
    const journal = await readFile(`${path}l`, 'utf8').catch(() => '');
    const snapshot = await readFile(path, 'utf8');
    expect(`${journal}${snapshot}`).not.toContain('"change"');
    expect(`${journal}${snapshot}`).not.toContain('"kept"');
  });
});

describe('what left the portal', () => {
  it('is every done item a complete listing did not show, written beside the checkpoint, shown by status', async () => {
    await earlierRuns();
    await appendFile(
      `${path}l`,
      journalLine({ t: 'done', key: 'gone', attempt: 1, at: daysAgo(3), files: [fetched('gone')] }),
    );
    const checkpoint = await Checkpoint.open({ path, manifestPath });
    for (const key of ['old', 'new', 'f', 'brand-new']) checkpoint.markListed(key);
    // Done in this run: it came from this run's listing.
    await checkpoint.done('brand-new', 1, [fetched('brand-new')]);
    expect(await checkpoint.recordListing(4)).toEqual(['gone']);
    await checkpoint.close();
    expect(await readLastListing(path)).toEqual({ at: expect.any(String), listed: 4, gone: ['gone'] });
    expect(lastListingPathFor(path)).toBe(join(dir, '.pagepool', 'checkpoint.listing.json'));

    const summary = await readStatus(path);
    expect(statusCounts(summary).notInLastListing).toEqual({
      count: 1,
      keys: ['gone'],
      listedAt: expect.any(String),
    });
    expect(formatStatus(summary, path)).toMatch(
      /\n {2}not in the last listing +1 items, kept on disk \(listing of [^)]+\): gone\n/,
    );
    // Still done, files never deleted: the checkpoint counts it.
    expect(summary.done).toBe(4);
  });

  it('before any complete listing, status says nothing of it', async () => {
    await earlierRuns();
    const summary = await readStatus(path);
    expect(statusCounts(summary).notInLastListing).toBeNull();
    expect(formatStatus(summary, path)).not.toContain('not in the last listing');
  });
});
