// ConnRegistry (src/workers/connections/registry.ts): the idle expiry of connections, over fake
// sockets (no threads, no sockets).

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { OutSlab, type ConnHandler } from '../../../src/workers/conn.js';
import type { WorkerSession } from '../../../src/workers/connections/client-conn.js';
import { ConnRegistry } from '../../../src/workers/connections/registry.js';
import { createWorkerLog } from '../../../src/workers/log.js';

class FakeSocket extends EventEmitter {
  remotePort = 1234;
  destroyed = false;
  writableLength = 0;
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const handler: ConnHandler = {
  onFrame: () => {},
  onFourLetter: () => false,
  onProtocolError: () => {},
  onClose: () => {},
};

function registry(): ConnRegistry {
  return new ConnRegistry({
    handler,
    slab: new OutSlab(1024),
    counters: { packetsReceived: 0, packetsSent: 0 },
    frameBytesMax: 1 << 20,
    log: createWorkerLog('error', 0),
    tickTimeMs: 100,
    nowMs: 0,
  });
}

describe('ConnRegistry idle expiry', () => {
  it('closes a connection idle past its timeout, and one heard from in time later', () => {
    const r = registry();
    const a = new FakeSocket();
    const conn = r.add(a as unknown as Socket, '127.0.0.1', 0);
    r.touch(conn, 500, 1000);
    r.poll(1400);
    assert.equal(a.destroyed, false, 'heard from at 500: idle until 1500');
    r.poll(1700);
    assert.equal(a.destroyed, true);
  });

  it('leaves a connection that holds a local session to the session expiry (one touch per ping)', () => {
    const r = registry();
    const local = new FakeSocket();
    const global = new FakeSocket();
    const lc = r.add(local as unknown as Socket, '127.0.0.1', 0);
    const gc = r.add(global as unknown as Socket, '127.0.0.1', 0);
    lc.session = { local: true } as WorkerSession;
    gc.session = { local: false } as WorkerSession;
    r.touch(lc, 0, 1000);
    r.touch(gc, 0, 1000);
    r.poll(20_000);
    assert.equal(local.destroyed, false, 'not queued: the local session expiry closes it');
    assert.equal(global.destroyed, true, 'a global session connection keeps its idle expiry');
  });
});
