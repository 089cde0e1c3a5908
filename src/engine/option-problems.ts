// What is wrong with a machine's options, found before anything is acquired (no browser, no folder): one message
// per bad field. A field that is also a setting of the CLI gets the range the settings table documents for it
// (both read src/defaults.ts).
import path from 'node:path';
import { poolOptionProblems } from '../browser/page-pool.js';
import { LIMITS } from '../defaults.js';
import type { ItemWorkerOptions } from './item-worker.js';

/** The item worker's options, checked: `[]` when every field is good. */
export function itemWorkerProblems<Ref>(options: ItemWorkerOptions<Ref>): string[] {
  const problems: string[] = [];
  const site = options.site as Partial<ItemWorkerOptions<unknown>['site']> | null | undefined;
  if (
    typeof site !== 'object' ||
    site === null ||
    typeof site.name !== 'string' ||
    typeof site.key !== 'function'
  )
    problems.push(`Expected \`site\` to be a site adapter (defineSite), got \`${show(site)}\``);
  if (typeof options.out !== 'string' || !path.isAbsolute(options.out))
    problems.push(`Expected \`out\` to be an absolute path, got \`${show(options.out)}\``);
  const setting = (name: string, value: unknown, spec: { min: number; max: number; scale?: number }) => {
    const scale = spec.scale ?? 1;
    const min = spec.min * scale;
    const max = spec.max * scale;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      problems.push(`Expected \`${name}\` to be an integer from ${min} to ${max}, got \`${show(value)}\``);
  };
  const optional = (name: keyof ItemWorkerOptions<unknown> & keyof typeof LIMITS) => {
    if (options[name] !== undefined) setting(name, options[name], LIMITS[name]);
  };
  setting('concurrency', options.concurrency, LIMITS.concurrency);
  optional('downloads');
  optional('fileIdleTimeoutMs');
  optional('minSpeedBytesPerSec');
  optional('diskMarginBytes');
  optional('slowMoMs');
  for (const name of ['block', 'headed', 'failureSnapshots', 'trace', 'keepVersions'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean')
      problems.push(`Expected \`${name}\` to be a boolean, got \`${show(value)}\``);
  }
  const { recycleAfter, contextRecycleAfter, pageTimeoutMs } = options;
  problems.push(
    ...poolOptionProblems({
      size: 1, // the pages: `concurrency`, checked above
      ...(recycleAfter === undefined ? {} : { recycleAfter }),
      ...(contextRecycleAfter === undefined ? {} : { contextRecycleAfter }),
      ...(pageTimeoutMs === undefined ? {} : { pageTimeoutMs }),
    }),
  );
  return problems;
}

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'function';
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'array' : 'object';
  return String(value);
}
