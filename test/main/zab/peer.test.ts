// Zab interaction scripts for src/main/zab/peer.ts (etcd-raft's datadriven tests): each file under
// test/main/zab/scripts is a list of commands, each followed by `----` and the transcript it must
// produce (up to a blank line). ZKTS_REWRITE=1 regenerates the transcripts; review the diff.
//
// Commands: peers <n> [observers=<m>] [masters=1] | tick <id|all> [n=<k>] | ticks <k> | stabilize [hold=<id,...>]
//   | deliver [<from>-><to>] [type=<T>] [n=<k>] | drop <from>-><to> | persist <id>
//   | propose <id> <text> | crash <id> | restart <id> | hang <id> | resume <id> | compact <id> | state | log <id> | masters

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Env } from './harness/env.js';

const scriptsDir = fileURLToPath(new URL('../../../../test/main/zab/scripts/', import.meta.url));
const rewrite = process.env['ZKTS_REWRITE'] === '1';

interface Block {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string[];
}

function parse(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let comments: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    assert.equal(lines[i + 1], '----', `line ${i + 2}: expected ---- after "${line}"`);
    const expected: string[] = [];
    i += 2;
    while (i < lines.length && lines[i] !== '') expected.push(lines[i++]!);
    blocks.push({ comments, command: line, expected });
    comments = [];
  }
  return blocks;
}

function ids(env: Env, arg: string | undefined): number[] {
  if (arg === undefined || arg === 'all') return [...env.nodes.keys()];
  return arg.split(',').map(Number);
}

function run(env: Env, command: string): void {
  const [name, ...args] = command.split(/\s+/);
  const opts = new Map<string, string>();
  const positional: string[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) opts.set(a.slice(0, eq), a.slice(eq + 1));
    else positional.push(a);
  }
  switch (name) {
    case 'peers':
      env.peers(Number(positional[0]), Number(opts.get('observers') ?? 0), opts.get('masters') === '1');
      return;
    case 'tick':
      for (let k = 0; k < Number(opts.get('n') ?? 1); k++) {
        for (const id of ids(env, positional[0])) env.step(id, { kind: 'tick' });
      }
      return;
    case 'ticks': // <k> rounds of: tick every node, then stabilize
      for (let k = 0; k < Number(positional[0]); k++) {
        for (const id of env.nodes.keys()) env.step(id, { kind: 'tick' });
        env.stabilize(new Set());
      }
      return;
    case 'stabilize':
      env.stabilize(new Set(opts.has('hold') ? opts.get('hold')!.split(',').map(Number) : []));
      return;
    case 'deliver': {
      const link = positional[0]?.split('->').map(Number);
      const type = opts.get('type');
      const count = Number(opts.get('n') ?? Infinity);
      for (let k = 0; k < count; k++) {
        const moved = env.deliverOne(
          (m) =>
            (link === undefined || (m.from === link[0] && m.to === link[1])) &&
            (type === undefined || m.msg.type === type),
        );
        if (!moved) break;
      }
      return;
    }
    case 'drop': {
      const [from, to] = positional[0]!.split('->').map(Number);
      env.drop(from!, to!);
      return;
    }
    case 'persist':
      env.persist(Number(positional[0]));
      return;
    case 'propose':
      env.step(Number(positional[0]), { kind: 'propose', payload: new TextEncoder().encode(positional[1] ?? '') });
      return;
    case 'crash':
      env.crash(Number(positional[0]));
      return;
    case 'restart':
      env.restart(Number(positional[0]));
      return;
    case 'hang':
    case 'resume':
      env.hang(Number(positional[0]), name === 'hang');
      return;
    case 'compact':
      env.compact(Number(positional[0]));
      return;
    case 'state':
      env.state();
      return;
    case 'log':
      env.log(Number(positional[0]));
      return;
    case 'masters':
      env.masters();
      return;
    default:
      throw new Error(`unknown command ${command}`);
  }
}

for (const file of readdirSync(scriptsDir).filter((f) => f.endsWith('.txt')).sort()) {
  test(`zab script ${file}`, () => {
    const path = scriptsDir + file;
    const blocks = parse(readFileSync(path, 'utf8'));
    const env = new Env();
    const written: string[] = [];
    for (const block of blocks) {
      env.out = [];
      run(env, block.command);
      const actual = env.out.length > 0 ? env.out : ['ok'];
      written.push(...block.comments, block.command, '----', ...actual, '');
      if (!rewrite) assert.deepEqual(actual, block.expected, `${file}: ${block.command}`);
    }
    if (rewrite) writeFileSync(path, written.join('\n'));
  });
}
