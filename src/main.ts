#!/usr/bin/env node
// Entry point of `pagepool` (the package's bin, run as dist/main.js by plain node) and `npm start`.
import { main } from './cli/cli.js';

process.exit(await main(process.argv.slice(2)));
