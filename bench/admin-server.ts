// The AdminServer's cost and speed (issue 12 item 1): what turning it on (ZooKeeper's default)
// adds to an idle zkts server's RSS on each HTTP engine, and how fast it answers, next to Apache
// ZooKeeper 3.8's Jetty AdminServer on the same machine in the same run.
//
//   node dist/bench/admin-server.js [--requests N] [--settle-ms MS]   (npm run bench:admin)
//
// Starts on ports 25500..25549, one at a time so they do not share the CPUs while measured:
//   zkts with admin.enableServer=false, zkts with the AdminServer on uWebSockets.js (the default
//   on Node 20), zkts with httpEngine=node, and Apache ZooKeeper with its AdminServer (Jetty).
// zkts runs with sessionWorkers=1 (one process). After each serves and settles, samples VmRSS;
// then sends --requests GETs of /commands/ruok and of /commands/monitor, one at a time on one
// keep-alive connection, and reports requests per second, then VmRSS again.
// Every process is stopped in a finally block (the harness kills them on exit too).
// Run it under `flock /work/wt/bench.lock` (benchmarks never run two at once).

import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { startServer, type ServerHandle, type ServerKind } from '../test/integration/harness/server.js';

const PORT_BASE = 25500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    'settle-ms': { type: 'string', default: '8000' },
  },
});
const requests = Number(values.requests);
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(requests) || requests < 1 || requests > 100_000) throw new Error('--requests: 1..100000');
if (!Number.isInteger(settleMs) || settleMs < 0 || settleMs > 120_000) throw new Error('--settle-ms: 0..120000');

process.env['ZKTS_APACHE_CLASSPATH'] ??= [
  '/etc/zookeeper/conf',
  '/usr/share/java/zookeeper.jar',
  '/usr/share/java/slf4j-simple.jar',
  '/usr/share/java/servlet-api.jar',
].join(':');

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

async function rate(port: number, path: string): Promise<number> {
  for (let i = 0; i < Math.min(200, requests); i++) await get(port, path); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) {
    const status = await get(port, path);
    if (status !== 200) throw new Error(`GET ${path}: ${status}`);
  }
  return requests / ((performance.now() - t0) / 1000);
}

interface Row {
  name: string;
  idleMb: number;
  ruokPerS: number | null;
  monitorPerS: number | null;
  afterMb: number;
}

async function measure(name: string, kind: ServerKind, i: number, extra: Record<string, string>, admin: boolean): Promise<Row> {
  const port = PORT_BASE + 10 * i;
  const adminPort = port + 3;
  const s: ServerHandle = await startServer(kind, {
    port,
    startTimeoutMs: 60_000,
    jvmProfile: 'bench',
    extra: {
      ...(kind === 'zkts' ? { sessionWorkers: '1' } : {}),
      ...(admin ? { 'admin.enableServer': 'true', 'admin.serverAddress': '127.0.0.1', 'admin.serverPort': String(adminPort) } : {}),
      ...extra,
    },
  });
  try {
    if (admin) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await get(adminPort, '/commands/ruok').then((st) => st === 200, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`${name}: no AdminServer on ${adminPort}`);
        await sleep(100);
      }
    }
    await sleep(settleMs);
    const idleMb = rssMb(s.pid);
    const ruokPerS = admin ? await rate(adminPort, '/commands/ruok') : null;
    const monitorPerS = admin ? await rate(adminPort, '/commands/monitor') : null;
    agent.destroy();
    return { name, idleMb, ruokPerS, monitorPerS, afterMb: rssMb(s.pid) };
  } finally {
    await s.stop();
  }
}

const rows: Row[] = [];
rows.push(await measure('zkts, admin off', 'zkts', 0, {}, false));
rows.push(await measure('zkts, admin on uws', 'zkts', 1, { httpEngine: 'uws' }, true));
rows.push(await measure('zkts, admin on node:http', 'zkts', 2, { httpEngine: 'node' }, true));
rows.push(await measure('Apache 3.8, Jetty admin', 'apache', 3, {}, true));

const f = (n: number | null, d = 1): string => (n === null ? '-' : n.toFixed(d));
process.stdout.write(`Node ${process.version}; ${requests} sequential GETs per command on one keep-alive connection\n`);
process.stdout.write('server                      idle RSS MB  ruok req/s  monitor req/s  RSS after MB\n');
for (const r of rows) {
  process.stdout.write(
    `${r.name.padEnd(28)}${f(r.idleMb).padStart(11)}${f(r.ruokPerS, 0).padStart(12)}${f(r.monitorPerS, 0).padStart(15)}${f(r.afterMb).padStart(14)}\n`,
  );
}
const off = rows[0]!.idleMb;
process.stdout.write(`AdminServer's idle cost: uws +${f(rows[1]!.idleMb - off)} MB, node:http +${f(rows[2]!.idleMb - off)} MB\n`);
const apache = rows[3]!;
for (const r of rows.slice(1, 3)) {
  process.stdout.write(`${r.name} / Apache: ruok ${f(r.ruokPerS! / apache.ruokPerS!, 2)}x, monitor ${f(r.monitorPerS! / apache.monitorPerS!, 2)}x\n`);
}
