// Conn frame parsing (src/workers/conn.ts) over a fake socket (no threads, no sockets).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import net, { type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Conn, ConnState, OutSlab, Pause, ResponseSizes, type ConnHandler } from '../../src/workers/conn.js';

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

describe('Conn.writeNow over a real TCP socket', () => {
  /** A connected pair on 127.0.0.1: the server side wrapped in an open Conn, and the client. */
  async function pair(): Promise<{ conn: Conn; client: net.Socket; server: net.Server }> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
    const socket = await accepted;
    const conn = new Conn({
      id: 1,
      slot: 0,
      socket,
      ip: '127.0.0.1',
      handler: { onFrame: () => {}, onFourLetter: () => false, onProtocolError: () => {}, onClose: () => {} },
      slab: new OutSlab(),
      counters: { packetsReceived: 0, packetsSent: 0 },
      frameBytesMax: 1 << 20,
    });
    conn.start();
    conn.state = ConnState.open;
    return { conn, client, server };
  }

  async function readBytes(client: net.Socket, n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${got} of ${n} bytes`)), 20_000);
      client.on('data', (d: Buffer) => {
        parts.push(d);
        got += d.length;
        if (got >= n) {
          clearTimeout(timer);
          resolve(Buffer.concat(parts));
        }
      });
      client.resume();
    });
  }

  it('writes a frame on the socket descriptor, not through the stream', async () => {
    const { conn, client, server } = await pair();
    try {
      assert.ok(conn.writeNowReady());
      const frame = Buffer.from([0, 0, 0, 4, 1, 2, 3, 4]);
      const read = readBytes(client, frame.length);
      conn.writeNow(frame);
      assert.deepEqual(await read, frame);
      assert.equal((conn.socket as net.Socket).bytesWritten, 0, 'the stream wrote nothing: the descriptor did');
      assert.equal(conn.sent, 1);
    } finally {
      client.destroy();
      conn.close();
      server.close();
    }
  });

  it('keeps every byte in order when the kernel takes part of a frame, or none', async () => {
    const { conn, client, server } = await pair();
    try {
      client.pause(); // the peer reads nothing until the writes are done: the send buffer fills
      const frames: Buffer[] = [];
      let direct = 0;
      let queued = 0;
      for (let i = 0; i < 64; i++) {
        const f = Buffer.alloc(64 * 1024, i);
        frames.push(f);
        if (conn.writeNowReady()) {
          conn.writeNow(f);
          direct++;
        } else {
          conn.writeShared(f);
          queued++;
        }
      }
      conn.flush();
      assert.ok(direct > 0 && queued > 0, `some frames written at once (${direct}), the rest queued behind (${queued})`);
      const all = Buffer.concat(frames);
      const got = await readBytes(client, all.length);
      assert.equal(got.length, all.length);
      assert.ok(got.equals(all), 'the bytes arrive in the order written');
    } finally {
      client.destroy();
      conn.close();
      server.close();
    }
  });
});

describe('Conn.writeNow: which sockets take the descriptor', () => {
  class HandleSocket extends EventEmitter {
    remotePort = 1234;
    destroyed = false;
    writableLength = 0;
    encrypted: boolean | undefined;
    _handle: { fd: number } | null;
    written: Buffer[] = [];
    constructor(fd: number, encrypted?: boolean) {
      super();
      this._handle = { fd };
      this.encrypted = encrypted;
    }
    write(b: Buffer): boolean {
      this.written.push(b);
      return true;
    }
    destroy(): this {
      this.destroyed = true;
      return this;
    }
  }

  function connOver(socket: HandleSocket): Conn {
    const conn = new Conn({
      id: 1,
      slot: 0,
      socket: socket as unknown as Socket,
      ip: '127.0.0.1',
      handler: { onFrame: () => {}, onFourLetter: () => false, onProtocolError: () => {}, onClose: () => {} },
      slab: new OutSlab(),
      counters: { packetsReceived: 0, packetsSent: 0 },
      frameBytesMax: 100,
    });
    conn.state = ConnState.open;
    return conn;
  }

  it('a TLS socket, a socket with no descriptor, and a destroyed socket write through the stream', () => {
    const devNull = fs.openSync('/dev/null', 'w');
    try {
      const frame = Buffer.from([0, 0, 0, 1, 9]);
      const tls = new HandleSocket(devNull, true);
      connOver(tls).writeNow(frame);
      assert.deepEqual(tls.written, [frame], 'encrypted: never the raw descriptor');
      const none = new HandleSocket(-1);
      connOver(none).writeNow(frame);
      assert.deepEqual(none.written, [frame]);
      const plain = new HandleSocket(devNull);
      const conn = connOver(plain);
      conn.writeNow(frame);
      assert.deepEqual(plain.written, [], 'a plain socket: the descriptor took it');
      plain.destroy();
      conn.writeNow(frame);
      assert.deepEqual(plain.written, [frame], 'destroyed: its old number is not written to');
    } finally {
      fs.closeSync(devNull);
    }
  });
});
