// @ts-check
// What every peer of `npm run bench` shares: its arguments, the demo portal's account, a time limit and the one
// JSON line it prints. A peer is run as `node bench/peers/NAME.mjs BASE_URL CONCURRENCY OUT` (plain node, no
// loader: as a user runs a script, and as pagepool's built bin runs), with the browser in PEER_CHROMIUM and its
// switches in PEER_CHROMIUM_ARGS (space-separated), both set by scripts/benchmark.ts.
import { mkdir } from 'node:fs/promises';

export const USER = 'demo';
export const PASS = 'demo-pass';
/** No peer may run longer than this (a stuck peer must not hang the bench). */
const LIMIT_MS = 20 * 60_000;

/**
 * The peer's arguments; exits 2 with a usage line when one is missing.
 * @param {string} name
 */
export async function peerArgs(name) {
  const [baseUrl, concurrencyArg, out] = process.argv.slice(2);
  const concurrency = Number(concurrencyArg);
  const chromium = process.env.PEER_CHROMIUM ?? '';
  if (!baseUrl || !out || !Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write(`usage: node bench/peers/${name}.mjs BASE_URL CONCURRENCY OUT\n`);
    process.exit(2);
  }
  setTimeout(() => {
    process.stderr.write(`${name}: time limit reached\n`);
    process.exit(1);
  }, LIMIT_MS).unref();
  await mkdir(out, { recursive: true });
  const args = (process.env.PEER_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
  return { baseUrl, concurrency, out, chromium, args };
}

/**
 * Runs the peer's pull, prints `{ items, ms }` and exits 0, or prints the error and exits 1 (a baseline that
 * fails is not a baseline).
 * @param {string} name
 * @param {() => Promise<number>} pull resolves with the items pulled
 */
export async function runPeer(name, pull) {
  const started = performance.now();
  try {
    const items = await pull();
    process.stdout.write(`${JSON.stringify({ items, ms: Math.round(performance.now() - started) })}\n`);
    process.exit(0);
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  }
}
