// `npm test`: every compiled test file under dist/test, through node's test runner. The tests of
// modules (test/<src path>.test.ts), fuzz, sim and tidy first (fast), then the integration suites
// that start servers. Files run with a concurrency of 2: each integration file starts its own
// server on its own port. harness/ and fixtures/ folders hold helpers, never tests.
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
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
const integration = join('dist/test', 'integration') + sep;
const all = find('dist/test');
const files =
  only.length > 0
    ? only
    : [...all.filter((p) => !p.startsWith(integration)), ...all.filter((p) => p.startsWith(integration))];
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
