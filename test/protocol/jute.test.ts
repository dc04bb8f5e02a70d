// Unit tests of the jute codec: reader/writer primitives, round trips of every record and every
// request / response / txn type, golden bytes built by hand from zookeeper.jute, truncation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  JuteError,
  JuteReader,
  JuteWriter,
  STAT_BYTES,
  decodeACL,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeId,
  decodeMultiHeader,
  decodeReplyHeader,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeStat,
  decodeTxn,
  decodeTxnHeader,
  decodeWatcherEvent,
  encodeACL,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeId,
  encodeMultiHeader,
  encodeReplyHeader,
  encodeRequest,
  encodeRequestHeader,
  encodeResponse,
  encodeStat,
  encodeTxn,
  encodeTxnHeader,
  encodeWatcherEvent,
  type JuteErrorCode,
} from '../../src/protocol/jute/index.js';
import type {
  ACL,
  ClientRequest,
  ClientResponse,
  ConnectRequest,
  Stat,
  Txn,
} from '../../src/protocol/types.js';

// ---- helpers ------------------------------------------------------------------------------

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function str(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return b.length.toString(16).padStart(8, '0') + b.toString('hex');
}
function encode(fn: (w: JuteWriter) => void): Uint8Array {
  const w = new JuteWriter(16);
  fn(w);
  return new Uint8Array(w.bytesCopy());
}
function decode<T>(bytes: Uint8Array, fn: (r: JuteReader) => T, fully = true): T {
  const r = new JuteReader(bytes);
  const v = fn(r);
  if (fully) assert.equal(r.remaining, 0, 'decoder left bytes unread');
  return v;
}
function throwsJute(fn: () => unknown, code: JuteErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof JuteError && e.code === code);
}
/** Every strict prefix of `bytes` must fail to decode with TRUNCATED. */
function assertTruncations(bytes: Uint8Array, fn: (r: JuteReader) => unknown): void {
  const r = new JuteReader();
  for (let n = 0; n < bytes.length; n++) {
    throwsJute(() => fn(r.reset(bytes, 0, n)), 'ZKTS_ERR_JUTE_TRUNCATED');
  }
}

// ---- fixtures -----------------------------------------------------------------------------

const stat: Stat = {
  czxid: 0x100000001,
  mzxid: 0x100000005,
  ctime: 1_700_000_000_123,
  mtime: 1_700_000_000_456,
  version: 3,
  cversion: -1,
  aversion: 0,
  ephemeralOwner: 0x0100017f3a2b0001n,
  dataLength: 100,
  numChildren: 2,
  pzxid: 0x100000004,
};
const containerStat: Stat = { ...stat, ephemeralOwner: -(2n ** 63n) };
const worldAcl: ACL = { perms: 31, id: { scheme: 'world', id: 'anyone' } };
const acls: ACL[] = [worldAcl, { perms: 1, id: { scheme: 'digest', id: 'bob:x/ÿ=' } }];
const data = new Uint8Array([0, 1, 2, 250, 255]);

const requests: ClientRequest[] = [
  { op: 1, req: { path: '/a', data, acl: acls, flags: 0 } },
  { op: 15, req: { path: '/b/ü', data: null, acl: [], flags: 3 } },
  { op: 19, req: { path: '/c', data: new Uint8Array(0), acl: [worldAcl], flags: 4 } },
  { op: 21, req: { path: '/t', data, acl: [worldAcl], flags: 5, ttl: 86_400_000 } },
  { op: 2, req: { path: '/a', version: -1 } },
  { op: 13, req: { path: '/a', version: 7 } },
  { op: 20, req: { path: '/c' } },
  { op: 6, req: { path: '/a' } },
  { op: 9, req: { path: '/' } },
  { op: 104, req: { path: '/x' } },
  { op: 103, req: { path: '/prefix' } },
  { op: 3, req: { path: '/a', watch: true } },
  { op: 4, req: { path: '/a/long/enough/path/to/take/the/native/branch', watch: false } },
  { op: 8, req: { path: '/a', watch: true } },
  { op: 12, req: { path: '/a', watch: false } },
  { op: 5, req: { path: '/a', data, version: 2 } },
  { op: 7, req: { path: '/a', acl: acls, version: 1 } },
  {
    op: 14,
    req: [
      { op: 1, req: { path: '/m1', data, acl: [worldAcl], flags: 0 } },
      { op: 15, req: { path: '/m2', data: null, acl: [worldAcl], flags: 2 } },
      { op: 19, req: { path: '/m3', data: null, acl: [worldAcl], flags: 4 } },
      { op: 21, req: { path: '/m4', data: null, acl: [worldAcl], flags: 5, ttl: 1000 } },
      { op: 2, req: { path: '/m5', version: 0 } },
      { op: 5, req: { path: '/m6', data, version: -1 } },
      { op: 13, req: { path: '/m7', version: 3 } },
    ],
  },
  { op: 14, req: [] },
  {
    op: 22,
    req: [
      { op: 4, req: { path: '/r1', watch: false } },
      { op: 8, req: { path: '/r2', watch: false } },
    ],
  },
  {
    op: 101,
    req: { relativeZxid: 0x300000010, dataWatches: ['/a', '/b'], existWatches: [], childWatches: ['/'] },
  },
  {
    op: 105,
    req: {
      relativeZxid: 5,
      dataWatches: ['/d'],
      existWatches: ['/e'],
      childWatches: [],
      persistentWatches: ['/p'],
      persistentRecursiveWatches: ['/pr', '/pr2'],
    },
  },
  { op: 106, req: { path: '/w', mode: 1 } },
  { op: 17, req: { path: '/w', type: 3 } },
  { op: 18, req: { path: '/w', type: 1 } },
  { op: 100, req: { type: 0, scheme: 'digest', auth: new Uint8Array(Buffer.from('bob:secret')) } },
  { op: 11, req: null },
  { op: -11, req: null },
  { op: 107, req: null },
];

const responses: ClientResponse[] = [
  { op: 1, res: { path: '/a' } },
  { op: 15, res: { path: '/a0000000001', stat } },
  { op: 19, res: { path: '/c', stat: containerStat } },
  { op: 21, res: { path: '/t', stat } },
  { op: 3, res: { stat } },
  { op: 4, res: { data: new Uint8Array(100).fill(7), stat } },
  { op: 4, res: { data: null, stat } },
  { op: 5, res: { stat } },
  { op: 6, res: { acl: acls, stat } },
  { op: 7, res: { stat } },
  { op: 8, res: { children: ['x', 'y', 'zzzzzzzzzzzzzzzzzzzzzzzzz', 'ünï'] } },
  { op: 12, res: { children: [], stat } },
  { op: 9, res: { path: '/' } },
  { op: 104, res: { totalNumber: 12345 } },
  { op: 103, res: { ephemerals: ['/e1', '/e2'] } },
  { op: 107, res: { clientInfo: [{ authScheme: 'ip', user: '127.0.0.1' }] } },
  {
    op: 14,
    res: [
      { op: 1, path: '/m1' },
      { op: 15, path: '/m2', stat },
      { op: 2 },
      { op: 5, stat },
      { op: 13 },
    ],
  },
  {
    op: 14,
    res: [
      { op: -1, err: 0 },
      { op: -1, err: -101 },
      { op: -1, err: -2 },
    ],
  },
  {
    op: 22,
    res: [
      { op: 4, data, stat },
      { op: 8, children: ['a', 'b'] },
      { op: -1, err: -101 },
    ],
  },
  ...([2, 13, 20, 101, 105, 106, 17, 18, 100, 11, -11] as const).map(
    (op): ClientResponse => ({ op, res: null }),
  ),
];

const txns: Txn[] = [
  { type: 1, path: '/a', data, acl: acls, ephemeral: true, parentCVersion: 4 },
  { type: 19, path: '/c', data: null, acl: [worldAcl], parentCVersion: 0 },
  { type: 21, path: '/t', data, acl: [worldAcl], parentCVersion: 2, ttl: 60_000 },
  { type: 2, path: '/a' },
  { type: 20, path: '/c' },
  { type: 5, path: '/a', data, version: 8 },
  { type: 13, path: '/a', version: 8 },
  { type: 7, path: '/a', acl: acls, version: 2 },
  { type: -10, timeOut: 30_000 },
  { type: -11, paths2Delete: ['/e1', '/e2'] },
  { type: -1, err: -110 },
  {
    type: 14,
    txns: [
      { type: 1, path: '/m1', data, acl: [worldAcl], ephemeral: false, parentCVersion: 1 },
      { type: 5, path: '/m1', data: null, version: 0 },
      { type: 2, path: '/m0' },
      { type: -1, err: -101 },
    ],
  },
];

// ---- reader / writer primitives -----------------------------------------------------------

describe('JuteWriter / JuteReader primitives', () => {
  it('round-trips ints, longs, bools across growth', () => {
    const w = new JuteWriter(16);
    const longs = [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (let i = 0; i < 100; i++) {
      w.writeInt(i * 40_000_000 - 2_000_000_000);
      w.writeBool(i % 3 === 0);
      w.writeLong(longs[i % longs.length] ?? 0);
    }
    const r = new JuteReader(w.bytes());
    for (let i = 0; i < 100; i++) {
      assert.equal(r.readInt(), i * 40_000_000 - 2_000_000_000);
      assert.equal(r.readBool(), i % 3 === 0);
      assert.equal(r.readLong(), longs[i % longs.length]);
    }
    assert.equal(r.remaining, 0);
  });

  it('writes big-endian longs and bigint longs', () => {
    const w = new JuteWriter();
    w.writeLong(-2);
    w.writeLong(0x123456789a);
    w.writeLongBig(-(2n ** 63n));
    w.writeLongBig(0xffffffffffffffffn); // unsigned spelling of -1
    w.writeLongBig(0n);
    assert.equal(
      toHex(w.bytes()),
      'fffffffffffffffe' + '000000123456789a' + '8000000000000000' + 'ffffffffffffffff' +
        '0000000000000000',
    );
    const r = new JuteReader(w.bytes());
    assert.equal(r.readLong(), -2);
    assert.equal(r.readLong(), 0x123456789a);
    assert.equal(r.readLongBig(), -(2n ** 63n));
    assert.equal(r.readLongBig(), -1n);
    assert.equal(r.readLongBig(), 0n);
  });

  it('rejects longs beyond 2^53 as numbers', () => {
    throwsJute(() => new JuteWriter().writeLong(2 ** 53), 'ZKTS_ERR_JUTE_BAD_VALUE');
    throwsJute(() => new JuteWriter().writeLong(1.5), 'ZKTS_ERR_JUTE_BAD_VALUE');
    for (const h of ['0020000000000000', 'ffe0000000000000', '8000000000000000']) {
      throwsJute(() => new JuteReader(hex(h)).readLong(), 'ZKTS_ERR_JUTE_BAD_VALUE');
    }
    assert.equal(new JuteReader(hex('ffe0000000000001')).readLong(), Number.MIN_SAFE_INTEGER);
    assert.equal(new JuteReader(hex('001fffffffffffff')).readLong(), Number.MAX_SAFE_INTEGER);
  });

  it('round-trips strings: ASCII, multi-byte, long, empty, null', () => {
    const samples = ['', 'a', '/zk', 'é', '/ü/ß', '😀', '/x'.repeat(40), 'ü'.repeat(30), '/a/b/c/d/e/f/g/h'];
    const w = new JuteWriter(8);
    for (const s of samples) w.writeString(s);
    w.writeString(null);
    w.writeString(null);
    const r = new JuteReader(w.bytes());
    for (const s of samples) assert.equal(r.readString(), s);
    assert.equal(r.readStringOrNull(), null);
    assert.equal(r.readString(), '', 'null reads as empty via readString');
    assert.equal(r.remaining, 0);
  });

  it('encodes UTF-8 exactly, lone surrogates as U+FFFD', () => {
    assert.equal(toHex(encode((w) => w.writeString('é😀'))), '00000006' + 'c3a9' + 'f09f9880');
    assert.equal(toHex(encode((w) => w.writeString('a\ud800'))), '00000004' + '61' + 'efbfbd');
    assert.equal(toHex(encode((w) => w.writeString(null))), 'ffffffff');
    assert.equal(new JuteReader(hex('00000002 c328')).readString(), '\ufffd(');
  });

  it('round-trips buffers as views and as copies', () => {
    const bytes = encode((w) => {
      w.writeBuffer(data);
      w.writeBuffer(null);
      w.writeBuffer(new Uint8Array(0));
    });
    const r = new JuteReader(bytes);
    const view = r.readBuffer();
    assert.deepEqual(view, data);
    assert.equal(view?.buffer, bytes.buffer, 'readBuffer returns a view');
    assert.equal(r.readBuffer(), null);
    assert.deepEqual(r.readBuffer(), new Uint8Array(0));
    r.reset(bytes);
    const copy = r.readBufferCopy();
    assert.deepEqual(copy, data);
    assert.notEqual(copy?.buffer, bytes.buffer, 'readBufferCopy copies');
    assert.equal(r.readBufferCopy(), null);
  });

  it('readData copies unless bufferViews is set', () => {
    const bytes = encode((w) => w.writeBuffer(data));
    assert.notEqual(new JuteReader(bytes).readData()?.buffer, bytes.buffer);
    assert.equal(new JuteReader(bytes, { bufferViews: true }).readData()?.buffer, bytes.buffer);
  });

  it('rejects bad lengths and lengths over bufferBytesMax', () => {
    throwsJute(() => new JuteReader(hex('fffffffe')).readBuffer(), 'ZKTS_ERR_JUTE_BAD_LENGTH');
    throwsJute(() => new JuteReader(hex('80000000')).readString(), 'ZKTS_ERR_JUTE_BAD_LENGTH');
    throwsJute(() => new JuteReader(hex('fffffffe')).readStringVector(), 'ZKTS_ERR_JUTE_BAD_LENGTH');
    const small = new JuteReader(encode((w) => w.writeBuffer(new Uint8Array(9))), { bufferBytesMax: 8 });
    throwsJute(() => small.readBuffer(), 'ZKTS_ERR_JUTE_BAD_LENGTH');
    throwsJute(() => new JuteReader(hex('00100400')).readBuffer(), 'ZKTS_ERR_JUTE_BAD_LENGTH');
    throwsJute(() => new JuteReader(hex('000ffff0')).readBuffer(), 'ZKTS_ERR_JUTE_TRUNCATED');
  });

  it('rejects vector counts the remaining bytes cannot hold', () => {
    throwsJute(() => new JuteReader(hex('7fffffff')).readStringVector(), 'ZKTS_ERR_JUTE_TRUNCATED');
    throwsJute(() => new JuteReader(hex('00000002 00000000')).readStringVector(), 'ZKTS_ERR_JUTE_TRUNCATED');
    assert.deepEqual(new JuteReader(hex('ffffffff')).readStringVector(), []);
    assert.equal(new JuteReader(hex('ffffffff')).readVectorOrNull(decodeACL, 12), null);
  });

  it('throws TRUNCATED on every primitive past the end', () => {
    const r = new JuteReader(hex('000000'));
    throwsJute(() => r.readInt(), 'ZKTS_ERR_JUTE_TRUNCATED');
    throwsJute(() => r.readLong(), 'ZKTS_ERR_JUTE_TRUNCATED');
    throwsJute(() => r.readLongBig(), 'ZKTS_ERR_JUTE_TRUNCATED');
    throwsJute(() => r.skip(4), 'ZKTS_ERR_JUTE_TRUNCATED');
    r.skip(3);
    throwsJute(() => r.readBool(), 'ZKTS_ERR_JUTE_TRUNCATED');
  });

  it('reset() reads sub-ranges, other buffers and SharedArrayBuffer views', () => {
    const bytes = encode((w) => {
      w.writeInt(1);
      w.writeInt(2);
      w.writeString('/three');
    });
    const r = new JuteReader();
    r.reset(bytes, 4, 8);
    assert.equal(r.offset, 4);
    assert.equal(r.readInt(), 2);
    assert.equal(r.remaining, 0);
    throwsJute(() => r.readInt(), 'ZKTS_ERR_JUTE_TRUNCATED');

    const sab = new SharedArrayBuffer(64);
    const shared = new Uint8Array(sab, 16, bytes.length);
    shared.set(bytes);
    r.reset(shared, 8);
    assert.equal(r.readString(), '/three');
    r.reset(shared.subarray(4), 0, 4);
    assert.equal(r.readInt(), 2);
    assert.equal(r.offset, 4);
    assert.throws(() => r.reset(bytes, 2, 1), RangeError);
  });

  it('pushLimit / popLimit bound a nested record', () => {
    const r = new JuteReader(hex('00000001 00000002 00000003'));
    const saved = r.pushLimit(8);
    assert.equal(r.readInt(), 1);
    throwsJute(() => r.readLong(), 'ZKTS_ERR_JUTE_TRUNCATED');
    r.popLimit(saved);
    assert.equal(r.readInt(), 3);
  });

  it('frames: beginFrame/endFrame write big-endian length prefixes, nested too', () => {
    const w = new JuteWriter(4);
    w.beginFrame();
    w.writeInt(7);
    w.beginFrame();
    w.writeBool(true);
    w.endFrame();
    w.endFrame();
    w.beginFrame();
    w.endFrame();
    assert.equal(toHex(w.bytes()), '00000009' + '00000007' + '00000001' + '01' + '00000000');
    throwsJute(() => w.endFrame(), 'ZKTS_ERR_JUTE_BAD_VALUE');
    w.reset();
    assert.equal(w.length, 0);
    w.writeInt(5);
    assert.equal(toHex(w.bytes()), '00000005');
  });

  it('vectors: null is -1, items written in order', () => {
    assert.equal(toHex(encode((w) => w.writeStringVector(null))), 'ffffffff');
    assert.equal(
      toHex(encode((w) => w.writeStringVector(['a', 'bc']))),
      '00000002' + str('a') + str('bc'),
    );
  });
});

// ---- records: round trips -----------------------------------------------------------------

describe('ACL vectors of a reader with aclEntriesKept', () => {
  const acls: ACL[] = Array.from({ length: 50 }, (_, i) => ({ perms: 31, id: { scheme: 'ip', id: `10.0.0.${i}` } }));
  const body = (() => {
    const w = new JuteWriter();
    encodeRequest(w, { op: 1, req: { path: '/a', data: null, acl: acls, flags: 0 } });
    return w.bytes();
  })();
  it('reads kept + 1 entries and skips the rest, ending where the vector ends', () => {
    const q = decodeRequest(1, new JuteReader(body, { aclEntriesKept: 10 }));
    assert.equal(q.op, 1);
    if (q.op !== 1) return;
    assert.deepEqual(q.req.acl, acls.slice(0, 11));
    assert.equal(q.req.flags, 0, 'the field after the vector is read in place');
  });
  it('reads every entry when the vector is within the bound, or without one', () => {
    for (const kept of [50, Infinity]) {
      const q = decodeRequest(1, new JuteReader(body, { aclEntriesKept: kept }));
      assert.ok(q.op === 1 && q.req.acl.length === 50);
    }
  });
  it('still checks the lengths of what it skips', () => {
    const cut = body.subarray(0, body.length - 10);
    assert.throws(() => decodeRequest(1, new JuteReader(cut, { aclEntriesKept: 5 })), JuteError);
  });
});

describe('records round-trip', () => {
  it('Id, ACL, Stat', () => {
    const id = { scheme: 'sasl', id: 'zk/host@REALM' };
    assert.deepEqual(decode(encode((w) => encodeId(w, id)), decodeId), id);
    for (const acl of acls) assert.deepEqual(decode(encode((w) => encodeACL(w, acl)), decodeACL), acl);
    for (const s of [stat, containerStat]) {
      const bytes = encode((w) => encodeStat(w, s));
      assert.equal(bytes.length, STAT_BYTES);
      assert.deepEqual(decode(bytes, decodeStat), s);
    }
  });

  it('ConnectRequest and ConnectResponse', () => {
    const base: ConnectRequest = {
      protocolVersion: 0,
      lastZxidSeen: 0x500000003,
      timeOut: 10_000,
      sessionId: 0x0200018a0b0c0d0en,
      passwd: new Uint8Array(16).fill(9),
      readOnly: true,
      localSession: false,
    };
    for (const c of [base, { ...base, readOnly: false, localSession: true }]) {
      assert.deepEqual(decode(encode((w) => encodeConnectRequest(w, c)), decodeConnectRequest), c);
    }
    const res = {
      protocolVersion: 0,
      timeOut: 4000,
      sessionId: -0x7eadbeef00000001n,
      passwd: new Uint8Array(16).fill(3),
      readOnly: false,
    };
    assert.deepEqual(decode(encode((w) => encodeConnectResponse(w, res)), decodeConnectResponse), res);
  });

  it('RequestHeader, ReplyHeader, MultiHeader, WatcherEvent', () => {
    const rq = { xid: -8, type: 101 };
    assert.deepEqual(decode(encode((w) => encodeRequestHeader(w, rq)), decodeRequestHeader), rq);
    const rp = { xid: 17, zxid: 0x700000001, err: -101 };
    assert.deepEqual(decode(encode((w) => encodeReplyHeader(w, rp)), decodeReplyHeader), rp);
    const mh = { type: -1, done: true, err: -1 };
    assert.deepEqual(decode(encode((w) => encodeMultiHeader(w, mh)), decodeMultiHeader), mh);
    const ev = { type: 3, state: 3, path: '/watched' };
    assert.deepEqual(decode(encode((w) => encodeWatcherEvent(w, ev)), decodeWatcherEvent), ev);
  });

  for (const q of requests) {
    it(`request op ${q.op}${Array.isArray(q.req) ? ` (${q.req.length} ops)` : ''}`, () => {
      const bytes = encode((w) => encodeRequest(w, q));
      assert.deepEqual(decode(bytes, (r) => decodeRequest(q.op, r)), q);
    });
  }

  for (const s of responses) {
    it(`response op ${s.op}`, () => {
      const bytes = encode((w) => encodeResponse(w, s));
      assert.deepEqual(decode(bytes, (r) => decodeResponse(s.op, r)), s);
    });
  }

  it('TxnHeader', () => {
    const h = { clientId: 0x0100017f3a2b0001n, cxid: 42, zxid: 0x100000009, time: 1_700_000_000_000, type: 14 };
    assert.deepEqual(decode(encode((w) => encodeTxnHeader(w, h)), decodeTxnHeader), h);
  });

  for (const t of txns) {
    it(`txn type ${t.type}`, () => {
      const bytes = encode((w) => encodeTxn(w, t));
      assert.deepEqual(decode(bytes, (r) => decodeTxn(t.type, r)), t);
    });
  }
});

// ---- golden bytes -------------------------------------------------------------------------

describe('golden bytes (from zookeeper.jute)', () => {
  // protocolVersion 0, lastZxidSeen 0, timeOut 30000, sessionId 0, passwd 16 zero bytes,
  // readOnly false: what ClientCnxn sends for a new session, length prefix excluded.
  const javaConnect =
    '00000000' + '0000000000000000' + '00007530' + '0000000000000000' +
    '00000010' + '00'.repeat(16) + '00';

  it('ConnectRequest as the Java client sends it', () => {
    const c: ConnectRequest = {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: 30_000,
      sessionId: 0n,
      passwd: new Uint8Array(16),
      readOnly: false,
      localSession: false,
    };
    assert.equal(toHex(encode((w) => encodeConnectRequest(w, c))), javaConnect);
    assert.deepEqual(decode(hex(javaConnect), decodeConnectRequest), c);
    // The framed form: 4-byte big-endian length (45) first.
    const w = new JuteWriter();
    w.beginFrame();
    encodeConnectRequest(w, c);
    w.endFrame();
    assert.equal(toHex(w.bytes()), '0000002d' + javaConnect);
  });

  it('ConnectRequest without the trailing bools (pre-3.4 client) decodes', () => {
    const old = hex(javaConnect.slice(0, -2));
    const c = decode(old, decodeConnectRequest);
    assert.equal(c.timeOut, 30_000);
    assert.equal(c.readOnly, false);
    assert.equal(c.localSession, false);
    assert.deepEqual(c.passwd, new Uint8Array(16));
  });

  it('ConnectRequest with the zkts localSession bool', () => {
    const c = decode(hex(javaConnect + '01'), decodeConnectRequest);
    assert.equal(c.readOnly, false);
    assert.equal(c.localSession, true);
  });

  it('ConnectResponse with and without readOnly', () => {
    const bytes = '00000000' + '00007530' + '0100000000000001' + '00000010' + '11'.repeat(16);
    const r = decode(hex(bytes + '01'), decodeConnectResponse);
    assert.equal(r.sessionId, 0x0100000000000001n);
    assert.equal(r.readOnly, true);
    assert.equal(decode(hex(bytes), decodeConnectResponse).readOnly, false);
    assert.equal(toHex(encode((w) => encodeConnectResponse(w, r))), bytes + '01');
  });

  it('getData request after its RequestHeader', () => {
    const bytes = encode((w) => {
      encodeRequestHeader(w, { xid: 1, type: 4 });
      encodeRequest(w, { op: 4, req: { path: '/a', watch: true } });
    });
    assert.equal(toHex(bytes), '00000001' + '00000004' + '00000002' + '2f61' + '01');
  });

  it('ReplyHeader and a watch notification', () => {
    const bytes = encode((w) => {
      encodeReplyHeader(w, { xid: -1, zxid: -1, err: 0 });
      encodeWatcherEvent(w, { type: 3, state: 3, path: '/n' });
    });
    assert.equal(
      toHex(bytes),
      'ffffffff' + 'ffffffffffffffff' + '00000000' + '00000003' + '00000003' + str('/n'),
    );
  });

  it('ACL world:anyone and Stat', () => {
    assert.equal(
      toHex(encode((w) => encodeACL(w, worldAcl))),
      '0000001f' + str('world') + str('anyone'),
    );
    const s: Stat = { ...stat, ctime: 1, mtime: 2, ephemeralOwner: 0x0100000000000002n };
    assert.equal(
      toHex(encode((w) => encodeStat(w, s))),
      '0000000100000001' + '0000000100000005' + '0000000000000001' + '0000000000000002' +
        '00000003' + 'ffffffff' + '00000000' + '0100000000000002' + '00000064' + '00000002' +
        '0000000100000004',
    );
  });

  it('multi request: MultiHeader-framed ops ending with {-1, true, -1}', () => {
    const bytes = encode((w) =>
      encodeRequest(w, {
        op: 14,
        req: [
          { op: 13, req: { path: '/a', version: 1 } },
          { op: 2, req: { path: '/b', version: -1 } },
        ],
      }),
    );
    assert.equal(
      toHex(bytes),
      '0000000d' + '00' + 'ffffffff' + str('/a') + '00000001' +
        '00000002' + '00' + 'ffffffff' + str('/b') + 'ffffffff' +
        'ffffffff' + '01' + 'ffffffff',
    );
  });

  it('multi response with error results: err in header and ErrorResponse', () => {
    const bytes = encode((w) =>
      encodeResponse(w, { op: 14, res: [{ op: -1, err: 0 }, { op: -1, err: -101 }] }),
    );
    assert.equal(
      toHex(bytes),
      'ffffffff' + '00' + '00000000' + '00000000' +
        'ffffffff' + '00' + 'ffffff9b' + 'ffffff9b' +
        'ffffffff' + '01' + 'ffffffff',
    );
  });

  it('MultiTxn: vector of Txn{type, buffer}', () => {
    const bytes = encode((w) =>
      encodeTxn(w, { type: 14, txns: [{ type: 2, path: '/a' }, { type: -1, err: -101 }] }),
    );
    assert.equal(
      toHex(bytes),
      '00000002' + '00000002' + '00000006' + str('/a') + 'ffffffff' + '00000004' + 'ffffff9b',
    );
  });
});

// ---- compatibility details and errors -----------------------------------------------------

describe('records: compatibility and errors', () => {
  it('create2 txns (ZooKeeper logs them with a CreateTxn body) decode as type 1', () => {
    const t: Txn = { type: 1, path: '/a', data: null, acl: [], ephemeral: false, parentCVersion: 1 };
    assert.deepEqual(decode(encode((w) => encodeTxn(w, t)), (r) => decodeTxn(15, r)), t);
  });

  it('CreateTxnV0 (no parentCVersion) decodes with parentCVersion -1', () => {
    const bytes = hex(str('/a') + 'ffffffff' + '00000000' + '01');
    assert.deepEqual(decode(bytes, (r) => decodeTxn(1, r)), {
      type: 1, path: '/a', data: null, acl: [], ephemeral: true, parentCVersion: -1,
    });
  });

  it('CloseSessionTxn with an empty body decodes', () => {
    assert.deepEqual(decode(new Uint8Array(0), (r) => decodeTxn(-11, r)), { type: -11, paths2Delete: [] });
  });

  it('unknown opcodes throw UNKNOWN_OP', () => {
    for (const op of [0, 10, 16, 102, -10, 999]) {
      throwsJute(() => decodeRequest(op, new JuteReader(new Uint8Array(64))), 'ZKTS_ERR_JUTE_UNKNOWN_OP');
    }
    throwsJute(() => decodeResponse(16, new JuteReader()), 'ZKTS_ERR_JUTE_UNKNOWN_OP');
    throwsJute(() => decodeTxn(99, new JuteReader()), 'ZKTS_ERR_JUTE_UNKNOWN_OP');
    const nested = hex('00000001' + '0000000e' + '00000004' + '00000000');
    throwsJute(() => decodeTxn(14, new JuteReader(nested)), 'ZKTS_ERR_JUTE_UNKNOWN_OP');
    const badSubOp = hex('00000063' + '00' + 'ffffffff');
    throwsJute(() => decodeRequest(14, new JuteReader(badSubOp)), 'ZKTS_ERR_JUTE_UNKNOWN_OP');
  });

  it('multi rejects read ops, multiRead rejects write ops', () => {
    const read = encode((w) =>
      encodeRequest(w, { op: 22, req: [{ op: 4, req: { path: '/a', watch: false } }] }),
    );
    throwsJute(() => decodeRequest(14, new JuteReader(read)), 'ZKTS_ERR_JUTE_BAD_MULTI');
    const write = encode((w) => encodeRequest(w, { op: 14, req: [{ op: 2, req: { path: '/a', version: 0 } }] }));
    throwsJute(() => decodeRequest(22, new JuteReader(write)), 'ZKTS_ERR_JUTE_BAD_MULTI');
  });

  it('a null path reads as the empty string', () => {
    const q = decode(hex('ffffffff' + '01'), (r) => decodeRequest(4, r));
    assert.deepEqual(q, { op: 4, req: { path: '', watch: true } });
  });
});

// ---- truncation ---------------------------------------------------------------------------

describe('truncated input throws TRUNCATED', () => {
  it('every prefix of every request body', () => {
    for (const q of requests) {
      assertTruncations(encode((w) => encodeRequest(w, q)), (r) => decodeRequest(q.op, r));
    }
  });

  it('every prefix of every response body', () => {
    for (const s of responses) {
      assertTruncations(encode((w) => encodeResponse(w, s)), (r) => decodeResponse(s.op, r));
    }
  });

  it('every prefix of every txn with a fixed-shape body, and of headers and Stat', () => {
    for (const t of txns) {
      if (t.type === 1 || t.type === -11) continue; // V0 / empty bodies are valid shorter forms
      assertTruncations(encode((w) => encodeTxn(w, t)), (r) => decodeTxn(t.type, r));
    }
    assertTruncations(encode((w) => encodeStat(w, stat)), decodeStat);
    assertTruncations(encode((w) => encodeReplyHeader(w, { xid: 1, zxid: 2, err: 0 })), decodeReplyHeader);
    const h = { clientId: 1n, cxid: 2, zxid: 3, time: 4, type: 5 };
    assertTruncations(encode((w) => encodeTxnHeader(w, h)), decodeTxnHeader);
  });

  it('ConnectRequest cut before its passwd ends', () => {
    const c: ConnectRequest = {
      protocolVersion: 0, lastZxidSeen: 0, timeOut: 1, sessionId: 0n,
      passwd: new Uint8Array(16), readOnly: false, localSession: false,
    };
    const bytes = encode((w) => encodeConnectRequest(w, c));
    assertTruncations(bytes.subarray(0, bytes.length - 1), decodeConnectRequest);
  });
});
