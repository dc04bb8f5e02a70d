// Dependency direction, enforced (STYLE.md): the thread boundary and the layers stay one-way.
//   common   → nothing of ours (and no node:* modules)
//   protocol → common
//   shm      → common
//   http     → common                       (the HTTP/WebSocket adapter: either thread uses it)
//   workers  → shm, protocol, http, common  (never main)
//   main     → shm, protocol, http, common, main  (never workers, never client)
//   client   → protocol, common             (never the server)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const src = join(root, 'src');

const allowed: Record<string, readonly string[]> = {
  common: ['common'],
  protocol: ['protocol', 'common'],
  shm: ['shm', 'common'],
  http: ['http', 'common'],
  workers: ['workers', 'shm', 'protocol', 'http', 'common'],
  main: ['main', 'shm', 'protocol', 'http', 'common'],
  client: ['client', 'protocol', 'common'],
  load: ['load', 'client', 'protocol', 'common'],
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

test('imports point one way between src/ folders', () => {
  const problems: string[] = [];
  for (const folder of Object.keys(allowed)) {
    let files: string[];
    try {
      files = tsFiles(join(src, folder));
    } catch {
      continue; // folder not there (yet)
    }
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) {
          if (folder === 'common' && spec.startsWith('node:')) problems.push(`${relative(root, file)}: common imports ${spec}`);
          continue;
        }
        const target = relative(src, resolve(dirname(file), spec)).split('/')[0]!;
        if (!allowed[folder]!.includes(target)) problems.push(`${relative(root, file)} imports ${spec} (${folder} → ${target})`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
