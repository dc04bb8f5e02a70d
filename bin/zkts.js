#!/usr/bin/env node
// zkts command-line entry: the compiled TypeScript lives in dist/ (npm run build).
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`zkts: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
