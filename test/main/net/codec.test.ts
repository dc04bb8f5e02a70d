// Quorum codec: every Zab message round-trips through FlatBuffers unchanged, numbers outside the
// safe-integer range are refused, and malformed bytes give QuorumCodecError (never another
// exception, never a different message).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Msg, MsgType } from '../../../src/main/zab/messages.js';
import {
  QuorumCodecError,
  type ForwardMsg,
  decodeForwardMessage,
  decodeFrame,
  decodeMessage,
  encodeHello,
  encodeMessage,
  encodeMessageFrame,
  framePrefixBytes,
  serverStateCodes,
  serverStateOfCode,
} from '../../../src/main/net/codec.js';
import { FrameReader } from '../../../src/protocol/frame-reader.js';
import { mulberry32 as prng } from '../../harness/prng.js';

const maxZxid = Number.MAX_SAFE_INTEGER;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 31) & 255;
  return out;
}


test('the server-state table reads both ways: every state, and no state for an unknown code', () => {
  const states = Object.keys(serverStateCodes) as (keyof typeof serverStateCodes)[];
  assert.deepEqual(states.sort(), ['FOLLOWING', 'LEADING', 'LOOKING', 'OBSERVING']);
  for (const st of states) assert.equal(serverStateOfCode.get(serverStateCodes[st]), st);
  assert.equal(new Set(states.map((st) => serverStateCodes[st])).size, states.length, 'codes are distinct');
  assert.equal(serverStateOfCode.get(99), undefined);
});

// A Record keyed by MsgType: a message type added to the core without a sample fails to compile.
const samples: Record<MsgType, readonly Msg[]> = {
  NOTIFICATION: [
    { type: 'NOTIFICATION', leader: 3, zxid: 0x100000002, peerEpoch: 1, electionEpoch: 7, state: 'LOOKING' },
    { type: 'NOTIFICATION', leader: 1, zxid: maxZxid, peerEpoch: 2 ** 21 - 1, electionEpoch: 2 ** 40, state: 'LEADING' },
    { type: 'NOTIFICATION', leader: -1, zxid: 0, peerEpoch: 0, electionEpoch: 0, state: 'FOLLOWING' },
    { type: 'NOTIFICATION', leader: 5, zxid: 1, peerEpoch: 0, electionEpoch: 1, state: 'OBSERVING' },
  ],
  FOLLOWERINFO: [
    { type: 'FOLLOWERINFO', acceptedEpoch: 4, session: 9 },
    { type: 'FOLLOWERINFO', acceptedEpoch: 0, session: 0 },
  ],
  OBSERVERINFO: [{ type: 'OBSERVERINFO', acceptedEpoch: 12, session: maxZxid }],
  LEADERINFO: [{ type: 'LEADERINFO', epoch: 5, session: 1 }],
  ACKEPOCH: [
    { type: 'ACKEPOCH', session: 2, currentEpoch: 3, lastZxid: 0x300000004, snapshotZxid: 0, segments: [] },
    {
      type: 'ACKEPOCH',
      session: 1,
      currentEpoch: 3,
      lastZxid: maxZxid,
      snapshotZxid: 0x100000005,
      segments: [
        { epoch: 1, lastZxid: 0x100000009 },
        { epoch: 2, lastZxid: 0x200000001 },
        { epoch: 2 ** 21 - 1, lastZxid: maxZxid },
      ],
    },
  ],
  DIFF: [{ type: 'DIFF', zxid: 0x500000000 }],
  TRUNC: [{ type: 'TRUNC', zxid: maxZxid }],
  SNAP: [
    { type: 'SNAP', zxid: 0x200000010, data: new Uint8Array(0) },
    { type: 'SNAP', zxid: 0x200000010, data: bytes(300_000, 5) },
  ],
  PROPOSAL: [
    { type: 'PROPOSAL', zxid: 0x100000001, payload: new Uint8Array(0) },
    { type: 'PROPOSAL', zxid: 0x100000002, payload: bytes(100, 1) },
    { type: 'PROPOSAL', zxid: maxZxid, payload: bytes(1024 * 1024 + 3, 2) },
  ],
  NEWLEADER: [{ type: 'NEWLEADER', epoch: 6, zxid: 0x600000000 }],
  ACKNEWLEADER: [{ type: 'ACKNEWLEADER', epoch: 6 }],
  ACK: [
    { type: 'ACK', zxid: 0 },
    { type: 'ACK', zxid: maxZxid },
  ],
  COMMIT: [{ type: 'COMMIT', zxid: 0x100000001 }],
  INFORM: [
    { type: 'INFORM', zxid: 0x100000001, payload: bytes(1, 3) },
    { type: 'INFORM', zxid: 0x100000002, payload: new Uint8Array(0) },
  ],
  UPTODATE: [{ type: 'UPTODATE', commitZxid: 0x700000003 }],
  PING: [{ type: 'PING' }],
  OBSERVERLEAVE: [{ type: 'OBSERVERLEAVE', session: 1 }, { type: 'OBSERVERLEAVE', session: 2 ** 40 }],
};
const all: readonly Msg[] = Object.values(samples).flat();

describe('quorum codec', () => {
  test('every message type round-trips', () => {
    for (const msg of all) {
      const encoded = encodeMessage(msg);
      assert.deepStrictEqual(decodeMessage(encoded), msg, msg.type);
    }
  });

  test('the length-prefixed frame is the encoded message behind a u32 BE length', () => {
    for (const msg of all) {
      const frame = encodeMessageFrame(msg);
      const body = encodeMessage(msg);
      assert.equal(frame.readUInt32BE(0), body.length);
      assert.deepStrictEqual(new Uint8Array(frame.subarray(framePrefixBytes)), body);
    }
  });

  test('encodings do not share buffers; decoded payloads are views into the frame', () => {
    const a = encodeMessage({ type: 'PROPOSAL', zxid: 1, payload: bytes(10, 1) });
    const copy = a.slice();
    encodeMessage({ type: 'PROPOSAL', zxid: 2, payload: bytes(10, 9) });
    assert.deepStrictEqual(a, copy);
    const decoded = decodeMessage(a);
    assert.ok(decoded.type === 'PROPOSAL');
    assert.deepStrictEqual(decoded.payload, bytes(10, 1));
    // No copy per txn: the payload shares the frame's memory. FrameReader never reuses a buffer
    // (the chunk-boundary test below checks payload views still hold after every later push).
    assert.equal(decoded.payload.buffer, a.buffer);
  });

  test('hello round-trips and is not a message', () => {
    const hello = { cluster: 'ensemble-a', sender: 3, receiver: 1, nonce: new Uint8Array([1, 2, 3]), mac: new Uint8Array(32).fill(7) };
    assert.deepStrictEqual(decodeFrame(encodeHello(hello)), { kind: 'hello', hello });
    assert.throws(() => decodeMessage(encodeHello(hello)), QuorumCodecError);
  });

  test('numbers outside the safe-integer range are refused on encode', () => {
    for (const zxid of [2 ** 53, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => encodeMessage({ type: 'ACK', zxid }), QuorumCodecError);
    }
  });

  test('an int64 beyond 2^53 on the wire is refused on decode', () => {
    const ok = encodeMessage({ type: 'ACK', zxid: 0x0102030405 });
    // Find the little-endian zxid in the buffer and set its top byte.
    const at = Buffer.from(ok).indexOf(Buffer.from([0x05, 0x04, 0x03, 0x02, 0x01, 0, 0, 0]));
    assert.ok(at > 0);
    const bad = ok.slice();
    bad[at + 7] = 0x40;
    assert.throws(() => decodeMessage(bad), QuorumCodecError);
  });

  test('random bytes are QuorumCodecError', () => {
    const random = prng(1);
    for (let i = 0; i < 3000; i++) {
      const junk = new Uint8Array(Math.floor(random() * 64));
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(random() * 256);
      if (i % 2 === 0 && junk.length >= 8) junk.set([90, 75, 81, 49], 4); // identifier "ZKQ1"
      assert.throws(() => decodeFrame(junk), QuorumCodecError);
    }
  });

  test('truncated and mutated frames never decode to a different message', () => {
    const random = prng(2);
    for (const msg of all) {
      const good = encodeMessage(msg);
      if (good.length > 4096) continue;
      for (let n = 0; n < good.length; n++) {
        assertSafeDecode(good.subarray(0, n), msg);
      }
      for (let k = 0; k < 200; k++) {
        const mutated = good.slice();
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        assertSafeDecode(mutated, null);
      }
    }
  });

  test('PROPOSAL / INFORM frames from templates are byte for byte the Builder\'s', () => {
    const random = prng(7);
    const zxids = [1, 2, 0xffffffff, 0x100000000, 0x1234500000001, maxZxid];
    const check = (type: 'PROPOSAL' | 'INFORM', n: number, zxid: number): void => {
      const payload = new Uint8Array(n);
      for (let i = 0; i < n; i++) payload[i] = Math.floor(random() * 256);
      const msg = { type, zxid, payload } as const;
      const framed = encodeMessageFrame(msg);
      assert.equal(framed.readUInt32BE(0), framed.length - 4);
      // encodeMessage always goes through the Builder
      assert.deepStrictEqual(new Uint8Array(framed.subarray(4)), encodeMessage(msg), `${type} length ${n} zxid ${zxid}`);
      assert.deepStrictEqual(decodeMessage(framed.subarray(4)), msg);
    };
    for (const type of ['PROPOSAL', 'INFORM'] as const) {
      for (let n = 0; n <= 300; n++) check(type, n, zxids[n % zxids.length]!);
      // the same lengths again (templates cached), new zxids and bytes
      for (let n = 0; n <= 300; n += 7) check(type, n, Math.floor(random() * maxZxid) + 1);
      // after the Builder has grown for a large frame, and for large payloads themselves
      for (const n of [70_000, 1, 4096, 65_536, 17, 1_000_000, 300]) check(type, n, Math.floor(random() * maxZxid) + 1);
      check(type, 10, 0); // zxid 0: the Builder path (the field is left out)
    }
  });

  // The reader's own tests are test/protocol/frame-reader.test.ts; this one is the codec over it.
  test('frame reader splits frames across any chunk boundary', () => {
    // Small messages only: every byte-sized step over a 1 MiB payload would only cost time.
    const small = all.filter((m) => encodeMessage(m).length < 4096);
    const stream = Buffer.concat(small.map((m) => encodeMessageFrame(m)));
    for (const step of [1, 2, 3, 7, 64, 4096, stream.length]) {
      const reader = new FrameReader(2 * 1024 * 1024);
      const got: Msg[] = [];
      for (let at = 0; at < stream.length; at += step) {
        const problem = reader.push(stream.subarray(at, at + step), (body) => {
          got.push(decodeMessage(body));
          return true;
        });
        assert.equal(problem, null);
      }
      // payloads are views into the frames: later pushes must not have changed them
      assert.deepStrictEqual(got, small);
      assert.equal(reader.bufferedBytes(), 0);
    }
  });
});

/** Either QuorumCodecError, or (for a truncation) exactly the original message. */
function assertSafeDecode(bytesIn: Uint8Array, original: Msg | null): void {
  let decoded: Msg;
  try {
    decoded = decodeMessage(bytesIn);
  } catch (err) {
    assert.ok(err instanceof QuorumCodecError, `unexpected ${String(err)}`);
    return;
  }
  if (original !== null) assert.deepStrictEqual(decoded, original);
}

// Request forwarding (learner → leader REQUEST and TOUCH, leader → learner REQUESTERROR): not Zab
// messages, so they decode as kind 'forward'.
describe('quorum codec: forwarding messages', () => {
  const forwardSamples: readonly ForwardMsg[] = [
    {
      type: 'REQUEST',
      session: (1n << 56n) | 5n,
      cxid: 7,
      op: 1,
      body: bytes(40, 3),
      authIds: [
        { scheme: 'ip', id: '127.0.0.1' },
        { scheme: 'digest', id: 'u:hash' },
      ],
      timeoutMs: 0,
      local: true,
    },
    { type: 'REQUEST', session: 0xffffffffffffffffn, cxid: -2, op: -11, body: new Uint8Array(0), authIds: [], timeoutMs: 30000, local: false },
    { type: 'REQUESTERROR', session: (255n << 56n) | 1n, cxid: 2 ** 31 - 1, err: -4, zxid: 0 },
    { type: 'REQUESTERROR', session: 7n, cxid: 12, err: 0, zxid: 0x500000003 },
    { type: 'TOUCH', sessions: [(2n << 56n) | 1n, 0xffffffffffffffffn, 0n] },
    { type: 'TOUCH', sessions: [] },
  ];
  test('round-trips', () => {
    for (const m of forwardSamples) {
      const f = decodeFrame(encodeMessage(m));
      assert.equal(f.kind, 'forward');
      assert.deepEqual(decodeForwardMessage(encodeMessage(m)), m);
    }
  });
  test('a Zab decoder refuses a forwarding frame and vice versa', () => {
    assert.throws(() => decodeMessage(encodeMessage(forwardSamples[2]!)), QuorumCodecError);
    assert.throws(() => decodeForwardMessage(encodeMessage({ type: 'PING' })), QuorumCodecError);
  });
  test('out-of-range fields are refused on encode', () => {
    assert.throws(() => encodeMessage({ type: 'REQUESTERROR', session: 1n << 64n, cxid: 0, err: 0, zxid: 0 }), QuorumCodecError);
    assert.throws(() => encodeMessage({ type: 'REQUESTERROR', session: 1n, cxid: 2 ** 31, err: 0, zxid: 0 }), QuorumCodecError);
    assert.throws(() => encodeMessage({ type: 'TOUCH', sessions: [1n << 64n] }), QuorumCodecError);
  });
  test('truncated forwarding frames give QuorumCodecError', () => {
    const full = encodeMessage(forwardSamples[0]!);
    for (let n = 0; n < full.length; n++) {
      try {
        decodeFrame(full.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof QuorumCodecError, `cut at ${n}: ${String(e)}`);
      }
    }
  });
});

test('OBSERVERLEAVE travels as a Ping with leave_session: an older peer, which knows Ping without the field, reads a PING', async () => {
  const fb = await import('../../../src/main/net/generated/quorum_generated.js');
  const flatbuffers = await import('flatbuffers');
  const frame = fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(encodeMessage({ type: 'OBSERVERLEAVE', session: 7 })));
  assert.equal(frame.bodyType(), fb.Body.Ping);
  // An empty Ping (what an older peer sends and expects) still decodes as PING here.
  assert.deepEqual(decodeMessage(encodeMessage({ type: 'PING' })), { type: 'PING' });
  assert.throws(() => encodeMessage({ type: 'OBSERVERLEAVE', session: 0 }), QuorumCodecError);
});
