// Micro-benchmark of the jute codec on the server's hottest records.
//
//   node dist/bench/jute.bench.js          (after `npx tsc -b`)
//
// Each task reuses one JuteWriter / JuteReader, as the server does per connection. Copies of
// more than 64 bytes cost ~300 ns each: V8 gives them an off-heap ArrayBuffer (the decode rows).
//   encode/decode getData request      RequestHeader + GetDataRequest (path of 24 bytes)
//   encode/decode GetDataResponse      ReplyHeader + 100 data bytes + Stat; decoded with the data
//                                      copied (the default) and as a view (bufferViews)
//   encode/decode Stat                 the 68-byte Stat alone
//   encode/decode create request       RequestHeader + CreateRequest (path, 100 bytes, world ACL)

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import {
  JuteReader,
  JuteWriter,
  decodeReplyHeader,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeStat,
  encodeReplyHeader,
  encodeRequest,
  encodeRequestHeader,
  encodeResponse,
  encodeStat,
} from '../src/protocol/jute/index.js';
import type { ClientRequest, ClientResponse, Stat } from '../src/protocol/types.js';

const stat: Stat = {
  czxid: 0x100000001,
  mzxid: 0x100000042,
  ctime: 1_700_000_000_123,
  mtime: 1_700_000_000_456,
  version: 5,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: 100,
  numChildren: 0,
  pzxid: 0x100000001,
};
const getData: ClientRequest = { op: 4, req: { path: '/zkts/bench/node-000001', watch: true } };
const getDataResponse: ClientResponse = { op: 4, res: { data: new Uint8Array(100).fill(42), stat } };
const create: ClientRequest = {
  op: 1,
  req: {
    path: '/zkts/bench/node-000001',
    data: new Uint8Array(100).fill(42),
    acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
    flags: 0,
  },
};

const w = new JuteWriter(4096);
const r = new JuteReader();
/** Zero-copy reader: data fields come back as views into the input instead of copies. */
const rv = new JuteReader(new Uint8Array(0), { bufferViews: true });

/** One framed request, as the server's frame parser would hand it over. */
function frameRequest(xid: number, q: ClientRequest): void {
  w.beginFrame();
  encodeRequestHeader(w, { xid, type: q.op });
  encodeRequest(w, q);
  w.endFrame();
}
function frameResponse(xid: number, s: ClientResponse): void {
  w.beginFrame();
  encodeReplyHeader(w, { xid, zxid: 0x100000042, err: 0 });
  encodeResponse(w, s);
  w.endFrame();
}
function snapshot(fn: () => void): Uint8Array {
  w.reset();
  fn();
  return w.bytesCopy();
}

const getDataBytes = snapshot(() => frameRequest(7, getData));
const responseBytes = snapshot(() => frameResponse(7, getDataResponse));
const statBytes = snapshot(() => encodeStat(w, stat));
const createBytes = snapshot(() => frameRequest(8, create));

/** Keeps results observable so the JIT cannot drop the work. */
let sink = 0;

function decodeFramedRequest(bytes: Uint8Array): void {
  r.reset(bytes, 4);
  const h = decodeRequestHeader(r);
  const q = decodeRequest(h.type, r);
  sink ^= q.op;
}

export async function run(): Promise<void> {
  const bench = new Bench({ name: 'jute codec', time: 500, warmupTime: 100 });
  bench
    .add('encode getData request', () => {
      w.reset();
      frameRequest(7, getData);
      sink ^= w.length;
    })
    .add('decode getData request', () => decodeFramedRequest(getDataBytes))
    .add('encode GetDataResponse (100 B)', () => {
      w.reset();
      frameResponse(7, getDataResponse);
      sink ^= w.length;
    })
    .add('decode GetDataResponse (100 B)', () => {
      r.reset(responseBytes, 4);
      sink ^= decodeReplyHeader(r).xid;
      sink ^= decodeResponse(4, r).op;
    })
    .add('decode GetDataResponse (100 B, view)', () => {
      rv.reset(responseBytes, 4);
      sink ^= decodeReplyHeader(rv).xid;
      sink ^= decodeResponse(4, rv).op;
    })
    .add('encode Stat', () => {
      w.reset();
      encodeStat(w, stat);
      sink ^= w.length;
    })
    .add('decode Stat', () => {
      sink ^= decodeStat(r.reset(statBytes)).version;
    })
    .add('encode create request', () => {
      w.reset();
      frameRequest(8, create);
      sink ^= w.length;
    })
    .add('decode create request', () => decodeFramedRequest(createBytes));
  await bench.run();
  console.log(bench.name);
  console.table(bench.table());
  if (sink === 0.5) console.log(sink); // never true; uses sink
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
