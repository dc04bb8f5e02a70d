// Output (src/workers/connections/output.ts): the ping answered on the socket at once, over a fake
// socket (no threads, no sockets).

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { Err, Xid } from '../../../src/common/zk.js';
import { ConnState, type ConnHandler } from '../../../src/workers/conn.js';
import { ClientConn } from '../../../src/workers/connections/client-conn.js';
import { Output } from '../../../src/workers/connections/output.js';
import { connOutputPauseBytes } from '../../../src/workers/limits.js';
import { createWorkerLog } from '../../../src/workers/log.js';

class FakeSocket extends EventEmitter {
  remotePort = 1234;
  destroyed = false;
  writableLength = 0;
  written: Buffer[] = [];
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  isPaused(): boolean {
    return false;
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

const handler: ConnHandler = {
  onFrame: () => {},
  onFourLetter: () => false,
  onProtocolError: () => {},
  onClose: () => {},
};

function setup(): { output: Output; conn: ClientConn; socket: FakeSocket } {
  const bridge = { publish: () => {}, writable: () => Promise.resolve() };
  const output = new Output(bridge, createWorkerLog('error', 0));
  const socket = new FakeSocket();
  const conn = new ClientConn({
    id: 1,
    slot: 0,
    socket: socket as unknown as Socket,
    ip: '127.0.0.1',
    handler,
    slab: output.slab,
    counters: { packetsReceived: 0, packetsSent: 0 },
    frameBytesMax: 1 << 20,
  });
  conn.state = ConnState.open;
  return { output, conn, socket };
}

function header(b: Buffer): { len: number; xid: number; zxid: number; err: number } {
  return { len: b.readInt32BE(0), xid: b.readInt32BE(4), zxid: Number(b.readBigInt64BE(8)), err: b.readInt32BE(16) };
}

describe('Output: the ping answered at once', () => {
  it('writes the answer to the socket in the same call, with nothing left to flush', () => {
    const { output, conn, socket } = setup();
    assert.equal(output.writePingNow(conn, 0x100000005), true);
    assert.equal(socket.written.length, 1, 'written before any flush');
    assert.deepEqual(header(socket.written[0]!), { len: 16, xid: Xid.ping, zxid: 0x100000005, err: Err.ok });
    assert.equal(conn.sent, 1);
    assert.equal(conn.dirty, false);
    output.flush();
    assert.equal(socket.written.length, 1, 'nothing more at the end of the turn');
  });

  it('queues behind a reply already queued this turn, so the order on the wire is kept', () => {
    const { output, conn, socket } = setup();
    output.writeHeader(conn, 7, 40, Err.ok);
    assert.equal(output.writePingNow(conn, 41), false, 'a reply is queued: not at once');
    assert.equal(socket.written.length, 0);
    output.writeHeader(conn, Xid.ping, 41, Err.ok);
    output.flush();
    const wire = Buffer.concat(socket.written);
    assert.equal(wire.length, 40);
    assert.deepEqual([header(wire).xid, header(wire.subarray(20)).xid], [7, Xid.ping]);
  });

  it('leaves a socket with output pending to the queue, and a closing connection alone', () => {
    const { output, conn, socket } = setup();
    socket.writableLength = 100;
    assert.equal(output.writePingNow(conn, 1), false);
    socket.writableLength = 0;
    conn.state = ConnState.closing;
    assert.equal(output.writePingNow(conn, 1), false);
    assert.equal(socket.written.length, 0);
  });

  it('makes a new frame for a new zxid and never rewrites one a socket may still hold', () => {
    const a = setup();
    const b = setup();
    a.output.writePingNow(a.conn, 10);
    const first = a.socket.written[0]!;
    const copy = Buffer.from(first);
    a.output.writePingNow(a.conn, 11);
    assert.deepEqual(first, copy, 'the first frame is unchanged');
    assert.equal(header(a.socket.written[1]!).zxid, 11);
    assert.notEqual(a.socket.written[1], first);
    b.output.writePingNow(b.conn, -1);
    assert.equal(header(b.socket.written[0]!).zxid, -1);
  });
});

describe('Output: an event frame written at once when nothing is queued (Conn.writeShared)', () => {
  const event = (n: number): Buffer => {
    const b = Buffer.alloc(20);
    b.writeInt32BE(16, 0);
    b.writeInt32BE(Xid.notification, 4);
    b.writeInt32BE(n, 16);
    return b;
  };

  it('writes it in the same call; a reply after it waits for the flush and follows it', () => {
    const { output, conn, socket } = setup();
    const ev = event(1);
    output.mark(conn).writeShared(ev);
    assert.equal(socket.written.length, 1, 'written before any flush');
    assert.equal(socket.written[0], ev, 'the shared bytes themselves, not a copy');
    output.writeHeader(conn, 7, 40, Err.ok);
    assert.equal(socket.written.length, 1, 'the reply waits for the end of the turn');
    output.flush();
    assert.deepEqual(socket.written.map((b) => header(b).xid), [Xid.notification, 7]);
    assert.equal(conn.sent, 2);
    assert.equal(conn.dirty, false);
  });

  it('queues behind a reply already queued this turn, so the reply leaves first', () => {
    const { output, conn, socket } = setup();
    output.writeHeader(conn, 7, 40, Err.ok);
    output.mark(conn).writeShared(event(1));
    assert.equal(socket.written.length, 0, 'nothing before the flush');
    output.flush();
    const wire = Buffer.concat(socket.written);
    assert.equal(wire.length, 40);
    assert.deepEqual([header(wire).xid, header(wire.subarray(20)).xid], [7, Xid.notification]);
  });

  it('queues a second event of the same turn behind the first, and writes at once again next turn', () => {
    const { output, conn, socket } = setup();
    output.mark(conn).writeShared(event(1));
    output.mark(conn).writeShared(event(2));
    assert.equal(socket.written.length, 1, 'the second waits for the flush');
    output.flush();
    assert.deepEqual(socket.written.map((b) => b.readInt32BE(16)), [1, 2]);
    output.mark(conn).writeShared(event(3));
    assert.equal(socket.written.length, 3, 'a new turn: at once');
    output.flush();
    assert.equal(socket.written.length, 3);
  });

  it('queues when the socket holds output, and leaves a closing connection to its flush', () => {
    const { output, conn, socket } = setup();
    socket.writableLength = 100;
    output.mark(conn).writeShared(event(1));
    assert.equal(socket.written.length, 0, 'the socket is backed up: queued');
    output.flush();
    assert.equal(socket.written.length, 1);
    const b = setup();
    b.output.closeAfterFlush(b.conn);
    b.output.mark(b.conn).writeShared(event(2));
    assert.equal(b.socket.written.length, 0, 'closing: queued for the last flush');
    b.output.flush();
    assert.deepEqual(b.socket.written.map((x) => x.readInt32BE(16)), [2]);
  });
});

describe('Output.writeShared: a fan-out frame written at once marks nothing', () => {
  const event = (n: number): Buffer => {
    const b = Buffer.alloc(20);
    b.writeInt32BE(16, 0);
    b.writeInt32BE(Xid.notification, 4);
    b.writeInt32BE(n, 16);
    return b;
  };

  it('writes it in the same call and leaves the connection out of the end-of-turn flush', () => {
    const { output, conn, socket } = setup();
    let flushed = 0;
    const flush = conn.flush.bind(conn);
    conn.flush = (): void => {
      flushed++;
      flush();
    };
    const ev = event(1);
    output.writeShared(conn, ev);
    assert.equal(socket.written.length, 1, 'written before any flush');
    assert.equal(socket.written[0], ev, 'the shared bytes themselves, not a copy');
    assert.equal(conn.dirty, false);
    assert.equal(conn.sent, 1);
    output.flush();
    assert.equal(flushed, 0, 'nothing to flush: the connection was not marked');
  });

  it('keeps the order of the wire: a reply after it follows it, an event after a queued reply follows the reply', () => {
    const { output, conn, socket } = setup();
    output.writeShared(conn, event(1));
    output.writeHeader(conn, 7, 40, Err.ok);
    output.writeShared(conn, event(2));
    assert.equal(socket.written.length, 1, 'the reply and the event behind it wait for the flush');
    output.flush();
    const wire = Buffer.concat(socket.written);
    assert.deepEqual(
      [header(wire).xid, header(wire.subarray(20)).xid, header(wire.subarray(40)).xid],
      [Xid.notification, 7, Xid.notification],
    );
    assert.equal(wire.readInt32BE(56), 2);
    assert.equal(conn.dirty, false);
  });

  it('queues and marks when the socket holds output; a socket left holding too much is paused at the flush', () => {
    const { output, conn, socket } = setup();
    socket.writableLength = 100;
    output.writeShared(conn, event(1));
    assert.equal(socket.written.length, 0, 'the socket is backed up: queued');
    assert.equal(conn.dirty, true);
    output.flush();
    assert.equal(socket.written.length, 1);

    const b = setup();
    const big = Buffer.alloc(connOutputPauseBytes + 8);
    b.socket.write = (x: Buffer): boolean => {
      b.socket.written.push(x);
      b.socket.writableLength += x.length; // the kernel took none of it
      return false;
    };
    b.output.writeShared(b.conn, big);
    assert.equal(b.socket.written.length, 1, 'written at once');
    assert.equal(b.conn.paused, false);
    b.output.flush();
    assert.equal(b.conn.paused, true, 'the end-of-turn output checks saw the backed-up socket');
  });
});
