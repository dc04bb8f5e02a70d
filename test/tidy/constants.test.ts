// Tidy: one table per constant (issue 10). Opcodes and error codes come from src/common/zk.ts
// (OpCode, Err) by name, never as raw numbers elsewhere in src/: `op: 9`, `op === 14`,
// `{ op: 1 | 15 }` in a type, `case 101:` in a switch over an op or txn type, `err === -101`,
// `case -101:` in a switch over an error code. The scan knows the names these values travel under
// (op, opcode, type for a txn's type, err/rc for an error code), not every number in the code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const src = join(root, 'src');
const table = 'src/common/zk.ts';

const opName = String.raw`(?:op|opCode|opcode|type)`;
const errName = String.raw`(?:err|rc)`;
const num = String.raw`-?\d+`;
const union = String.raw`${num}(?:\s*\|\s*${num})*`;
const cmp = String.raw`(?:===|!==|==|!=)`;

/** Patterns on one line of code (comments and strings blanked), each with what it means. */
const linePatterns: readonly [RegExp, string][] = [
  // (`op: 0` alone is left alone: a scratch record's placeholder, as in `{ xid: 0, op: 0 }`.)
  [new RegExp(String.raw`(?<![\w$])${opName}\??\s*:\s*(?!0(?![\d|\s]*\|))${union}(?![\w.])`), 'an opcode as a number (use OpCode.x)'],
  [new RegExp(String.raw`(?<![\w$])${opName}\s*${cmp}\s*${num}(?![\w.])`), 'an opcode compared with a number (use OpCode.x)'],
  [new RegExp(String.raw`(?<![\w$.])${num}\s*${cmp}\s*(?:[\w$]+(?:\?\.|\.))*${opName}(?![\w$])`), 'an opcode compared with a number (use OpCode.x)'],
  [new RegExp(String.raw`(?<![\w$])${errName}\??\s*:\s*-\d+(?![\w.])`), 'an error code as a number (use Err.x)'],
  [new RegExp(String.raw`(?<![\w$])${errName}\s*${cmp}\s*-\d+(?![\w.])`), 'an error code compared with a number (use Err.x)'],
  [new RegExp(String.raw`(?<![\w$.])-\d+\s*${cmp}\s*(?:[\w$]+(?:\?\.|\.))*${errName}(?![\w$])`), 'an error code compared with a number (use Err.x)'],
];

/** Blank comments and the insides of string literals, keeping line breaks (and so line numbers). */
export function codeOnly(source: string): string {
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const d = source[i + 1];
    if (c === '/' && d === '/') {
      while (i < n && source[i] !== '\n') i++;
    } else if (c === '/' && d === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === "'" || c === '"' || c === '`') {
      out += c;
      i++;
      while (i < n && source[i] !== c) {
        if (source[i] === '\\') {
          out += ' ';
          i++;
        }
        if (c !== '`' && source[i] === '\n') break; // unterminated: give up on this string
        out += source[i] === '\n' ? '\n' : ' ';
        i++;
      }
      if (i < n) out += source[i];
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** `switch (x.op) { case 14: ... }` and `switch (err) { case -101: ... }`: numeric cases in a
 *  switch over an opcode or an error code, with their line numbers (1-based). */
function switchCases(code: string): [number, string][] {
  const out: [number, string][] = [];
  const starts = [0];
  for (let i = code.indexOf('\n'); i >= 0; i = code.indexOf('\n', i + 1)) starts.push(i + 1);
  const lineAt = (at: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  for (const m of code.matchAll(/\bswitch\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*\{/g)) {
    const subject = m[1]!.trim();
    const isOp = new RegExp(String.raw`(?:^|[.\s])${opName}$`).test(subject);
    const isErr = new RegExp(String.raw`(?:^|[.\s])${errName}$`).test(subject);
    if (!isOp && !isErr) continue;
    let depth = 1;
    let i = m.index! + m[0].length;
    const start = i;
    while (i < code.length && depth > 0) {
      if (code[i] === '{') depth++;
      else if (code[i] === '}') depth--;
      i++;
    }
    const body = code.slice(start, i);
    const caseRe = isOp ? /\bcase\s+(-?\d+)\s*:/g : /\bcase\s+(-\d+)\s*:/g;
    for (const c of body.matchAll(caseRe)) {
      out.push([lineAt(start + c.index!), `case ${c[1]}: in a switch over ${subject} (use ${isOp ? 'OpCode' : 'Err'}.x)`]);
    }
  }
  return out;
}

export function rawConstants(name: string, source: string): string[] {
  const code = codeOnly(source);
  const found: [number, string][] = [];
  code.split('\n').forEach((line, k) => {
    for (const [re, what] of linePatterns) {
      const m = re.exec(line);
      if (m !== null) found.push([k + 1, `${what}: ${m[0].trim()}`]);
    }
  });
  found.push(...switchCases(code));
  return found.sort((a, b) => a[0] - b[0]).map(([line, what]) => `${name}:${line}: ${what}`);
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'generated') out.push(...tsFiles(p)); // flatc's output
    } else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('opcodes and error codes are named from src/common/zk.ts, never raw numbers in src/', () => {
  const found: string[] = [];
  for (const file of tsFiles(src)) {
    const name = relative(root, file);
    if (name === table) continue;
    found.push(...rawConstants(name, readFileSync(file, 'utf8')));
  }
  assert.deepEqual(found, [], `${found.length} raw opcode/error-code literals:\n${found.join('\n')}\n`);
});

test('the raw-constant scan catches what it must, and only that', () => {
  const hits = (s: string): number => rawConstants('x.ts', s).length;
  // caught
  assert.equal(hits('const r = { op: 9, path };'), 1);
  assert.equal(hits('if (h.op === 14) return;'), 1);
  assert.equal(hits('if (op !== -11) x();'), 1);
  assert.equal(hits('if (14 === req.op) x();'), 1);
  assert.equal(hits('type T = { op: 1 | 15 | 19; req: CreateRequest };'), 1);
  assert.equal(hits('  | { op: -1; err: number };'), 1);
  assert.equal(hits('return { type: 14, txns };'), 1);
  assert.equal(hits('if (txn.type === -10) t = 1;'), 1);
  assert.equal(hits('switch (request.op) {\n  case OpCode.create:\n  case 101:\n    break;\n}'), 1);
  assert.equal(rawConstants('x.ts', 'switch (request.op) {\n  case OpCode.create:\n  case 101:\n}')[0], 'x.ts:3: case 101: in a switch over request.op (use OpCode.x)');
  assert.equal(hits('switch (t.type) { case 1: { f(); break; } case 2: g(); }'), 2);
  assert.equal(hits('if (err === -101) retry();'), 1);
  assert.equal(hits('reply({ err: -110 });'), 1);
  assert.equal(hits('if (-4 === res.err) gone();'), 1);
  assert.equal(hits('switch (rc) { case -101: break; case 0: ok(); }'), 1);
  // not caught: named constants, other names, other numbers
  assert.equal(hits('const r = { op: OpCode.getData, path };'), 0);
  assert.equal(hits('if (h.op === OpCode.multi) return;'), 0);
  assert.equal(hits('if (err === Err.noNode || err === 0) f();'), 0);
  assert.equal(hits('return { code: 2, result: null };'), 0);
  assert.equal(hits('const top = 14; const ops = 3; if (loop === 1) x();'), 0);
  assert.equal(hits('const o = { scope: 1, prototype: 2, errors: -1 };'), 0);
  assert.equal(hits('switch (kind) { case 1: break; }'), 0);
  assert.equal(hits('switch (m.type) { case "op: 9": break; }'), 0);
  assert.equal(hits('// op: 9 in a comment\n/* op === 14 */ const s = "op: 9";'), 0);
  assert.equal(hits('const big = { op: 1e3 };'), 0);
  assert.equal(hits('const scratch = { xid: 0, op: 0, flags: 0 };'), 0);
  assert.equal(hits('type N = { op: 0 | 1 };'), 1);
  assert.equal(hits('if (h.op === 0) note();'), 1);
});
