// Tests mirror src, so that a newcomer guesses where a module's test is (issue 10 item 5):
//   - the test of src/X/y.ts (or of the folder src/X/y/) is test/X/y.test.ts;
//   - more tests of the same module or folder, one topic each, go in test/X/y/<topic>.test.ts
//     (y under a top-level folder of src: test/main/storage/txnlog/crash.test.ts is about
//     src/main/storage/txnlog.ts, but test/workers/<topic>.test.ts says nothing);
//   - the same for bench/: test/bench/y.test.ts is the test of bench/y.ts;
//   - suites that are a kind rather than one module's test stay in their kind folder:
//     integration/ (real servers and stock clients), sim/ (the deterministic simulator), fuzz/
//     (seeded fuzzers that cross modules), tidy/ (rules over the source tree);
//   - helpers live in a harness/ folder beside the tests that use them (the runner skips
//     harness/ and fixtures/, so a test file there would never run).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const testDir = join(root, 'test');
const src = join(root, 'src');
const kinds = new Set(['integration', 'sim', 'fuzz', 'tidy']);
const helperFolders = new Set(['harness', 'fixtures']);

/** Every .ts file under test/, as paths relative to test/ with '/' separators. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(relative(testDir, p).split('\\').join('/'));
  }
  return out;
}

/** A folder with a file somewhere below it. */
function holdsFiles(dir: string): boolean {
  if (!statSync(dir).isDirectory()) return false;
  return readdirSync(dir).some((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? holdsFiles(p) : true;
  });
}

/** Source folders outside src/ whose modules have tests too: test/bench/x.test.ts is about
 *  bench/x.ts (the benchmarks' own helpers, e.g. bench/throughput.ts's histogram). */
const rootFolders = new Set(['bench']);

/** src/<path>.ts or the folder src/<path>/ exists (or <path> under a root folder such as bench/). */
function inSrc(path: string): boolean {
  const p = rootFolders.has(path.split('/')[0]!) ? join(root, path) : join(src, path);
  return existsSync(`${p}.ts`) || (existsSync(p) && statSync(p).isDirectory());
}

const files = tsFiles(testDir);
const isKind = (rel: string): boolean => kinds.has(rel.split('/')[0]!);
const inHelperFolder = (rel: string): boolean => rel.split('/').slice(0, -1).some((d) => helperFolders.has(d));

test('every test file mirrors a src file or folder, or sits in a kind folder', () => {
  const problems: string[] = [];
  for (const rel of files.filter((f) => f.endsWith('.test.ts'))) {
    if (inHelperFolder(rel)) {
      problems.push(`test/${rel}: a test inside harness/ or fixtures/ never runs`);
      continue;
    }
    if (isKind(rel)) continue;
    const path = rel.slice(0, -'.test.ts'.length);
    if (inSrc(path)) continue;
    const topicOf = dirname(path);
    if (topicOf.includes('/') && inSrc(topicOf)) continue;
    problems.push(
      `test/${rel}: no src/${path}.ts or src/${path}/` +
        (topicOf.includes('/') ? `, and no src/${topicOf}.ts or src/${topicOf}/ for a topic test` : ''),
    );
  }
  if (problems.length > 0) assert.fail(`tests that do not mirror src:\n  ${problems.join('\n  ')}`);
});

test('test helpers outside the kind folders live in a harness/ folder', () => {
  const problems = files
    .filter((f) => !f.endsWith('.test.ts') && !isKind(f) && !inHelperFolder(f))
    .map((f) => `test/${f}: a helper outside harness/`);
  if (problems.length > 0) assert.fail(problems.join('\n'));
});

test('every folder under test/ is a kind, a harness, or a top-level src folder (no test/unit/)', () => {
  // Only folders that hold files: git forgets empty ones, a worktree may keep them after a move.
  const problems = readdirSync(testDir)
    .filter((name) => holdsFiles(join(testDir, name)))
    .filter((name) => !kinds.has(name) && !helperFolders.has(name) && !inSrc(name))
    .map((name) => `test/${name}/`);
  if (problems.length > 0) assert.fail(`folders that mirror nothing: ${problems.join(', ')}`);
});
