import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/checkpoint/checkpoint.js';
import { CheckpointState } from '../../src/checkpoint/checkpoint-state.js';
import {
  KIND_DONE,
  KIND_FAILED,
  KIND_SAVED,
  KIND_STARTED,
  ParsedLine,
  parseJournalLine,
  parseSnapshotLine,
} from '../../src/checkpoint/line-parser.js';
import type { RecordedFile } from '../../src/checkpoint/recorded-file.js';
import {
  applyItemState,
  applyJournalEvent,
  type ItemState,
  journalLine,
} from '../../src/checkpoint/records.js';
import type { SavedFile } from '../../src/files/types.js';

const at = '2025-01-02T03:04:05.678Z';
const sha = 'ab'.repeat(32);
const file = (path: string, bytes: number): SavedFile => ({ path, bytes, sha256: sha });
const uploaded = (path: string, bytes: number): RecordedFile => ({
  path,
  bytes,
  sha256: sha,
  object: `s3://bucket/prefix/${path}`,
  etag: 'd41d8cd98f00b204e9800998ecf8427e-3',
});

/** A fetched file with the server's validators (an ETag holds quotes: escaped in JSON). */
const fetched = (path: string, bytes: number, http: RecordedFile['http']): RecordedFile => ({
  path,
  bytes,
  sha256: sha,
  ...(http ? { http } : {}),
});
const sticker = 'http://127.0.0.1:8080/vehicle/S00010/sticker.pdf?v="1"&x=\\';
const lastModified = 'Mon, 01 Jan 2024 00:00:00 GMT';

/** Every journal line shape the writer produces. */
const journalLines = [
  journalLine({ t: 'started', key: 'a', attempt: 1, at }),
  journalLine({ t: 'started', key: '', attempt: 0, at }),
  journalLine({ t: 'done', key: 'a', attempt: 2, at, files: [] }),
  journalLine({ t: 'done', key: 'b', attempt: 1, at, files: [file('site/b.pdf', 11)] }),
  journalLine({
    t: 'done',
    key: 'vin-ÄÖ-日本',
    attempt: 12,
    at,
    files: [file('site/ü b.pdf', 0), file('site/b~1234abcd.png', 123_456_789_012_345)],
  }),
  // Uploads: saved (on disk, uploads to do), then done with each file's object and ETag.
  journalLine({
    t: 'saved',
    key: 'u',
    attempt: 1,
    at,
    files: [file('site/u.pdf', 9), file('site/ü.png', 3)],
  }),
  journalLine({ t: 'saved', key: 'u0', attempt: 1, at, files: [] }),
  journalLine({
    t: 'done',
    key: 'u',
    attempt: 1,
    at,
    files: [uploaded('site/u.pdf', 9), uploaded('site/ü.png', 3)],
  }),
  journalLine({
    t: 'done',
    key: 'v',
    attempt: 2,
    at,
    files: [uploaded('site/v.pdf', 9), file('site/v.png', 3)],
  }),
  // Refresh: each fetched file with its URL and validators (any of them), uploaded or not.
  journalLine({
    t: 'done',
    key: 'h',
    attempt: 1,
    at,
    files: [
      fetched('site/h.pdf', 9, { url: sticker, etag: '"5f2a-1"', lastModified }),
      fetched('site/h2.pdf', 9, { url: 'http://x/ü', etag: 'W/"weak"' }),
      fetched('site/h3.pdf', 9, { url: 'http://x/3', lastModified }),
      fetched('site/h4.pdf', 9, { url: 'http://x/4' }),
      { ...uploaded('site/h5.pdf', 9), http: { url: 'http://x/5', etag: '"e"' } },
    ],
  }),
  // Checkpoint.failed writes reason, permanent, then code.
  journalLine({
    t: 'failed',
    key: 'c',
    attempt: 3,
    at,
    reason: 'HTTP 404',
    permanent: true,
    code: 'PERMANENT',
  }),
  journalLine({ t: 'failed', key: 'd', attempt: 1, at, reason: 'timeout', permanent: false }),
  journalLine({ t: 'failed', key: 'e', attempt: 1, at, reason: '', permanent: false, code: '' }),
].map((l) => l.slice(0, -1));

/** Every snapshot item line shape the snapshot writer produces (without and with its trailing comma). */
const items: Array<[string, ItemState]> = [
  ['a', { status: 'started', attempts: 1, at }],
  ['b', { status: 'done', attempts: 2, at, files: [] }],
  ['c-é', { status: 'done', attempts: 1, at, files: [file('site/c.pdf', 5), file('x.png', 7)] }],
  ['d', { status: 'failed', attempts: 4, at, reason: 'gone', permanent: true }],
  ['s', { status: 'saved', attempts: 1, at, files: [file('site/s.pdf', 5)] }],
  ['u', { status: 'done', attempts: 1, at, files: [uploaded('site/u.pdf', 5), uploaded('y.png', 7)] }],
  ['e', { status: 'failed', attempts: 1, at, reason: 'HTTP 503', permanent: false, code: 'RETRY' }],
  [
    'h',
    {
      status: 'done',
      attempts: 1,
      at,
      files: [fetched('site/h.pdf', 5, { url: sticker, etag: '"a\\b"', lastModified }), file('z.png', 1)],
    },
  ],
];
const snapshotLines = items.flatMap(([key, state]) => {
  const text = `${JSON.stringify(key)}:${JSON.stringify(state)}`;
  return [text, `${text},`];
});

function fast(line: string, kind: 'journal' | 'snapshot'): ParsedLine | null {
  const buf = Buffer.from(`junk${line}junk`);
  const out = new ParsedLine();
  const end = buf.length - 4;
  const ok =
    kind === 'journal' ? parseJournalLine(buf, 4, end, out, true) : parseSnapshotLine(buf, 4, end, out, true);
  return ok ? out : null;
}

/** What the fast path must agree with: JSON.parse plus the validation the loader applies. */
function slowJournal(line: string): Record<string, unknown> | null {
  let ev: unknown;
  try {
    ev = JSON.parse(line);
  } catch {
    return null;
  }
  return applyJournalEvent(new CheckpointState(), ev, -1, true) === null
    ? (ev as Record<string, unknown>)
    : null;
}

function slowSnapshot(line: string): { key: string; value: Record<string, unknown> } | null {
  const body = line.endsWith(',') ? line.slice(0, -1) : line;
  let entry: Record<string, Record<string, unknown>>;
  try {
    entry = JSON.parse(`{${body}}`) as Record<string, Record<string, unknown>>;
  } catch {
    return null;
  }
  const keys = Object.keys(entry);
  if (keys.length !== 1) return null;
  const key = keys[0]!;
  const value = entry[key]!;
  return applyItemState(new CheckpointState(), key, value, 1, true) === null ? { key, value } : null;
}

const KINDS = { started: KIND_STARTED, done: KIND_DONE, failed: KIND_FAILED, saved: KIND_SAVED } as const;

/** The fields the fast path read, in the shape of the parsed JSON. */
function asEvent(p: ParsedLine, journal: boolean): Record<string, unknown> {
  const kind = Object.entries(KINDS).find(([, v]) => v === p.kind)![0];
  const ev: Record<string, unknown> = journal
    ? { t: kind, key: p.key, attempt: p.attempt, at: p.at }
    : { status: kind, attempts: p.attempt, at: p.at };
  if (p.kind === KIND_DONE || p.kind === KIND_SAVED) ev.files = p.files;
  if (p.kind === KIND_FAILED) {
    ev.reason = p.reason;
    ev.permanent = p.permanent;
    if (p.code !== undefined) ev.code = p.code;
  }
  return ev;
}

const sumOf = (files: unknown): number => (files as SavedFile[]).reduce((n, f) => n + f.bytes, 0);

describe('the fast line parser', () => {
  it('reads every journal line shape the writer produces exactly like JSON.parse', () => {
    for (const line of journalLines) {
      const p = fast(line, 'journal');
      expect(p, line).not.toBeNull();
      expect(asEvent(p!, true)).toEqual(JSON.parse(line));
      if (p!.kind === KIND_DONE) expect(p!.bytes).toBe(sumOf(JSON.parse(line).files));
    }
  });

  it('reads every snapshot line shape the snapshot writer produces exactly like JSON.parse', () => {
    for (const line of snapshotLines) {
      const p = fast(line, 'snapshot');
      expect(p, line).not.toBeNull();
      const slow = slowSnapshot(line)!;
      expect(p!.key).toBe(slow.key);
      expect(asEvent(p!, false)).toEqual(slow.value);
    }
  });

  it('gives byte ranges that rebuild the key, time and files', () => {
    const line = journalLines[4]!;
    const buf = Buffer.from(line);
    const p = new ParsedLine();
    expect(parseJournalLine(buf, 0, buf.length, p, false)).toBe(true);
    const ev = JSON.parse(line);
    expect(JSON.parse(buf.toString('utf8', p.keyStart, p.keyEnd))).toBe(ev.key);
    expect(JSON.parse(buf.toString('utf8', p.atStart, p.atEnd))).toBe(ev.at);
    expect(JSON.parse(buf.toString('utf8', p.filesStart, p.filesEnd))).toEqual(ev.files);
    expect(p.files).toBeNull();
    expect(p.bytes).toBe(sumOf(ev.files));
  });

  it.each([
    ['an escaped quote in the key', '{"t":"started","key":"a\\"b","attempt":1,"at":"x"}'],
    [
      'an escape in the reason',
      '{"t":"failed","key":"a","attempt":1,"at":"x","reason":"a\\nb","permanent":true}',
    ],
    [
      'a \\u escape in a path',
      '{"t":"done","key":"a","attempt":1,"at":"x","files":[{"path":"\\u0041","bytes":1,"sha256":"s"}]}',
    ],
    ['whitespace', '{"t": "started","key":"a","attempt":1,"at":"x"}'],
    ['fields in another order', '{"key":"a","t":"started","attempt":1,"at":"x"}'],
    ['an extra field', '{"t":"started","key":"a","attempt":1,"at":"x","more":1}'],
    [
      'code before permanent',
      '{"t":"failed","key":"a","attempt":1,"at":"x","reason":"r","code":"C","permanent":true}',
    ],
    [
      'an extra file field',
      '{"t":"done","key":"a","attempt":1,"at":"x","files":[{"path":"p","bytes":1,"sha256":"s","x":1}]}',
    ],
    [
      'validators in another order',
      '{"t":"done","key":"a","attempt":1,"at":"x","files":[{"path":"p","bytes":1,"sha256":"s","http":{"etag":"e","url":"u"}}]}',
    ],
    [
      'http before object',
      '{"t":"done","key":"a","attempt":1,"at":"x","files":[{"path":"p","bytes":1,"sha256":"s","http":{"url":"u"},"object":"o"}]}',
    ],
    [
      'etag before object',
      '{"t":"done","key":"a","attempt":1,"at":"x","files":[{"path":"p","bytes":1,"sha256":"s","etag":"e","object":"o"}]}',
    ],
    ['a 16-digit count', '{"t":"started","key":"a","attempt":1234567890123456,"at":"x"}'],
    ['an exponent', '{"t":"started","key":"a","attempt":1e2,"at":"x"}'],
    ['a fraction that is whole', '{"t":"started","key":"a","attempt":1.0,"at":"x"}'],
  ])('leaves %s to JSON.parse (valid JSON, not our exact shape)', (_, line) => {
    expect(fast(line, 'journal')).toBeNull();
  });

  it.each([
    ['a leading zero', '{"t":"started","key":"a","attempt":01,"at":"x"}'],
    ['a negative attempt', '{"t":"started","key":"a","attempt":-1,"at":"x"}'],
    ['a raw tab in the key', '{"t":"started","key":"a\tb","attempt":1,"at":"x"}'],
    ['a missing brace', '{"t":"started","key":"a","attempt":1,"at":"x"'],
    ['text after the object', '{"t":"started","key":"a","attempt":1,"at":"x"}x'],
    [
      'a trailing comma in files',
      '{"t":"done","key":"a","attempt":1,"at":"x","files":[{"path":"p","bytes":1,"sha256":"s"},]}',
    ],
    ['permanent as a number', '{"t":"failed","key":"a","attempt":1,"at":"x","reason":"r","permanent":1}'],
    ['an unknown kind', '{"t":"paused","key":"a","attempt":1,"at":"x"}'],
    ['a string attempt', '{"t":"started","key":"a","attempt":"1","at":"x"}'],
  ])('rejects %s', (_, line) => {
    expect(fast(line, 'journal')).toBeNull();
  });

  it('rejects every truncation of every line shape', () => {
    for (const line of journalLines)
      for (let cut = 0; cut < line.length; cut++) expect(fast(line.slice(0, cut), 'journal')).toBeNull();
    for (const line of snapshotLines.filter((l) => !l.endsWith(',')))
      for (let cut = 0; cut < line.length; cut++) expect(fast(line.slice(0, cut), 'snapshot')).toBeNull();
  });

  it('never accepts a line JSON.parse would reject or read differently: every byte replaced', () => {
    const replacements = [
      '"',
      '\\',
      '\t',
      '\n',
      ' ',
      '0',
      '9',
      '-',
      '.',
      'e',
      ',',
      ':',
      '{',
      '}',
      '[',
      ']',
      'x',
      'é',
    ];
    let accepted = 0;
    let checked = 0;
    for (const [lines, kind] of [
      [journalLines, 'journal'],
      [snapshotLines, 'snapshot'],
    ] as const) {
      for (const line of lines) {
        for (let i = 0; i < line.length; i++) {
          for (const r of replacements) {
            const mutated = line.slice(0, i) + r + line.slice(i + 1);
            const p = fast(mutated, kind);
            checked++;
            if (p === null) continue;
            accepted++;
            if (kind === 'journal') {
              const slow = slowJournal(mutated);
              expect(slow, mutated).not.toBeNull();
              expect(asEvent(p, true), mutated).toEqual(slow);
              if (p.kind === KIND_DONE) expect(p.bytes).toBe(sumOf(slow!.files));
            } else {
              const slow = slowSnapshot(mutated);
              expect(slow, mutated).not.toBeNull();
              expect(p.key, mutated).toBe(slow!.key);
              expect(asEvent(p, false), mutated).toEqual(slow!.value);
            }
          }
        }
      }
    }
    // Some mutations stay valid (a digit for a digit, a letter in a string): the agreement was exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(checked).toBeGreaterThan(10_000);
  });

  it('loads lines the fast path leaves to JSON.parse (escaped keys and reasons) through a compaction', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pagepool-parser-'));
    try {
      const path = join(dir, 'checkpoint.json');
      const lines = [
        journalLine({ t: 'done', key: 'quote"key', attempt: 1, at, files: [file('a\\b.pdf', 3)] }),
        journalLine({ t: 'done', key: 'plain', attempt: 1, at, files: [file('p.pdf', 4)] }),
        journalLine({ t: 'failed', key: 'tab\tkey', attempt: 2, at, reason: 'said "no"\n', permanent: true }),
        '{"t": "started", "key": "spaced", "attempt": 1, "at": "x"}\n',
      ];
      await writeFile(`${path}l`, lines.join(''));
      for (const round of [1, 2]) {
        // Round 2 reads the snapshot written by round 1's close.
        const checkpoint = await Checkpoint.open({ path });
        expect(checkpoint.isDone('quote"key'), `round ${round}`).toBe(true);
        expect(checkpoint.isDone('plain')).toBe(true);
        expect(checkpoint.shouldSkip('tab\tkey')).toBe(true);
        expect(checkpoint.summary()).toMatchObject({
          done: 2,
          failed: 1,
          pending: 1,
          bytes: 7,
          failuresByReason: [{ reason: 'said "no"\n', count: 1, permanent: true }],
        });
        await checkpoint.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
