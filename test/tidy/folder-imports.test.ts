// Tidy: import rules between the folders inside src/main and src/workers (STYLE.md, "Dependency
// direction"). imports.test.ts keeps the layers one-way between src/ folders; this keeps the
// layers inside each thread one-way: the pure and low layers (zab, tree, net, storage, pipeline)
// never reach up into the driver side, and the thread entries are imported only by their owner.
// A rule states what the design intends; where today's code breaks it, the exception is listed
// by file below with why, so that it stays visible instead of the rule going soft.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const src = join(root, 'src');

/** A rule for every file under `from` (a path under src/, no .ts: a folder). Targets are paths
 *  under src/ too; one names a folder (everything under it) or a file (with .ts). Imports inside
 *  `from` itself and imports outside `scope` are not this rule's business. */
interface FolderRule {
  from: string;
  scope: string;
  /** When present, the only targets in scope that may be imported (besides `from` itself). */
  only?: readonly string[];
  /** Targets in scope that may be imported with `import type` / `export type` only. */
  typesOnly?: readonly string[];
  /** Targets that are never imported. */
  never?: readonly string[];
  why: string;
}

const rules: readonly FolderRule[] = [
  { from: 'main/zab', scope: 'main', only: [], why: 'the Zab core is pure: common only (zab-purity.test.ts bans clocks and timers)' },
  {
    from: 'main/tree',
    scope: 'main',
    only: [],
    typesOnly: ['main/logger.ts'],
    why: 'the data tree is a leaf of the main thread: common and the protocol records only',
  },
  {
    from: 'main/net',
    scope: 'main',
    only: [],
    typesOnly: ['main/zab'],
    why: "the quorum transport and codec carry the Zab core's messages (types) and know nothing else of main",
  },
  {
    from: 'main/storage',
    scope: 'main',
    only: ['main/tree'],
    typesOnly: ['main/pipeline', 'main/log-stage.ts'],
    why: "snapshots and recovery read and rebuild the tree; the log stores the pipeline's prepared txns (their type only)",
  },
  {
    from: 'main/pipeline',
    scope: 'main',
    never: ['main/zab', 'main/storage', 'main/ensemble', 'main/bridge.ts', 'main/driver.ts', 'main/server.ts', 'main/launcher.ts', 'main/four-letter.ts'],
    typesOnly: ['main/net'],
    why: 'the pipeline stages are functions over the tree and the session table; replication, storage and I/O drive them from outside',
  },
  {
    from: 'main/ensemble',
    scope: 'main',
    never: ['main/driver.ts', 'main/server.ts', 'main/launcher.ts', 'main/bridge.ts'],
    why: "the driver's helpers: the driver imports them, never the reverse",
  },
  { from: 'workers/watches', scope: 'workers', only: [], why: "the worker's watch table and fan-out stand alone: no connections, no sessions" },
  {
    from: 'workers/session',
    scope: 'workers',
    never: ['workers/server.ts', 'workers/worker.ts'],
    why: 'the session table and handshake are parts the worker server is built from, not users of it',
  },
];

/** Files that only their owners import. */
const importedOnlyBy: readonly { target: string; by: readonly string[]; why: string }[] = [
  { target: 'main/driver.ts', by: ['main/server.ts'], why: 'the driver is where the core meets I/O: only the process entry builds it' },
  { target: 'main/server.ts', by: [], why: 'the main-thread entry' },
  { target: 'workers/worker.ts', by: [], why: 'the worker thread entry (loaded by URL)' },
  { target: 'workers/server.ts', by: ['workers/worker.ts'], why: "the worker server is built by the worker's entry only" },
];

/** Known exceptions: `from` file imports `target` though a rule says no. Each says why and what
 *  would remove it. */
const exceptions: readonly { from: string; target: string; why: string }[] = [
  {
    from: 'main/pipeline/limits.ts',
    target: 'main/storage/limits.ts',
    why: "the pipeline's request bounds are asserted against the log record bound at load (one limits module per layer)",
  },
];

interface Import {
  spec: string;
  typeOnly: boolean;
  line: number;
}

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

export function importsOf(text: string): Import[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  const lineAt = (i: number): number => code.slice(0, i).split('\n').length;
  const out: Import[] = [];
  for (const m of code.matchAll(/(?:^|[\n;])\s*(import|export)\s+(type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g)) {
    out.push({ spec: m[3]!, typeOnly: m[2] !== undefined, line: lineAt(m.index! + m[0].indexOf(m[1]!)) });
  }
  for (const m of code.matchAll(/(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g)) out.push({ spec: m[1]!, typeOnly: false, line: lineAt(m.index! + 1) });
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false, line: lineAt(m.index!) });
  return out;
}

const under = (path: string, entry: string): boolean => (entry.endsWith('.ts') ? path === entry : path.startsWith(entry + '/'));

export function ruleProblems(fromFile: string, target: string, typeOnly: boolean): string[] {
  const out: string[] = [];
  if (exceptions.some((e) => e.from === fromFile && e.target === target)) return out;
  for (const r of rules) {
    if (!under(fromFile, r.from) || under(target, r.from) || !under(target, r.scope)) continue;
    const typed = r.typesOnly?.some((e) => under(target, e)) === true;
    if (typed && typeOnly) continue;
    if (r.never?.some((e) => under(target, e))) {
      out.push(`${r.from} never imports it: ${r.why}`);
    } else if (r.only !== undefined && !r.only.some((e) => under(target, e))) {
      const allowed = [...r.only, ...(r.typesOnly ?? []).map((t) => `type ${t}`)];
      out.push(`${r.from} imports only ${allowed.length > 0 ? allowed.join(', ') : 'itself'} here: ${r.why}`);
    } else if (typed) {
      out.push(`${r.from} imports types only from it: ${r.why}`);
    }
  }
  for (const o of importedOnlyBy) {
    if (target === o.target && fromFile !== o.target && !o.by.includes(fromFile)) {
      out.push(`only ${o.by.length > 0 ? o.by.join(', ') : 'nothing'} imports ${o.target}: ${o.why}`);
    }
  }
  return out;
}

test('folders inside src/main and src/workers import one way', () => {
  const problems: string[] = [];
  for (const top of ['main', 'workers']) {
    for (const file of tsFiles(join(src, top))) {
      const fromFile = relative(src, file);
      for (const imp of importsOf(readFileSync(file, 'utf8'))) {
        if (!imp.spec.startsWith('.')) continue;
        const target = relative(src, resolve(dirname(file), imp.spec)).replace(/\.js$/, '.ts');
        for (const p of ruleProblems(fromFile, target, imp.typeOnly)) problems.push(`src/${fromFile}:${imp.line} imports ${target}: ${p}`);
      }
    }
  }
  assert.deepEqual(problems, [], `\n${problems.join('\n')}\n`);
});

test('every exception still names a file that exists or may exist after a move', () => {
  // Exceptions for files that no longer import their target are dead weight: drop them.
  for (const e of exceptions) {
    let text: string;
    try {
      text = readFileSync(join(src, e.from), 'utf8');
    } catch {
      continue; // not on this branch (a move in flight)
    }
    const targets = importsOf(text)
      .filter((i) => i.spec.startsWith('.'))
      .map((i) => relative(src, resolve(dirname(join(src, e.from)), i.spec)).replace(/\.js$/, '.ts'));
    assert.ok(targets.includes(e.target), `exception ${e.from} → ${e.target} no longer needed: remove it`);
  }
});

test('the import scan and the rules catch what they must', () => {
  assert.deepEqual(importsOf("import type { A } from './a.js';\nimport { b, type C } from '../b.js';"), [
    { spec: './a.js', typeOnly: true, line: 1 },
    { spec: '../b.js', typeOnly: false, line: 2 },
  ]);
  assert.deepEqual(
    importsOf("// import { x } from './comment.js'\nexport type { T } from './t.js';\nconst m = await import('./m.js');").map((i) => i.spec),
    ['./t.js', './m.js'],
  );
  assert.equal(ruleProblems('main/zab/peer.ts', 'main/tree/node.ts', true).length, 1);
  assert.equal(ruleProblems('main/zab/peer.ts', 'main/zab/messages.ts', false).length, 0);
  assert.equal(ruleProblems('main/zab/peer.ts', 'common/zk.ts', false).length, 0); // imports.test.ts's business
  assert.equal(ruleProblems('main/net/codec.ts', 'main/zab/messages.ts', true).length, 0);
  assert.equal(ruleProblems('main/net/codec.ts', 'main/zab/messages.ts', false).length, 1);
  assert.equal(ruleProblems('main/net/codec.ts', 'main/pipeline/prep.ts', true).length, 1);
  assert.equal(ruleProblems('main/storage/txnlog.ts', 'main/pipeline/prep.ts', true).length, 0);
  assert.equal(ruleProblems('main/storage/txnlog.ts', 'main/pipeline/prep.ts', false).length, 1);
  assert.equal(ruleProblems('main/storage/txnlog.ts', 'main/net/codec.ts', true).length, 1);
  assert.equal(ruleProblems('main/pipeline/prep.ts', 'main/storage/txnlog.ts', false).length, 1);
  assert.equal(ruleProblems('main/pipeline/limits.ts', 'main/storage/limits.ts', false).length, 0);
  assert.equal(ruleProblems('main/pipeline/prep.ts', 'main/net/codec.ts', true).length, 0);
  assert.equal(ruleProblems('main/pipeline/prep.ts', 'main/net/codec.ts', false).length, 1);
  assert.equal(ruleProblems('main/ensemble/x.ts', 'main/driver.ts', true).length, 2);
  assert.equal(ruleProblems('main/bridge.ts', 'main/driver.ts', false).length, 1);
  assert.equal(ruleProblems('main/server.ts', 'main/driver.ts', false).length, 0);
  assert.equal(ruleProblems('workers/session/table.ts', 'workers/server.ts', true).length, 2);
  assert.equal(ruleProblems('workers/watches/table.ts', 'workers/fifo.ts', false).length, 1);
  assert.equal(ruleProblems('workers/conn.ts', 'workers/watches/table.ts', false).length, 0);
});
