// Seeded fuzz of the ring records (src/shm/records.ts) and of the channel's fragmentation
// (src/shm/channel.ts, issue 9 item 1): every record kind, in both directions, with random
// fields, strings past 64 KiB and bodies past half a ring, crosses rings of random small sizes
// cut into fragments at random piece sizes, interleaved with small records, through a full ring
// and its outbox, drained with random budgets; what comes out is what went in, in order.
// Mutated fragment streams (pieces dropped, repeated, swapped, cut, headers corrupted, records
// slipped in between) only ever end in a FragmentError, never another exception. Deterministic:
// every case is a seed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Channel, createChannelDescriptor, type ChannelSide } from '../../src/shm/channel.js';
import { FragmentError } from '../../src/shm/fragments.js';
import { fragmentHeaderBytes, fragmentKind, recordBytesMax } from '../../src/shm/limits.js';
import {
  AttachView,
  AttachedView,
  AuthView,
  DetachView,
  EventView,
  RecordKind,
  ReplyView,
  RequestView,
  SessionEndView,
  WatchRegisterView,
  attachBytes,
  attachedBytes,
  authBytes,
  detachBytes,
  encodeAttach,
  encodeAttached,
  encodeAuth,
  encodeDetach,
  encodeEvent,
  encodeReplyHeader,
  encodeRequestHeader,
  encodeSessionEnd,
  encodeUpgraded,
  encodeWatchRegister,
  eventBytes,
  replyHeaderBytes,
  requestHeaderBytes,
  sessionEndBytes,
  touchBytes,
  upgradedBytes,
  watchRegisterBytes,
} from '../../src/shm/records.js';
import { ByteRing } from '../../src/shm/ring.js';
import { mulberry32 } from '../harness/prng.js';

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const u32 = (rand: Rand): number => int(rand, 2 ** 32);
const i32 = (rand: Rand): number => u32(rand) | 0;

const alphabet = ['a', 'Z', '/', '0', '-', 'é', 'ß', '中', '\u{1F600}', ' '];
function str(rand: Rand, long: boolean): string {
  if (long) return '/' + 'p'.repeat(65_536 + int(rand, 5000)) + alphabet[int(rand, alphabet.length)];
  let s = '';
  for (let i = int(rand, 40); i > 0; i--) s += alphabet[int(rand, alphabet.length)];
  return s;
}
function body(rand: Rand, big: boolean): Uint8Array {
  const b = new Uint8Array(big ? 1 + int(rand, 6000) : int(rand, 64));
  for (let i = 0; i < b.length; i++) b[i] = int(rand, 256);
  return b;
}

/** One record as the fuzz models it: its kind, and its fields as the decoder gives them back. */
interface Rec {
  kind: number;
  fields: Record<string, unknown>;
}

/** The kinds one side sends (worker → main below 16, main → worker from 16). */
const kindsFrom: Record<ChannelSide, number[]> = {
  worker: [RecordKind.request, RecordKind.attach, RecordKind.detach, RecordKind.auth, RecordKind.touch],
  main: [
    RecordKind.reply,
    RecordKind.attached,
    RecordKind.event,
    RecordKind.watchRegister,
    RecordKind.sessionEnd,
    RecordKind.upgraded,
  ],
};

/** `longOk`: strings past 64 KiB may come (only where pieces are large enough to keep it quick). */
function randomRec(rand: Rand, side: ChannelSide, longOk: boolean): Rec {
  const kinds = kindsFrom[side];
  const kind = kinds[int(rand, kinds.length)]!;
  const big = rand() < 0.3;
  const long = longOk && rand() < 0.04;
  const sid = { sidHi: u32(rand), sidLo: u32(rand) };
  switch (kind) {
    case RecordKind.request:
      return { kind, fields: { ...sid, xid: i32(rand), op: i32(rand), flags: u32(rand), timeoutMs: u32(rand), body: body(rand, big) } };
    case RecordKind.attach:
      return {
        kind,
        fields: {
          ...sid,
          flags: u32(rand),
          timeoutMs: u32(rand),
          lastZxidSeen: int(rand, 2 ** 52),
          connId: u32(rand),
          passwdOk: rand() < 0.5,
          ip: str(rand, long),
        },
      };
    case RecordKind.detach:
      return { kind, fields: { ...sid, connId: u32(rand), reason: u32(rand) } };
    case RecordKind.auth:
      return { kind, fields: { ...sid, scheme: str(rand, false), id: str(rand, long) } };
    case RecordKind.touch: {
      const ids: number[] = [];
      for (let i = big ? 200 + int(rand, 800) : int(rand, 8); i > 0; i--) ids.push(u32(rand), u32(rand));
      return { kind, fields: { ids } };
    }
    case RecordKind.reply:
      return { kind, fields: { ...sid, xid: i32(rand), err: i32(rand), zxid: int(rand, 2 ** 52), flags: u32(rand), body: body(rand, big) } };
    case RecordKind.attached:
      return { kind, fields: { ...sid, connId: u32(rand), err: i32(rand), timeoutMs: u32(rand), flags: u32(rand) } };
    case RecordKind.event:
      return { kind, fields: { targetHi: u32(rand), targetLo: u32(rand), type: i32(rand), zxid: int(rand, 2 ** 52), path: str(rand, long) } };
    case RecordKind.watchRegister:
      return { kind, fields: { ...sid, kind: u32(rand), path: str(rand, long) } };
    case RecordKind.sessionEnd:
      return { kind, fields: { ...sid, reason: u32(rand) } };
    default:
      return { kind, fields: { ...sid } };
  }
}

/** Encodes `r` into `ch` with the records.ts encoders, as the bridges do. */
function send(ch: Channel, r: Rec): void {
  const f = r.fields as never;
  const text = (k: string): string => r.fields[k] as string;
  let off: number;
  switch (r.kind) {
    case RecordKind.request: {
      const b = r.fields['body'] as Uint8Array;
      const off = ch.reserve(r.kind, requestHeaderBytes + b.length);
      encodeRequestHeader(ch.view, off, f);
      ch.bytes.set(b, off + requestHeaderBytes);
      break;
    }
    case RecordKind.attach: {
      const off = ch.reserve(r.kind, attachBytes(f));
      encodeAttach(ch.bytes, ch.view, off, f);
      break;
    }
    case RecordKind.detach:
      off = ch.reserve(r.kind, detachBytes); // first: it sets ch.view
      encodeDetach(ch.view, off, f);
      break;
    case RecordKind.auth: {
      const off = ch.reserve(r.kind, authBytes(text('scheme'), text('id')));
      encodeAuth(ch.bytes, ch.view, off, f);
      break;
    }
    case RecordKind.touch: {
      const ids = r.fields['ids'] as number[];
      const off = ch.reserve(r.kind, touchBytes(ids.length / 2));
      ch.view.setUint32(off, ids.length / 2, true);
      for (let i = 0; i < ids.length; i++) ch.view.setUint32(off + 4 + 4 * i, ids[i]!, true);
      break;
    }
    case RecordKind.reply: {
      const b = r.fields['body'] as Uint8Array;
      const off = ch.reserve(r.kind, replyHeaderBytes + b.length);
      encodeReplyHeader(ch.view, off, f);
      ch.bytes.set(b, off + replyHeaderBytes);
      break;
    }
    case RecordKind.attached:
      off = ch.reserve(r.kind, attachedBytes); // first: it sets ch.view
      encodeAttached(ch.view, off, f);
      break;
    case RecordKind.event: {
      // The bridge reserves the exact size and commits what the encoder wrote: the same here.
      const off = ch.reserve(r.kind, eventBytes(text('path')));
      const end = encodeEvent(ch.bytes, ch.view, off, f);
      ch.commit(end - off);
      return;
    }
    case RecordKind.watchRegister: {
      const off = ch.reserve(r.kind, watchRegisterBytes(text('path')));
      const end = encodeWatchRegister(ch.bytes, ch.view, off, f);
      ch.commit(end - off);
      return;
    }
    case RecordKind.sessionEnd:
      off = ch.reserve(r.kind, sessionEndBytes); // first: it sets ch.view
      encodeSessionEnd(ch.view, off, f);
      break;
    case RecordKind.upgraded:
      off = ch.reserve(r.kind, upgradedBytes); // first: it sets ch.view
      encodeUpgraded(ch.view, off, f);
      break;
  }
  ch.commit();
}

/** Decodes a record with the records.ts views, into the model's shape. */
function decode(kind: number, view: DataView, off: number, n: number, mem: Buffer): Rec {
  const pick = (o: object, keys: string[]): Record<string, unknown> =>
    Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));
  const sid = ['sidHi', 'sidLo'];
  switch (kind) {
    case RecordKind.request: {
      const v = new RequestView().read(view, off, n);
      const fields = pick(v, [...sid, 'xid', 'op', 'flags', 'timeoutMs']);
      return { kind, fields: { ...fields, body: new Uint8Array(mem.subarray(v.bodyOffset, v.end)) } };
    }
    case RecordKind.attach:
      return { kind, fields: pick(new AttachView().read(mem, view, off), [...sid, 'flags', 'timeoutMs', 'lastZxidSeen', 'connId', 'passwdOk', 'ip']) };
    case RecordKind.detach:
      return { kind, fields: pick(new DetachView().read(view, off), [...sid, 'connId', 'reason']) };
    case RecordKind.auth:
      return { kind, fields: pick(new AuthView().read(mem, view, off), [...sid, 'scheme', 'id']) };
    case RecordKind.touch: {
      const count = view.getUint32(off, true);
      assert.equal(n, touchBytes(count));
      const ids: number[] = [];
      for (let i = 0; i < 2 * count; i++) ids.push(view.getUint32(off + 4 + 4 * i, true));
      return { kind, fields: { ids } };
    }
    case RecordKind.reply: {
      const v = new ReplyView().read(view, off, n);
      const fields = pick(v, [...sid, 'xid', 'err', 'zxid', 'flags']);
      return { kind, fields: { ...fields, body: new Uint8Array(mem.subarray(v.bodyOffset, v.end)) } };
    }
    case RecordKind.attached:
      return { kind, fields: pick(new AttachedView().read(view, off), [...sid, 'connId', 'err', 'timeoutMs', 'flags']) };
    case RecordKind.event:
      return { kind, fields: pick(new EventView().read(mem, view, off), ['targetHi', 'targetLo', 'type', 'zxid', 'path']) };
    case RecordKind.watchRegister:
      return { kind, fields: pick(new WatchRegisterView().read(mem, view, off), [...sid, 'kind', 'path']) };
    case RecordKind.sessionEnd:
      return { kind, fields: pick(new SessionEndView().read(view, off), [...sid, 'reason']) };
    case RecordKind.upgraded:
      return { kind, fields: { sidHi: view.getUint32(off, true), sidLo: view.getUint32(off + 4, true) } };
    default:
      assert.fail(`unknown kind ${kind}`);
  }
}

describe('ring records fuzz', () => {
  it('every record kind, both directions, random rings and pieces: out exactly what went in', () => {
    let overflowed = 0;
    let large = 0;
    let longStrings = 0;
    for (let seed = 1; seed <= 32; seed++) {
      const rand = mulberry32(seed);
      const from: ChannelSide = seed % 2 === 0 ? 'main' : 'worker';
      const ringBytes = 2 ** (8 + int(rand, 6)); // 256 B ... 8 KiB
      const desc = createChannelDescriptor({ toMainBytes: ringBytes, toWorkerBytes: ringBytes });
      const probe = ByteRing.attach(desc.toMain);
      const pieceMax = probe.maxPayloadBytes - fragmentHeaderBytes;
      const pieceBytes = Math.max(1, (pieceMax >>> int(rand, 4)) - int(rand, 8));
      const tx = new Channel(desc, from, { fragmentPieceBytes: pieceBytes });
      const rx = new Channel(desc, from === 'main' ? 'worker' : 'main');
      const sent: Rec[] = [];
      let got = 0;
      const handler = (kind: number, view: DataView, off: number, n: number, mem: Buffer): void => {
        const want = sent[got];
        assert.ok(want !== undefined, `seed ${seed}: a record nobody sent`);
        assert.deepEqual(decode(kind, view, off, n, mem), want, `seed ${seed}: record ${got}`);
        got++;
      };
      for (let i = 0; i < 300; i++) {
        const r = randomRec(rand, from, pieceBytes >= 512);
        sent.push(r);
        if (Object.values(r.fields).some((v) => typeof v === 'string' && v.length > 65_535)) longStrings++;
        const size = Object.values(r.fields).reduce<number>((n, v) => n + (typeof v === 'string' || v instanceof Uint8Array ? v.length : 4), 0);
        if (size > probe.maxPayloadBytes) large++;
        send(tx, r);
        if (rand() < 0.05) tx.releaseIdleBuffers(); // large-record buffers: kept, reused, freed
        if (rand() < 0.05) rx.releaseIdleBuffers();
        if (rand() < 0.4) tx.publish();
        if (rand() < 0.3) rx.drain(handler, 1 + int(rand, 20));
      }
      for (let guard = 0; got < sent.length; guard++) {
        assert.ok(guard < 1_000_000, `seed ${seed}: stuck at ${got} of ${sent.length}`);
        tx.publish();
        rx.drain(handler, 1 + int(rand, 50));
      }
      assert.equal(tx.outboxLength, 0);
      overflowed += tx.tx.stats().overflowCount > 0 ? 1 : 0;
      tx.close();
      rx.close();
    }
    assert.ok(overflowed > 16, `only ${overflowed} runs overflowed into the outbox`);
    assert.ok(large > 300, `only ${large} records over half a ring`);
    assert.ok(longStrings > 15, `only ${longStrings} strings over 64 KiB`);
  });

  it('a record past half the ring reaches the handler whole, at any piece size', () => {
    for (let seed = 100; seed < 160; seed++) {
      const rand = mulberry32(seed);
      const desc = createChannelDescriptor({ toMainBytes: 256, toWorkerBytes: 256 });
      const pieceBytes = 1 + int(rand, 120 - fragmentHeaderBytes);
      const tx = new Channel(desc, 'main', { fragmentPieceBytes: pieceBytes });
      const rx = new Channel(desc, 'worker');
      const payload = body(rand, true);
      tx.send(77, payload);
      const seen: Uint8Array[] = [];
      while (seen.length === 0) {
        tx.publish();
        rx.drain((kind, view, off, n, mem) => {
          assert.equal(kind, 77);
          assert.equal(view.byteLength >= off + n, true);
          seen.push(new Uint8Array(mem.subarray(off, off + n)));
        }, 1 + int(rand, 4));
      }
      assert.deepEqual(seen[0], payload, `seed ${seed}`);
      tx.close();
      rx.close();
    }
  });

  it('the record views read random payloads without hanging; a short one is a RangeError at most', () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 3000; i++) {
      const p = Buffer.alloc(int(rand, 80));
      for (let j = 0; j < p.length; j++) p[j] = rand() < 0.3 ? 0xff : int(rand, 256);
      const view = new DataView(p.buffer, p.byteOffset, p.length);
      const kinds = [...kindsFrom.main, ...kindsFrom.worker];
      try {
        decode(kinds[int(rand, kinds.length)]!, view, 0, p.length, p);
      } catch (e) {
        if (!(e instanceof RangeError) && !(e instanceof assert.AssertionError)) throw e;
      }
    }
  });

  it('mutated fragment streams end in a FragmentError or deliver intact, nothing else', () => {
    const outcomes = { delivered: 0, refused: 0 };
    for (let seed = 1000; seed < 1400; seed++) {
      const rand = mulberry32(seed);
      // A valid stream: small records around two fragmented ones, captured as raw ring records
      // (a tap consumes the ring while the producer's outbox refills it).
      const capture = createChannelDescriptor({ toMainBytes: 4096, toWorkerBytes: 4096 });
      const prod = new Channel(capture, 'main', { fragmentPieceBytes: 16 + int(rand, 200) });
      const tap = ByteRing.attach(capture.toWorker);
      const payloads = [0, 1, 2, 3].map((i) => {
        const p = new Uint8Array(i % 2 === 1 ? prod.maxPayloadBytes + 1 + int(rand, 6000) : int(rand, 64));
        for (let j = 0; j < p.length; j++) p[j] = int(rand, 256);
        return p;
      });
      payloads.forEach((p, i) => prod.send(40 + i, p));
      const stream: { kind: number; payload: Uint8Array }[] = [];
      do {
        prod.publish();
        for (let off = tap.peek(); off >= 0; off = tap.peek()) {
          stream.push({ kind: tap.kind, payload: tap.bytes.slice(off, off + tap.payloadBytes) });
          tap.release();
        }
        tap.releaseBatch();
      } while (prod.outboxLength > 0);
      assert.ok(stream.filter((r) => r.kind === fragmentKind).length >= 2);
      // Mutate it.
      const m = stream.slice();
      const frag = (): number => {
        const idx = m.map((r, i) => (r.kind === fragmentKind ? i : -1)).filter((i) => i >= 0);
        return idx[int(rand, idx.length)]!;
      };
      const mutation = int(rand, 8);
      const i = frag();
      switch (mutation) {
        case 0: m.splice(i, 1); break; // a piece lost
        case 1: m.splice(i, 0, m[i]!); break; // a piece twice
        case 2: { const j = frag(); [m[i], m[j]] = [m[j]!, m[i]!]; break; } // two pieces swapped
        case 3: m[i] = { kind: fragmentKind, payload: m[i]!.payload.slice(0, int(rand, m[i]!.payload.length)) }; break; // cut
        case 4: m.splice(i, 0, { kind: 9, payload: new Uint8Array(4) }); break; // a record slipped in
        case 5: { // a header word corrupted: kind, total, offset or spare
          const p = m[i]!.payload.slice();
          new DataView(p.buffer).setUint32(4 * int(rand, 4), u32(rand), true);
          m[i] = { kind: fragmentKind, payload: p };
          break;
        }
        case 6: { // a total past recordBytesMax
          const p = m[i]!.payload.slice();
          new DataView(p.buffer).setUint32(4, recordBytesMax + 1 + int(rand, 1000), true);
          m[i] = { kind: fragmentKind, payload: p };
          break;
        }
        default: m.length = int(rand, m.length + 1); // the stream ends early
      }
      // Replay it into a fresh channel, raw, and drain.
      const replay = createChannelDescriptor({ toMainBytes: 1 << 16, toWorkerBytes: 1 << 16 }); // holds it all
      const raw = ByteRing.attach(replay.toWorker);
      for (const r of m) {
        const off = raw.reserve(r.kind, r.payload.length);
        assert.ok(off >= 0);
        raw.bytes.set(r.payload, off);
        raw.commit();
      }
      raw.publish();
      const rx = new Channel(replay, 'worker');
      const got: { kind: number; payload: Uint8Array }[] = [];
      let error: unknown = null;
      for (let guard = 0; guard < 10_000; guard++) {
        try {
          if (rx.drain((kind, _v, off, n, mem) => got.push({ kind, payload: new Uint8Array(mem.subarray(off, off + n)) }), 1 + int(rand, 8)) === 0) break;
        } catch (e) {
          if (!(e instanceof FragmentError)) throw new Error(`seed ${seed} mutation ${mutation}: ${String(e)}`);
          error = e;
        }
      }
      if (error === null) {
        // Delivered: every record that came out is one that went in, intact (a mutation of the
        // spare word, or a stream cut between records, is harmless).
        outcomes.delivered++;
        for (const r of got) {
          const k = r.kind - 40;
          if (r.kind === 9) continue;
          assert.deepEqual(r.payload, payloads[k], `seed ${seed} mutation ${mutation}: record ${k} altered`);
        }
      } else {
        outcomes.refused++;
      }
      prod.close();
      rx.close();
    }
    assert.ok(outcomes.refused > 200, `only ${outcomes.refused} refused`);
    assert.ok(outcomes.delivered > 10, `only ${outcomes.delivered} delivered`);
  });
});
