// The WebSocket client transport (issue 12 item 4; src/workers/ws-transport.ts, the client's
// ws:// hosts in src/client/ws-socket.ts): a real zkts server process, the zkts client over
// ws://, and raw WebSocket clients for bad input. Each case runs on every engine: uWebSockets.js
// (Node 20), node:http + ws on Node 20 (httpEngine=node, two workers: worker 0 alone listens)
// and node:http + ws on Node 24 (reusePort).
//
// The servers run with globalOutstandingLimit=1, so every connection with a request in flight
// stops being read: the WebSocket path that holds messages while paused is on every request.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { CreateMode, createClient, type WatchEvent, type ZkClient } from '../../src/client/index.js';
import { OpCode } from '../../src/common/zk.js';
import { fourLetter, repoRoot, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';

const require = createRequire(import.meta.url);
const node24 = require.resolve('node24/bin/node');
const wsPath = '/zookeeper';
const juteMaxBuffer = 8192;

interface Variant {
  readonly name: string;
  readonly binary: string;
  readonly extra: Record<string, string>;
  readonly engine: 'uws' | 'node';
}

const variants: Variant[] = [
  { name: 'uWebSockets.js on Node 20', binary: process.execPath, extra: { httpEngine: 'uws' }, engine: 'uws' },
  { name: 'node:http + ws on Node 20 (httpEngine=node)', binary: process.execPath, extra: { httpEngine: 'node' }, engine: 'node' },
  { name: 'node:http + ws on Node 24', binary: node24, extra: {}, engine: 'node' },
];

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it holds (bounded). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function onceState(c: ZkClient, state: string, timeoutMs = 20_000): Promise<void> {
  if (c.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${state}' within ${timeoutMs} ms (state ${c.state})`)), timeoutMs);
    c.once(state, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** A raw WebSocket, open. */
function openWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/**
 * Waits until `url` takes WebSockets: the harness calls a server started once its client port
 * answers, and a worker may answer there before every worker's WebSocket listener is up.
 */
async function wsReady(url: string): Promise<void> {
  await until(`a WebSocket listener at ${url}`, async () => {
    try {
      (await openWs(url)).terminate();
      return true;
    } catch {
      return false;
    }
  });
}

/** Resolves with the close code once `ws` closes (bounded). */
function closed(ws: WebSocket, timeoutMs = 10_000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the server did not close the WebSocket')), timeoutMs);
    ws.once('close', (code: number) => {
      clearTimeout(t);
      resolve(code);
    });
    ws.on('error', () => {});
  });
}

/** A ConnectRequest (no length word): protocolVersion, lastZxid, timeOut, sessionId, passwd. */
function connectRequestMessage(): Buffer {
  const b = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  b.writeInt32BE(30_000, 12);
  b.writeInt32BE(16, 24);
  return b;
}

/** A getData request message (no length word): RequestHeader, path, watch=false. */
function getDataMessage(xid: number, path: string): Buffer {
  const p = Buffer.from(path);
  const b = Buffer.alloc(8 + 4 + p.length + 1);
  b.writeInt32BE(xid, 0);
  b.writeInt32BE(OpCode.getData, 4);
  b.writeInt32BE(p.length, 8);
  p.copy(b, 12);
  return b;
}

/**
 * Waits until the server has stopped reading the busiest connection (by `cons`): its received
 * count stays below `sentByClient` over several polls. Fails if the server reads them all.
 */
async function serverStoppedReading(port: number, sentByClient: number): Promise<void> {
  let last = -1;
  let same = 0;
  await until('the server to stop reading the client', async () => {
    const rows = [...(await fourLetter(port, 'cons')).matchAll(/recved=(\d+),sent=(\d+)/g)].map((m) => ({ recved: Number(m[1]), sent: Number(m[2]) }));
    const busiest = rows.reduce((a, b) => (b.sent > a.sent ? b : a), { recved: 0, sent: 0 });
    if (busiest.recved >= sentByClient) throw new Error(`the server read all ${busiest.recved} requests`);
    same = busiest.recved === last && busiest.sent > 100 ? same + 1 : 0;
    last = busiest.recved;
    if (same < 3) await sleep(200);
    return same >= 3;
  }, 60_000);
}

/** /big: a node whose getData replies are ~7 KB. */
async function ensureBig(url: string): Promise<void> {
  const c = createClient(url);
  try {
    await c.waitConnected(20_000);
    if ((await c.exists('/big')) === null) await c.create('/big', Buffer.alloc(juteMaxBuffer - 1024, 7));
  } finally {
    await c.close();
  }
}

/** A raw WebSocket with a session on it (its ConnectResponse read). */
async function rawSession(url: string): Promise<WebSocket> {
  // A connect that comes while the server is still starting (the harness calls it started once
  // its client port answers) is closed unanswered, "ZooKeeperServer not running": connect
  // again, as a client does.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ws = await openWs(url);
    const answered = new Promise<Buffer | null>((resolve) => {
      ws.once('message', (m: Buffer) => resolve(m));
      ws.once('close', () => resolve(null));
    });
    ws.send(connectRequestMessage());
    const reply = await answered;
    if (reply === null) {
      if (Date.now() > deadline) throw new Error('no ConnectResponse: every connect was closed unanswered');
      await sleep(50);
      continue;
    }
    assert.ok(reply.length >= 36, 'a ConnectResponse');
    return ws;
  }
}

for (const [index, v] of variants.entries()) {
  describe(`WebSocket transport: ${v.name}`, () => {
    const port = suitePort(SUITE_PORTS.webSocket, index);
    const wsPort = port + 3;
    const url = `ws://127.0.0.1:${wsPort}${wsPath}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'zkts-ws-'));
    let server: ServerHandle;
    const start = (): Promise<ServerHandle> =>
      startServer('zkts', {
        port,
        dataDir,
        nodeBinary: v.binary,
        tickTime: 200,
        maxSessionTimeout: 15_000,
        extra: {
          ...v.extra,
          sessionWorkers: '2',
          webSocketPort: String(wsPort),
          webSocketPath: wsPath,
          globalOutstandingLimit: '1',
          'jute.maxbuffer': String(juteMaxBuffer),
          logLevel: 'info',
        },
      });
    before(async () => {
      server = await start();
      await wsReady(url);
    });
    after(async () => {
      await server?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('the server says which engine carries the transport', async () => {
      await until('the listening line', () => server.logs().includes('WebSocket transport listening'));
      const line = server.logs().split('\n').find((l) => l.includes('WebSocket transport listening')) ?? '';
      assert.equal((JSON.parse(line) as { engine?: string }).engine, v.engine);
      if (v.binary === process.execPath && v.engine === 'node') {
        assert.match(server.logs(), /worker 0 alone serves it/);
      }
    });

    test('create, get, set, watches, ephemerals and pipelined requests over ws://', async () => {
      const c = createClient(url, { sessionTimeoutMs: 10_000 });
      try {
        await c.waitConnected(20_000);
        assert.equal(c.connectedHost, url);
        await c.create('/w', 'one');
        assert.equal(String((await c.getData('/w')).data), 'one');
        const events: WatchEvent[] = [];
        await c.getData('/w', (e) => events.push(e));
        await c.exists('/w/kid', (e) => events.push(e));
        const stat = await c.setData('/w', 'two');
        assert.equal(stat.version, 1);
        await c.create('/w/kid', '', { mode: CreateMode.ephemeral });
        await until('two watch events', () => events.length === 2);
        assert.deepEqual(events.map((e) => `${e.name} ${e.path}`).sort(), ['nodeCreated /w/kid', 'nodeDataChanged /w']);
        assert.deepEqual(await c.getEphemerals('/w'), ['/w/kid']);
        // Many requests in one turn: one message each, answered in order while the server
        // stops reading the connection between them (globalOutstandingLimit=1).
        const n = 200;
        const got = await Promise.all(Array.from({ length: n }, (_, i) => c.setData('/w', `v${i}`)));
        assert.deepEqual(
          got.map((s) => s.version),
          Array.from({ length: n }, (_, i) => 2 + i),
        );
        // A TCP client sees what the WebSocket client wrote.
        const tcp = createClient(server.connectString);
        try {
          assert.equal(String((await tcp.getData('/w')).data), `v${n - 1}`);
        } finally {
          await tcp.close();
        }
      } finally {
        await c.close();
      }
      const check = createClient(url);
      try {
        assert.equal(await check.exists('/w/kid'), null, 'the ephemeral went with its session');
      } finally {
        await check.close();
      }
    });

    test('a session moves between WebSocket and TCP connections', async () => {
      const a = createClient(url, { sessionTimeoutMs: 10_000 });
      await a.waitConnected(20_000);
      await a.create('/moving', '', { mode: CreateMode.ephemeral });
      const sessionId = a.sessionId;
      const password = a.sessionPassword;
      await a.close({ closeSession: false });
      const overTcp = createClient(server.connectString, { sessionId, password, sessionTimeoutMs: 10_000 });
      await overTcp.waitConnected(20_000);
      assert.equal(overTcp.sessionId, sessionId);
      assert.equal((await overTcp.exists('/moving'))?.ephemeralOwner, sessionId);
      // Back over ws:// while the TCP connection is open: the TCP one is closed by the server.
      const back = createClient(url, { sessionId, password, sessionTimeoutMs: 10_000 });
      try {
        await back.waitConnected(20_000);
        assert.equal(back.sessionId, sessionId);
        assert.equal((await back.exists('/moving'))?.ephemeralOwner, sessionId);
        await overTcp.close({ closeSession: false });
      } finally {
        await back.close();
      }
    });

    test('a session over ws:// expires, and its ephemerals go', async () => {
      const a = createClient(url, { sessionTimeoutMs: 1000 });
      await a.waitConnected(20_000);
      await a.create('/short', '', { mode: CreateMode.ephemeral });
      const sessionId = a.sessionId;
      const password = a.sessionPassword;
      await a.close({ closeSession: false });
      const watcher = createClient(url);
      try {
        await until('the ephemeral of the expired session to go', async () => (await watcher.exists('/short')) === null);
        const again = createClient(url, { sessionId, password });
        try {
          await onceState(again, 'expired');
        } finally {
          await again.close();
        }
      } finally {
        await watcher.close();
      }
    });

    test('the client reconnects over ws:// with its session after a server restart', async () => {
      const a = createClient(url, { sessionTimeoutMs: 15_000, retryDelayMs: 100, reconnectJitterMs: 100 });
      try {
        await a.waitConnected(20_000);
        await a.create('/survivor', '', { mode: CreateMode.ephemeral });
        const sessionId = a.sessionId;
        const lost = onceState(a, 'disconnected');
        await server.stop();
        await lost;
        server = await start();
        await wsReady(url);
        await onceState(a, 'connected', 30_000);
        assert.equal(a.sessionId, sessionId);
        assert.equal((await a.exists('/survivor'))?.ephemeralOwner, sessionId);
      } finally {
        await a.close();
      }
    });

    test('a client that stops reading: the server stops reading it, and resumes on drain', async () => {
      await ensureBig(url);
      const ws = await rawSession(url);
      try {
        // ~28 MB of replies while the client reads nothing: past the kernel's buffers and the
        // server's pause mark (connOutputPauseBytes), so its output backs up and it stops
        // reading this connection; once the client reads again every reply comes, in order.
        const n = 4000;
        const xids: number[] = [];
        ws.on('message', (m: Buffer) => xids.push(m.readInt32BE(0)));
        ws.pause();
        for (let i = 1; i <= n; i++) ws.send(getDataMessage(i, '/big'));
        await serverStoppedReading(port, n + 1);
        ws.resume();
        await until(`${n} replies`, () => xids.length === n, 60_000);
        assert.deepEqual(xids, Array.from({ length: n }, (_, i) => i + 1));
      } finally {
        ws.terminate();
      }
    });

    test('a client that sends on past backpressure is closed, with a log line', async () => {
      await ensureBig(url);
      const ws = await rawSession(url);
      try {
        ws.pause();
        for (let i = 1; i <= 4000; i++) ws.send(getDataMessage(i, '/big'));
        await serverStoppedReading(port, 4001);
        // Held while paused: more than wsPausedInputBytesMax (4 MiB) of messages.
        const junk = Buffer.alloc(juteMaxBuffer - 16);
        const code = closed(ws, 60_000);
        for (let i = 0; i < 700 && ws.readyState === WebSocket.OPEN; i++) ws.send(junk);
        ws.resume();
        await code;
        await until('the backpressure line', () => server.logs().includes('sends on past backpressure'));
      } finally {
        ws.terminate();
      }
    });

    test('bad input closes only that connection, with a log line', async () => {
      const bystander = createClient(url);
      try {
        await bystander.waitConnected(20_000);
        await bystander.create('/bad-input', 'ok');
        // A text message.
        let ws = await openWs(url);
        ws.send('ruok');
        await closed(ws);
        await until('the text-message line', () => server.logs().includes('a text WebSocket message'));
        // One byte over jute.maxbuffer: the Conn's own length check.
        ws = await openWs(url);
        ws.send(Buffer.alloc(juteMaxBuffer + 1));
        await closed(ws);
        await until('the length line', () => server.logs().includes(`Len error ${juteMaxBuffer + 1}`));
        // Far over it: the engine refuses the message.
        ws = await openWs(url);
        ws.send(Buffer.alloc(4 * juteMaxBuffer));
        await closed(ws);
        await until('the too-big line', () => /a WebSocket message over jute.maxbuffer|Max payload size exceeded/.test(server.logs()));
        // A ConnectRequest that does not parse.
        ws = await openWs(url);
        ws.send(Buffer.from([0, 0, 0]));
        await closed(ws);
        await until('the malformed line', () => server.logs().includes('malformed ConnectRequest'));
        // A request frame that does not parse, after a good handshake.
        ws = await rawSession(url);
        ws.send(Buffer.from([0, 0, 0, 1, 0]));
        await closed(ws);
        // An upgrade on another path is refused.
        const refused = await new Promise<number>((resolve) => {
          const other = new WebSocket(`ws://127.0.0.1:${wsPort}/elsewhere`);
          other.once('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            other.terminate();
          });
          other.once('error', () => resolve(-1));
        });
        assert.equal(refused, 404);
        await until('the wrong-path line', () => /not (the|a) WebSocket path/.test(server.logs()));
        // The bystander's session was not disturbed.
        assert.equal(String((await bystander.getData('/bad-input')).data), 'ok');
        assert.equal(bystander.state, 'connected');
      } finally {
        await bystander.close();
      }
    });
  });
}

/** A zkts server process on `lines` of zoo.cfg (its exit code is the test's business). */
function spawnServer(binary: string, dir: string, lines: string[]): { pid: number; exited: Promise<[number | null, string | null]>; log: () => string } {
  writeFileSync(join(dir, 'zoo.cfg'), `${lines.join('\n')}\n`);
  const child = spawn(binary, [join(repoRoot(), 'bin', 'zkts.js'), 'server', join(dir, 'zoo.cfg')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  return { pid: child.pid ?? 0, exited, log: () => log };
}

// A WebSocket port that cannot be bound stops the start-up with an error and exit code 1, not
// the abort of a uWS app left open in a worker thread.
for (const [index, v] of variants.entries()) {
  test(`a WebSocket port already taken fails the start cleanly: ${v.name}`, { timeout: 60_000 }, async () => {
    const port = suitePort(SUITE_PORTS.webSocket, 8);
    const wsPort = port + 3 + index;
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(wsPort, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'zkts-ws-taken-'));
    try {
      const lines = [
        'tickTime=200',
        `dataDir=${join(dir, 'data')}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        'sessionWorkers=2',
        `webSocketPort=${wsPort}`,
        ...Object.entries(v.extra).map(([k, val]) => `${k}=${val}`),
      ];
      const { pid, exited, log } = spawnServer(v.binary, dir, lines);
      const timer = setTimeout(() => process.kill(pid, 'SIGKILL'), 30_000);
      const [code, signal] = await exited;
      clearTimeout(timer);
      assert.deepEqual([code, signal], [1, null], log());
      assert.match(log(), new RegExp(`EADDRINUSE|cannot listen on 127.0.0.1:${wsPort}`));
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// maxClientCnxns counts TCP and WebSocket connections together, and a server with WebSocket
// connections open stops cleanly on SIGTERM (exit code 0: a uWS app left open in a worker thread
// would abort the process).
for (const [index, v] of variants.entries()) {
  test(`maxClientCnxns and a clean SIGTERM stop: ${v.name}`, { timeout: 60_000 }, async () => {
    const port = suitePort(SUITE_PORTS.webSocket, 5 + index);
    const wsPort = port + 3;
    const url = `ws://127.0.0.1:${wsPort}${wsPath}`;
    const dir = mkdtempSync(join(tmpdir(), 'zkts-ws-stop-'));
    const lines = [
      'tickTime=200',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      'maxClientCnxns=4',
      'sessionWorkers=2',
      `webSocketPort=${wsPort}`,
      ...Object.entries(v.extra).map(([k, val]) => `${k}=${val}`),
    ];
    const { pid, exited, log } = spawnServer(v.binary, dir, lines);
    const open: (WebSocket | net.Socket | ZkClient)[] = [];
    try {
      const c = createClient(url);
      open.push(c);
      await c.waitConnected(30_000);
      await c.create('/x', '');
      open.push(await openWs(url));
      for (let i = 0; i < 2; i++) {
        // A session each (its ConnectResponse read), so the server has counted it.
        const s = net.connect({ port, host: '127.0.0.1' });
        s.on('error', () => {});
        const body = connectRequestMessage();
        const frame = Buffer.alloc(4 + body.length);
        frame.writeInt32BE(body.length, 0);
        body.copy(frame, 4);
        s.write(frame);
        await new Promise((r) => s.once('data', r));
        open.push(s);
      }
      // Four from 127.0.0.1: a fifth, over either transport, is refused.
      const fifth = await openWs(url).catch(() => null);
      if (fifth !== null) await closed(fifth);
      await until('the refusal line', () => log().includes('Too many connections from /127.0.0.1 - max is 4'));
      assert.equal(c.state, 'connected');
    } finally {
      process.kill(pid, 'SIGTERM');
      const [code, signal] = await exited;
      for (const o of open) {
        if (o instanceof WebSocket) o.terminate();
        else if (o instanceof net.Socket) o.destroy();
        else await o.close({ timeoutMs: 100 }).catch(() => {});
      }
      rmSync(dir, { recursive: true, force: true });
      assert.deepEqual([code, signal], [0, null], `exit with WebSockets open; log:\n${log().slice(-2000)}`);
    }
  });
}

/** The role `srvr` reports on `port`, or null. */
async function mode(port: number): Promise<string | null> {
  try {
    return /^Mode: (\S+)/m.exec(await fourLetter(port, 'srvr'))?.[1] ?? null;
  } catch {
    return null;
  }
}

// 3 voters (uWS, Node 20) + 1 observer (node:http + ws, Node 24), each with the WebSocket
// transport: watches set over ws:// on a follower and on the observer fire for a write made over
// ws:// on the leader; a session moves from the observer to a follower over ws://; an ephemeral
// made over ws:// goes everywhere with its session.
test('a 3-voter + observer ensemble over ws://', { timeout: 180_000 }, async () => {
  const base = SUITE_PORTS.webSocket + 30; // 20330..20349: five ports per member
  const ports = [0, 1, 2, 3].map((i) => base + 5 * i);
  const cfg: Record<string, string> = {};
  ports.forEach((p, i) => (cfg[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i === 3 ? ':observer' : ''}`));
  const members: ServerHandle[] = [];
  const dirs: string[] = [];
  const clients: ZkClient[] = [];
  const wsUrl = (i: number): string => `ws://127.0.0.1:${ports[i]! + 3}${wsPath}`;
  const connect = async (i: number, options: Parameters<typeof createClient>[1] = {}): Promise<ZkClient> => {
    const c = createClient(wsUrl(i), options);
    clients.push(c);
    await c.waitConnected(30_000);
    return c;
  };
  try {
    for (let i = 0; i < 4; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'zkts-ws-ens-'));
      dirs.push(dataDir);
      writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
      const extra = { ...cfg, sessionWorkers: '2', webSocketPort: String(ports[i]! + 3), ...(i === 3 ? { peerType: 'observer' } : {}) };
      members.push(await startServer('zkts', { port: ports[i]!, dataDir, tickTime: 200, nodeBinary: i === 3 ? node24 : process.execPath, extra }));
    }
    let modes: (string | null)[] = [];
    await until('a leader, two followers and an observer', async () => {
      modes = await Promise.all(ports.map((p) => mode(p)));
      return [...modes].sort().join() === 'follower,follower,leader,observer';
    }, 60_000);
    const leader = modes.indexOf('leader');
    const follower = modes.indexOf('follower');
    const observer = 3;
    const lc = await connect(leader);
    await lc.create('/ens', 'zero');
    const fc = await connect(follower);
    const oc = await connect(observer);
    const seen: string[] = [];
    await until('/ens on the follower and the observer', async () => (await fc.exists('/ens')) !== null && (await oc.exists('/ens')) !== null);
    await fc.getData('/ens', (e) => seen.push(`follower ${e.name}`));
    await oc.getData('/ens', (e) => seen.push(`observer ${e.name}`));
    await lc.setData('/ens', 'one');
    await until('both watches', () => seen.length === 2);
    assert.deepEqual(seen.sort(), ['follower nodeDataChanged', 'observer nodeDataChanged']);
    // A write through the observer, over ws://, forwarded to the leader.
    await oc.create('/ens/eph', '', { mode: CreateMode.ephemeral });
    const sessionId = oc.sessionId;
    const password = oc.sessionPassword;
    await oc.close({ closeSession: false });
    const moved = await connect(follower, { sessionId, password });
    assert.equal(moved.sessionId, sessionId);
    assert.equal((await moved.exists('/ens/eph'))?.ephemeralOwner, sessionId);
    await moved.close();
    await until('the ephemeral gone on the leader', async () => (await lc.exists('/ens/eph')) === null);
  } finally {
    for (const c of clients) await c.close({ timeoutMs: 500 }).catch(() => {});
    for (const m of members) await m.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

// The server-wide connection throttle (BlueThrottle) takes its tokens from WebSocket connects as
// from TCP ones: with 2 tokens and no refill within the test, a third connect over ws:// is
// closed without a session, and mntr counts it.
for (const v of variants) {
  test(`the connection throttle counts WebSocket connects: ${v.name}`, { timeout: 60_000 }, async () => {
    const port = suitePort(SUITE_PORTS.webSocket, 9);
    const url = `ws://127.0.0.1:${port + 3}${wsPath}`;
    const server = await startServer('zkts', {
      port,
      nodeBinary: v.binary,
      extra: {
        ...v.extra,
        webSocketPort: String(port + 3),
        connThrottleTokens: '2',
        connThrottleFillTime: '600000',
        connThrottleFillCount: '1',
      },
    });
    const open: WebSocket[] = [];
    try {
      await wsReady(url);
      open.push(await rawSession(url), await rawSession(url));
      const third = await openWs(url);
      open.push(third);
      let answered = false;
      third.on('message', () => {
        answered = true;
      });
      third.send(connectRequestMessage());
      await closed(third);
      assert.equal(answered, false, 'a throttled connect gets no ConnectResponse');
      const mntr = await fourLetter(port, 'mntr');
      assert.match(mntr, /zk_connection_rejected\s+1\b/);
    } finally {
      for (const ws of open) ws.terminate();
      await server.stop();
    }
  });
}
