// Session worker: listen mode 'fd', as the Node 20 launcher runs it (src/main/launcher.ts): one
// listening socket, duplicated into fds 3 and 4 of the server process, one per worker.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestClient } from './harness/client.js';

const host = fileURLToPath(new URL('./harness/fd-host.js', import.meta.url));

describe("listen mode 'fd'", () => {
  let child: ChildProcess;
  let port = 0;
  let ports: number[] = [];
  before(async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    port = (server.address() as net.AddressInfo).port;
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    child = spawn(process.execPath, [host], { stdio: ['ignore', 'inherit', 'inherit', fd, fd, 'ipc'] });
    server.close(); // the child holds its duplicates; this process never accepts
    const ready = await new Promise<{ ports: number[] }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { ports: number[] }));
      child.once('exit', (code) => reject(new Error(`fd host exited with ${code}`)));
    });
    ports = ready.ports;
  });
  after(async () => {
    const stopped = new Promise<{ codes: number[] }>((resolve) => child.once('message', (m) => resolve(m as { codes: number[] })));
    child.send({ type: 'stop' });
    const { codes } = await stopped;
    assert.deepEqual(codes, [0, 0]);
  });

  it('has both workers listening on the launcher\'s port', () => {
    assert.deepEqual(ports, [port, port]);
  });

  it('serves sessions through both descriptors', async () => {
    const seen = new Map<number, number>();
    const clients: TestClient[] = [];
    for (let i = 0; i < 24; i++) {
      const c = await TestClient.connect(port);
      c.sendConnect();
      const r = await c.connectResponse();
      assert.notEqual(r.sessionId, 0n);
      const worker = Number((BigInt.asUintN(64, r.sessionId) >> 48n) & 0xffn);
      seen.set(worker, (seen.get(worker) ?? 0) + 1);
      clients.push(c);
    }
    for (const c of clients) c.destroy();
    if (process.env["ZKTS_TEST_DEBUG"]) console.error("accepted per worker", [...seen]);
    assert.equal([...seen.values()].reduce((a, b) => a + b, 0), 24);
    assert.ok([...seen.keys()].every((w) => w === 0 || w === 1));
  });
});
