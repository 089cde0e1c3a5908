// The heavy detail page (DEMO_HEAVY): what a real portal's vehicle page weighs, about 150 KB of HTML and 2,000
// elements around the same facts and the same sticker link, plus a script, a stylesheet and 8 photos.
import { html, SafeHtml } from './html.js';
import type { Vehicle } from './inventory.js';
import { type VehicleView, vehiclePage } from './pages.js';
import { PHOTO_HEIGHT, PHOTO_WIDTH, PHOTOS_PER_VEHICLE } from './photo-png.js';
import { prng } from './prng.js';

export const HEAVY_SCRIPT_PATH = '/static/heavy.js';
export const HEAVY_STYLESHEET_PATH = '/static/heavy.css';

/** The URL of photo `n` of a vehicle; photos are public and cacheable, like a CDN's. */
export function photoPath(stock: string, n: number): string {
  return `/photos/${encodeURIComponent(stock)}/${n}.png`;
}

const WORDS = (
  'adaptive alloy all-wheel assist audio bluetooth brake camera carbon ceramic climate comfort console ' +
  'cruise daytime diesel display drive dual edition electric engine exhaust fabric fog front heated hybrid ' +
  'interior keyless lane leather LED lumbar manual memory mirror mode navigation package panoramic parking ' +
  'performance premium rain rear remote roof seat sensor sport steering suspension touring traction trim ' +
  'turbo upholstery ventilated warranty wheel window wireless xenon'
).split(' ');
const MAKES = [
  'Toyota',
  'Ford',
  'Honda',
  'Chevrolet',
  'BMW',
  'Volkswagen',
  'Hyundai',
  'Subaru',
  'Nissan',
  'Mazda',
];

type Draw = () => number;

function pick<T>(draw: Draw, items: readonly T[]): T {
  return items[Math.floor(draw() * items.length)]!;
}

function words(draw: Draw, n: number): string {
  return Array.from({ length: n }, () => pick(draw, WORDS)).join(' ');
}

function sentence(draw: Draw): string {
  const text = words(draw, 8 + Math.floor(draw() * 10));
  return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
}

function megaMenu(draw: Draw): SafeHtml {
  const sections = MAKES.map(
    (make) => html`<section class="mega"><h4>${make}</h4><ul>${Array.from(
      { length: 14 },
      (_, i) =>
        html`<li><a href="/inventory?make=${encodeURIComponent(make)}&amp;page=${i + 1}">${words(draw, 2)}</a></li>`,
    )}</ul></section>
`,
  );
  return html`<nav class="mega-menu" aria-label="Browse">
${sections}</nav>`;
}

function gallery(vehicle: Vehicle): SafeHtml {
  const figures = Array.from(
    { length: PHOTOS_PER_VEHICLE },
    (_, i) =>
      html`<figure class="photo"><img src="${photoPath(vehicle.stock, i + 1)}" width="${PHOTO_WIDTH}" height="${PHOTO_HEIGHT}" alt="${vehicle.make} ${vehicle.model}, view ${i + 1}" loading="eager"><figcaption>View ${i + 1} of ${PHOTOS_PER_VEHICLE}</figcaption></figure>`,
  );
  return html`<div class="gallery">${figures}</div>`;
}

function specs(draw: Draw): SafeHtml {
  const rows = Array.from(
    { length: 110 },
    (_, i) =>
      html`<tr class="spec-${i % 7}"><th scope="row">${words(draw, 3)}</th><td><span class="value">${Math.floor(draw() * 9000) / 10}</span> ${pick(draw, ['mm', 'kg', 'kW', 'Nm', 'l', 'km/h', '%'])}</td></tr>
`,
  );
  return html`<table class="specs"><caption>Technical specifications</caption><tbody>
${rows}</tbody></table>`;
}

function equipment(draw: Draw): SafeHtml {
  const groups = Array.from(
    { length: 10 },
    (_, g) => html`<section class="equipment-group"><h3>${words(draw, 2)}</h3><ul>${Array.from(
      { length: 14 },
      () => html`<li><span class="icon icon-${g}"></span>${words(draw, 4)}</li>`,
    )}</ul></section>
`,
  );
  return html`<div class="equipment">${groups}</div>`;
}

function description(draw: Draw): SafeHtml {
  const paragraphs = Array.from(
    { length: 24 },
    () =>
      html`<p>${sentence(draw)} <strong>${words(draw, 3)}</strong> ${sentence(draw)} ${sentence(draw)} <em>${words(draw, 4)}</em> ${sentence(draw)} ${sentence(draw)} <a href="#specs">${words(draw, 2)}</a> ${sentence(draw)}</p>
`,
  );
  return html`<article class="description"><h2>About this vehicle</h2>
${paragraphs}</article>`;
}

function similar(draw: Draw, vehicle: Vehicle): SafeHtml {
  const tiles = Array.from({ length: 24 }, (_, i) => {
    const other = `S${String(1 + Math.floor(draw() * 99_999)).padStart(5, '0')}`;
    return html`<article class="tile tile-${i % 12}"><a href="/inventory?q=${other}"><div class="swatch" style="background:hsl(${Math.floor(draw() * 360)} 50% 60%)"></div><h4>${vehicle.make} ${words(draw, 1)}</h4></a><p>${sentence(draw)}</p><span class="price">$${Math.floor(15_000 + draw() * 50_000)}</span><span class="badge">${words(draw, 1)}</span></article>`;
  });
  return html`<section class="similar"><h2>Similar vehicles</h2>${tiles}</section>`;
}

function reviews(draw: Draw): SafeHtml {
  const items = Array.from(
    { length: 24 },
    (_, i) =>
      html`<article class="review"><header><strong>${words(draw, 2)}</strong> <span class="stars" data-stars="${1 + Math.floor(draw() * 5)}"></span> <time datetime="2024-0${1 + (i % 9)}-1${i % 10}">2024</time></header><p>${sentence(draw)} ${sentence(draw)} ${sentence(draw)}</p><footer><button type="button" class="helpful">Helpful</button></footer></article>
`,
  );
  return html`<section class="reviews"><h2>Owner reviews</h2>
${items}</section>`;
}

function history(draw: Draw): SafeHtml {
  const events = Array.from(
    { length: 50 },
    (_, i) =>
      html`<li><time datetime="20${10 + (i % 14)}-01-01">20${10 + (i % 14)}</time> <span>${sentence(draw)}</span></li>`,
  );
  return html`<section class="history"><h2>Vehicle history</h2><ol>${events}</ol></section>`;
}

function finance(draw: Draw): SafeHtml {
  const fields = Array.from(
    { length: 12 },
    (_, i) =>
      html`<div class="field"><label for="fin-${i}">${words(draw, 2)}</label>${
        i % 3 === 0
          ? html`<select id="fin-${i}" name="fin-${i}">${[12, 24, 36, 48, 60].map((m) => html`<option value="${m}">${m} months</option>`)}</select>`
          : html`<input id="fin-${i}" name="fin-${i}" type="number" value="${Math.floor(draw() * 1000)}">`
      }</div>`,
  );
  return html`<form class="finance" onsubmit="return false"><h2>Finance calculator</h2>${fields}<button type="submit">Calculate</button></form>`;
}

function sitemap(draw: Draw): SafeHtml {
  const columns = Array.from(
    { length: 6 },
    () =>
      html`<div class="sitemap-col"><h5>${words(draw, 1)}</h5><ul>${Array.from(
        { length: 16 },
        (_, i) => html`<li><a href="/inventory?page=${i + 1}">${words(draw, 2)}</a></li>`,
      )}</ul></div>`,
  );
  return html`<section class="sitemap">${columns}</section>`;
}

/** What a framework would hydrate from: a JSON blob in the page, text for the parser and nothing more. */
function dataBlob(draw: Draw, vehicle: Vehicle): SafeHtml {
  const offers = Array.from({ length: 680 }, (_, i) => ({
    id: `${vehicle.stock}-${i}`,
    label: words(draw, 3),
    price: Math.floor(draw() * 5000),
    tags: [pick(draw, WORDS), pick(draw, WORDS)],
  }));
  const json = JSON.stringify({ stock: vehicle.stock, vin: vehicle.vin, offers }).replace(/</g, '\\u003c');
  return new SafeHtml(`<script type="application/json" id="vehicle-data">${json}</script>`);
}

/**
 * The heavy detail page of vehicle number `n`: the light page's panel (the same facts, the same sticker link
 * or script-built link) with a heavy page's weight around it. A pure function of the arguments.
 */
export function heavyVehiclePage(vehicle: Vehicle, n: number, seed: number, view: VehicleView = {}): string {
  const draw = prng((Math.imul(seed, 0x9e3779b1) + n) >>> 0);
  return vehiclePage(vehicle, {
    ...view,
    head: html`<link rel="stylesheet" href="${HEAVY_STYLESHEET_PATH}">
<script src="${HEAVY_SCRIPT_PATH}" defer></script>`,
    more: html`${gallery(vehicle)}
${megaMenu(draw)}
${specs(draw)}
${equipment(draw)}
${description(draw)}
${finance(draw)}
${similar(draw, vehicle)}
${reviews(draw)}
${history(draw)}
${sitemap(draw)}
${dataBlob(draw, vehicle)}`,
  });
}
