// `pagepool init [PATH]`: writes the commented adapter skeleton and prints the command that runs it.
import { EXIT_CODES } from '../../errors.js';
import { initCommand } from '../../sites/adapter-skeleton.js';
import type { CommandContext } from '../command-context.js';

export default async function init({ config }: CommandContext): Promise<number> {
  process.stdout.write(await initCommand(config.args[0], config.cwd));
  return EXIT_CODES.ok;
}
