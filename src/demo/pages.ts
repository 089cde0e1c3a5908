// The portal's HTML pages: a layout and one function per page, built with the escaping `html` template.
import { cardColors } from './card-png.js';
import { html, SafeHtml } from './html.js';
import type { Vehicle } from './inventory.js';

type Section = 'inventory' | 'cards' | null;

interface LayoutOptions {
  title: string;
  section?: Section;
  loggedIn: boolean;
  body: SafeHtml;
  /** More of the head, after the site's stylesheet. */
  head?: SafeHtml;
}

export function layout({ title, section = null, loggedIn, body, head }: LayoutOptions): string {
  const link = (href: string, label: string, name: Section) =>
    html`<a href="${href}"${name === section ? new SafeHtml(' class="active" aria-current="page"') : ''}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} - Prestige Motors Dealer Portal</title>
<link rel="stylesheet" href="/static/site.css">${head ? html`\n${head}` : ''}
</head>
<body>
<header class="top">
<a class="brand" href="/inventory">Prestige Motors</a>
<nav>${loggedIn ? [link('/inventory', 'Inventory', 'inventory'), link('/cards?page=1', 'Trading cards', 'cards')] : ''}</nav>
${loggedIn ? html`<form method="post" action="/logout"><button type="submit" id="logout">Sign out</button></form>` : ''}
</header>
<main>
${body}
</main>
<footer>Prestige Motors Dealer Portal &middot; demo data, not real vehicles</footer>
</body>
</html>
`.value;
}

export function loginPage(error?: string, username = ''): string {
  return layout({
    title: 'Sign in',
    loggedIn: false,
    body: html`<div class="panel narrow">
<h1>Dealer sign in</h1>
${error ? html`<p class="error">${error}</p>` : ''}
<form method="post" action="/login" id="login">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" value="${username}" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p>
</form>
</div>`,
  });
}

/**
 * The second-factor form. It is a signed-out page (no sign-out button), so `button[type=submit]` is its one
 * button; the page says which fields to use, for a person and for a script.
 */
export function totpPage(error?: string): string {
  return layout({
    title: 'Two-step verification',
    loggedIn: false,
    body: html`<div class="panel narrow">
<h1>Two-step verification</h1>
<p>Enter the 6-digit code your authenticator app shows for Prestige Motors.</p>
${error ? html`<p class="error">${error}</p>` : ''}
<form method="post" action="/login/code" id="totp">
<label for="code">Verification code</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus>
<p><button type="submit">Verify</button></p>
</form>
<p class="hint">Demo portal: the code is the TOTP of DEMO_TOTP_SECRET (RFC 6238: SHA-1, 30 seconds, 6 digits), as any authenticator app or <code>oathtool --totp -b SECRET</code> computes it. Type it into <code>input[name=code]</code> and press <code>button[type=submit]</code>.</p>
</div>`,
  });
}

export function licencePage(error?: string): string {
  return layout({
    title: 'Licence agreement',
    loggedIn: true,
    body: html`<div class="panel">
<h1>Data licence agreement</h1>
<div class="terms">
<p>1. Vehicle data, window stickers and images on this portal are licensed to authorised dealers only.</p>
<p>2. You may download documents for vehicles in your own inventory and keep them for your records.</p>
<p>3. You must not resell, republish or share your credentials. Access is logged per session.</p>
<p>4. This agreement must be accepted again at every sign in.</p>
</div>
${error ? html`<p class="error">${error}</p>` : ''}
<form method="post" action="/licence" id="licence">
<label class="check"><input type="checkbox" id="accept" name="accept"> I have read and accept the licence agreement</label>
<button type="submit" id="accept-licence">Continue</button>
</form>
</div>`,
  });
}

interface Pager {
  page: number;
  pages: number;
  /** URL of page n. */
  href: (n: number) => string;
}

function pager({ page, pages, href }: Pager): SafeHtml {
  return html`<div class="pager">
${page > 1 ? html`<a rel="prev" href="${href(page - 1)}">&larr; Previous</a>` : ''}
<span class="page-info">Page ${page} of ${pages}</span>
${page < pages ? html`<a rel="next" href="${href(page + 1)}">Next &rarr;</a>` : ''}
</div>`;
}

export interface InventoryView {
  vehicles: readonly Vehicle[];
  total: number;
  page: number;
  pages: number;
  /** The search, when the page shows a search result. */
  query: string;
}

export function inventoryPage({ vehicles, total, page, pages, query }: InventoryView): string {
  const rows = vehicles.map(
    (v) => html`<tr data-stock="${v.stock}">
<td>${v.stock}</td><td class="mono">${v.vin}</td><td>${v.year}</td><td>${v.make}</td><td>${v.model}</td>
<td><a href="/vehicle/${encodeURIComponent(v.stock)}">View</a></td>
</tr>
`,
  );
  const body = html`<div class="toolbar">
<h1>Inventory <small>(${total} vehicles)</small></h1>
<form id="search" method="get" action="/inventory" role="search">
<input type="search" name="q" placeholder="Stock number, e.g. S00001" value="${query}" aria-label="Stock number">
<button type="submit">Search</button>
</form>
</div>
<table id="inventory">
<thead><tr><th>Stock</th><th>VIN</th><th>Year</th><th>Make</th><th>Model</th><th></th></tr></thead>
<tbody>
${rows}</tbody>
</table>
${vehicles.length === 0 ? html`<p class="empty">${query ? `No vehicle matches "${query}"` : 'No vehicles in stock'}</p>` : ''}
${query ? html`<p><a href="/inventory">Back to the full inventory</a></p>` : pager({ page, pages, href: (n) => `/inventory?page=${n}` })}`;
  return layout({
    title: query ? `Search: ${query}` : 'Inventory',
    section: 'inventory',
    loggedIn: true,
    body,
  });
}

/** A string as a JavaScript literal that is safe inside a <script> element. */
function scriptString(value: string): SafeHtml {
  return new SafeHtml(JSON.stringify(value).replace(/</g, '\\u003c'));
}

/**
 * The sticker link, or (`byScript`) an empty slot and an inline script that adds the same link once the page
 * has loaded: a page that needs its script. Its HTML then holds no link to the sticker and not its URL.
 */
function stickerLink(vehicle: Vehicle, byScript: boolean): SafeHtml {
  if (!byScript) {
    return html`<a id="download-sticker" class="button" href="/vehicle/${encodeURIComponent(vehicle.stock)}/sticker.pdf" download>Download window sticker</a>`;
  }
  return html`<p id="sticker-slot"></p>
<script>
// The sticker link is built here, after the load event, as a client-side framework would.
addEventListener('load', () => setTimeout(() => {
  const link = document.createElement('a');
  link.id = 'download' + '-sticker';
  link.className = 'button';
  link.download = '';
  link.href = '/vehicle/' + encodeURIComponent(${scriptString(vehicle.stock)}) + '/sticker' + '.pdf';
  link.textContent = 'Download window sticker';
  document.getElementById('sticker-slot').append(link);
}, 0));
</script>`;
}

export interface VehicleView {
  /** The sticker link is added by a script after load instead of being in the HTML. @default false */
  linkByScript?: boolean;
  /** More of the head (the heavy page's stylesheet and script). */
  head?: SafeHtml;
  /** More of the page after the vehicle's panel (the heavy page's content). */
  more?: SafeHtml;
}

export function vehiclePage(vehicle: Vehicle, view: VehicleView = {}): string {
  const title = `${vehicle.year} ${vehicle.make} ${vehicle.model}`;
  return layout({
    title,
    section: 'inventory',
    loggedIn: true,
    ...(view.head ? { head: view.head } : {}),
    body: html`<p><a href="/inventory">&larr; Inventory</a></p>
<div class="panel">
<h1>${title}</h1>
<dl class="fields">
<dt>Stock number</dt><dd>${vehicle.stock}</dd>
<dt>VIN</dt><dd class="mono">${vehicle.vin}</dd>
<dt>Year</dt><dd>${vehicle.year}</dd>
<dt>Make</dt><dd>${vehicle.make}</dd>
<dt>Model</dt><dd>${vehicle.model}</dd>
</dl>
${stickerLink(vehicle, view.linkByScript ?? false)}
</div>
${view.more}`,
  });
}

export function cardsPage(ids: readonly string[], total: number, page: number, pages: number): string {
  const rows = ids.map(
    (id) => html`<tr data-card="${id}"><td><a href="/card/${encodeURIComponent(id)}">${id}</a></td>
<td>${cardName(id)}</td><td><a href="/card/${encodeURIComponent(id)}.png">PNG</a></td></tr>
`,
  );
  return layout({
    title: 'Trading cards',
    section: 'cards',
    loggedIn: true,
    body: html`<h1>Trading cards <small>(${total})</small></h1>
<table id="cards">
<thead><tr><th>Card</th><th>Name</th><th>Image</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
${ids.length === 0 ? html`<p class="empty">No cards</p>` : ''}
${pager({ page, pages, href: (n) => `/cards?page=${n}` })}`,
  });
}

const ADJECTIVES = ['Crimson', 'Silver', 'Midnight', 'Turbo', 'Golden', 'Electric', 'Rally', 'Vintage'];
const NOUNS = ['Falcon', 'Comet', 'Roadster', 'Stallion', 'Cruiser', 'Phantom', 'Coupe', 'Thunder'];

function idHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** A card's display name, a pure function of its id. */
export function cardName(id: string): string {
  const hash = idHash(id);
  return `${ADJECTIVES[hash % ADJECTIVES.length]} ${NOUNS[(hash >>> 3) % NOUNS.length]}`;
}

/**
 * The card page: every style of `#card` is inline, so it renders the same with the stylesheet blocked. A later
 * `edition` has the colours of its PNG.
 */
export function cardPage(id: string, edition = 1): string {
  const hash = idHash(id);
  const { primary, secondary } = cardColors(id, edition);
  const power = 20 + (hash % 80);
  const speed = 20 + ((hash >>> 7) % 80);
  const cardStyle =
    // Absolute at whole pixels: an element at a fractional offset screenshots one pixel taller than it is.
    'width:240px;height:336px;box-sizing:border-box;position:absolute;top:200px;left:24px;overflow:hidden;' +
    'border-radius:14px;' +
    `border:8px solid #222;background:linear-gradient(180deg, ${primary}, ${secondary});` +
    'font-family:Georgia,serif;color:#1a1a1a;box-shadow:0 4px 14px rgba(0,0,0,.25)';
  const art =
    'margin:10px 12px 0;height:150px;border:2px solid #f5f5f0;border-radius:6px;' +
    `background:repeating-linear-gradient(45deg, ${secondary} 0 10px, ${primary} 10px 20px)`;
  return layout({
    title: `Card ${id}`,
    section: 'cards',
    loggedIn: true,
    body: html`<p><a href="/cards?page=1">&larr; Trading cards</a></p>
<div id="card" class="card" data-card="${id}" style="${cardStyle}">
<div style="display:flex;justify-content:space-between;align-items:center;padding:8px 12px 0;font-weight:700;font-size:15px;color:#fff;text-shadow:0 1px 2px rgba(0,0,0,.5)"><span class="card-name">${cardName(id)}</span><span class="card-id">${id}</span></div>
<div style="${art}"></div>
<div style="margin:10px 12px 0;padding:8px 10px;background:rgba(255,255,255,.85);border-radius:6px;font-size:13px;line-height:1.6">
<div style="display:flex;justify-content:space-between"><span>Power</span><strong>${power}</strong></div>
<div style="display:flex;justify-content:space-between"><span>Speed</span><strong>${speed}</strong></div>
</div>
<div style="position:absolute;left:12px;right:12px;bottom:8px;font-size:11px;text-align:center;color:#333">Prestige Motors collector series &middot; ${id}</div>
</div>
<div style="height:560px"></div>`,
  });
}

export function messagePage(title: string, message: string, loggedIn: boolean): string {
  return layout({
    title,
    loggedIn,
    body: html`<div class="panel"><h1>${title}</h1><p>${message}</p><p><a href="/inventory">Go to the inventory</a></p></div>`,
  });
}

/** The 403 page for a logged-in user: the portal's own layout, signed in, no login form. */
export function forbiddenPage(): string {
  return messagePage('Forbidden', 'You may not see this document.', true);
}

/** What some portals send instead of a file once the session is gone: a 200 page, no redirect. */
export function sessionExpiredPage(): string {
  return layout({
    title: 'Session expired',
    loggedIn: false,
    body: html`<div class="panel narrow"><h1>Your session has expired</h1><p>For your security you were signed out. Please <a href="/login">sign in again</a>.</p></div>`,
  });
}
