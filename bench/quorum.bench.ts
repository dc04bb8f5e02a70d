// Micro-benchmark of the quorum codec on the broadcast hot path (PROPOSAL / ACK / COMMIT):
// FlatBuffers (src/main/net/codec.ts, what the transport uses) against a hand-written DataView
// encoder of the same fields, encode + decode per iteration, both producing the length-prefixed
// frame and decoding into the core's plain message. Then PROPOSAL encoding alone: a Builder pass
// per frame (encodeMessage) against the per-length template the transport uses
// (encodeMessageFrame), which is why the template exists.
//
//   node dist/bench/quorum.bench.js          (after `npx tsc -b`)

import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { decodeMessage, encodeMessage, encodeMessageFrame, framePrefixBytes } from '../src/main/net/codec.js';
import type { Msg } from '../src/main/zab/messages.js';

// The hand-written alternative: [u32 length][u8 type][u32 zxid hi][u32 zxid lo][payload...].
const typeProposal = 1;
const typeAck = 2;
const typeCommit = 3;

function dataViewEncode(msg: Msg): Buffer {
  const payload = msg.type === 'PROPOSAL' ? msg.payload : null;
  const hasZxid = msg.type === 'PROPOSAL' || msg.type === 'ACK' || msg.type === 'COMMIT';
  const zxid = hasZxid ? msg.zxid : 0;
  const bodyBytes = 9 + (payload?.length ?? 0);
  const out = Buffer.allocUnsafe(framePrefixBytes + bodyBytes);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  view.setUint32(0, bodyBytes);
  const type = msg.type === 'PROPOSAL' ? typeProposal : msg.type === 'ACK' ? typeAck : typeCommit;
  view.setUint8(4, type);
  view.setUint32(5, Math.floor(zxid / 0x100000000));
  view.setUint32(9, zxid >>> 0);
  if (payload !== null) out.set(payload, 13);
  return out;
}

function dataViewDecode(body: Uint8Array): Msg {
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const zxid = view.getUint32(1) * 0x100000000 + view.getUint32(5);
  switch (view.getUint8(0)) {
    case typeProposal:
      return { type: 'PROPOSAL', zxid, payload: body.slice(9) };
    case typeAck:
      return { type: 'ACK', zxid };
    default:
      return { type: 'COMMIT', zxid };
  }
}

let sink = 0;

export async function run(): Promise<void> {
  const payload = new Uint8Array(100).fill(7);
  let zxid = 0x500000000;
  const bench = new Bench({ name: 'quorum codec: encode + decode', time: 500, warmupTime: 100 });
  const cases: [string, () => Msg][] = [
    ['PROPOSAL 100 B', () => ({ type: 'PROPOSAL', zxid: ++zxid, payload })],
    ['ACK', () => ({ type: 'ACK', zxid: ++zxid })],
    ['COMMIT', () => ({ type: 'COMMIT', zxid: ++zxid })],
  ];
  for (const [name, make] of cases) {
    bench.add(`flatbuffers ${name}`, () => {
      const frame = encodeMessageFrame(make());
      const msg = decodeMessage(frame.subarray(framePrefixBytes));
      sink ^= msg.type.length;
    });
    bench.add(`dataview ${name}`, () => {
      const frame = dataViewEncode(make());
      const msg = dataViewDecode(frame.subarray(framePrefixBytes));
      sink ^= msg.type.length;
    });
  }
  await bench.run();
  console.log(bench.name);
  console.table(bench.table());
  for (const size of [100, 1024]) {
    const data = new Uint8Array(size).fill(3);
    const encode = new Bench({ name: `PROPOSAL ${size} B encode: Builder vs template`, time: 500, warmupTime: 100 });
    encode.add('Builder pass per frame', () => {
      sink ^= encodeMessage({ type: 'PROPOSAL', zxid: ++zxid, payload: data }).length;
    });
    encode.add('template copy + patch', () => {
      sink ^= encodeMessageFrame({ type: 'PROPOSAL', zxid: ++zxid, payload: data }).length;
    });
    await encode.run();
    console.log(encode.name);
    console.table(encode.table());
  }
  const frame = encodeMessageFrame({ type: 'PROPOSAL', zxid, payload });
  console.log(`PROPOSAL 100 B frame: flatbuffers ${frame.length} B, dataview ${13 + 100} B`);
  if (sink === 0.5) console.log(sink);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
