// `npm run bench`: every compiled micro-benchmark under dist/bench (each exports run()).
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

const dir = 'dist/bench';
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
for (const f of files) {
  console.log(`\n## ${f}`);
  const mod = await import(pathToFileURL(resolve(join(dir, f))).href);
  if (typeof mod.run === 'function') await mod.run();
}
