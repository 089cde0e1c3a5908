// The demo portal's data: a deterministic vehicle inventory (real-looking VINs) and trading card ids.
import { prng } from './prng.js';

export interface Vehicle {
  /** Stock number: `S00001`, `S00002`, ... */
  stock: string;
  /** 17 characters, valid ISO 3779 / North American check digit, unique within one inventory. */
  vin: string;
  year: number;
  make: string;
  model: string;
}

/** The most vehicles one inventory can hold: the VIN serial (positions 12-17) is the row number. */
export const MAX_VEHICLES = 999_999;

interface MakeSpec {
  make: string;
  /** World manufacturer identifier: VIN positions 1-3. */
  wmi: string;
  models: readonly string[];
}

const MAKES: readonly MakeSpec[] = [
  { make: 'Toyota', wmi: 'JTD', models: ['Corolla', 'Camry', 'RAV4', 'Highlander', 'Tacoma'] },
  { make: 'Ford', wmi: '1FA', models: ['Mustang', 'Focus', 'Fusion', 'Escape', 'Explorer'] },
  { make: 'Honda', wmi: '1HG', models: ['Civic', 'Accord', 'CR-V', 'Pilot', 'Odyssey'] },
  { make: 'Chevrolet', wmi: '1G1', models: ['Malibu', 'Impala', 'Equinox', 'Tahoe', 'Silverado'] },
  { make: 'BMW', wmi: 'WBA', models: ['320i', '530i', 'X3', 'X5', 'i4'] },
  { make: 'Volkswagen', wmi: 'WVW', models: ['Golf', 'Jetta', 'Passat', 'Tiguan', 'Atlas'] },
  { make: 'Hyundai', wmi: 'KMH', models: ['Elantra', 'Sonata', 'Tucson', 'Santa Fe', 'Kona'] },
  { make: 'Subaru', wmi: 'JF1', models: ['Impreza', 'Legacy', 'Outback', 'Forester', 'Crosstrek'] },
  { make: 'Nissan', wmi: '1N4', models: ['Sentra', 'Altima', 'Rogue', 'Murano', 'Leaf'] },
  { make: 'Mazda', wmi: 'JM1', models: ['Mazda3', 'Mazda6', 'CX-5', 'CX-30', 'MX-5'] },
];

const FIRST_YEAR = 2012;
const LAST_YEAR = 2025;
// Position 10 encodes the model year; I, O, Q, U, Z and 0 are never used there.
const YEAR_CODES: Record<number, string> = {
  2012: 'C',
  2013: 'D',
  2014: 'E',
  2015: 'F',
  2016: 'G',
  2017: 'H',
  2018: 'J',
  2019: 'K',
  2020: 'L',
  2021: 'M',
  2022: 'N',
  2023: 'P',
  2024: 'R',
  2025: 'S',
};
// VINs never contain I, O or Q (too easy to confuse with 1 and 0).
const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
const TRANSLITERATION: Record<string, number> = {
  A: 1,
  B: 2,
  C: 3,
  D: 4,
  E: 5,
  F: 6,
  G: 7,
  H: 8,
  J: 1,
  K: 2,
  L: 3,
  M: 4,
  N: 5,
  P: 7,
  R: 9,
  S: 2,
  T: 3,
  U: 4,
  V: 5,
  W: 6,
  X: 7,
  Y: 8,
  Z: 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/** The check digit (VIN position 9) of a 17-character VIN; the character at position 9 itself is ignored. */
export function vinCheckDigit(vin: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const ch = vin[i] ?? '0';
    const value = ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : (TRANSLITERATION[ch] ?? 0);
    sum += value * (WEIGHTS[i] ?? 0);
  }
  const rest = sum % 11;
  return rest === 10 ? 'X' : String(rest);
}

function checkCount(name: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new RangeError(`Expected \`${name}\` to be an integer from 0 to ${max}, got \`${String(n)}\``);
  }
}

/** `n` vehicles, `S00001`.., with VINs and models drawn from `seed`: the same arguments give the same list. */
export function makeVehicles(n: number, seed: number): Vehicle[] {
  checkCount('n', n, MAX_VEHICLES);
  if (!Number.isFinite(seed))
    throw new TypeError(`Expected \`seed\` to be a finite number, got \`${String(seed)}\``);
  const random = prng(seed);
  const pick = (chars: string): string => chars[Math.floor(random() * chars.length)] ?? chars[0]!;
  const vehicles: Vehicle[] = [];
  for (let i = 1; i <= n; i++) {
    const spec = MAKES[Math.floor(random() * MAKES.length)]!;
    const model = spec.models[Math.floor(random() * spec.models.length)]!;
    const year = FIRST_YEAR + Math.floor(random() * (LAST_YEAR - FIRST_YEAR + 1));
    let descriptor = '';
    for (let k = 0; k < 5; k++) descriptor += pick(VIN_CHARS);
    const plant = pick('ABCDEFGHJKLMNPRSTUVWXYZ');
    // The serial is the row number, so VINs are unique without a lookup table.
    const serial = String(i).padStart(6, '0');
    const draft = `${spec.wmi}${descriptor}0${YEAR_CODES[year]}${plant}${serial}`;
    const vin = `${draft.slice(0, 8)}${vinCheckDigit(draft)}${draft.slice(9)}`;
    vehicles.push({ stock: `S${String(i).padStart(5, '0')}`, vin, year, make: spec.make, model });
  }
  return vehicles;
}

/** `n` trading card ids: `C0001`, `C0002`, ... */
export function cardIds(n: number): string[] {
  checkCount('n', n, MAX_VEHICLES);
  return Array.from({ length: n }, (_, i) => `C${String(i + 1).padStart(4, '0')}`);
}
