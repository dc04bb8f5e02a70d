// npm run bench:client-tls — what TLS on the client port costs (issue 12, item 3): the same load
// over the plain port and over secureClientPort, in one run, as ratios; and Apache ZooKeeper 3.8's
// Netty TLS (NettyServerCnxnFactory, the same ssl.* settings) on the same load where it runs.
//
// For each server and transport a fresh server process (standalone; zkts with sessionWorkers=1,
// so its RSS is one process's on every Node) and the zkts client (src/client) in this process:
//   1. warm-up: W sessions opened and closed;
//   2. connects/s: S sessions opened, C connects in flight (TCP, then the TLS handshake with a
//      client certificate, clientAuth=need, then ConnectRequest/Response), kept open;
//   3. RSS per idle session: the server's RSS (/proc) with those S sessions, less its RSS before
//      them, over S (after a settle pause);
//   4. read ops/s: K of the sessions keep D getData of a 64-byte node in flight for T ms.
// The client's side of each handshake runs in this process, on the same machine: connects/s is
// the pair's rate, for either server alike.
//
// Options: --sessions S (1000) --in-flight C (32) --warmup W (200) --readers K (8) --depth D (32)
//   --read-ms T (4000) --servers zkts,apache
// Run it alone: flock /work/wt/bench.lock npm run bench:client-tls

import fs from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient, type ClientTlsOptions, type ZkClient } from '../src/client/index.js';
import { processRss } from '../src/load/proc.js';
import { makeTestCerts, STORE_PASSWORD, type TestCerts } from '../test/integration/harness/certs.js';
import { startServer, type ServerHandle, type ServerKind } from '../test/integration/harness/server.js';

type Transport = 'plain' | 'tls';
const ports: Record<ServerKind, number> = { zkts: 25760, apache: 25770 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Debian's zookeeper.jar manifest leaves out what NettyServerCnxnFactory needs. */
const apacheClasspath = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar', '/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'].join(':');

interface Options {
  sessions: number;
  inFlight: number;
  warmup: number;
  readers: number;
  depth: number;
  readMs: number;
}

interface Figures {
  connectsPerS: number;
  rssPerSessionBytes: number;
  readsPerS: number;
}

async function start(kind: ServerKind, certs: TestCerts): Promise<ServerHandle> {
  const port = ports[kind];
  if (kind === 'apache') process.env['ZKTS_APACHE_CLASSPATH'] = apacheClasspath;
  return startServer(kind, {
    port,
    jvmProfile: 'bench',
    maxClientCnxns: 0,
    extra: {
      secureClientPort: String(port + 3),
      secureClientPortAddress: '127.0.0.1',
      serverCnxnFactory: 'org.apache.zookeeper.server.NettyServerCnxnFactory',
      'ssl.keyStore.location': certs.serverP12,
      'ssl.keyStore.password': STORE_PASSWORD,
      'ssl.keyStore.type': 'PKCS12',
      'ssl.trustStore.location': certs.caPem,
      'ssl.trustStore.type': 'PEM',
      'ssl.clientAuth': 'need',
      ...(kind === 'zkts' ? { sessionWorkers: '1', forceSync: 'no' } : { forceSync: 'no' }),
    },
  });
}

/** Opens `n` sessions, `inFlight` at a time; resolves with them and the seconds it took. */
async function open(hostPort: string, tls: ClientTlsOptions | undefined, n: number, inFlight: number): Promise<{ clients: ZkClient[]; seconds: number }> {
  const clients: ZkClient[] = [];
  let next = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      const c = createClient(hostPort, { sessionTimeoutMs: 30_000, ...(tls === undefined ? {} : { tls }) });
      await c.waitConnected(30_000);
      clients.push(c);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { clients, seconds: (performance.now() - t0) / 1000 };
}

async function closeAll(clients: ZkClient[]): Promise<void> {
  for (let i = 0; i < clients.length; i += 64) await Promise.all(clients.slice(i, i + 64).map((c) => c.close().catch(() => {})));
}

/** `readers` clients each keep `depth` reads in flight for `ms`; resolves with reads/s. */
async function reads(clients: ZkClient[], depth: number, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  const lane = async (c: ZkClient): Promise<void> => {
    while (performance.now() < end) {
      await c.getData('/bench');
      done++;
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: depth }, () => lane(c))));
  return done / ((performance.now() - t0) / 1000);
}

async function measure(kind: ServerKind, transport: Transport, certs: TestCerts, o: Options): Promise<Figures> {
  const server = await start(kind, certs);
  try {
    const hostPort = `127.0.0.1:${ports[kind] + (transport === 'tls' ? 3 : 0)}`;
    const tls: ClientTlsOptions | undefined =
      transport === 'tls' ? { ca: fs.readFileSync(certs.caPem), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) } : undefined;
    const setup = await open(hostPort, tls, 1, 1);
    await setup.clients[0]!.create('/bench', Buffer.alloc(64, 7)).catch(() => {});
    await closeAll((await open(hostPort, tls, o.warmup, o.inFlight)).clients);
    await sleep(1000);
    const rssBefore = processRss(server.pid) ?? 0;
    const { clients, seconds } = await open(hostPort, tls, o.sessions, o.inFlight);
    await sleep(1000);
    const rssAfter = processRss(server.pid) ?? 0;
    const readsPerS = await reads(clients.slice(0, o.readers), o.depth, o.readMs);
    await closeAll([...clients, ...setup.clients]);
    return { connectsPerS: o.sessions / seconds, rssPerSessionBytes: (rssAfter - rssBefore) / o.sessions, readsPerS };
  } finally {
    await server.stop();
  }
}

function row(name: string, f: Figures): string {
  return `${name.padEnd(14)} ${f.connectsPerS.toFixed(0).padStart(10)} ${f.readsPerS.toFixed(0).padStart(10)} ${(f.rssPerSessionBytes / 1024).toFixed(1).padStart(12)}`;
}

function ratio(a: Figures, b: Figures): string {
  const r = (x: number, y: number): string => (y === 0 ? '-' : (x / y).toFixed(2));
  return `connects/s ${r(a.connectsPerS, b.connectsPerS)}, reads/s ${r(a.readsPerS, b.readsPerS)}, RSS/session ${r(a.rssPerSessionBytes, b.rssPerSessionBytes)}`;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sessions: { type: 'string', default: '1000' },
      'in-flight': { type: 'string', default: '32' },
      warmup: { type: 'string', default: '200' },
      readers: { type: 'string', default: '8' },
      depth: { type: 'string', default: '32' },
      'read-ms': { type: 'string', default: '4000' },
      servers: { type: 'string', default: 'zkts,apache' },
    },
  });
  const o: Options = {
    sessions: Number(values.sessions),
    inFlight: Number(values['in-flight']),
    warmup: Number(values.warmup),
    readers: Number(values.readers),
    depth: Number(values.depth),
    readMs: Number(values['read-ms']),
  };
  const kinds = String(values.servers).split(',') as ServerKind[];
  const certs = makeTestCerts();
  const results = new Map<string, Figures>();
  try {
    for (const kind of kinds) {
      if (kind === 'apache' && !fs.existsSync('/usr/share/java/zookeeper.jar')) continue;
      for (const transport of ['plain', 'tls'] as const) {
        const f = await measure(kind, transport, certs, o);
        results.set(`${kind} ${transport}`, f);
        process.stdout.write(`${row(`${kind} ${transport}`, f)}\n`);
      }
    }
  } finally {
    certs.remove();
  }
  const [load1 = 0, load5 = 0] = os.loadavg();
  process.stdout.write(`\nclient-tls: ${o.sessions} sessions (${o.inFlight} connects in flight), ${o.readers}x${o.depth} reads in flight for ${o.readMs} ms; ` + `node ${process.version}; load ${load1.toFixed(2)} ${load5.toFixed(2)}\n`);
  process.stdout.write(`${'server'.padEnd(14)} ${'connects/s'.padStart(10)} ${'reads/s'.padStart(10)} ${'KiB/session'.padStart(12)}\n`);
  for (const [name, f] of results) process.stdout.write(`${row(name, f)}\n`);
  for (const kind of kinds) {
    const plain = results.get(`${kind} plain`);
    const tls = results.get(`${kind} tls`);
    if (plain !== undefined && tls !== undefined) process.stdout.write(`${kind}: TLS / plain: ${ratio(tls, plain)}\n`);
  }
  const zt = results.get('zkts tls');
  const at = results.get('apache tls');
  if (zt !== undefined && at !== undefined) process.stdout.write(`TLS, zkts / apache: ${ratio(zt, at)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
