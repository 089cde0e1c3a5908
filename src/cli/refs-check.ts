// `--refs FILE` read through once before anything starts: a line that is not JSON, a CSV without the column the
// site's key needs, a ref the site rejects, or no refs at all stop the run with exit 2 and nothing created.
// (`--refs -` is read as it comes: stdin cannot be read twice, so a bad line there is that line's bad ref.)
import { parseRefs } from '../engine/item-source.js';
import { ConfigError } from '../errors.js';
import { readRefs } from '../sites/read-refs.js';
import type { Site } from '../sites/site.js';

/** Problems shown in the one line; the rest are counted. */
const SHOWN = 3;

export async function checkRefsFile(site: Site<unknown>, file: string): Promise<void> {
  const problems: string[] = [];
  let bad = 0;
  let item = 0;
  // The same reading as the run's (parseRefs): what passes here is what the run gets.
  for await (const entry of parseRefs(site, readRefs(file))) {
    item += 1;
    if (!('bad' in entry)) continue;
    // A line that is not JSON: the file is not what it says it is, whatever its other lines are.
    if (entry.bad.reason === 'not valid JSON')
      throw new ConfigError(`${entry.bad.where} is not valid JSON: ${entry.bad.ref.slice(0, 60)}`);
    bad += 1;
    if (problems.length < SHOWN) problems.push(`item ${item}: ${entry.bad.reason}`);
  }
  if (bad === 0) return;
  const all =
    bad === item ? ' (every item: does the file have the column or field the key is read from?)' : '';
  const more = bad > problems.length ? `; and ${bad - problems.length} more` : '';
  throw new ConfigError(
    `\`--refs\` ${file}: ${bad} of ${item} items are not refs of site ${site.name}${all}: ${problems.join('; ')}${more}`,
  );
}
