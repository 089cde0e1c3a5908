// A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: any line a Prometheus
// server would reject, or that breaks the format's rules on families, throws with its line number. Stricter than
// Prometheus on blanks: one space between the parts, as every exporter writes.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string | null;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** Parses a whole scrape. Families are keyed by name, in the order they appear. */
export function parsePromText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  // Families with a TYPE line (one without stays 'untyped').
  const typed = new Set<string>();
  let current: Family | null = null;
  const lines = text.split('\n');
  lines.pop(); // after the final newline
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) {
        if (/^#\s*(HELP|TYPE)\b/.test(line)) throw new Error(`${where}: malformed HELP or TYPE`);
        return; // a plain comment
      }
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let family = families.get(name);
      if (family && family !== current) throw new Error(`${where}: family ${name} is not contiguous`);
      if (!family) {
        family = { name, help: null, type: 'untyped', samples: [] };
        families.set(name, family);
      }
      current = family;
      if (kind === 'HELP') {
        if (family.help !== null) throw new Error(`${where}: second HELP for ${name}`);
        family.help = unescapeText(rest, false, where);
      } else {
        if (typed.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (!TYPES.includes(rest as MetricType)) throw new Error(`${where}: unknown type ${rest}`);
        family.type = rest as MetricType;
        typed.add(name);
      }
      return;
    }
    const sample = parseSample(line, where);
    const family = familyOf(sample.name, current);
    if (!family)
      throw new Error(`${where}: sample ${sample.name} outside its family (no HELP/TYPE before it)`);
    if (family.type === 'counter' && !(sample.value >= 0))
      throw new Error(`${where}: counter ${sample.name} is negative or NaN`);
    const series = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seriesSeen.has(series)) throw new Error(`${where}: duplicate series`);
    seriesSeen.add(series);
    family.samples.push(sample);
  });
  return families;
}

/** The sample's family: the current one, when the name is its own (or a histogram/summary suffix of it). */
function familyOf(name: string, current: Family | null): Family | null {
  if (!current) return null;
  if (name === current.name) return current;
  const suffixes =
    current.type === 'histogram'
      ? ['_bucket', '_sum', '_count']
      : current.type === 'summary'
        ? ['_sum', '_count']
        : [];
  return suffixes.some((s) => name === current.name + s) ? current : null;
}

function parseSample(line: string, where: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`${where}: no metric name`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i += 1;
    while (line[i] !== '}') {
      const labelMatch = /^[^=]*/.exec(line.slice(i));
      const label = labelMatch?.[0] ?? '';
      if (!LABEL_NAME.test(label)) throw new Error(`${where}: bad label name ${JSON.stringify(label)}`);
      if (label in labels) throw new Error(`${where}: label ${label} twice`);
      i += label.length;
      if (line[i] !== '=' || line[i + 1] !== '"')
        throw new Error(`${where}: expected ="value" after ${label}`);
      i += 2;
      let raw = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          raw += line.slice(i, i + 2);
          i += 2;
        } else {
          raw += line[i];
          i += 1;
        }
      }
      if (line[i] !== '"') throw new Error(`${where}: unterminated label value`);
      i += 1;
      labels[label] = unescapeText(raw, true, where);
      if (line[i] === ',') i += 1;
      else if (line[i] !== '}') throw new Error(`${where}: expected , or } after a label`);
    }
    i += 1;
  }
  const rest = line.slice(i);
  const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (!m) throw new Error(`${where}: expected " value [timestamp]" after the name and labels`);
  return { name, labels, value: parseValue(m[1]!, where) };
}

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

/** Label values escape \\, \" and \n; HELP text escapes \\ and \n. Any other escape is an error. */
function unescapeText(raw: string, quoted: boolean, where: string): string {
  return raw.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quoted) return '"';
    throw new Error(`${where}: bad escape \\${c}`);
  });
}

/**
 * The one sample of `name` whose labels include `labels`; throws when there is none or more than one, so a
 * test never reads a value that is not there.
 */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  const matches = family.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length !== 1) {
    throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}, expected 1`);
  }
  return matches[0]!.value;
}

/** The sum of every sample of `name` whose labels include `labels` (0 when there are none). */
export function sampleSum(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  return family.samples
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
