// The lean watchers of `zkts load watch --lean` (src/load/lean-watch.ts): the event check, alone;
// against a real zkts server, every session is notified of one setData exactly once; a watch on a
// missing node is a failed arm, not a notified session; frames split across many reads (every
// socket reads into one shared buffer) arrive whole; and the scenario's --client lean run (or
// --lean, its older spelling) reports the same figures as the full-client run.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { EventType, KeeperState, Xid } from '../../src/common/zk.js';
import { runLoad } from '../../src/load/cli.js';
import { LeanWatchers, checkDataChangedEvent, firstServer } from '../../src/load/lean-watch.js';
import { startServer, type ServerHandle } from '../integration/harness/server.js';
import { SUITE_PORTS, suitePort } from '../integration/harness/target.js';

/** A notification frame's body: ReplyHeader (xid, zxid, err) then WatcherEvent. */
function event(over: { xid?: number; err?: number; type?: number; state?: number; path?: string } = {}): Buffer {
  const p = Buffer.from(over.path ?? '/w');
  const b = Buffer.alloc(16 + 12 + p.length);
  b.writeInt32BE(over.xid ?? Xid.notification, 0);
  b.writeInt32BE(-1, 4);
  b.writeInt32BE(-1, 8);
  b.writeInt32BE(over.err ?? 0, 12);
  b.writeInt32BE(over.type ?? EventType.nodeDataChanged, 16);
  b.writeInt32BE(over.state ?? KeeperState.syncConnected, 20);
  b.writeInt32BE(p.length, 24);
  p.copy(b, 28);
  return b;
}

test('the event check: xid -1, err ok, nodeDataChanged, SyncConnected, the path byte for byte', () => {
  const path = Buffer.from('/w');
  const ok = event();
  assert.equal(checkDataChangedEvent(ok, 0, ok.length, path), null);
  for (const bad of [
    event({ xid: 5 }),
    event({ err: -101 }),
    event({ type: EventType.nodeDeleted }),
    event({ state: 0 }),
    event({ path: '/x' }),
    event({ path: '/ww' }),
    ok.subarray(0, 20),
  ]) {
    assert.notEqual(checkDataChangedEvent(bad, 0, bad.length, path), null);
  }
});

test('the first server of a connect string', () => {
  assert.deepEqual(firstServer('127.0.0.1:2181'), { host: '127.0.0.1', port: 2181 });
  assert.deepEqual(firstServer('a:1,b:2/chroot'), { host: 'a', port: 1 });
  assert.deepEqual(firstServer('[::1]:3000'), { host: '::1', port: 3000 });
});

let server: ServerHandle;
let writer: ZkClient;

before(async () => {
  server = await startServer('zkts', { port: suitePort(SUITE_PORTS.leanProcess, 5), maxClientCnxns: 0 });
  writer = createClient(server.connectString, { sessionTimeoutMs: 10000 });
  await writer.waitConnected(20000);
  await writer.create('/lean-watch', 'v0');
});

after(async () => {
  await writer?.close();
  await server?.stop();
});

test('every lean watcher is notified of one setData, once', async () => {
  const { host, port } = firstServer(server.connectString);
  const lean = new LeanWatchers(40, { host, port, sessionTimeoutMs: 10000, localSession: false });
  try {
    const open = await lean.open(40, 8, 20000);
    assert.deepEqual([open.opened, open.failed], [40, 0]);
    assert.equal(open.latency.summaryMs().count, 40);
    assert.deepEqual(await lean.arm('/lean-watch', 20000), { armed: 40, failed: 0 });
    const t0 = Date.now();
    await writer.setData('/lean-watch', 'v1');
    const w = await lean.wait(40, 20000);
    assert.equal(w.arrivals.length, 40);
    assert.equal(w.unexpected, 0);
    for (const a of w.arrivals) assert.ok(a >= t0 - 1000, 'arrivals are wall-clock ms');
    // A second change: the one-shot watches are gone, so nothing more arrives (a second event
    // would be counted as unexpected and close its session). The writer's read after its write
    // shows the change was applied; the watchers' pings keep going.
    await writer.setData('/lean-watch', 'v2');
    await writer.getData('/lean-watch');
    const again = await lean.wait(41, 300);
    assert.equal(again.arrivals.length, 40);
    assert.equal(again.unexpected, 0);
    // Armed again, every session is notified of the next change.
    assert.deepEqual(await lean.arm('/lean-watch', 20000), { armed: 40, failed: 0 });
    await writer.setData('/lean-watch', 'v3');
    assert.equal((await lean.wait(40, 20000)).arrivals.length, 40);
    assert.equal(lean.notified, 40);
    assert.deepEqual([...lean.errors], []);
  } finally {
    await lean.closeAll(5000);
  }
});

test('a watch on a missing node is a failed arm', async () => {
  const { host, port } = firstServer(server.connectString);
  const lean = new LeanWatchers(3, { host, port, sessionTimeoutMs: 10000, localSession: false });
  try {
    await lean.open(3, 3, 20000);
    assert.deepEqual(await lean.arm('/lean-watch-missing', 20000), { armed: 0, failed: 3 });
    assert.equal(lean.errors.get('exists: err noNode'), 3);
  } finally {
    await lean.closeAll(5000);
  }
});

/** A proxy to `port` that hands the server's bytes on three at a time, each piece in its own
 *  write a timer tick after the last, so the client reads every frame in pieces (and a piece
 *  kept from one read would be overwritten by the next, were it not copied out). */
async function tricklingProxy(port: number): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((down) => {
    const up = net.connect({ host: '127.0.0.1', port, noDelay: true });
    down.setNoDelay(true);
    sockets.add(down).add(up);
    down.pipe(up);
    const queue: number[] = [];
    let sending = false;
    const next = (): void => {
      if (queue.length === 0 || down.destroyed) {
        sending = false;
        return;
      }
      down.write(Buffer.from(queue.splice(0, 3)));
      setTimeout(next, 1);
    };
    up.on('data', (chunk: Buffer) => {
      queue.push(...chunk);
      if (!sending) {
        sending = true;
        next();
      }
    });
    const closeBoth = (): void => {
      up.destroy();
      down.destroy();
    };
    up.on('close', closeBoth).on('error', closeBoth);
    down.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const addr = proxy.address() as net.AddressInfo;
  return {
    port: addr.port,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

test('frames that arrive a few bytes at a time are put together whole', async () => {
  const proxy = await tricklingProxy(firstServer(server.connectString).port);
  const lean = new LeanWatchers(3, { host: '127.0.0.1', port: proxy.port, sessionTimeoutMs: 10000, localSession: false });
  try {
    const open = await lean.open(3, 3, 30000);
    assert.deepEqual([open.opened, open.failed], [3, 0]);
    assert.deepEqual(await lean.arm('/lean-watch', 30000), { armed: 3, failed: 0 });
    await writer.setData('/lean-watch', 'split');
    const w = await lean.wait(3, 30000);
    assert.equal(w.arrivals.length, 3);
    assert.equal(w.unexpected, 0);
    assert.deepEqual([...lean.errors], []);
  } finally {
    await lean.closeAll(5000);
    proxy.close();
  }
});

for (const spelling of [['--client', 'lean'], ['--lean']]) {
  test(`zkts load watch ${spelling.join(' ')}: lean watchers in this process, every session notified`, async () => {
    const r = await runLoad(['watch', '-c', server.connectString, '--quiet', '--timeout', '60', ...spelling, '-n', '50', '--path', '/lean-watch-scenario'], {
      stdout: () => undefined,
      stderr: () => undefined,
    });
    assert.equal(r.code, 0, JSON.stringify(r.result?.problems));
    const s = r.result?.summary as {
      armed: number;
      notified: number;
      missed: number;
      unexpected: number;
      cpu: { windowMs: number; loadCpuMs: number; serverCpuMs: number | null; otherCpuMs: number | null } | null;
      timeToPercentMs: { first: number; p50: number; p100: number };
    };
    assert.deepEqual([s.armed, s.notified, s.missed, s.unexpected], [50, 50, 0, 0]);
    const t = s.timeToPercentMs;
    assert.ok(t.first >= 0 && t.first <= t.p50 && t.p50 <= t.p100, JSON.stringify(t));
    // The CPU of both sides over the fan-out (the server on loopback is found through /proc).
    assert.ok(s.cpu !== null && s.cpu.windowMs >= 0 && s.cpu.loadCpuMs >= 0, JSON.stringify(s.cpu));
    assert.equal(typeof s.cpu.serverCpuMs, 'number', 'the server found on its port');
    // From schedstat in ns, kept to 0.1 ms: a 50-session fan-out is far under one 10 ms tick.
    assert.ok(s.cpu.serverCpuMs! > 0 && Number.isInteger(Math.round(s.cpu.serverCpuMs! * 10)), String(s.cpu.serverCpuMs));
    assert.ok(typeof s.cpu.otherCpuMs === 'number' && s.cpu.otherCpuMs >= 0, 'the rest of the machine, from /proc/stat');
    assert.equal(r.result?.options['workers'], 0, 'no worker process holds a session');
    assert.equal(r.result?.options['client'], 'lean');
  });
}
