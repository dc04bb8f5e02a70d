// npm run bench:websocket — what an idle session and a ping cost a zkts server over the WebSocket
// transport against TCP, on the same server in the same run (issue 11 goal 8, issue 12 item 4).
// Run it under flock (`flock /work/wt/bench.lock npm run bench:websocket`).
//
// A zkts standalone (ports 25700 client, 25703 WebSocket; localSessionsEnabled=true, so a
// session is the worker's alone, as in bench:session-cost), the same config for both transports,
// and this process as the client, with raw sockets and one ConnectRequest each (no client
// library above them):
//   1. RSS of the server (all its processes) before any session;
//   2. S sessions over a transport, C connects in flight; settle; (RSS after - RSS before) / S
//      is the RSS per idle session of that transport;
//   3. every session of it is pinged every P ms for W s: the server's utime+stime over the
//      window / pings answered = server CPU µs per ping.
// --mode fresh (default): each transport on a fresh server, one after the other in this run
// (--order says which first). --mode shared: one server, the second set opened beside the first;
// there the second set looks cheaper (the heap grown for the first has room for part of it), so
// run both orders. The table gives both transports and their ratio (ws / tcp). Busy-machine
// figures are indicative only; the ratio of the same run is the figure to quote.
//
// Options: --sessions S (5000) --ping-ms P (1000) --window-s W (15) --in-flight C (64)
// --order ws,tcp|tcp,ws --mode fresh|shared --http-engine auto|uws|node --node BINARY (the server's Node)
// --settle-ms (3000) --json FILE

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { OpCode, Xid } from '../src/common/zk.js';
import { loadUws } from '../src/http/app.js';
import { treeCpuTicks, treeRss } from '../src/load/proc.js';
import { startServer } from '../test/integration/harness/server.js';

type Transport = 'ws' | 'tcp';
const clientPort = 25700;
const wsPort = 25703;
const wsPath = '/zookeeper';
const clockTicksPerS = 100; // getconf CLK_TCK on Linux
const sessionsMax = 9000; // two transports in one process, under 20,000 open files
const sessionTimeoutMs = 120_000; // no session expires while the other transport's window runs

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '5000' },
    'ping-ms': { type: 'string', default: '1000' },
    'window-s': { type: 'string', default: '15' },
    'in-flight': { type: 'string', default: '64' },
    order: { type: 'string', default: 'ws,tcp' },
    'http-engine': { type: 'string', default: 'auto' },
    node: { type: 'string', default: process.execPath },
    'settle-ms': { type: 'string', default: '3000' },
    mode: { type: 'string', default: 'fresh' },
    json: { type: 'string' },
  },
});
const sessions = Math.min(sessionsMax, Math.max(1, Number(values.sessions)));
const pingMs = Math.max(10, Number(values['ping-ms']));
const windowMs = Math.max(1, Number(values['window-s'])) * 1000;
const inFlight = Math.max(1, Number(values['in-flight']));
const settleMs = Math.max(0, Number(values['settle-ms']));
const order = (values.order ?? 'ws,tcp').split(',') as Transport[];
if (order.length !== 2 || !order.includes('ws') || !order.includes('tcp')) throw new Error('--order ws,tcp or tcp,ws');

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** ConnectRequest (no length word): protocol 0, lastZxid 0, timeOut, session 0, a zero password. */
const connectBody = (() => {
  const b = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
  b.writeInt32BE(sessionTimeoutMs, 12);
  b.writeInt32BE(16, 24);
  return b;
})();
const pingBody = (() => {
  const b = Buffer.alloc(8);
  b.writeInt32BE(Xid.ping, 0);
  b.writeInt32BE(OpCode.ping, 4);
  return b;
})();
const withLength = (body: Buffer): Buffer => {
  const b = Buffer.alloc(4 + body.length);
  b.writeInt32BE(body.length, 0);
  body.copy(b, 4);
  return b;
};
const connectFrame = withLength(connectBody);
const pingFrame = withLength(pingBody);

/** One held session over either transport. */
interface Held {
  send(): void;
  close(): void;
}

/** Pings answered; sessions the server closed (not counted once this process closes them). */
const counts = { pongs: 0, lost: 0, closing: false };

/** A session over TCP: resolves once its ConnectResponse came; counts ping replies after. */
function tcpSession(): Promise<Held> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: clientPort, host: '127.0.0.1', noDelay: true });
    let pending: Buffer = Buffer.alloc(0);
    let attached = false;
    s.once('connect', () => s.write(connectFrame));
    s.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const len = pending.readInt32BE(0);
        pending = pending.subarray(4 + len);
        if (!attached) {
          attached = true;
          resolve({ send: () => s.write(pingFrame), close: () => s.destroy() });
        } else {
          counts.pongs++;
        }
      }
    });
    s.on('error', reject);
    s.on('close', () => {
      if (attached && !counts.closing) counts.lost++;
      else reject(new Error('closed before the ConnectResponse'));
    });
  });
}

/** A session over the WebSocket transport: one message per frame, no length word. */
function wsSession(): Promise<Held> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}${wsPath}`, { perMessageDeflate: false });
    let attached = false;
    ws.once('open', () => ws.send(connectBody));
    ws.on('message', () => {
      if (!attached) {
        attached = true;
        resolve({ send: () => ws.send(pingBody), close: () => ws.terminate() });
      } else {
        counts.pongs++;
      }
    });
    ws.on('error', reject);
    ws.on('close', () => {
      if (attached && !counts.closing) counts.lost++;
      else reject(new Error('closed before the ConnectResponse'));
    });
  });
}

async function open(transport: Transport, n: number): Promise<{ held: Held[]; ms: number }> {
  const held: Held[] = [];
  const started = performance.now();
  let next = 0;
  const one = transport === 'ws' ? wsSession : tcpSession;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) {
        next++;
        held.push(await one());
      }
    }),
  );
  return { held, ms: performance.now() - started };
}

/** Pings every session of `held` every pingMs for windowMs; server CPU µs per answered ping. */
async function pingWindow(pid: number, held: Held[]): Promise<{ pings: number; cpuUsPerPing: number }> {
  const tickMs = 10;
  const perTick = Math.max(1, Math.ceil((held.length * tickMs) / pingMs));
  let i = 0;
  const timer = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      held[i]?.send();
      i = (i + 1) % held.length;
    }
  }, tickMs);
  await sleep(pingMs); // one interval before the window: every session pinging
  const cpu0 = treeCpuTicks(pid) ?? 0;
  const pongs0 = counts.pongs;
  await sleep(windowMs);
  const cpu1 = treeCpuTicks(pid) ?? 0;
  const pings = counts.pongs - pongs0;
  clearInterval(timer);
  await sleep(pingMs);
  return { pings, cpuUsPerPing: pings === 0 ? 0 : ((cpu1 - cpu0) / clockTicksPerS) * 1e6 / pings };
}

interface Measured {
  rssBeforeBytes: number;
  rssPerSessionBytes: Partial<Record<Transport, number>>;
  openPerS: Partial<Record<Transport, number>>;
  ping: Partial<Record<Transport, { pings: number; cpuUsPerPing: number }>>;
}

/** One server: the sets of `transports` opened in that order and held together, then a ping
 *  window per transport. */
async function measure(transports: readonly Transport[]): Promise<Measured> {
  const server = await startServer('zkts', {
    port: clientPort,
    nodeBinary: values.node ?? process.execPath,
    maxClientCnxns: 0,
    maxSessionTimeout: sessionTimeoutMs * 2,
    extra: {
      webSocketPort: String(wsPort),
      webSocketPath: wsPath,
      localSessionsEnabled: 'true',
      httpEngine: values['http-engine'] ?? 'auto',
      '4lw.commands.whitelist': '*',
    },
  });
  const all: Held[] = [];
  const m: Measured = { rssBeforeBytes: 0, rssPerSessionBytes: {}, openPerS: {}, ping: {} };
  try {
    await sleep(settleMs);
    m.rssBeforeBytes = treeRss(server.pid) ?? 0;
    const heldBy: Partial<Record<Transport, Held[]>> = {};
    let before = m.rssBeforeBytes;
    for (const t of transports) {
      const { held, ms } = await open(t, sessions);
      heldBy[t] = held;
      all.push(...held);
      m.openPerS[t] = (sessions / ms) * 1000;
      await sleep(settleMs);
      const after = treeRss(server.pid) ?? 0;
      m.rssPerSessionBytes[t] = (after - before) / sessions;
      before = after;
    }
    for (const t of transports) m.ping[t] = await pingWindow(server.pid, heldBy[t] ?? []);
  } finally {
    counts.closing = true;
    for (const h of all) h.close();
    await server.stop();
    counts.closing = false;
  }
  return m;
}

async function main(): Promise<void> {
  const shared = values.mode === 'shared';
  const runs = shared ? [await measure(order)] : [await measure([order[0]!]), await measure([order[1]!])];
  const pick = <T>(f: (m: Measured) => T | undefined): T => {
    for (const r of runs) {
      const v = f(r);
      if (v !== undefined) return v;
    }
    throw new Error('a transport was not measured');
  };
  const rss = { ws: pick((r) => r.rssPerSessionBytes.ws), tcp: pick((r) => r.rssPerSessionBytes.tcp) };
  const cpu = { ws: pick((r) => r.ping.ws), tcp: pick((r) => r.ping.tcp) };
  const opened = { ws: pick((r) => r.openPerS.ws), tcp: pick((r) => r.openPerS.tcp) };
  // The server logs its engine at info only (this run is at warn, as a server runs): the same
  // choice it makes, for the same Node (httpEngine=auto takes uWS where a build loads).
  const choice = values['http-engine'] ?? 'auto';
  const sameNode = (values.node ?? process.execPath) === process.execPath;
  const engine = choice !== 'auto' ? choice : sameNode ? ('uws' in loadUws() ? 'uws' : 'node') : 'auto (another Node)';
  const result = {
    sessions,
    mode: shared ? 'shared' : 'fresh',
    order,
    engine,
    node: values.node ?? process.execPath,
    serverRssBeforeBytes: runs.map((r) => r.rssBeforeBytes),
    rssPerSessionBytes: rss,
    openPerS: opened,
    cpuUsPerPing: { ws: cpu.ws.cpuUsPerPing, tcp: cpu.tcp.cpuUsPerPing },
    pings: { ws: cpu.ws.pings, tcp: cpu.tcp.pings },
    lost: counts.lost,
    loadavg: os.loadavg(),
  };
  const kb = (b: number): string => (b / 1024).toFixed(2);
  const row = (name: string, ws: string, tcp: string, ratio: string): string =>
    `${name.padEnd(28)}${ws.padStart(12)}${tcp.padStart(12)}${ratio.padStart(12)}`;
  const how = shared ? `on one server, opened ${order.join(' then ')}` : `each on a fresh server (${order.join(' first, then ')})`;
  console.log(`zkts with the WebSocket transport on ${engine}; ${sessions} idle sessions per transport, ${how}`);
  console.log(row('', 'ws', 'tcp', 'ws / tcp'));
  console.log(row('RSS per idle session (KB)', kb(rss.ws), kb(rss.tcp), (rss.ws / rss.tcp).toFixed(2)));
  console.log(row('server CPU per ping (µs)', cpu.ws.cpuUsPerPing.toFixed(2), cpu.tcp.cpuUsPerPing.toFixed(2), (cpu.ws.cpuUsPerPing / cpu.tcp.cpuUsPerPing).toFixed(2)));
  console.log(row('pings answered in window', String(cpu.ws.pings), String(cpu.tcp.pings), ''));
  console.log(row('sessions opened per s', opened.ws.toFixed(0), opened.tcp.toFixed(0), ''));
  const before = runs.map((r) => (r.rssBeforeBytes / 1048576).toFixed(1)).join(', ');
  console.log(`server RSS before any session: ${before} MB; sessions lost: ${counts.lost}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (values.json !== undefined) fs.writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
