// Entry point of `pagepool` and `npm start`.
import { main } from './cli/cli.js';

process.exit(await main(process.argv.slice(2)));
