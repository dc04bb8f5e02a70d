// Issue 9, items 10 and 11, over real sockets against a real server process:
//
// 10. globalOutstandingLimit is honoured as ZooKeeper honours it (ServerCnxn.incrOutstandingAnd-
//     CheckThrottle / ZooKeeperServer.shouldThrottle), and a client that pipelines far more
//     than that and never reads its replies costs the server a bounded amount of memory: it is
//     throttled, then closed, and other sessions are served meanwhile.
// 11. The per-IP connection table (maxClientCnxns) cannot be poisoned (two addresses that
//     collided under the old unkeyed 32-bit hash shared one count), frees the cells of
//     addresses that left, and refuses new addresses when full instead of admitting them.
//     Every address of 127.0.0.0/8 reaches the loopback interface on Linux, so one machine can
//     connect from many source addresses.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import {
  JuteReader,
  JuteWriter,
  Op,
  RawConn,
  connectRequest,
  createBody,
  openSession,
  parseConnectResponse,
  requestPacket,
} from '../harness/raw.js';
import { fourLetter, startServer, type ServerHandle } from '../harness/server.js';
import { SUITE_PORTS, isApache, suitePort, targetKind } from '../harness/target.js';

const servers: ServerHandle[] = [];
const sockets: net.Socket[] = [];
const raws: RawConn[] = [];

after(async () => {
  for (const s of sockets) s.destroy();
  for (const r of raws) r.destroy();
  for (const s of servers) await s.stop();
});

async function start(i: number, extra: Record<string, string>, maxClientCnxns = 60): Promise<ServerHandle> {
  const port = suitePort(SUITE_PORTS.advThrottle, i);
  const s = await startServer(targetKind(), { port, maxClientCnxns, extra });
  servers.push(s);
  return s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 50 ms until true or `timeoutMs` has passed; returns its last value. */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

// ---- memory of the server process tree -------------------------------------------------------

/** The pid and every descendant (zkts on Node 20 runs as a launcher and a server process). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const tid of fs.readdirSync(`/proc/${p}/task`)) {
        const kids = fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (kids !== '') out.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Resident memory of the server's process tree, in MiB. */
function rssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m !== null) kib += Number(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

/** Samples rssMiB every 50 ms; `stop()` returns the largest sample. */
function rssSampler(pid: number): { stop(): number } {
  let max = rssMiB(pid);
  const t = setInterval(() => {
    max = Math.max(max, rssMiB(pid));
  }, 50);
  t.unref();
  return {
    stop() {
      clearInterval(t);
      return Math.max(max, rssMiB(pid));
    },
  };
}

// ---- clients ---------------------------------------------------------------------------------

function pathBody(path: string, watch = false): Buffer {
  return new JuteWriter().string(path).bool(watch).bytes();
}

/** Connects (from `localAddress` if given) and completes a handshake; `ok` false when the
 *  server closes the connection without a valid ConnectResponse (refused). */
function tryHandshake(port: number, localAddress?: string): Promise<{ ok: boolean; socket: net.Socket }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) });
    sockets.push(socket);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ok, socket });
    };
    const timer = setTimeout(() => finish(false), 10_000);
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => socket.write(connectRequest({ timeOut: 30_000, readOnly: false })));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      const r = parseConnectResponse(buf.subarray(4, 4 + buf.readInt32BE(0)));
      finish(r.timeOut > 0);
    });
  });
}

/**
 * A session whose client stops reading right after the handshake: what it sends still goes
 * out, what the server answers piles up in the server's buffers.
 */
async function neverReadingSession(port: number): Promise<net.Socket> {
  const { ok, socket } = await tryHandshake(port);
  assert.ok(ok, 'the flooder gets a session');
  socket.removeAllListeners('data');
  socket.pause();
  return socket;
}

function mntrValue(text: string, key: string): number {
  const m = new RegExp(`^${key}\\t(\\d+)$`, 'm').exec(text);
  return m === null ? -1 : Number(m[1]);
}

// ============================================================================ item 10

describe('item 10: globalOutstandingLimit and a client that never reads', () => {
  test('a never-reading client pipelining large reads: memory stays bounded, others are served, it is closed', async () => {
    const server = await start(0, { globalOutstandingLimit: '1000' });
    const port = server.port;
    const witness = (await openSession(port, 30_000)).conn;
    raws.push(witness);
    const big = Buffer.alloc(1_000_000, 0x61); // under jute.maxbuffer (1048575)
    assert.equal((await witness.call(1, Op.create, createBody('/big', big), 20_000))?.err, 0);
    assert.equal((await witness.call(2, Op.create, createBody('/small', Buffer.from('x'))))?.err, 0);
    await sleep(500);
    const baseMiB = rssMiB(server.pid);
    const sampler = rssSampler(server.pid);

    // 5000 pipelined getData of a 1 MB node: 5 GB of replies if the server queued them all.
    const flooder = await neverReadingSession(port);
    let flooderClosed = false;
    flooder.on('close', () => (flooderClosed = true));
    const requests = 5000;
    const out = Buffer.concat(
      Array.from({ length: requests }, (_, i) => requestPacket(i + 1, Op.getData, pathBody('/big'))),
    );
    flooder.write(out, () => {});

    // Other sessions are served meanwhile (bounded waits, no timing assertion).
    let xid = 10;
    for (let i = 0; i < 5; i++) {
      const r = await witness.call(xid++, Op.getData, pathBody('/small'), 30_000);
      assert.ok(r !== null && r.err === 0, 'the witness is served during the flood');
      const other = await RawConn.open(port, '127.0.0.1', 30_000);
      raws.push(other);
      const hs = await other.handshake({ timeOut: 30_000, readOnly: false }, 30_000);
      assert.ok(hs !== null && hs.timeOut > 0, 'a new session is served during the flood');
      assert.equal((await other.call(1, Op.exists, pathBody('/small'), 30_000))?.err, 0);
      other.destroy();
      await sleep(200);
    }
    // The flooder does not read: the server stops reading it, then closes it (a paused client
    // socket sees the close only once it reads again).
    const closedLog = /closing connection: client does not read its replies/;
    const logged = await until(() => closedLog.test(server.logs()), 60_000);
    await sleep(1000);
    const peakMiB = sampler.stop();
    assert.ok(logged, 'the server closes a client that never reads, with a log line');
    flooder.on('data', () => {});
    flooder.resume();
    assert.ok(await until(() => flooderClosed, 30_000), 'the flooder finds its connection closed');
    const growthMiB = peakMiB - baseMiB;
    console.log(
      `# never-reading flooder (${requests} x getData of 1 MB): server RSS ${baseMiB.toFixed(0)} MiB ` +
        `before, peak ${peakMiB.toFixed(0)} MiB (+${growthMiB.toFixed(0)} MiB)`,
    );
    // Bounds that hold it: toWorkerOutboxHoldBytes (16 MiB) + a 4 MiB ring on the main thread;
    // connOutputBytesMax (64 MiB) in the worker; the rest is slack for GC and the allocator.
    assert.ok(growthMiB < 400, `server RSS grew by ${growthMiB.toFixed(0)} MiB`);
    const r = await witness.call(xid++, Op.getData, pathBody('/small'), 30_000);
    assert.ok(r !== null && r.err === 0, 'the witness is still served');
    assert.ok(!server.exited, 'the server is alive');
  });

  test('many never-reading clients on one worker together hold a bounded amount of output', { skip: isApache() }, async () => {
    const server = await start(4, { sessionWorkers: '1' });
    const port = server.port;
    const witness = (await openSession(port, 30_000)).conn;
    raws.push(witness);
    const big = Buffer.alloc(1_000_000, 0x62);
    assert.equal((await witness.call(1, Op.create, createBody('/big', big), 20_000))?.err, 0);
    await sleep(500);
    const baseMiB = rssMiB(server.pid);
    const sampler = rssSampler(server.pid);
    // 6 x 100 MB of replies; 6 x 64 MiB if every socket kept what connOutputBytesMax allows.
    const flooders: net.Socket[] = [];
    for (let f = 0; f < 6; f++) flooders.push(await neverReadingSession(port));
    // Round robin, so that their replies pile up together.
    for (let i = 0; i < 100; i++) {
      for (const sock of flooders) sock.write(requestPacket(i + 1, Op.getData, pathBody('/big')), () => {});
    }
    const pinger = setInterval(() => void witness.write(requestPacket(-2, Op.ping)), 1000);
    const shed = /closing connection: clients that do not read hold too much output/;
    const logged = await until(() => shed.test(server.logs()), 60_000);
    const r = await witness.call(2, Op.exists, pathBody('/big'), 30_000);
    clearInterval(pinger);
    assert.ok(r !== null && r.err === 0, 'the witness is served');
    await sleep(2000);
    const peakMiB = sampler.stop();
    const growthMiB = peakMiB - baseMiB;
    console.log(
      `# 6 never-reading clients on one worker (100 x getData of 1 MB each): server RSS ` +
        `${baseMiB.toFixed(0)} MiB before, peak ${peakMiB.toFixed(0)} MiB (+${growthMiB.toFixed(0)} MiB)`,
    );
    assert.ok(logged, 'the worker closes the client holding the most output, with a log line');
    // workerStalledOutputBytesMax (128 MiB) + toWorkerOutboxHoldBytes (16 MiB) + a 4 MiB ring,
    // and slack; 6 x connOutputBytesMax would be 384 MiB.
    assert.ok(growthMiB < 330, `server RSS grew by ${growthMiB.toFixed(0)} MiB`);
    for (const f of flooders) f.destroy();
    assert.ok(!server.exited);
  });

  test('requests in flight server-wide stay within globalOutstandingLimit plus one per connection', { skip: isApache() }, async () => {
    const limit = 20;
    const conns = 6;
    const perConn = 400;
    // One worker: mntr sums the workers' counts, each read at its own moment.
    const server = await start(1, { globalOutstandingLimit: String(limit), sessionWorkers: '1' });
    const port = server.port;
    const clients: RawConn[] = [];
    for (let c = 0; c < conns; c++) {
      const s = await openSession(port, 30_000);
      raws.push(s.conn);
      clients.push(s.conn);
      assert.equal((await s.conn.call(1, Op.create, createBody(`/n${c}`, Buffer.alloc(0)), 20_000))?.err, 0);
    }
    // Sample mntr while every connection pipelines its writes (they read their replies).
    let maxSeen = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const v = mntrValue(await fourLetter(port, 'mntr', 10_000), 'zk_outstanding_requests');
          maxSeen = Math.max(maxSeen, v);
          samples++;
        } catch {
          // a slow answer is not a failure here
        }
        await sleep(10);
      }
    })();
    await Promise.all(
      clients.map(async (conn, c) => {
        const setData = (i: number): Buffer =>
          requestPacket(i + 2, Op.setData, new JuteWriter().string(`/n${c}`).buffer(Buffer.from(String(i))).int(-1).bytes());
        await conn.write(Buffer.concat(Array.from({ length: perConn }, (_, i) => setData(i))));
        for (let i = 0; i < perConn; i++) {
          const r = await conn.nextReply(60_000);
          assert.ok(r !== null && r.err === 0 && r.xid === i + 2, `reply ${i} of connection ${c}`);
        }
      }),
    );
    sampling = false;
    await sampler;
    console.log(`# globalOutstandingLimit=${limit}, ${conns} connections x ${perConn} pipelined writes: ` +
      `largest zk_outstanding_requests seen ${maxSeen} in ${samples} samples`);
    assert.ok(samples > 0);
    assert.ok(maxSeen <= limit + conns, `zk_outstanding_requests reached ${maxSeen}`);
    const r = await clients[0]!.call(9999, Op.getData, pathBody('/n0'), 20_000);
    assert.ok(r !== null && r.err === 0);
    assert.equal(new JuteReader(r.body).buffer()?.toString(), String(perConn - 1), 'every write applied');
  });
});

// ============================================================================ item 11

describe('item 11: the per-IP connection table', () => {
  test('two addresses that collide under the old unkeyed hash do not share a count', async () => {
    // ipHash('127.3.120.18') === ipHash('127.3.156.2') === 3193676353 under the old table's
    // FNV-1a + murmur finaliser: an attacker with one address used up another's quota.
    const server = await start(2, {}, 3);
    const attacker = '127.3.120.18';
    const victim = '127.3.156.2';
    for (let i = 0; i < 3; i++) assert.ok((await tryHandshake(server.port, attacker)).ok, `attacker connection ${i}`);
    assert.ok(!(await tryHandshake(server.port, attacker)).ok, 'maxClientCnxns holds for the attacker');
    assert.ok((await tryHandshake(server.port, victim)).ok, 'the victim still gets in');
  });

  test('cells of addresses that left are freed; a full table refuses new addresses', { skip: isApache() }, async () => {
    const addressesMax = 32;
    const server = await start(3, { maxClientAddresses: String(addressesMax) }, 2);
    const port = server.port;
    const addr = (i: number): string => `127.0.0.${i}`;
    const held: net.Socket[] = [];
    for (let i = 2; i < 2 + addressesMax; i++) {
      const r = await tryHandshake(port, addr(i));
      assert.ok(r.ok, `address ${addr(i)} gets in`);
      held.push(r.socket);
    }
    // Full: a new address is refused, a known one still gets in (up to maxClientCnxns).
    assert.ok(!(await tryHandshake(port, addr(2 + addressesMax))).ok, 'a new address is refused when the table is full');
    const full = /Too many client addresses connected/;
    assert.ok(await until(() => full.test(server.logs()), 20_000), 'the refusal is logged'); // logs are async
    const again = await tryHandshake(port, addr(2));
    assert.ok(again.ok, 'an address already counted still gets in');
    again.socket.destroy();
    // Everyone leaves: the table empties (the server counts the closes asynchronously).
    for (const s of held) s.destroy();
    assert.ok(
      await until(async () => {
        const r = await tryHandshake(port, addr(2 + addressesMax));
        r.socket.destroy();
        return r.ok;
      }, 20_000),
      'room again once the addresses left',
    );
    // Many more addresses than the table holds, one after another: cells are freed each time.
    for (let i = 2 + addressesMax + 1; i <= 254; i++) {
      const ok = await until(async () => {
        const r = await tryHandshake(port, addr(i));
        r.socket.destroy();
        return r.ok;
      }, 20_000);
      assert.ok(ok, `address ${addr(i)} gets in after ${i - 2} addresses came and went`);
    }
    // maxClientCnxns is still enforced for a new address.
    await sleep(500);
    const a = await tryHandshake(port, addr(200));
    const b = await tryHandshake(port, addr(200));
    assert.ok(a.ok && b.ok, 'two connections from one address');
    assert.ok(!(await tryHandshake(port, addr(200))).ok, 'the third is refused (maxClientCnxns=2)');
    assert.ok(!server.exited);
  });
});
