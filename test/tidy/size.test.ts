// Tidy: a size ratchet. No source file under src/ grows past 600 lines unless one of its first 10
// lines is a comment that says why, `// size: <why>` (and what would split it). Tests and benches
// are not held to it: a suite's length follows the behaviour it covers (STYLE.md keeps each new
// file well under 600 lines all the same). flatc's generated code is not ours.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const linesMax = 600;
const headLines = 10;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'generated') out.push(...tsFiles(p));
    } else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The line count, and whether the head says why the file may be long. */
export function sizeOf(source: string): { lines: number; excused: boolean } {
  const all = source.split('\n');
  const lines = all.length - (all.at(-1) === '' ? 1 : 0);
  const excused = all.slice(0, headLines).some((l) => /^\s*(?:\/\/|\/?\*+)\s*size:\s*\S/.test(l));
  return { lines, excused };
}

test(`no file under src/ over ${linesMax} lines without a "// size:" comment in its first ${headLines} lines`, () => {
  const over: string[] = [];
  for (const file of tsFiles(join(root, 'src'))) {
    const { lines, excused } = sizeOf(readFileSync(file, 'utf8'));
    if (lines > linesMax && !excused) over.push(`${relative(root, file)}: ${lines} lines`);
  }
  assert.deepEqual(over, [], `\nsplit these, or say why in their head (// size: <why>):\n${over.join('\n')}\n`);
});

test('the size check counts and reads the head as it must', () => {
  assert.deepEqual(sizeOf('a\nb\n'), { lines: 2, excused: false });
  assert.deepEqual(sizeOf('a\nb'), { lines: 2, excused: false });
  assert.equal(sizeOf('// Owns X.\n// size: one case per opcode, as ZooKeeper has it\nimport x;').excused, true);
  assert.equal(sizeOf('/**\n * size: the table mirrors the schema\n */').excused, true);
  assert.equal(sizeOf('// size:\nconst x = 1;').excused, false); // a reason is required
  assert.equal(sizeOf(`${'\n'.repeat(10)}// size: too late`).excused, false);
  assert.equal(sizeOf('const size: number = 1;').excused, false);
});
