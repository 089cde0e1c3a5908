// The heavy page's script (about 250 KB, run on load: it builds about 600 elements and lays them out) and its
// stylesheet (about 70 KB). Both are generated once per seed and served as cacheable files.
import { prng } from './prng.js';

const NAMES = (
  'accent badge banner card chip column drawer field grid header hero icon label list media menu modal panel ' +
  'picker pill rail row section sheet slider stack stat strip tab table tile toast toolbar tooltip'
).split(' ');
const COLORS = ['#1f4fa3', '#2d4f92', '#4a5673', '#7a849b', '#a61b1b', '#1d2433', '#dde3ee', '#f3f5f9'];

type Draw = () => number;

function pick<T>(draw: Draw, items: readonly T[]): T {
  return items[Math.floor(draw() * items.length)]!;
}

/** The option catalog the script prices and sorts: data of the kind a framework bundle carries. */
function catalog(draw: Draw): string {
  const entries = Array.from({ length: 1800 }, (_, i) => {
    const entry = {
      c: `OPT-${String(i).padStart(4, '0')}`,
      n: `${pick(draw, NAMES)} ${pick(draw, NAMES)} ${pick(draw, NAMES)} package`,
      g: Math.floor(draw() * 12),
      p: Math.floor(100 + draw() * 4900),
      w: Math.round(draw() * 1000) / 10,
      t: [pick(draw, NAMES), pick(draw, NAMES)],
    };
    return JSON.stringify(entry);
  });
  return `const CATALOG = [\n${entries.join(',\n')}\n];\n`;
}

/** Pricing rules: many small distinct functions, so the engine has real code to parse and compile. */
function rules(draw: Draw): string {
  const body: string[] = [];
  for (let i = 0; i < 160; i++) {
    const a = 1 + Math.floor(draw() * 9);
    const b = Math.floor(draw() * 400);
    const c = 2 + Math.floor(draw() * 5);
    body.push(`function rule${i}(option, context) {
  const base = option.p * ${1 + a / 100} + (option.g % ${c}) * ${b};
  const weight = option.w > ${Math.floor(draw() * 100)} ? option.w * ${a} : ${b} - option.w;
  if (context.seen.has(option.c)) return Math.round(base * 0.${90 + (i % 9)});
  context.seen.add(option.c);
  return Math.round(base + weight + option.t.join('').length * ${c});
}`);
  }
  const list = Array.from({ length: 160 }, (_, i) => `rule${i}`).join(', ');
  return `${body.join('\n')}\nconst RULES = [${list}];\n`;
}

/** The work done on load: price and sort the catalog, then build and lay out the configurator. */
const RUNTIME = `
function price(option) {
  const context = { seen: new Set() };
  let total = 0;
  for (let r = 0; r < 8; r++) total += RULES[(option.g * 13 + r) % RULES.length](option, context);
  return total;
}

function build() {
  const main = document.querySelector('main') || document.body;
  const priced = CATALOG.map((option) => ({ option, total: price(option) }))
    .sort((a, b) => a.total - b.total || a.option.c.localeCompare(b.option.c));
  const root = document.createElement('section');
  root.id = 'configurator';
  root.className = 'configurator';
  const heading = document.createElement('h2');
  heading.textContent = 'Build your package';
  root.append(heading);
  main.append(root);
  let height = 0;
  // 119 rows of 5 elements, plus the section and its heading: 597 elements.
  for (let i = 0; i < 119; i++) {
    const { option, total } = priced[(i * 12) % priced.length];
    const row = document.createElement('div');
    row.className = 'config-row config-' + (i % 12);
    const code = document.createElement('code');
    code.textContent = option.c;
    const name = document.createElement('span');
    name.className = 'config-name';
    name.textContent = option.n;
    const cost = document.createElement('span');
    cost.className = 'config-price';
    cost.textContent = '$' + total.toLocaleString('en-US');
    const add = document.createElement('button');
    add.type = 'button';
    add.textContent = 'Add';
    row.append(code, name, cost, add);
    root.append(row);
    // Read after each write, as real widgets do: every row forces a layout of the page.
    height += row.getBoundingClientRect().height;
    row.style.minHeight = Math.ceil(row.offsetHeight + (i % 3)) + 'px';
  }
  root.dataset.rows = '119';
  root.dataset.height = String(Math.round(height));
  document.documentElement.dataset.heavy = 'ready';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', build);
else build();
`;

/** The heavy page's script for `seed`: the same bytes for the same seed. */
export function heavyScript(seed: number): string {
  const draw = prng((seed ^ 0x5eed5c41) >>> 0);
  return `// Prestige Motors portal bundle (generated; pagepool demo).\n(() => {\n'use strict';\n${catalog(draw)}${rules(draw)}${RUNTIME}})();\n`;
}

/** The heavy page's stylesheet for `seed`: rules for its components and a utility-class library. */
export function heavyStylesheet(seed: number): string {
  const draw = prng((seed ^ 0x0c55c0de) >>> 0);
  const rules: string[] = [
    '.gallery{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:20px 0}',
    '.photo{margin:0;background:#fff;border:1px solid #dde3ee;border-radius:8px;overflow:hidden}',
    '.photo img{display:block;width:100%;height:auto}',
    '.mega-menu{display:grid;grid-template-columns:repeat(5,1fr);gap:8px;font-size:13px}',
    '.specs{margin:20px 0}.specs th{width:40%}',
    '.equipment{columns:2;column-gap:24px}',
    '.similar{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}',
    '.swatch{height:60px;border-radius:6px}',
    '.configurator{display:flex;flex-direction:column;gap:4px;margin:24px 0}',
    '.config-row{display:grid;grid-template-columns:90px 1fr 100px 60px;align-items:center;gap:8px;padding:6px;background:#fff;border:1px solid #edf0f5}',
  ];
  for (let i = 0; i < 12; i++) {
    rules.push(
      `.tile-${i},.config-${i}{border-left:${1 + (i % 4)}px solid ${pick(draw, COLORS)};padding-left:${4 + i}px}`,
      `.icon-${i}{display:inline-block;width:12px;height:12px;margin-right:6px;border-radius:${i}px;background:${pick(draw, COLORS)}}`,
    );
  }
  const properties: [string, (v: number) => string][] = [
    ['m', (v) => `margin:${v}px`],
    ['p', (v) => `padding:${v}px`],
    ['mt', (v) => `margin-top:${v}px`],
    ['pb', (v) => `padding-bottom:${v}px`],
    ['w', (v) => `width:${v}%`],
    ['gap', (v) => `gap:${v}px`],
    ['fs', (v) => `font-size:${10 + (v % 20)}px`],
    ['lh', (v) => `line-height:${1 + (v % 10) / 10}`],
  ];
  for (const [name, css] of properties) {
    for (let v = 0; v <= 90; v++) {
      for (const screen of ['', 'md-', 'lg-']) {
        rules.push(`.${screen}${name}-${v}{${css(v)}}`);
      }
    }
  }
  for (let i = 0; i < 220; i++) {
    const component = `${pick(draw, NAMES)}-${pick(draw, NAMES)}`;
    rules.push(
      `.${component}-${i}>.${pick(draw, NAMES)}:not(:last-child){color:${pick(draw, COLORS)};border-bottom:1px solid ${pick(draw, COLORS)}}`,
    );
  }
  return `/* Prestige Motors portal styles (generated; pagepool demo) */\n${rules.join('\n')}\n`;
}
