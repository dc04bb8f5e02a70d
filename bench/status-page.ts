// What the live status page costs (issue 12 item 5): nothing while no page is open, a snapshot
// a second while pages are.
//
//   node dist/bench/status-page.js [--phase-ms 15000] [--settle-ms 10000] [--viewers 32]
//   (npm run bench:status-page)
//
// 1. In this process: SnapshotBuilder.build for an ensemble of 5 members and 16 session workers,
//    µs per build, and the JSON's bytes.
// 2. A zkts standalone (ports 25780.., admin at +3) with the AdminServer on, for --phase-ms each:
//    after --settle-ms: no page, one page, --viewers pages (WebSockets from this process to /status/ws). Per phase:
//    the server process tree's CPU (utime+stime from /proc, launcher and server), snapshots per
//    second per page, bytes per snapshot; then no page again. The figure to read is each phase's
//    CPU against the first no-page phase, in the same run (/proc counts 10 ms ticks: over 15 s,
//    a resolution of 0.7 ms/s).
//
// Bounded: every wait has a deadline; the server is stopped by PID in a finally block.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startServer, type ServerHandle } from '../test/integration/harness/server.js';
import { SnapshotBuilder, type SnapshotInput } from '../src/main/status-page/snapshot.js';
import { statusViewersMax } from '../src/main/status-page/limits.js';

const PORT = 25780;
const clockTicksPerS = 100; // getconf CLK_TCK on Linux

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** utime + stime (ticks) of pid and its descendants. */
function treeTicks(pid: number): number {
  let ticks = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      if (children !== '') stack.push(...children.split(' ').map(Number));
    } catch {
      // gone
    }
  }
  return ticks;
}

function builderFigures(): { usPerBuild: number; bytes: number } {
  const counts = { packetsReceived: 1000, packetsSent: 1000, aliveConnections: 10, outstandingRequests: 0, minLatencyMs: 0, avgLatencyMs: 1, maxLatencyMs: 9, latencyTotalMs: 1000, latencyCount: 1000, localSessions: 5, globalSessions: 5, responseSizeLast: -1, responseSizeMin: -1, responseSizeMax: -1, authFailed: 0 };
  const input = (atMs: number): SnapshotInput => ({
    atMs,
    self: { id: 1, mode: 'leader', zxid: 0x300000009, nodeCount: 1000, sessions: { local: 80, global: 80 } },
    members: [1, 2, 3, 4, 5].map((id) => ({ id, host: '10.0.0.' + id, clientPort: 2181, role: id > 3 ? 'observer' : 'participant' })),
    workers: Array.from({ length: 16 }, (_, i) => ({ workerIndex: i, counts: { ...counts, packetsReceived: counts.packetsReceived + atMs } })),
    workersStale: false,
    zab: {
      myId: 1,
      mode: 'leader',
      leaderId: 1,
      currentEpoch: 3,
      lastLoggedZxid: 0x300000009,
      commitZxid: 0x300000009,
      learnerMaster: null,
      learners: [2, 3, 4, 5].map((id) => ({ id, observer: id > 3, phase: 'active', ackedZxid: 0x300000009 })),
      leaderChanges: Array.from({ length: 64 }, (_, e) => ({ epoch: e, leaderId: 1, atMs: e, as: 'leader' as const })),
    },
    peers: new Map([2, 3, 4, 5].map((id) => [id, { atMs, error: null, figures: { word: 'mntr' as const, mode: 'follower', zxid: 0x300000009, nodeCount: 1000, sessions: { local: 1, global: 80 }, packetsReceived: atMs, avgLatencyMs: 1, connections: 10, workerSessions: [{ local: 1, global: 40 }, { local: 0, global: 40 }] } }])),
  });
  const b = new SnapshotBuilder();
  const n = 20_000;
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) bytes = JSON.stringify(b.build(input(i * 1000))).length;
  return { usPerBuild: Math.round(((performance.now() - start) * 1000) / n), bytes };
}

interface Phase {
  viewers: number;
  cpuMsPerS: number;
  snapshotsPerSPerViewer: number;
  bytesPerSnapshot: number;
}

async function phase(server: ServerHandle, adminPort: number, viewers: number, phaseMs: number): Promise<Phase> {
  const sockets: WebSocket[] = [];
  let messages = 0;
  let bytes = 0;
  try {
    for (let i = 0; i < viewers; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${adminPort}/status/ws`);
      ws.on('message', (d: Buffer) => {
        messages++;
        bytes += d.length;
      });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('a page did not open in 10 s')), 10_000);
        ws.once('open', () => {
          clearTimeout(t);
          resolve();
        });
        ws.once('error', reject);
      });
      sockets.push(ws);
    }
    await sleep(2000); // the opening pushes and the first probes out of the way
    messages = 0;
    bytes = 0;
    const t0 = performance.now();
    const c0 = treeTicks(server.pid);
    await sleep(phaseMs);
    const s = (performance.now() - t0) / 1000;
    const cpu = ((treeTicks(server.pid) - c0) / clockTicksPerS) * 1000;
    return {
      viewers,
      cpuMsPerS: Math.round((cpu / s) * 10) / 10,
      snapshotsPerSPerViewer: viewers === 0 ? 0 : Math.round((messages / viewers / s) * 100) / 100,
      bytesPerSnapshot: messages === 0 ? 0 : Math.round(bytes / messages),
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await sleep(500);
  }
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({ options: { 'phase-ms': { type: 'string' }, 'settle-ms': { type: 'string' }, viewers: { type: 'string' } } });
  const phaseMs = Number(v['phase-ms'] ?? 15_000);
  const settleMs = Number(v['settle-ms'] ?? 10_000);
  const many = Math.min(statusViewersMax, Number(v.viewers ?? statusViewersMax));
  console.log(`# bench:status-page  node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${os.availableParallelism()} cores`);
  const b = builderFigures();
  console.log(`snapshot build (5 members, 16 workers, 64 leader changes): ${b.usPerBuild} µs, ${b.bytes} bytes of JSON`);
  const adminPort = PORT + 3;
  const server = await startServer('zkts', { port: PORT, extra: { 'admin.enableServer': 'true', 'admin.serverAddress': '127.0.0.1', 'admin.serverPort': String(adminPort) } });
  try {
    await sleep(settleMs); // start-up (its snapshot, V8 compiling) out of the idle figure
    const phases: Phase[] = [];
    for (const n of [0, 1, many, 0]) phases.push(await phase(server, adminPort, n, phaseMs));
    const idle = phases[0]!.cpuMsPerS;
    console.log('pages  server CPU ms/s  vs no page  snapshots/s per page  bytes/snapshot');
    for (const p of phases) {
      const ratio = idle > 0 ? (p.cpuMsPerS / idle).toFixed(2) : 'n/a';
      console.log(`${String(p.viewers).padStart(5)}  ${String(p.cpuMsPerS).padStart(16)}  ${ratio.padStart(10)}  ${String(p.snapshotsPerSPerViewer).padStart(20)}  ${String(p.bytesPerSnapshot).padStart(14)}`);
    }
  } finally {
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
