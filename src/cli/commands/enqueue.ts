// `pagepool enqueue --queue URL`: adds every item of the site (or of --refs) to the shared queue.
import type { CommandContext } from '../command-context.js';
import { fleetPull } from '../fleet-pull.js';

export default function enqueue(ctx: CommandContext): Promise<number> {
  return fleetPull(ctx);
}
