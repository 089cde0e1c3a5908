// `--refs FILE` read through once before anything starts: a line that is not JSON, a CSV without the column the
// site's key needs, a ref the site rejects, or no refs at all stop the run with exit 2 and nothing created.
// (`--refs -` is read as it comes: stdin cannot be read twice.)
import { ConfigError, describe } from '../errors.js';
import { readRefs } from '../sites/read-refs.js';
import type { Site } from '../sites/site.js';

/** Problems shown in the one line; the rest are counted. */
const SHOWN = 3;

export async function checkRefsFile(site: Site<unknown>, file: string): Promise<void> {
  const problems: string[] = [];
  let bad = 0;
  let item = 0;
  for await (const value of readRefs(file)) {
    item += 1;
    let problem: string | null = null;
    try {
      const ref = site.parseRef ? site.parseRef(value) : value;
      const key: unknown = site.key(ref);
      if (typeof key !== 'string' || key === '') {
        problem = `site ${site.name} finds no key in it (got \`${String(key)}\`)`;
      }
    } catch (err) {
      problem = describe(err);
    }
    if (problem === null) continue;
    bad += 1;
    if (problems.length < SHOWN) problems.push(`item ${item}: ${problem}`);
  }
  if (bad === 0) return;
  const all =
    bad === item ? ' (every item: does the file have the column or field the key is read from?)' : '';
  const more = bad > problems.length ? `; and ${bad - problems.length} more` : '';
  throw new ConfigError(
    `\`--refs\` ${file}: ${bad} of ${item} items are not refs of site ${site.name}${all}: ${problems.join('; ')}${more}`,
  );
}
