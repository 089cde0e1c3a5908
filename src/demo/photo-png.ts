// A vehicle's photo for the heavy detail page: a small deterministic PNG (sky, road, a car of the vehicle's colour).
import { encodePng, type Rgb } from './png.js';

export const PHOTO_WIDTH = 160;
export const PHOTO_HEIGHT = 120;
/** Photos on each heavy detail page. */
export const PHOTOS_PER_VEHICLE = 8;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** Photo `n` (1 to PHOTOS_PER_VEHICLE) of vehicle `stock`: each stock and angle looks different. */
export function vehiclePhoto(stock: string, n: number): Buffer {
  const hash = fnv1a(`${stock}/${n}`);
  const body: Rgb = [hash & 0xff, (hash >>> 8) & 0xff, (hash >>> 16) & 0xff];
  const carLeft = 20 + (hash % 40);
  const carWidth = 70 + ((hash >>> 5) % 30);
  const horizon = 60 + ((hash >>> 11) % 20);
  const stride = PHOTO_WIDTH * 3 + 1;
  const raw = Buffer.alloc(stride * PHOTO_HEIGHT);
  for (let y = 0; y < PHOTO_HEIGHT; y++) {
    raw[y * stride] = 0;
    for (let x = 0; x < PHOTO_WIDTH; x++) {
      let color: Rgb =
        y < horizon ? [120 + y, 170 + (y >> 1), 230] : [90 + ((x + y) % 7), 90 + ((x + y) % 7), 95];
      const inBody = x >= carLeft && x < carLeft + carWidth && y >= horizon - 6 && y < horizon + 18;
      const inCabin =
        x >= carLeft + 15 && x < carLeft + carWidth - 15 && y >= horizon - 20 && y < horizon - 6;
      const wheel = [carLeft + 14, carLeft + carWidth - 14].some(
        (cx) => (x - cx) ** 2 + (y - (horizon + 18)) ** 2 < 64,
      );
      if (wheel) color = [25, 25, 25];
      else if (inCabin) color = [200, 220, 235];
      else if (inBody) color = body;
      const at = y * stride + 1 + x * 3;
      raw[at] = color[0];
      raw[at + 1] = color[1];
      raw[at + 2] = color[2];
    }
  }
  return encodePng(PHOTO_WIDTH, PHOTO_HEIGHT, raw);
}
