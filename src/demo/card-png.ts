// A trading card as a deterministic 240x336 RGB PNG.
import { encodePng, type Rgb } from './png.js';

export const CARD_WIDTH = 240;
export const CARD_HEIGHT = 336;

/** FNV-1a (32 bit) of the id: every colour and shape of a card comes from it. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function hsl(hue: number, saturation: number, lightness: number): Rgb {
  const c = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const h = (((hue % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] =
    h < 1
      ? [c, x, 0]
      : h < 2
        ? [x, c, 0]
        : h < 3
          ? [0, c, x]
          : h < 4
            ? [0, x, c]
            : h < 5
              ? [x, 0, c]
              : [c, 0, x];
  const m = lightness - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** The hash behind a card's looks: a later edition (a revision of the portal) is a re-coloured card. */
function cardHash(id: string, edition: number): number {
  return fnv1a(edition === 1 ? id : `${id}/edition-${edition}`);
}

/** The two colours of a card, shared with its HTML page so the page and the PNG look alike. */
export function cardColors(id: string, edition = 1): { primary: string; secondary: string } {
  const hash = cardHash(id, edition);
  const hue = hash % 360;
  const css = ([r, g, b]: Rgb): string => `rgb(${r}, ${g}, ${b})`;
  return { primary: css(hsl(hue, 0.55, 0.45)), secondary: css(hsl(hue + 40, 0.6, 0.8)) };
}

/**
 * The PNG of card `id`: a gradient card with a frame, striped art, an emblem and a bar code of the id. A later
 * `edition` has other colours and shapes.
 */
export function cardPng(id: string, edition = 1): Buffer {
  const hash = cardHash(id, edition);
  const hue = hash % 360;
  const top = hsl(hue, 0.55, 0.45);
  const bottom = hsl(hue + 40, 0.6, 0.8);
  const frame = hsl(hue, 0.4, 0.18);
  const stripeA = hsl(hue + 180, 0.5, 0.55);
  const stripeB = hsl(hue + 200, 0.45, 0.7);
  const emblem = hsl(hue + 90, 0.7, 0.6);
  const period = 8 + (hash % 12);
  const radius = 30 + ((hash >>> 8) % 35);
  const bits = Buffer.from(id, 'latin1');

  const stride = CARD_WIDTH * 3 + 1;
  const raw = Buffer.alloc(stride * CARD_HEIGHT);
  for (let y = 0; y < CARD_HEIGHT; y++) {
    const row = y * stride;
    raw[row] = 0; // filter type None
    const t = y / (CARD_HEIGHT - 1);
    for (let x = 0; x < CARD_WIDTH; x++) {
      let color: Rgb = [
        Math.round(top[0] + (bottom[0] - top[0]) * t),
        Math.round(top[1] + (bottom[1] - top[1]) * t),
        Math.round(top[2] + (bottom[2] - top[2]) * t),
      ];
      const edge = Math.min(x, y, CARD_WIDTH - 1 - x, CARD_HEIGHT - 1 - y);
      if (edge < 8) color = frame;
      else if (edge < 10) color = [245, 245, 240];
      else if (x >= 24 && x < 216 && y >= 48 && y < 216) {
        const dx = x - 120;
        const dy = y - 132;
        if (dx * dx + dy * dy < radius * radius) color = emblem;
        else color = Math.floor((x + y) / period) % 2 === 0 ? stripeA : stripeB;
      } else if (y >= 284 && y < 316 && x >= 24 && x < 24 + bits.length * 16) {
        // A bar code: 8 bars of 2 px per character of the id, so two ids never look the same.
        const bar = Math.floor((x - 24) / 2);
        const byte = bits[Math.floor(bar / 8)] ?? 0;
        if ((byte >> (7 - (bar % 8))) & 1) color = frame;
      }
      const at = row + 1 + x * 3;
      raw[at] = color[0];
      raw[at + 1] = color[1];
      raw[at + 2] = color[2];
    }
  }

  return encodePng(CARD_WIDTH, CARD_HEIGHT, raw);
}
