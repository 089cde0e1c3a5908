// Where items come from: a ref with no usable key, or a `--refs` line that is no ref, is that ref's failure (named,
// with where it came from), never the run's; the source reports its progress as it goes.
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyed, limitSource, parseRefs, type SourceEntry } from '../../src/engine/item-source.js';
import type { RunEvents } from '../../src/run-events.js';
import demoVehicles, { type VehicleRef } from '../../src/sites/demo-vehicles.js';
import { readRefs } from '../../src/sites/read-refs.js';
import { defineSite } from '../../src/sites/site.js';
import { removeTempDirs, tempDir } from '../helpers/temp-dir.js';

afterAll(removeTempDirs);

/** A site that is only its key: what a source needs of it. */
function keyedBy<Ref>(key: (ref: Ref) => string, name = 'test') {
  return defineSite<Ref>({ name, key, async *list() {}, async process() {} });
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('keyed', () => {
  const where = 'the listing page http://portal/inventory?page=2';
  it('a ref with a non-empty string key is kept with its key', () => {
    expect(keyed(demoVehicles, { stock: 'S1' }, where)).toEqual({ ref: { stock: 'S1' }, key: 'S1' });
  });

  it('an empty key, a key that is no string, a key() that throws: a bad ref naming the ref and where it came from', () => {
    expect(keyed(demoVehicles, { stock: '', url: 'vehicle/' }, where)).toEqual({
      bad: { ref: '{"stock":"","url":"vehicle/"}', where, reason: 'site.key() gave an empty string' },
    });
    const numeric = keyedBy<{ id: unknown }>((r) => r.id as string);
    expect(keyed(numeric, { id: 7 }, where)).toMatchObject({
      bad: { reason: 'site.key() gave number `7`, not a string' },
    });
    const throwing = keyedBy<{ id?: string }>((r) => r.id!.toUpperCase());
    expect(keyed(throwing, {}, where)).toMatchObject({
      bad: { ref: '{}', reason: expect.stringMatching(/^site\.key\(\) threw: .*toUpperCase/) },
    });
  });

  it('a long ref is cut to 120 characters', () => {
    const entry = keyed(demoVehicles, { stock: '', url: 'x'.repeat(500) }, where);
    expect('bad' in entry && entry.bad.ref).toBe(`{"stock":"","url":"${'x'.repeat(98)}...`);
    expect('bad' in entry && entry.bad.ref.length).toBe(120);
  });
});

describe('parseRefs over a --refs file', () => {
  it('a line that is not JSON, one parseRef refuses and one with an empty key each fail alone, by line number', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'refs.jsonl');
    await writeFile(
      file,
      ['{"stock":"S00001"}', '', '{"stock":"S00002"', '{"url":"vehicle/S00003"}', '{"stock":"S00004"}'].join(
        '\n',
      ),
    );
    const entries = await collect(parseRefs(demoVehicles, readRefs(file)));
    expect(entries).toEqual([
      { ref: { stock: 'S00001' }, key: 'S00001' },
      { bad: { ref: '{"stock":"S00002"', where: `\`--refs\` ${file} line 3`, reason: 'not valid JSON' } },
      {
        bad: {
          ref: '{"url":"vehicle/S00003"}',
          where: `\`--refs\` ${file} line 4`,
          reason: 'not a ref of site demo: a vehicle ref needs a `stock`',
        },
      },
      { ref: { stock: 'S00004' }, key: 'S00004' },
    ]);
  });

  it('a CSV row whose key is empty names its line', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'refs.csv');
    await writeFile(file, 'id,via\nc1,render\n,render\n');
    const cards = keyedBy<{ id: string }>((r) => r.id);
    const entries = await collect(parseRefs(cards, readRefs(file)));
    expect(entries[1]).toEqual({
      bad: {
        ref: '{"id":"","via":"render"}',
        where: `\`--refs\` ${file} line 3`,
        reason: 'site.key() gave an empty string',
      },
    });
  });
});

describe('limitSource', () => {
  it('reports each bad ref and goes on; reports its progress (pages, seen, new) and its end', async () => {
    const events = new EventEmitter<RunEvents>();
    const bad: unknown[] = [];
    const progress: unknown[] = [];
    events.on('ref:bad', (b) => bad.push(b));
    events.on('list:progress', (p) => progress.push(p));
    const where = 'the listing page http://portal/inventory?page=1';
    async function* source(): AsyncGenerator<SourceEntry<VehicleRef>> {
      yield { ref: { stock: 'A' }, key: 'A', pages: 1 };
      yield { bad: { ref: '{"stock":""}', where, reason: 'site.key() gave an empty string' }, pages: 1 };
      yield { ref: { stock: 'B' }, key: 'B', pages: 2 };
      yield { ref: { stock: 'C' }, key: 'C', pages: 2 };
    }
    const refs = await collect(limitSource(source(), { skip: (key) => key === 'B', max: 0, events }));
    expect(refs).toEqual([{ stock: 'A' }, { stock: 'C' }]);
    expect(bad).toEqual([{ ref: '{"stock":""}', where, reason: 'site.key() gave an empty string' }]);
    expect(progress).toEqual([
      { pages: 1, seen: 1, fresh: 1, done: false },
      { pages: 1, seen: 2, fresh: 1, done: false },
      { pages: 2, seen: 3, fresh: 1, done: false },
      { pages: 2, seen: 4, fresh: 2, done: false },
      { pages: 2, seen: 4, fresh: 2, done: true },
    ]);
  });
});
