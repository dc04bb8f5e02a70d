// Tidy (TigerBeetle's tidy.zig idea): the Zab core stays pure. Every file in src/main/zab may
// import only src/common and its own folder, and never touches time, randomness or the process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const zabDir = fileURLToPath(new URL('../../../src/main/zab/', import.meta.url));
const banned: readonly [RegExp, string][] = [
  [/\bDate\b/, 'Date'],
  [/\bMath\.random\b/, 'Math.random'],
  [/\bsetTimeout\b/, 'setTimeout'],
  [/\bsetInterval\b/, 'setInterval'],
  [/\bsetImmediate\b/, 'setImmediate'],
  [/\bperformance\b/, 'performance'],
  [/\bprocess\b/, 'process'],
  [/\bqueueMicrotask\b/, 'queueMicrotask'],
  [/\brequire\s*\(/, 'require()'],
  [/\bimport\s*\(/, 'dynamic import()'],
];

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

export function violations(name: string, source: string): string[] {
  const out: string[] = [];
  const code = stripComments(source);
  for (const m of code.matchAll(/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1]!;
    const ok = /^\.\/[\w-]+\.js$/.test(spec) || /^\.\.\/\.\.\/common\/[\w-]+\.js$/.test(spec);
    if (!ok) out.push(`${name}: imports ${spec}`);
  }
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push(`${name}: imports ${m[1]!}`);
  for (const [re, what] of banned) if (re.test(code)) out.push(`${name}: uses ${what}`);
  return out;
}

test('zab core imports only src/common and itself, and uses no clock, timer or randomness', () => {
  const files = readdirSync(zabDir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 5, `expected the zab sources in ${zabDir}`);
  const found: string[] = [];
  for (const f of files) found.push(...violations(f, readFileSync(zabDir + f, 'utf8')));
  assert.deepEqual(found, []);
});

test('the purity scan itself catches what it must', () => {
  assert.equal(violations('x.ts', "import { x } from 'node:fs';").length, 1);
  assert.equal(violations('x.ts', "import { x } from '../../tree/tree.js';").length, 1);
  assert.equal(violations('x.ts', 'const t = Date.now();').length, 1);
  assert.equal(violations('x.ts', 'const r = Math.random();').length, 1);
  assert.equal(violations('x.ts', 'setTimeout(() => {}, 1);').length, 1);
  assert.equal(violations('x.ts', "// Date in a comment\nimport { a } from './a.js';").length, 0);
  assert.equal(violations('x.ts', "import type { Z } from '../../common/zk.js';").length, 0);
});
