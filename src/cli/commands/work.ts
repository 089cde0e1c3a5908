// `pagepool work --queue URL`: this machine pulls items from the shared queue until it is drained.
import type { CommandContext } from '../command-context.js';
import { fleetPull } from '../fleet-pull.js';

export default function work(ctx: CommandContext): Promise<number> {
  return fleetPull(ctx);
}
