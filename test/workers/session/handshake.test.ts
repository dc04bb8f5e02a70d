// Handshake helpers (src/workers/session/handshake.ts): connect plans, session ids, passwords,
// ConnectResponse frames.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  JuteError,
  JuteReader,
  JuteWriter,
  decodeConnectRequest,
  decodeConnectResponse,
  encodeConnectRequest,
} from '../../../src/protocol/jute/index.js';
import {
  SessionIdGenerator,
  connectResponseFrame,
  connectResponseFrameBytes,
  negotiateTimeout,
  passwordMatches,
  planConnect,
  sessionPassword,
  writeConnectResponseFrame,
  type ConnectContext,
} from '../../../src/workers/session/handshake.js';

describe('handshake helpers', () => {
  const ctx: ConnectContext = {
    remote: '127.0.0.1:1',
    serving: true,
    lastZxid: 10,
    minSessionTimeoutMs: 4000,
    maxSessionTimeoutMs: 40000,
    localSessionsEnabled: false,
    sessionSecret: 's',
    knownLocal: () => false,
  };
  const req = {
    protocolVersion: 0,
    lastZxidSeen: 0,
    timeOut: 1,
    sessionId: 0n,
    passwd: new Uint8Array(16),
    readOnly: false,
    localSession: false,
  };

  it('plans what to do with a ConnectRequest', () => {
    assert.deepEqual(planConnect(req, 0, 0, ctx), { kind: 'create', local: false, timeoutMs: 4000 });
    assert.deepEqual(planConnect({ ...req, localSession: true }, 0, 0, ctx), { kind: 'create', local: true, timeoutMs: 4000 });
    assert.equal(planConnect({ ...req, lastZxidSeen: 11 }, 0, 0, ctx).kind, 'refuse');
    assert.equal(planConnect(req, 0, 0, { ...ctx, serving: false }).kind, 'refuse');
    const pw = sessionPassword('s', 5, 6);
    const again = { ...req, sessionId: (5n << 32n) | 6n, passwd: pw };
    assert.equal(planConnect(again, 5, 6, ctx).kind, 'reconnect');
    assert.equal(planConnect(again, 5, 6, { ...ctx, knownLocal: () => true }).kind, 'reattachLocal');
    assert.equal(planConnect({ ...req, sessionId: 5n << 32n | 6n }, 5, 6, ctx).kind, 'badPassword');
    assert.equal(negotiateTimeout(5000, 4000, 40000), 5000);
    assert.ok(passwordMatches('s', 5, 6, pw));
    assert.ok(!passwordMatches('t', 5, 6, pw));
  });

  it('makes ids with the server and worker in the top bytes, never repeating', () => {
    const g = new SessionIdGenerator(0xab, 3, { nowMs: 1_700_000_000_000 });
    const out = { hi: 0, lo: 0 };
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      g.next(out);
      assert.equal(out.hi >>> 24, 0xab);
      assert.equal((out.hi >>> 16) & 0xff, 3);
      seen.add(`${out.hi}:${out.lo}`);
    }
    assert.equal(seen.size, 1000);
    assert.throws(() => new SessionIdGenerator(256, 0));
  });

  it('makes ids that ids seen before do not give away (a keyed permutation of the counter)', () => {
    const low48 = (o: { hi: number; lo: number }): number => (o.hi & 0xffff) * 2 ** 32 + o.lo;
    const a = new SessionIdGenerator(1, 0, { nowMs: 1_700_000_000_000 });
    const b = new SessionIdGenerator(1, 0, { nowMs: 1_700_000_000_000 });
    const x = { hi: 0, lo: 0 };
    const y = { hi: 0, lo: 0 };
    let same = 0;
    let steps1 = 0;
    let prev = -1;
    for (let i = 0; i < 200; i++) {
      a.next(x);
      b.next(y);
      if (low48(x) === low48(y)) same++; // same clock, other key: other ids
      if (prev >= 0 && Math.abs(low48(x) - prev) === 1) steps1++; // not a counter
      prev = low48(x);
    }
    assert.equal(same, 0);
    assert.equal(steps1, 0);
    // The same key and clock give the same ids (a permutation, so no repeats within a key).
    const k = Buffer.alloc(16, 7);
    const c = new SessionIdGenerator(2, 1, { nowMs: 5, key: k });
    const d = new SessionIdGenerator(2, 1, { nowMs: 5, key: k });
    c.next(x);
    d.next(y);
    assert.deepEqual(x, y);
  });

  it('encodes ConnectResponse frames, the old-client form without readOnly', () => {
    const w = new JuteWriter();
    const r0 = { valid: true, timeoutMs: 5000, sessionId: 42n, passwd: Buffer.alloc(16, 9), oldClient: false };
    const full = connectResponseFrame(w, r0);
    const old = connectResponseFrame(w, { ...r0, oldClient: true });
    assert.equal(full.readInt32BE(0), full.length - 4);
    assert.equal(old.length, full.length - 1);
    assert.equal(old.readInt32BE(0), old.length - 4);
    const r = decodeConnectResponse(new JuteReader(full.subarray(4)));
    assert.deepEqual([r.timeOut, r.sessionId], [5000, 42n]);
    const invalid = connectResponseFrame(w, { ...r0, valid: false });
    const bad = decodeConnectResponse(new JuteReader(invalid.subarray(4)));
    assert.deepEqual([bad.timeOut, bad.sessionId, Buffer.from(bad.passwd)], [0, 0n, Buffer.alloc(16)]);
  });

  it('writes the same ConnectResponse frame bytes straight into a buffer (the hot path)', () => {
    const w = new JuteWriter();
    for (const oldClient of [false, true]) {
      for (const [hi, lo] of [[0x01020304, 0x05060708], [0xff000000, 0xffffffff], [0, 1]] as const) {
        const passwd = sessionPassword('test-secret', hi, lo);
        const sessionId = (BigInt(hi) << 32n) | BigInt(lo);
        const want = connectResponseFrame(w, { valid: true, timeoutMs: 30_000, sessionId, passwd, oldClient });
        const buf = Buffer.alloc(100, 0xaa);
        writeConnectResponseFrame(buf, 7, { timeoutMs: 30_000, hi, lo, secret: 'test-secret', oldClient });
        assert.equal(connectResponseFrameBytes(oldClient), want.length);
        assert.deepEqual(buf.subarray(7, 7 + want.length), want);
        assert.equal(buf[7 + want.length], 0xaa, 'nothing written past the frame');
      }
    }
  });

  it('a bufferViews reader decodes ConnectRequests as a copying one does, the password as a view (the hot path)', () => {
    const w = new JuteWriter();
    const base = { protocolVersion: 0, lastZxidSeen: 0x1_0000_0005, timeOut: 30_000, readOnly: true, localSession: true };
    const frames: Buffer[] = [];
    for (const sessionId of [0n, 0x0102030405060708n, -2n]) {
      for (const passwd of [new Uint8Array(16).fill(7), new Uint8Array(0)]) {
        w.reset();
        encodeConnectRequest(w, { ...base, sessionId, passwd });
        const full = w.bytesCopy();
        frames.push(full, full.subarray(0, full.length - 1), full.subarray(0, full.length - 2));
      }
    }
    // A null password (length -1), and truncated ones.
    const nul = Buffer.from(frames[0]!);
    nul.writeInt32BE(-1, 24);
    frames.push(nul.subarray(0, 28), frames[0]!.subarray(0, 20), frames[0]!.subarray(0, 30));
    const r = new JuteReader(undefined, { bufferViews: true });
    for (const f of frames) {
      let want: unknown;
      let got: unknown;
      try {
        const d = decodeConnectRequest(new JuteReader(f));
        want = { ...d, passwd: Buffer.from(d.passwd) };
      } catch (e) {
        want = e instanceof JuteError ? e.code : e;
      }
      try {
        const d = decodeConnectRequest(r.reset(f, 0, f.length));
        assert.equal(d.passwd.length === 0 || d.passwd.buffer === f.buffer, true, 'a view, not a copy');
        got = { ...d, passwd: Buffer.from(d.passwd) };
      } catch (e) {
        got = e instanceof JuteError ? e.code : e;
      }
      assert.deepEqual(got, want);
    }
  });
});
