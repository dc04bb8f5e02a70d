// The plain-Node floor server (src/load/floor-server.ts): a real zkts client connects to it and
// is kept alive by its pings; a raw socket sees a valid ConnectResponse, a ping's ReplyHeader,
// and the connection closed on any other request; the process entry (as the bench runs it)
// listens and stops on SIGTERM.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient } from '../../src/client/index.js';
import { OpCode, Xid } from '../../src/common/zk.js';
import { startFloorServer } from '../../src/load/floor-server.js';
import { JuteReader, JuteWriter, decodeConnectResponse, encodeConnectRequest } from '../../src/protocol/jute/index.js';

// Ports: suite X's block (test/integration/harness/target.ts), the 90s.
const PORT = 23890;

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads frames off a raw socket; next() resolves with the next frame's body, or null on close. */
function frames(s: net.Socket): { next(timeoutMs?: number): Promise<Buffer | null> } {
  let buf = Buffer.alloc(0);
  let closed = false;
  let wake: (() => void) | null = null;
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  s.on('close', () => {
    closed = true;
    wake?.();
  });
  return {
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
          const len = buf.readInt32BE(0);
          const body = buf.subarray(4, 4 + len);
          buf = buf.subarray(4 + len);
          return body;
        }
        if (closed) return null;
        if (Date.now() > deadline) throw new Error('no frame in time');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
        wake = null;
      }
    },
  };
}

test('a zkts client connects to the floor and its pings are answered', async () => {
  const floor = await startFloorServer(PORT);
  const zk = createClient(`127.0.0.1:${PORT}`, { sessionTimeoutMs: 3000 });
  try {
    await zk.waitConnected(10_000);
    assert.notEqual(zk.sessionId, 0n);
    assert.equal(floor.sessionsOpened, 1);
    await until('two pings answered', () => floor.pingsAnswered >= 2);
    assert.equal(zk.state, 'connected');
    assert.equal(floor.rejected, 0);
  } finally {
    await zk.close({ closeSession: false });
    await floor.close();
  }
});

test('a raw socket gets a ConnectResponse, a ping reply, and a close for anything else', async () => {
  const floor = await startFloorServer(PORT + 1);
  const s = net.connect({ port: PORT + 1, host: '127.0.0.1' });
  try {
    const f = frames(s);
    const w = new JuteWriter();
    w.beginFrame();
    encodeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 12_345, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false, localSession: false });
    w.endFrame();
    s.write(w.bytesCopy());
    const res = decodeConnectResponse(new JuteReader((await f.next())!));
    assert.equal(res.protocolVersion, 0);
    assert.equal(res.timeOut, 12_345);
    assert.notEqual(res.sessionId, 0n);
    assert.equal(res.passwd.byteLength, 16);

    const ping = Buffer.alloc(12);
    ping.writeInt32BE(8, 0);
    ping.writeInt32BE(Xid.ping, 4);
    ping.writeInt32BE(OpCode.ping, 8);
    // Two pings in one write, the second split from the first: both answered, in order.
    s.write(Buffer.concat([ping, ping.subarray(0, 5)]));
    s.write(ping.subarray(5));
    for (let k = 0; k < 2; k++) {
      const reply = (await f.next())!;
      assert.equal(reply.length, 16);
      assert.equal(reply.readInt32BE(0), Xid.ping);
      assert.equal(reply.readInt32BE(12), 0);
    }
    assert.equal(floor.pingsAnswered, 2);

    // getData (xid 1): not the floor's business; the connection is closed, nothing answered.
    const get = Buffer.alloc(12);
    get.writeInt32BE(8, 0);
    get.writeInt32BE(1, 4);
    get.writeInt32BE(OpCode.getData, 8);
    s.write(get);
    assert.equal(await f.next(), null);
    assert.equal(floor.rejected, 1);
  } finally {
    s.destroy();
    await floor.close();
  }
});

test('the floor process listens, answers, and stops on SIGTERM', async () => {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/load/floor-server.js');
  const child = spawn(process.execPath, [entry, '--port', String(PORT + 2)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    await until('the floor to listen', () => out.includes('floor listening'));
    const zk = createClient(`127.0.0.1:${PORT + 2}`, { sessionTimeoutMs: 3000 });
    await zk.waitConnected(10_000);
    await zk.close({ closeSession: false });
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
