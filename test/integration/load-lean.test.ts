// `zkts load hold` and `zkts load herd` on the lean client (issue 11, goal 4), run as real CLI
// processes (bin/zkts.js) against a real server, their JSON reports checked:
//
// - hold: every session held, pings answered, no protocol error, no disconnect; the server's and
//   the client's cost figures present (the server found by its listening port);
// - herd: every session drops at once and comes back with its own id, none expired or lost;
// - herd through the connection throttle (zkts and ZooKeeper 3.6+ shed a connect with a close):
//   the shed connects are retried after a short backoff and every session still comes back;
// - against a fake server that answers pings with the wrong xid: the run reports protocol errors
//   (exit status 3), counted by kind, and the sessions are dropped.
//
// Local sessions against zkts (the observer tier's kind); global ones against Apache ZooKeeper,
// whose local sessions do not survive a reconnect.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, isApache, suitePort, targetKind } from './harness/target.js';

/** Sessions per run: a few hundred over two worker processes. */
const sessions = 300;
/** A whole CLI run (start, open, hold or herd, close) ends within this, or the test fails. */
const runTimeoutMs = 120_000;

const servers: ServerHandle[] = [];
const dir = mkdtempSync(join(tmpdir(), 'zkts-load-lean-'));

after(async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** The parts of a `zkts load` JSON result the tests read. */
interface Summary {
  open: { opened: number; failed: number };
  hold: {
    connectedAtEnd: number;
    disconnects: number;
    expirations: number;
    protocolErrors: number;
    probes: number;
    errors: Record<string, number>;
    heartbeatRttMs: { max: number };
  };
  cost: { serverCpuUsPerPing: number | null; clientCpuUsPerPing: number | null; clientRssPerSessionBytes: number | null };
  serverPids: number[] | null;
  herd: {
    dropped: number;
    resumed: number;
    expired: number;
    failed: number;
    changedId: number;
    retries: number;
    retryReasons: Record<string, number>;
    errors: Record<string, number>;
    allBackMs: number;
    reconnectMs: { max: number };
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  result: { ok: boolean; problems: string[]; options: Record<string, unknown>; summary: Summary };
}

let runs = 0;
/** Runs `zkts load <args>` as a CLI process; resolves with its exit status and JSON result. */
async function zktsLoad(args: string[]): Promise<Run> {
  const out = join(dir, `run-${runs++}.json`);
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'zkts.js'), 'load', ...args, '--quiet', '--timeout', '100', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), runTimeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(killer);
  let result: Run['result'];
  try {
    result = JSON.parse(readFileSync(out, 'utf8')) as Run['result'];
  } catch {
    throw new Error(`zkts load ${args.join(' ')} exited ${code} without a report:\n${stdout}\n${stderr}`);
  }
  return { code, stdout, stderr, result };
}

async function server(i: number, extra: Record<string, string> = {}): Promise<ServerHandle> {
  const s = await startServer(targetKind(), {
    port: suitePort(SUITE_PORTS.loadLean, i),
    maxClientCnxns: 0, // every session from one address
    extra: { localSessionsEnabled: String(!isApache()), ...extra },
  });
  servers.push(s);
  return s;
}

const sessionArgs = (): string[] => (isApache() ? [] : ['--local-session']);

test('zkts load hold (lean): every session held, every ping answered, no errors, costs reported', async () => {
  const s = await server(0);
  const r = await zktsLoad(['hold', '-c', s.connectString, '-n', String(sessions), '-w', '2', '-d', '2', '--probe-interval', '500', '--session-timeout', '10000', ...sessionArgs()]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(r.result.ok, true);
  assert.equal(r.result.options['client'], 'lean');
  const { open, hold, cost, serverPids } = r.result.summary;
  assert.deepEqual([open.opened, open.failed], [sessions, 0]);
  assert.equal(hold.connectedAtEnd, sessions);
  assert.deepEqual([hold.disconnects, hold.expirations, hold.protocolErrors], [0, 0, 0]);
  assert.deepEqual(hold.errors, {});
  // A ping every 500 ms for 2 s: at least one round of every session answered.
  assert.ok(hold.probes >= sessions, `pings answered: ${hold.probes}`);
  assert.ok(hold.heartbeatRttMs.max > 0);
  // The server was found by its listening port (the launcher, or the process under it).
  assert.ok(Array.isArray(serverPids) && serverPids.length === 1);
  assert.ok(cost.serverCpuUsPerPing !== null && cost.clientCpuUsPerPing !== null && cost.clientRssPerSessionBytes !== null);
  assert.match(r.stdout, /load client cost/);
});

test('zkts load herd (lean): every session drops at once and comes back with its own id, none expired', async () => {
  const s = await server(1);
  const r = await zktsLoad(['herd', '-c', s.connectString, '-n', String(sessions), '-w', '2', '--session-timeout', '10000', ...sessionArgs()]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const { herd } = r.result.summary;
  assert.deepEqual([herd.dropped, herd.resumed, herd.expired, herd.failed, herd.changedId], [sessions, sessions, 0, 0, 0]);
  assert.deepEqual(herd.errors, {});
  assert.ok(herd.allBackMs > 0);
  assert.equal(herd.reconnectMs.max, herd.allBackMs);
});

test('zkts load herd (lean) through the connection throttle: shed connects are retried, every session comes back', async () => {
  // A small bucket (20 tokens, 5 more every 10 ms): a herd of 300 empties it many times over.
  const s = await server(2, { connection_throttle_tokens: '20', connection_throttle_fill_time: '10', connection_throttle_fill_count: '5' });
  const r = await zktsLoad(['herd', '-c', s.connectString, '-n', String(sessions), '-w', '2', '--concurrency', '300', '--session-timeout', '10000', ...sessionArgs()]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const { open, herd } = r.result.summary;
  assert.equal(open.opened, sessions);
  assert.deepEqual([herd.dropped, herd.resumed, herd.expired, herd.failed], [sessions, sessions, 0, 0]);
  assert.ok(herd.retries > 0, 'the throttle shed some re-attaches');
  assert.deepEqual(Object.keys(herd.retryReasons), ['connect: closed by the server']);
});

/** A server that answers every ConnectRequest properly and every ping with xid 5. */
async function wrongXidServer(port: number): Promise<net.Server> {
  const frame = (body: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
  const connectResponse = Buffer.alloc(4 + 4 + 8 + 4 + 16 + 1);
  connectResponse.writeInt32BE(10_000, 4); // timeOut (protocol version 0 before it)
  connectResponse.writeBigInt64BE(0x1234n, 8); // sessionId
  connectResponse.writeInt32BE(16, 16); // the password's length, then 16 zero bytes and readOnly
  const badPing = Buffer.alloc(16);
  badPing.writeInt32BE(5, 0);
  const srv = net.createServer((sock) => {
    let handshaken = false;
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        buf = buf.subarray(4 + buf.readInt32BE(0));
        sock.write(frame(handshaken ? badPing : connectResponse));
        handshaken = true;
      }
    });
    sock.on('error', () => sock.destroy());
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return srv;
}

test('zkts load hold (lean) against a server that answers pings with the wrong xid: protocol errors, exit 3', async () => {
  const port = suitePort(SUITE_PORTS.loadLean, 3);
  const srv = await wrongXidServer(port);
  try {
    const r = await zktsLoad(['hold', '-c', `127.0.0.1:${port}`, '-n', '20', '-w', '1', '-d', '2', '--probe-interval', '300', '--session-timeout', '10000']);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.result.ok, false);
    const { open, hold } = r.result.summary;
    assert.equal(open.opened, 20);
    assert.equal(hold.protocolErrors, 20);
    assert.equal(hold.connectedAtEnd, 0);
    assert.deepEqual(hold.errors, { 'ping: reply xid 5': 20 });
    assert.ok(r.result.problems.some((p) => /protocol checks/.test(p)), r.result.problems.join('\n'));
  } finally {
    await new Promise((res) => srv.close(res));
  }
});
