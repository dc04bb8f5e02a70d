// The status page's routes and its push loop (src/main/status-page/mount.ts) on a real HttpApp,
// on each engine, with the server's parts replaced by plain objects: nothing is gathered while no
// page is connected, about one snapshot a second while one is, at most statusViewersMax pages,
// and a push never waits longer than statusWorkerStatsWaitMs for the workers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { createHttpApp, loadUws, type HttpEngineName } from '../../../src/http/app.js';
import type { ServerConfig } from '../../../src/main/config.js';
import type { WorkerStats } from '../../../src/shm/admin.js';
import { membersOf, mountStatusPage, type StatusSources } from '../../../src/main/status-page/mount.js';
import { pageScript } from '../../../src/main/status-page/page.js';
import { statusPushIntervalMs, statusViewersMax, statusWorkerStatsWaitMs } from '../../../src/main/status-page/limits.js';
import type { StatusSnapshot } from '../../../src/main/status-page/snapshot.js';

const engines: HttpEngineName[] = ['uws' in loadUws() ? 'uws' : null, 'node'].filter((e): e is HttpEngineName => e !== null);
const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as StatusSources['logger'];
const quietHttp = { info() {}, warn() {}, error() {} };
const cfg = { servers: [], clientPortAddress: '127.0.0.1', clientPort: 2181 } as unknown as ServerConfig;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, f: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

function sources(collect: () => Promise<WorkerStats[]>): StatusSources & { collects: number } {
  const s = {
    collects: 0,
    cfg,
    myId: 0,
    core: { db: { lastZxid: 0x42, tree: { zkNodeCount: 5 } }, sessions: { counts: { global: 1, local: 0 } } },
    words: {
      collect: () => {
        s.collects++;
        return collect();
      },
    },
    driver: null,
    logger: quiet,
  };
  return s;
}

const oneWorker = (): Promise<WorkerStats[]> =>
  Promise.resolve([{ workerIndex: 0, counts: { packetsReceived: 1, packetsSent: 1, aliveConnections: 1, outstandingRequests: 0, minLatencyMs: 0, avgLatencyMs: 0, maxLatencyMs: 0, latencyTotalMs: 0, latencyCount: 0, localSessions: 0, globalSessions: 1, responseSizeLast: -1, responseSizeMin: -1, responseSizeMax: -1, authFailed: 0 } }]);

interface Viewer {
  ws: WebSocket;
  snapshots: StatusSnapshot[];
  closeCode: number | null;
}

function viewer(port: number): Promise<Viewer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/status/ws`);
    const v: Viewer = { ws, snapshots: [], closeCode: null };
    ws.on('message', (d: Buffer) => v.snapshots.push(JSON.parse(d.toString('utf8')) as StatusSnapshot));
    ws.on('close', (code) => (v.closeCode = code));
    ws.once('open', () => resolve(v));
    ws.once('error', reject);
  });
}

describe('membersOf', () => {
  it('standalone: this server; an ensemble: the server lines, with our own client port filled in', () => {
    assert.deepEqual(membersOf(cfg, 0), [{ id: 0, host: '127.0.0.1', clientPort: 2181, role: 'standalone' }]);
    const ens = {
      ...cfg,
      servers: [
        { id: 1, host: 'a', quorumPort: 1, electionPort: 2, role: 'participant', clientPort: null },
        { id: 2, host: 'b', quorumPort: 1, electionPort: 2, role: 'observer', clientPort: null },
      ],
    } as unknown as ServerConfig;
    assert.deepEqual(membersOf(ens, 2).map((m) => [m.id, m.clientPort, m.role]), [
      [1, null, 'participant'],
      [2, 2181, 'observer'],
    ]);
  });
});

describe('the page script', () => {
  it('is valid JavaScript', () => {
    assert.doesNotThrow(() => new Function(pageScript));
  });
});

for (const engine of engines) {
  describe(`status page on ${engine}`, () => {
    it('serves the page, its script and style, and a snapshot', async () => {
      const { app } = await createHttpApp(engine, quietHttp);
      mountStatusPage(app, sources(oneWorker));
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const base = `http://127.0.0.1:${port}`;
        for (const [path, type, has] of [
          ['/status', 'text/html', '/status/page.js'],
          ['/status/page.js', 'text/javascript', '/status/ws'],
          ['/status/page.css', 'text/css', 'body'],
        ] as const) {
          const r = await fetch(base + path);
          assert.equal(r.status, 200, path);
          assert.match(r.headers.get('content-type') ?? '', new RegExp(type));
          assert.equal(r.headers.get('cache-control'), 'no-store');
          assert.ok((await r.text()).includes(has), path);
        }
        const r = await fetch(`${base}/status/snapshot`);
        const snap = (await r.json()) as StatusSnapshot;
        assert.deepEqual([snap.kind, snap.zxid, snap.nodeCount, snap.members.length, snap.workers.length], ['zkts-status', '0x42', 5, 1, 1]);
      } finally {
        await app.close();
      }
    });

    it('pushes about once a second while a page is open, and gathers nothing when none is', { timeout: 60_000 }, async () => {
      const { app } = await createHttpApp(engine, quietHttp);
      const src = sources(oneWorker);
      const page = mountStatusPage(app, src);
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        await sleep(statusPushIntervalMs * 1.5);
        assert.equal(src.collects, 0, 'no page, no work');
        const v = await viewer(port);
        await until('three snapshots', () => v.snapshots.length >= 3);
        assert.equal(v.snapshots[0]!.zxid, '0x42');
        assert.ok(src.collects >= 3 && src.collects <= v.snapshots.length + 1, `one collect per push (${src.collects} for ${v.snapshots.length})`);
        v.ws.close();
        await until('the page gone', () => page.viewerCount === 0);
        await sleep(50); // a push already under way ends
        const after = src.collects;
        await sleep(statusPushIntervalMs * 2.5);
        assert.equal(src.collects, after, 'no page, no work again');
      } finally {
        await app.close();
      }
    });

    it(`takes at most ${statusViewersMax} pages; one more is closed with 1013`, { timeout: 60_000 }, async () => {
      const { app } = await createHttpApp(engine, quietHttp);
      const page = mountStatusPage(app, sources(oneWorker));
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const viewers = await Promise.all(Array.from({ length: statusViewersMax }, () => viewer(port)));
        await until('all open', () => page.viewerCount === statusViewersMax);
        const extra = await viewer(port);
        await until('the extra page closed', () => extra.closeCode !== null);
        assert.equal(extra.closeCode, 1013);
        await until('every page fed', () => viewers.every((v) => v.snapshots.length > 0));
        for (const v of viewers) v.ws.close();
        await until('all gone', () => page.viewerCount === 0);
      } finally {
        await app.close();
      }
    });

    it('pushes with the last worker figures when the workers do not answer in time', { timeout: 60_000 }, async () => {
      const { app } = await createHttpApp(engine, quietHttp);
      const src = sources(() => new Promise<WorkerStats[]>(() => {}));
      mountStatusPage(app, src);
      const port = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        const v = await viewer(port);
        const started = Date.now();
        await until('a snapshot', () => v.snapshots.length > 0, statusWorkerStatsWaitMs * 5);
        assert.ok(Date.now() - started >= statusWorkerStatsWaitMs - 50);
        assert.equal(v.snapshots[0]!.workersStale, true);
        assert.equal(src.collects, 1, 'no second question while the first is waited for');
        v.ws.close();
      } finally {
        await app.close();
      }
    });
  });
}
