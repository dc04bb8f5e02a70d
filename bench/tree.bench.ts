// Micro-benchmark of the main thread's data path: prepare + apply of writes (the whole
// PrepRequestProcessor → DataTree work a write costs the main thread, without I/O) and reads,
// on a tree of 100K znodes.
//
//   node dist/bench/tree.bench.js          (after `npx tsc -b`)

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { ZkDatabase } from '../src/main/pipeline/database.js';
import type { RequestContext } from '../src/main/pipeline/context.js';
import type { ClientRequest } from '../src/protocol/types.js';

const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const ctx: RequestContext = {
  sessionId: 0x100000000000001n,
  cxid: 0,
  authIds: [{ scheme: 'ip', id: '127.0.0.1' }],
  isLocalSession: false,
};
const data = new Uint8Array(100).fill(7);
const now = 1_700_000_000_000;

function write(db: ZkDatabase, request: ClientRequest): number {
  const p = db.prepare(ctx, request, now);
  return db.apply(p).err;
}

function build(znodes: number): ZkDatabase {
  const db = new ZkDatabase({ extendedTypesEnabled: false });
  write(db, { op: 1, req: { path: '/bench', data: null, acl, flags: 0 } });
  for (let i = 0; i < znodes; i++) {
    write(db, { op: 1, req: { path: `/bench/n${i}`, data, acl, flags: 0 } });
  }
  return db;
}

let sink = 0;

export async function run(): Promise<void> {
  const znodes = 100_000;
  const db = build(znodes);
  let i = 0;
  let created = 0;
  const bench = new Bench({ name: `data tree (${znodes} znodes)`, time: 500, warmupTime: 100 });
  bench
    .add('create (prepare + apply)', () => {
      sink ^= write(db, { op: 1, req: { path: `/bench/c${created++}`, data, acl, flags: 0 } });
    })
    .add('setData (prepare + apply)', () => {
      sink ^= write(db, { op: 5, req: { path: `/bench/n${i++ % znodes}`, data, version: -1 } });
    })
    .add('getData (read)', () => {
      const r = db.read(ctx, { op: 4, req: { path: `/bench/n${i++ % znodes}`, watch: false } });
      sink ^= r.err;
    })
    .add('exists (read)', () => {
      const r = db.read(ctx, { op: 3, req: { path: `/bench/n${i++ % znodes}`, watch: true } });
      sink ^= r.err;
    })
    .add('getChildren of /zookeeper', () => {
      const r = db.read(ctx, { op: 8, req: { path: '/zookeeper', watch: false } });
      sink ^= r.err;
    });
  await bench.run();
  console.log(bench.name);
  console.table(bench.table());
  if (sink === 0.5) console.log(sink);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
