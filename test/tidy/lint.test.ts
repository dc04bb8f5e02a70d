// Tidy: the linter (Biome, rules in biome.jsonc) finds nothing. `npm run lint` runs the same check
// by hand; this test puts it under `npm test`, so CI's node --test summary counts it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');

test('biome lint finds nothing (npm run lint)', () => {
  assert.ok(existsSync(biome), `${biome} is missing: run npm ci (it is a devDependency)`);
  const r = spawnSync(process.execPath, [biome, 'lint', '--error-on-warnings', '--reporter=github', '--max-diagnostics=none', '.'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.error, undefined, String(r.error));
  // One `::error title=lint/<rule>,file=...,line=...::message` line per finding.
  const findings = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('::'))
    .map((l) => l.replace(`file=${root}/`, 'file='));
  assert.equal(r.status, 0, `biome lint failed (npm run lint shows the details):\n${findings.join('\n')}\n${r.stderr}`);
});
