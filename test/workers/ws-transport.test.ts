// src/workers/ws-transport.ts: a WebSocket as the ConnSocket a Conn reads and writes (no server;
// a fake WsSocket records what is sent). The transport over real servers and clients is
// test/integration/websocket.test.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WsSocket } from '../../src/http/socket.js';
import { wsHeldInputBytesWorkerMax, wsPausedInputBytesMax } from '../../src/workers/limits.js';
import type { WorkerLog } from '../../src/workers/log.js';
import { WsCloseCode, WsConnSocket } from '../../src/workers/ws-transport.js';

class FakeWs implements WsSocket {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly sent: Buffer[] = [];
  readonly ends: number[] = [];
  terminated = false;
  buffered = 0;
  accept = true;
  corks = 0;
  isOpen = true;
  send(data: Uint8Array | string, binary: boolean): boolean {
    assert.equal(binary, true);
    this.sent.push(Buffer.from(data as Uint8Array));
    return this.accept;
  }
  bufferedBytes(): number {
    return this.buffered;
  }
  end(code: number): void {
    this.ends.push(code);
    this.isOpen = false;
  }
  terminate(): void {
    this.terminated = true;
    this.isOpen = false;
  }
  cork(fn: () => void): void {
    this.corks++;
    fn();
  }
}

function quietLog(lines: string[] = []): WorkerLog {
  return {
    debug() {},
    info() {},
    warn: (_o, msg) => void lines.push(msg),
    error: (_o, msg) => void lines.push(msg),
    isLevelEnabled: () => false,
    flush() {},
  };
}

function frame(...bodies: string[]): Buffer {
  return Buffer.concat(
    bodies.map((b) => {
      const f = Buffer.alloc(4 + b.length);
      f.writeInt32BE(b.length, 0);
      f.write(b, 4);
      return f;
    }),
  );
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WsConnSocket', () => {
  test('a message in is one frame, its length word added; frames out are messages without it', () => {
    const ws = new FakeWs();
    const s = new WsConnSocket(ws, quietLog());
    const got: Buffer[] = [];
    s.on('data', (c) => got.push(c));
    s.message(new Uint8Array([1, 2, 3]));
    assert.deepEqual(got, [Buffer.from([0, 0, 0, 3, 1, 2, 3])]);
    assert.equal(s.write(frame('ab')), true);
    assert.equal(ws.corks, 0, 'one frame: no cork');
    s.write(frame('c', '', 'def'));
    assert.equal(ws.corks, 1, 'several frames: one corked batch');
    assert.deepEqual(ws.sent.map((b) => b.toString()), ['ab', 'c', '', 'def']);
    s.cork();
    s.write(frame('x'));
    s.write(frame('y', 'z'));
    assert.equal(ws.sent.length, 4, 'held while corked');
    s.uncork();
    assert.deepEqual(ws.sent.slice(4).map((b) => b.toString()), ['x', 'y', 'z']);
    ws.accept = false;
    assert.equal(s.write(frame('q')), false, 'backpressure is reported');
  });

  test('while paused, messages are held in order and handed on after resume, on a later turn', async () => {
    const s = new WsConnSocket(new FakeWs(), quietLog());
    const got: number[] = [];
    s.on('data', (c) => got.push(c[4]!));
    s.pause();
    assert.equal(s.isPaused(), true);
    s.message(new Uint8Array([1]));
    s.message(new Uint8Array([2]));
    assert.deepEqual(got, []);
    s.resume();
    assert.deepEqual(got, [], 'not inside resume()');
    s.message(new Uint8Array([3])); // behind the held ones
    await tick();
    assert.deepEqual(got, [1, 2, 3]);
    s.message(new Uint8Array([4]));
    assert.deepEqual(got, [1, 2, 3, 4], 'straight through once nothing is held');
  });

  test('a pause while handing on held messages keeps the rest held', async () => {
    const s = new WsConnSocket(new FakeWs(), quietLog());
    const got: number[] = [];
    s.on('data', (c) => {
      got.push(c[4]!);
      if (c[4] === 2) s.pause();
    });
    s.pause();
    for (const b of [1, 2, 3]) s.message(new Uint8Array([b]));
    s.resume();
    await tick();
    assert.deepEqual(got, [1, 2]);
    s.resume();
    await tick();
    assert.deepEqual(got, [1, 2, 3]);
  });

  test('a client that sends on past wsPausedInputBytesMax while paused is closed, with a line', async () => {
    const ws = new FakeWs();
    const lines: string[] = [];
    const s = new WsConnSocket(ws, quietLog(lines));
    let closes = 0;
    s.on('close', () => closes++);
    s.pause();
    const big = new Uint8Array(1 << 20);
    const n = Math.ceil(wsPausedInputBytesMax / big.length) + 1;
    for (let i = 0; i < n; i++) s.message(big);
    assert.deepEqual(ws.ends, [WsCloseCode.policyViolation]);
    assert.match(lines.join('\n'), /sends on past backpressure/);
    await tick();
    assert.equal(closes, 1);
  });

  test('the worker-wide bound: held bytes of all connections together; a close gives them back', async () => {
    const worker = { bytes: 0 };
    const a = new WsConnSocket(new FakeWs(), quietLog(), worker);
    const bWs = new FakeWs();
    const b = new WsConnSocket(bWs, quietLog(), worker);
    a.pause();
    b.pause();
    a.message(new Uint8Array(10));
    b.message(new Uint8Array(20));
    assert.equal(worker.bytes, 14 + 24);
    a.destroy();
    assert.equal(worker.bytes, 24, "a closed connection's held bytes are given back");
    worker.bytes = wsHeldInputBytesWorkerMax; // as if many others held the rest
    b.message(new Uint8Array(1));
    assert.deepEqual(bWs.ends, [WsCloseCode.policyViolation], 'past the worker bound: closed');
    assert.equal(worker.bytes, wsHeldInputBytesWorkerMax - 24);
    const c = new WsConnSocket(new FakeWs(), quietLog(), { bytes: 0 });
    const got: Buffer[] = [];
    c.on('data', (f) => got.push(f));
    const shared = { bytes: 0 };
    const d = new WsConnSocket(new FakeWs(), quietLog(), shared);
    d.on('data', () => {});
    d.pause();
    d.message(new Uint8Array(5));
    d.resume();
    await tick();
    assert.equal(shared.bytes, 0, 'handed on: no longer held');
    c.message(new Uint8Array(1));
    assert.equal(got.length, 1);
  });

  test('close is heard once, on a later tick, whichever side closes; drain waiters run once', async () => {
    const ws = new FakeWs();
    const s = new WsConnSocket(ws, quietLog());
    let closes = 0;
    s.on('close', () => closes++);
    let drains = 0;
    s.once('drain', () => drains++);
    s.drained();
    s.drained();
    assert.equal(drains, 1);
    s.destroy();
    assert.equal(ws.terminated, true);
    assert.equal(s.destroyed, true);
    s.closed(); // the engine's close callback after terminate
    s.destroy();
    assert.equal(closes, 0, 'not inside destroy()');
    await tick();
    assert.equal(closes, 1);
    assert.equal(s.write(frame('late')), false, 'nothing is sent after close');
    assert.equal(ws.sent.length, 0);
    let ended = false;
    const t = new WsConnSocket(new FakeWs(), quietLog());
    t.end(() => {
      ended = true;
    });
    assert.equal(ended, true);
  });
});
