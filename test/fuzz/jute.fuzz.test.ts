// Property tests of the jute codec: hostile bytes (random, truncated, corrupted valid frames) may
// only ever produce a JuteError, never another exception or a hang; generated requests,
// responses and txns round-trip. Sized to finish in a few seconds.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  JuteError,
  JuteReader,
  JuteWriter,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeRequest,
  decodeResponse,
  decodeTxn,
  encodeConnectRequest,
  encodeRequest,
  encodeResponse,
  encodeTxn,
} from '../../src/protocol/jute/index.js';
import type {
  ACL,
  ClientRequest,
  ClientResponse,
  ConnectRequest,
  CreateRequest,
  MultiOp,
  MultiResult,
  Stat,
  Txn,
} from '../../src/protocol/types.js';

// ---- arbitraries --------------------------------------------------------------------------

/** fc.record with ordinary prototypes, so deepStrictEqual can compare against decoded records. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.maxSafeInteger();
const long64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
// Well-formed Unicode only: lone surrogates do not survive UTF-8, by design.
const str = fc.string({ unit: 'grapheme', maxLength: 24 });
const path = fc.oneof(str, fc.constantFrom('/', '/a', '/zookeeper/quota', '/a/b/c0000000001'));
const bytes = fc.uint8Array({ maxLength: 64 });
const data = fc.option(bytes, { nil: null });
const strs = fc.array(path, { maxLength: 4 });

const acl: fc.Arbitrary<ACL> = rec({
  perms: int32,
  id: rec({ scheme: str, id: str }),
});
const acls = fc.array(acl, { maxLength: 3 });
const stat: fc.Arbitrary<Stat> = rec({
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: long64,
  dataLength: int32,
  numChildren: int32,
  pzxid: long,
});

const create: fc.Arbitrary<CreateRequest> = rec({ path, data, acl: acls, flags: int32 });
const createTTL = rec({ path, data, acl: acls, flags: int32, ttl: long });
const pathVersion = rec({ path, version: int32 });
const pathWatch = rec({ path, watch: fc.boolean() });
const setData = rec({ path, data, version: int32 });

const writeOp: fc.Arbitrary<MultiOp> = fc.oneof(
  fc.tuple(fc.constantFrom(1, 15, 19), create).map(([op, req]): MultiOp => ({ op, req })),
  createTTL.map((req): MultiOp => ({ op: 21, req })),
  fc.tuple(fc.constantFrom(2, 13), pathVersion).map(([op, req]): MultiOp => ({ op, req })),
  setData.map((req): MultiOp => ({ op: 5, req })),
);
const readOp = fc
  .tuple(fc.constantFrom(4, 8), pathWatch)
  .map(([op, req]): MultiOp => ({ op, req }));

const request: fc.Arbitrary<ClientRequest> = fc.oneof(
  fc.tuple(fc.constantFrom(1, 15, 19), create).map(([op, req]): ClientRequest => ({ op, req })),
  createTTL.map((req): ClientRequest => ({ op: 21, req })),
  fc.tuple(fc.constantFrom(2, 13), pathVersion).map(([op, req]): ClientRequest => ({ op, req })),
  fc
    .tuple(fc.constantFrom(20, 6, 9, 104, 103), path)
    .map(([op, p]): ClientRequest => ({ op, req: { path: p } })),
  fc.tuple(fc.constantFrom(3, 4, 8, 12), pathWatch).map(([op, req]): ClientRequest => ({ op, req })),
  setData.map((req): ClientRequest => ({ op: 5, req })),
  rec({ path, acl: acls, version: int32 }).map((req): ClientRequest => ({ op: 7, req })),
  fc.array(writeOp, { maxLength: 4 }).map((req): ClientRequest => ({ op: 14, req })),
  fc.array(readOp, { maxLength: 4 }).map((req): ClientRequest => ({ op: 22, req })),
  rec({ relativeZxid: long, dataWatches: strs, existWatches: strs, childWatches: strs })
    .map((req): ClientRequest => ({ op: 101, req })),
  rec({
      relativeZxid: long,
      dataWatches: strs,
      existWatches: strs,
      childWatches: strs,
      persistentWatches: strs,
      persistentRecursiveWatches: strs,
    })
    .map((req): ClientRequest => ({ op: 105, req })),
  rec({ path, mode: int32 }).map((req): ClientRequest => ({ op: 106, req })),
  fc
    .tuple(fc.constantFrom(17, 18), rec({ path, type: int32 }))
    .map(([op, req]): ClientRequest => ({ op, req })),
  rec({ type: int32, scheme: str, auth: bytes }).map((req): ClientRequest => ({ op: 100, req })),
  fc.constantFrom(11, -11, 107).map((op): ClientRequest => ({ op, req: null })),
);

const writeResult: fc.Arbitrary<MultiResult> = fc.oneof(
  path.map((p): MultiResult => ({ op: 1, path: p })),
  rec({ path, stat }).map((r): MultiResult => ({ op: 15, ...r })),
  fc.constantFrom(2, 13).map((op): MultiResult => ({ op })),
  stat.map((s): MultiResult => ({ op: 5, stat: s })),
  int32.map((err): MultiResult => ({ op: -1, err })),
);
const readResult: fc.Arbitrary<MultiResult> = fc.oneof(
  rec({ data, stat }).map((r): MultiResult => ({ op: 4, ...r })),
  strs.map((children): MultiResult => ({ op: 8, children })),
  int32.map((err): MultiResult => ({ op: -1, err })),
);

const response: fc.Arbitrary<ClientResponse> = fc.oneof(
  path.map((p): ClientResponse => ({ op: 1, res: { path: p } })),
  path.map((p): ClientResponse => ({ op: 9, res: { path: p } })),
  fc
    .tuple(fc.constantFrom(15, 19, 21), rec({ path, stat }))
    .map(([op, res]): ClientResponse => ({ op, res })),
  fc.tuple(fc.constantFrom(3, 5, 7), stat).map(([op, s]): ClientResponse => ({ op, res: { stat: s } })),
  rec({ data, stat }).map((res): ClientResponse => ({ op: 4, res })),
  rec({ acl: acls, stat }).map((res): ClientResponse => ({ op: 6, res })),
  strs.map((children): ClientResponse => ({ op: 8, res: { children } })),
  rec({ children: strs, stat }).map((res): ClientResponse => ({ op: 12, res })),
  int32.map((totalNumber): ClientResponse => ({ op: 104, res: { totalNumber } })),
  strs.map((ephemerals): ClientResponse => ({ op: 103, res: { ephemerals } })),
  fc
    .array(rec({ authScheme: str, user: str }), { maxLength: 3 })
    .map((clientInfo): ClientResponse => ({ op: 107, res: { clientInfo } })),
  fc.array(writeResult, { maxLength: 4 }).map((res): ClientResponse => ({ op: 14, res })),
  fc.array(readResult, { maxLength: 4 }).map((res): ClientResponse => ({ op: 22, res })),
  fc
    .constantFrom(2, 13, 20, 101, 105, 106, 17, 18, 100, 11, -11)
    .map((op): ClientResponse => ({ op, res: null })),
);

const simpleTxn: fc.Arbitrary<Txn> = fc.oneof(
  rec({ path, data, acl: acls, ephemeral: fc.boolean(), parentCVersion: int32 })
    .map((t): Txn => ({ type: 1, ...t })),
  rec({ path, data, acl: acls, parentCVersion: int32 }).map((t): Txn => ({ type: 19, ...t })),
  rec({ path, data, acl: acls, parentCVersion: int32, ttl: long })
    .map((t): Txn => ({ type: 21, ...t })),
  fc.tuple(fc.constantFrom(2, 20), path).map(([type, p]): Txn => ({ type, path: p })),
  rec({ path, data, version: int32 }).map((t): Txn => ({ type: 5, ...t })),
  rec({ path, version: int32 }).map((t): Txn => ({ type: 13, ...t })),
  rec({ path, acl: acls, version: int32 }).map((t): Txn => ({ type: 7, ...t })),
  int32.map((timeOut): Txn => ({ type: -10, timeOut })),
  strs.map((paths2Delete): Txn => ({ type: -11, paths2Delete })),
  int32.map((err): Txn => ({ type: -1, err })),
);
const txn: fc.Arbitrary<Txn> = fc.oneof(
  simpleTxn,
  fc.array(simpleTxn, { maxLength: 4 }).map((txns): Txn => ({ type: 14, txns })),
);

const connectRequest: fc.Arbitrary<ConnectRequest> = rec({
  protocolVersion: int32,
  lastZxidSeen: long,
  timeOut: int32,
  sessionId: long64,
  passwd: fc.uint8Array({ maxLength: 16 }),
  readOnly: fc.boolean(),
  localSession: fc.boolean(),
});

// ---- helpers ------------------------------------------------------------------------------

const writer = new JuteWriter();
function encode(fn: (w: JuteWriter) => void): Uint8Array {
  fn(writer.reset());
  return writer.bytesCopy();
}

/** Known opcodes and their neighbours, plus a few that are not requests at all. */
const OPS = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 100, 101, 103, 104, 105,
  106, 107, -11, 0, 10, 16, 102, -1, -10, 99,
];
const TXN_TYPES = [1, 2, 5, 7, 13, 14, 15, 19, 20, 21, -1, -10, -11, 0, 99];

/** Runs a decoder on hostile bytes: it may succeed or throw JuteError, nothing else. The reader
 *  is shared, as on the server; a small bufferBytesMax makes the length checks reachable. */
const reader = new JuteReader(new Uint8Array(0), { bufferBytesMax: 4096 });
function survives(input: Uint8Array, decode: (r: JuteReader) => unknown): void {
  try {
    decode(reader.reset(input));
  } catch (e) {
    if (!(e instanceof JuteError)) throw e;
    assert.match(e.code, /^ZKTS_ERR_JUTE_/);
  }
  assert.ok(reader.offset <= input.length);
}

/** Overwrites random positions of a valid encoding with random bytes. */
function corrupt(valid: Uint8Array, edits: [number, number][]): Uint8Array {
  const out = valid.slice();
  for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v;
  return out;
}
const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
/** Bytes that are mostly small numbers and 0xff runs: hits -1 lengths and tiny counts. */
const juteish = fc.array(
  fc.oneof(fc.constantFrom(0, 0, 0, 1, 2, 0xff), fc.integer({ min: 0, max: 255 })),
  { maxLength: 200 },
).map((a) => new Uint8Array(a));
const randomBytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), juteish);

const RUNS = { numRuns: 1500 };

// ---- hostile input ------------------------------------------------------------------------

describe('fuzz: hostile bytes only ever raise JuteError', { timeout: 20_000 }, () => {
  it('random bytes to decodeRequest for every opcode', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPS), randomBytes, (op, input) =>
        survives(input, (r) => decodeRequest(op, r)),
      ),
      { numRuns: 20_000 },
    );
  });

  it('truncated valid request frames', () => {
    fc.assert(
      fc.property(request, fc.nat(), (q, cut) => {
        const valid = encode((w) => encodeRequest(w, q));
        const n = valid.length === 0 ? 0 : cut % valid.length;
        try {
          decodeRequest(q.op, reader.reset(valid, 0, n));
          assert.equal(valid.length, 0, 'a strict prefix decoded');
        } catch (e) {
          assert.ok(e instanceof JuteError && e.code === 'ZKTS_ERR_JUTE_TRUNCATED', String(e));
        }
      }),
      RUNS,
    );
  });

  it('corrupted valid request frames, decoded under any opcode', () => {
    fc.assert(
      fc.property(request, edits, fc.constantFrom(...OPS), (q, e, op) => {
        const bad = corrupt(encode((w) => encodeRequest(w, q)), e);
        survives(bad, (r) => decodeRequest(q.op, r));
        survives(bad, (r) => decodeRequest(op, r));
      }),
      RUNS,
    );
  });

  it('random, truncated and corrupted ConnectRequests', () => {
    fc.assert(
      fc.property(randomBytes, (input) => survives(input, decodeConnectRequest)),
      RUNS,
    );
    fc.assert(
      fc.property(connectRequest, fc.nat(), edits, (c, cut, e) => {
        const valid = encode((w) => encodeConnectRequest(w, c));
        survives(valid.subarray(0, cut % (valid.length + 1)), decodeConnectRequest);
        survives(corrupt(valid, e), decodeConnectRequest);
        survives(valid, decodeConnectResponse);
      }),
      RUNS,
    );
  });

  it('random and corrupted responses and txns', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPS), randomBytes, (op, input) =>
        survives(input, (r) => decodeResponse(op, r)),
      ),
      RUNS,
    );
    fc.assert(
      fc.property(fc.constantFrom(...TXN_TYPES), randomBytes, (type, input) =>
        survives(input, (r) => decodeTxn(type, r)),
      ),
      RUNS,
    );
    fc.assert(
      fc.property(response, txn, edits, (s, t, e) => {
        survives(corrupt(encode((w) => encodeResponse(w, s)), e), (r) => decodeResponse(s.op, r));
        survives(corrupt(encode((w) => encodeTxn(w, t)), e), (r) => decodeTxn(t.type, r));
      }),
      RUNS,
    );
  });

  it('a huge multi of empty-ish ops terminates (bounded by input length)', () => {
    // 100k repetitions of a sub-op header for `check` with a null path: every iteration consumes
    // bytes, so decoding ends with TRUNCATED rather than spinning.
    const unit = Buffer.from('0000000d' + '00' + 'ffffffff' + 'ffffffff' + '00000000', 'hex');
    const big = new Uint8Array(Buffer.concat(Array.from({ length: 100_000 }, () => unit)));
    const r = new JuteReader(big);
    assert.throws(() => decodeRequest(14, r), (e: unknown) => e instanceof JuteError);
    assert.equal(r.remaining, 0);
  });
});

// ---- round trips --------------------------------------------------------------------------

describe('fuzz: generated records round-trip', () => {
  const rt = new JuteReader();

  it('requests', () => {
    fc.assert(
      fc.property(request, (q) => {
        assert.deepEqual(decodeRequest(q.op, rt.reset(encode((w) => encodeRequest(w, q)))), q);
        assert.equal(rt.remaining, 0);
      }),
      RUNS,
    );
  });

  it('responses', () => {
    fc.assert(
      fc.property(response, (s) => {
        assert.deepEqual(decodeResponse(s.op, rt.reset(encode((w) => encodeResponse(w, s)))), s);
        assert.equal(rt.remaining, 0);
      }),
      RUNS,
    );
  });

  it('txns', () => {
    fc.assert(
      fc.property(txn, (t) => {
        assert.deepEqual(decodeTxn(t.type, rt.reset(encode((w) => encodeTxn(w, t)))), t);
        assert.equal(rt.remaining, 0);
      }),
      RUNS,
    );
  });

  it('ConnectRequests', () => {
    fc.assert(
      fc.property(connectRequest, (c) => {
        assert.deepEqual(decodeConnectRequest(rt.reset(encode((w) => encodeConnectRequest(w, c)))), c);
      }),
      RUNS,
    );
  });
});
