// `npm test`: every compiled test file under dist/test, through node's test runner. Unit and
// worker tests first (fast), then the integration suites that start servers. Integration files
// run with a concurrency of 2: each starts its own server on its own port.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  let out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'harness') out = out.concat(find(p));
    } else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : find('dist/test');
if (files.length === 0) {
  console.error('no compiled tests under dist/test (run npm run build)');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
