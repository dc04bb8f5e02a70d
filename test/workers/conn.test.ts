// Conn frame parsing (src/workers/conn.ts) over a fake socket (no threads, no sockets).

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Conn, OutSlab, Pause, ResponseSizes, type ConnHandler } from '../../src/workers/conn.js';

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

describe('ResponseSizes', () => {
  it("keeps ServerStats' last, min and max packet size, length prefix excluded; -1 before any and after reset", () => {
    const r = new ResponseSizes();
    assert.deepEqual([r.last, r.min, r.max], [-1, -1, -1]);
    r.note(4 + 16);
    r.note(4 + 300);
    r.note(4 + 40);
    assert.deepEqual([r.last, r.min, r.max], [40, 16, 300]);
    r.reset();
    assert.deepEqual([r.last, r.min, r.max], [-1, -1, -1]);
  });
});
