// Unit tests of the session worker's data structures (no threads, no sockets).

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { EventType, WatcherType } from '../../src/common/zk.js';
import { JuteReader, JuteWriter, decodeConnectResponse } from '../../src/protocol/jute/index.js';
import { WatchKind } from '../../src/shm/records.js';
import { Conn, OutSlab, Pause, type ConnHandler } from '../../src/workers/conn.js';
import { RequestFifo } from '../../src/workers/fifo.js';
import { fourLetterWordOf, FourLetterWhitelist, notWhitelistedText } from '../../src/workers/fourletter.js';
import { authUser, digestId } from '../../src/workers/session/auth.js';
import { ExpiryQueue } from '../../src/common/expiry-queue.js';
import {
  SessionIdGenerator,
  connectResponseFrame,
  negotiateTimeout,
  passwordMatches,
  planConnect,
  sessionPassword,
  type ConnectContext,
} from '../../src/workers/session/handshake.js';
import { IdIndex, SessionTable } from '../../src/workers/session/table.js';
import { Fanout, type FrameTarget } from '../../src/workers/watches/fanout.js';
import { WatchBit, WatchTable, persistentBits, recursiveBits, watchKindBits, watcherTypeBits } from '../../src/workers/watches/table.js';

describe('ExpiryQueue', () => {
  it('buckets by expiry rounded up to the interval and expires whole buckets', () => {
    const q = new ExpiryQueue(100, 0);
    assert.equal(q.update(1, 0, 250), 300);
    assert.equal(q.update(2, 10, 250), 300);
    assert.equal(q.update(3, 60, 250), 400);
    const out: number[] = [];
    assert.equal(q.poll(299, (id) => out.push(id)), 0);
    assert.equal(q.poll(300, (id) => out.push(id)), 2);
    assert.deepEqual(out.sort(), [1, 2]);
    assert.equal(q.size, 1);
    assert.equal(q.poll(1000, (id) => out.push(id)), 1);
    assert.equal(q.size, 0);
  });

  it('moves a touched id to its new bucket and ignores touches within the same bucket', () => {
    const q = new ExpiryQueue(100, 0);
    q.update(5, 0, 250);
    assert.equal(q.update(5, 20, 250), 300, 'same bucket');
    assert.equal(q.update(5, 120, 250), 400);
    const out: number[] = [];
    q.poll(300, (id) => out.push(id));
    assert.equal(out.length, 0);
    q.poll(400, (id) => out.push(id));
    assert.deepEqual(out, [5]);
  });

  it('lets the expire callback remove or re-queue other ids, and grows', () => {
    const q = new ExpiryQueue(10, 0, 2);
    for (let id = 0; id < 100; id++) q.update(id, 0, 5);
    const expired: number[] = [];
    q.poll(10, (id) => {
      expired.push(id);
      q.remove(id - 1); // the next one in the bucket (newest first) leaves before its turn
      if (id === 99) q.update(200, 10, 50);
    });
    assert.equal(expired.length, 50);
    assert.ok(expired.every((id) => id % 2 === 1));
    assert.equal(q.size, 1);
    assert.equal(q.expiryOf(200), 70);
    q.remove(12345); // never queued: a no-op
  });
});

describe('WatchTable and Fanout', () => {
  class Sink implements FrameTarget {
    frames: Buffer[] = [];
    writeShared(frame: Buffer): void {
      this.frames.push(frame);
    }
  }
  function setup(slots: number): { table: WatchTable; sinks: Sink[]; fanout: Fanout; allocs: number[] } {
    const table = new WatchTable();
    const sinks = Array.from({ length: slots }, () => new Sink());
    const allocs: number[] = [];
    const fanout = new Fanout(table, (slot) => sinks[slot] ?? null, (n) => {
      allocs.push(n);
      return Buffer.alloc(n);
    });
    return { table, sinks, fanout, allocs };
  }

  it('encodes one frame per event and hands the same bytes to every session', () => {
    const { table, sinks, fanout, allocs } = setup(50);
    for (let s = 0; s < 50; s++) table.add(s, '/cfg', WatchKind.data);
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/cfg'), 50);
    assert.equal(allocs.length, 1);
    const f = sinks[0]!.frames[0]!;
    assert.ok(sinks.every((k) => k.frames.length === 1 && k.frames[0] === f));
    const r = new JuteReader(f);
    assert.equal(r.readInt(), f.length - 4);
    assert.deepEqual([r.readInt(), r.readLong(), r.readInt()], [-1, -1, 0]);
    assert.deepEqual([r.readInt(), r.readInt(), r.readString()], [EventType.nodeDataChanged, 3, '/cfg']);
    assert.equal(table.watchCount, 0, 'one-shot watches consumed');
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/cfg'), 0);
    assert.equal(allocs.length, 1, 'nothing encoded when nobody watches');
  });

  it('notifies a session once per trigger however many watches match', () => {
    const { table, sinks, fanout } = setup(2);
    table.add(0, '/a/b', WatchKind.data);
    table.add(0, '/a/b', WatchKind.child);
    table.add(0, '/a/b', WatchKind.persistent);
    table.add(0, '/a', WatchKind.persistentRecursive);
    table.add(0, '/', WatchKind.persistentRecursive);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/a/b'), 1);
    assert.equal(sinks[0]!.frames.length, 1);
    assert.equal(table.bitsOf(0, '/a/b'), persistentBits, 'data and child consumed, persistent kept');
  });

  it('removes by watcher type and tracks recursive paths', () => {
    const { table, fanout, sinks } = setup(3);
    table.add(1, '/r', WatchKind.persistentRecursive);
    table.add(2, '/r', WatchKind.data);
    assert.equal(table.remove(1, '/r', watcherTypeBits(WatcherType.persistent)), 0);
    assert.notEqual(table.remove(1, '/r', watcherTypeBits(WatcherType.persistentRecursive)), 0);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/r/x'), 0);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/r'), 1);
    assert.equal(sinks[2]!.frames.length, 1);
    assert.equal(table.pathCount, 0);
    assert.equal(watcherTypeBits(42), 0);
  });

  it('sees a persistent or recursive watch as a data and a child watch, each half on its own', () => {
    const { table, fanout, sinks } = setup(2);
    const data = watcherTypeBits(WatcherType.data);
    const children = watcherTypeBits(WatcherType.children);
    table.add(0, '/p', WatchKind.persistent);
    table.add(1, '/r', WatchKind.persistentRecursive);
    assert.equal(table.watchCount, 4, 'each in both of ZooKeeper 3.8\'s managers');
    for (const [slot, path] of [[0, '/p'], [1, '/r']] as const) {
      assert.notEqual(table.bitsOf(slot, path) & data, 0);
      assert.notEqual(table.bitsOf(slot, path) & children, 0);
    }
    // The persistent watch without its data half: children and deletion only.
    assert.equal(table.remove(0, '/p', data), WatchBit.persistentData);
    assert.equal(fanout.deliver(EventType.nodeDataChanged, '/p'), 0);
    assert.equal(fanout.deliver(EventType.nodeChildrenChanged, '/p'), 1);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/p'), 1);
    assert.equal(table.bitsOf(0, '/p'), WatchBit.persistentChild, 'still there');
    // The recursive watch without its child half: everything below but childrenChanged, as before.
    assert.equal(table.remove(1, '/r', children), WatchBit.recursiveChild);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/r/a/b'), 1);
    assert.equal(fanout.deliver(EventType.nodeChildrenChanged, '/r'), 0);
    // ... and without its data half too: gone, and no longer walked for descendants.
    assert.equal(table.remove(1, '/r', data), WatchBit.recursiveData);
    assert.equal(table.bitsOf(1, '/r'), 0);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/r/a'), 0);
    // A recursive watch with only its child half fires for deletions below, nothing else.
    table.add(1, '/q', WatchKind.persistentRecursive);
    table.remove(1, '/q', data);
    assert.equal(fanout.deliver(EventType.nodeCreated, '/q/x'), 0);
    assert.equal(fanout.deliver(EventType.nodeDeleted, '/q/x'), 1);
    assert.equal(table.bitsOf(1, '/q'), WatchBit.recursiveChild);
    assert.equal(sinks[0]!.frames.length + sinks[1]!.frames.length, 4);
    assert.equal(recursiveBits & persistentBits, 0);
  });

  it('swap-removes consistently under random adds, removes, triggers and session drops', () => {
    const table = new WatchTable();
    const model = new Map<string, number>(); // `${slot} ${path}` → bits
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const paths = ['/', '/a', '/a/b', '/a/b/c', '/d'];
    const sink = { hit: (): void => {} };
    for (let step = 0; step < 5000; step++) {
      const slot = rnd(20);
      const path = paths[rnd(paths.length)]!;
      const k = `${slot} ${path}`;
      const op = rnd(10);
      if (op < 5) {
        const kind = 1 + rnd(5);
        table.add(slot, path, kind);
        model.set(k, (model.get(k) ?? 0) | watchKindBits(kind));
      } else if (op < 7) {
        const bits = watcherTypeBits(1 + rnd(5));
        table.remove(slot, path, bits);
        const left = (model.get(k) ?? 0) & ~bits;
        if (left === 0) model.delete(k);
        else model.set(k, left);
      } else if (op < 9) {
        const type = 1 + rnd(4);
        table.trigger(type, path, sink);
        const data = WatchBit.data | WatchBit.exist;
        const consume = type === 4 ? WatchBit.child : type === 2 ? data | WatchBit.child : data;
        for (const [key, bits] of model) {
          if (!key.endsWith(` ${path}`) || key.split(' ')[1] !== path) continue;
          const left = bits & ~consume;
          if (left === 0) model.delete(key);
          else model.set(key, left);
        }
      } else {
        table.dropSession(slot);
        for (const key of [...model.keys()]) if (key.startsWith(`${slot} `)) model.delete(key);
      }
      if (step % 250 === 0) {
        for (let s = 0; s < 20; s++) {
          for (const p of paths) {
            assert.equal(table.bitsOf(s, p), model.get(`${s} ${p}`) ?? 0, `step ${step}`);
          }
        }
        assert.equal(table.pairCount, model.size);
        let weight = 0;
        for (const bits of model.values()) {
          weight += (bits & watcherTypeBits(WatcherType.data)) !== 0 ? 1 : 0;
          weight += (bits & watcherTypeBits(WatcherType.children)) !== 0 ? 1 : 0;
        }
        assert.equal(table.watchCount, weight);
      }
    }
  });
});

describe('session table and fifo', () => {
  it('maps 64-bit ids to slots and survives deletions (backward shift)', () => {
    const idx = new IdIndex(4);
    const ids: [number, number][] = [];
    for (let i = 0; i < 500; i++) ids.push([0x07000000 | (i & 7), i * 7919]);
    ids.forEach(([hi, lo], i) => idx.set(hi, lo, i));
    for (let i = 0; i < 500; i += 3) assert.ok(idx.delete(ids[i]![0], ids[i]![1]));
    ids.forEach(([hi, lo], i) => assert.equal(idx.get(hi, lo), i % 3 === 0 ? -1 : i));
    assert.equal(idx.size, 500 - 167);
  });

  it('reuses slots and keeps local / global counts', () => {
    const t = new SessionTable(2);
    const a = t.add(1, 1, 1000, true, false)!;
    const b = t.add(1, 2, 1000, false, false)!;
    assert.equal(t.add(1, 3, 1000, false, false), undefined, 'full');
    assert.deepEqual([t.localCount, t.globalCount], [1, 1]);
    t.setLocal(a, false);
    assert.deepEqual([t.localCount, t.globalCount], [0, 2]);
    t.remove(b);
    const c = t.add(1, 3, 1000, false, false)!;
    assert.equal(c.slot, b.slot);
    assert.equal(t.get(1, 2), undefined);
    assert.equal(t.get(1, 3), c);
    assert.equal(a.hex, '0x100000001');
  });

  it('keeps requests in order, with their arguments, across compaction', () => {
    const f = new RequestFifo();
    for (let i = 0; i < 10; i++) f.push(i, 4, i % 2, i * 1.5, null);
    assert.equal(f.countFor(1), 5);
    for (let i = 0; i < 10; i++) {
      assert.equal(f.headXid, i);
      assert.equal(f.headStartMs, i * 1.5);
      assert.equal(f.headArg, null);
      f.shift();
    }
    assert.equal(f.size, 0);
    // Never empty: always a few in flight while thousands go through.
    let next = 0;
    let expect = 0;
    for (let round = 0; round < 3000; round++) {
      while (f.size < 3) {
        f.push(next, 18, 1, 0, next % 7 === 0 ? { path: `/p${next}`, type: 2 } : null);
        next++;
      }
      assert.equal(f.headXid, expect);
      assert.deepEqual(f.headArg, expect % 7 === 0 ? { path: `/p${expect}`, type: 2 } : null);
      f.shift();
      expect++;
    }
    assert.equal(f.size, 2);
  });
});

describe('handshake and auth helpers', () => {
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

  it('computes digest ids as ZooKeeper does', () => {
    // DigestAuthenticationProvider.generateDigest("super:test")
    assert.equal(digestId('super:test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.equal(authUser('digest', 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='), 'super');
    assert.equal(authUser('ip', '10.0.0.1'), '10.0.0.1');
  });

  it('knows the four-letter words and the whitelist wording', () => {
    assert.equal(fourLetterWordOf(Buffer.from('ruok').readInt32BE(0)), 'ruok');
    assert.equal(fourLetterWordOf(12), undefined);
    const all = new FourLetterWhitelist(['*']);
    assert.ok(all.isEnabled('wchp'));
    const some = new FourLetterWhitelist([' stat ', '']);
    assert.ok(some.isEnabled('stat') && some.isEnabled('srvr') && !some.isEnabled('ruok'));
    assert.equal(notWhitelistedText('dump'), 'dump is not executed because it is not in the whitelist.\n');
  });
});

describe('Conn frame parsing', () => {
  class FakeSocket extends EventEmitter {
    remotePort = 1234;
    paused = false;
    destroyed = false;
    writableLength = 0;
    written: Buffer[] = [];
    pause(): this {
      this.paused = true;
      return this;
    }
    resume(): this {
      this.paused = false;
      return this;
    }
    isPaused(): boolean {
      return this.paused;
    }
    write(b: Buffer): boolean {
      this.written.push(b);
      return true;
    }
    cork(): void {}
    uncork(): void {}
    end(): this {
      return this;
    }
    destroy(): this {
      this.destroyed = true;
      this.emit('close');
      return this;
    }
  }

  function frames(n: number, seed: number): Buffer[] {
    const out: Buffer[] = [];
    let x = seed;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out.push(Buffer.alloc(x % 300, i & 0xff));
    }
    return out;
  }

  it('delivers every frame intact whatever the chunking, pausing and resuming on the way', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const bodies = frames(60, seed).map((b, i) => {
        const f = Buffer.alloc(Math.max(b.length, 4));
        b.copy(f);
        f.writeUInt32BE(i, 0);
        return f;
      });
      const prefix = (n: number): Buffer => Buffer.from([0, 0, n >> 8, n & 0xff]);
      const wire = Buffer.concat(bodies.flatMap((b) => [prefix(b.length), b]));
      const socket = new FakeSocket();
      const got: Buffer[] = [];
      let conn: Conn | null = null;
      const handler: ConnHandler = {
        onFrame(c, buf, start, end) {
          got.push(Buffer.from(buf.subarray(start, end)));
          if (got.length % 7 === 0) c.pause(Pause.throttle);
        },
        onFourLetter: () => false,
        onProtocolError: () => assert.fail('no protocol error expected'),
        onClose: () => {},
      };
      conn = new Conn({
        id: 1,
        slot: 0,
        socket: socket as unknown as Socket,
        ip: '127.0.0.1',
        handler,
        slab: new OutSlab(),
        counters: { packetsReceived: 0, packetsSent: 0 },
        frameBytesMax: 4096,
      });
      conn.start();
      let pos = 0;
      let x = seed * 7919;
      while (pos < wire.length) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const n = 1 + (x % 97);
        socket.emit('data', wire.subarray(pos, pos + n));
        pos += n;
        if (conn.paused && x % 3 === 0) conn.resume(Pause.throttle);
      }
      while (conn.paused) conn.resume(Pause.throttle);
      assert.equal(got.length, bodies.length, `seed ${seed}`);
      got.forEach((g, i) => assert.ok(g.equals(bodies[i]!), `seed ${seed} frame ${i}`));
      assert.equal(conn.recved, bodies.length);
    }
  });

  it('closes on a length over the limit, with one protocol error', () => {
    const socket = new FakeSocket();
    const errors: string[] = [];
    const conn = new Conn({
      id: 1,
      slot: 0,
      socket: socket as unknown as Socket,
      ip: '127.0.0.1',
      handler: {
        onFrame: () => {},
        onFourLetter: () => false,
        onProtocolError: (_c, m) => void errors.push(m),
        onClose: () => {},
      },
      slab: new OutSlab(),
      counters: { packetsReceived: 0, packetsSent: 0 },
      frameBytesMax: 100,
    });
    conn.start();
    socket.emit('data', Buffer.from([0, 0]));
    socket.emit('data', Buffer.from([0, 101, 1, 2]));
    assert.deepEqual(errors, ['Len error 101']);
    assert.ok(socket.destroyed);
  });
});
