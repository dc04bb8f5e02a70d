// The live status page (issue 12 item 5), opened in headless Chromium driven over the DevTools
// protocol (harness/chromium.ts). On a standalone server, on each HTTP engine (uws where a build
// loads, and node:http + ws): the page shows a write made by a real client (its zxid, then the
// next write's, over the same WebSocket without a reload), and the socket refuses what a page
// never sends. On 3 voters + 1 observer: every member appears with its role and the write's zxid,
// the leader shows each follower's acked zxid, and after the leader is killed the new leader's
// page shows the dead member as unknown and both leader changes. Each page is saved as a PNG under
// test-output/status-page/ (ignored by git; ZKTS_TEST_OUTPUT_DIR moves it) and its path printed.
//
// Ports (SUITE_PORTS.statusPage): server i at suitePort(base, i), its admin port at +3; Chromium's
// DevTools at the block's last port. zkts only: the page is zkts's own.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createClient, type ZkClient } from '../../src/client/index.js';
import { loadUws } from '../../src/http/app.js';
import { launchChromium, type Browser } from './harness/chromium.js';
import { eventually, memberMode } from './harness/ensemble.js';
import { fourLetter, repoRoot, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, isApache, suitePort } from './harness/target.js';

const base = SUITE_PORTS.statusPage;
const debugPort = suitePort(base, 9) + 9;
const outDir = process.env['ZKTS_TEST_OUTPUT_DIR'] ?? join(repoRoot(), 'test-output', 'status-page');
const adminPortOf = (clientPort: number): number => clientPort + 3;
const hex = (zxid: number): string => `0x${zxid.toString(16)}`;

let browser: Browser | null = null;
const servers: ServerHandle[] = [];
const clients: ZkClient[] = [];
const dirs: string[] = [];

function page(): Browser {
  assert.ok(browser !== null, 'chromium is running');
  return browser;
}

/** The text of the first element matching `selector`, or null. */
function textAt(selector: string): Promise<string | null> {
  return page().evaluate<string | null>(`(() => { const e = document.querySelector(${JSON.stringify(selector)}); return e === null ? null : e.textContent; })()`);
}

/** A member row's field (data-member / data-field cells). */
function memberField(id: number, field: string): Promise<string | null> {
  return textAt(`tr[data-member="${id}"] td[data-field="${field}"]`);
}

async function openPage(adminPort: number): Promise<void> {
  await page().navigate(`http://127.0.0.1:${adminPort}/status`);
  await eventually('the page live with a snapshot', async () => {
    const [state, updates] = await page().evaluate<[string, string]>("[document.body.dataset.state, document.body.dataset.updates]");
    return state === 'live' && Number(updates) > 0 ? true : undefined;
  }, 30_000);
}

async function saveScreenshot(name: string): Promise<string> {
  const png = await page().screenshot();
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}.png`);
  writeFileSync(file, png);
  console.log(`status page screenshot: ${file} (${png.length} bytes)`);
  return file;
}

/** A WebSocket to the page's socket: its first message, and how it closes after `send`. */
function rawSocket(adminPort: number): Promise<{ first: string; closeAfter(data: string | Buffer): Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${adminPort}/status/ws`);
    const t = setTimeout(() => reject(new Error('no snapshot on the raw socket')), 15_000);
    ws.once('error', reject);
    ws.once('message', (d: Buffer) => {
      clearTimeout(t);
      const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
      resolve({
        first: d.toString('utf8'),
        closeAfter: async (data) => {
          ws.send(data);
          const timer = setTimeout(() => ws.terminate(), 10_000);
          const code = await closed;
          clearTimeout(timer);
          return code;
        },
      });
    });
  });
}

before(async () => {
  if (!isApache()) browser = await launchChromium(debugPort);
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of servers) if (!s.exited) await s.kill();
  await browser?.close();
  if (process.env['ZKTS_TEST_KEEP_DIRS'] !== '1') for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('status page, standalone', { skip: isApache() ? 'zkts only' : false }, () => {
  const uwsLoads = 'uws' in loadUws();
  const engines: ['auto' | 'node', string, number][] = [
    ['auto', uwsLoads ? 'uws' : 'node', 0],
    ['node', 'node', 1],
  ];
  for (const [choice, engine, i] of engines) {
    test(`httpEngine=${choice} (${engine}): the page shows a client's writes as they happen; the socket takes no input`, { timeout: 120_000 }, async () => {
      const port = suitePort(base, i);
      const adminPort = adminPortOf(port);
      const server = await startServer('zkts', {
        port,
        extra: {
          'admin.enableServer': 'true',
          'admin.serverAddress': '127.0.0.1',
          'admin.serverPort': String(adminPort),
          httpEngine: choice,
          logLevel: 'info',
        },
      });
      servers.push(server);
      await eventually('the AdminServer listening', async () => (/AdminServer listening/.test(server.logs()) ? true : undefined), 15_000);
      assert.match(server.logs(), new RegExp(`"engine":"${engine}"[^\\n]*AdminServer listening`));

      const client = createClient(server.connectString, { sessionTimeoutMs: 10_000 });
      clients.push(client);
      await client.waitConnected(10_000);
      const created = await client.create2('/status-page', 'x');
      await openPage(adminPort);
      await eventually('the create on the page', async () => ((await memberField(0, 'zxid')) === hex(created.stat.czxid) ? true : undefined));
      assert.equal(await memberField(0, 'mode'), 'standalone');
      const srvrNodes = /Node count: (\d+)/.exec(await fourLetter(port, 'srvr'))?.[1];
      assert.equal(await memberField(0, 'nodes'), srvrNodes);

      // The next write reaches the open page over its WebSocket: no reload.
      const updatesBefore = Number(await page().evaluate<string>('document.body.dataset.updates'));
      const set = await client.setData('/status-page', 'y');
      await eventually('the setData on the page', async () => ((await memberField(0, 'zxid')) === hex(set.mzxid) ? true : undefined));
      assert.ok(Number(await page().evaluate<string>('document.body.dataset.updates')) > updatesBefore);
      const sessions = await page().evaluate<string[]>("[...document.querySelectorAll('tr[data-worker] td[data-field=\"sessions\"]')].map((e) => e.textContent)");
      const globals = sessions.reduce((n, s) => n + Number(s.split(' / ')[1]), 0);
      assert.equal(globals, 1, `one global session over the workers: ${sessions.join(', ')}`);
      await saveScreenshot(`standalone-${engine}${choice === 'auto' ? '' : '-configured'}`);

      // Bad input: a message on the socket closes that socket (1003; over the bound, 1009), a
      // path that is not the page's is a 404, and the server serves on.
      const raw = await rawSocket(adminPort);
      assert.equal((JSON.parse(raw.first) as { kind: string }).kind, 'zkts-status');
      assert.equal(await raw.closeAfter('hello'), 1003);
      const big = await rawSocket(adminPort);
      // node:http + ws sends 1009 (message too big); uWS drops the connection (1006 at the peer).
      assert.equal(await big.closeAfter(Buffer.alloc(4096, 1)), engine === 'uws' ? 1006 : 1009);
      const missing = await fetch(`http://127.0.0.1:${adminPort}/status/nothing`);
      assert.equal(missing.status, 404);
      await missing.text();
      assert.equal(await fourLetter(port, 'ruok'), 'imok');
      await client.create('/status-page/after', null);
      assert.equal((await page().evaluate<string>('document.body.dataset.state')), 'live');
      assert.match(server.logs(), /a viewer sent a message; closing it/);
    });
  }
});

describe('status page, 3 voters + 1 observer', { skip: isApache() ? 'zkts only' : false }, () => {
  test('every member with its role and zxid; acked zxids on the leader; leader changes across a failover', { timeout: 300_000 }, async () => {
    const ports = [2, 3, 4, 5].map((i) => suitePort(base, i));
    const cfg: Record<string, string> = {};
    // Each line carries ;clientPort, so that any member can ask any other (status-page/peers.ts).
    ports.forEach((p, i) => (cfg[`server.${i + 1}`] = `127.0.0.1:${p + 1}:${p + 2}${i === 3 ? ':observer' : ''};127.0.0.1:${p}`));
    const members = await Promise.all(
      ports.map(async (port, i) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'zkts-status-page-'));
        dirs.push(dataDir);
        writeFileSync(join(dataDir, 'myid'), `${i + 1}\n`);
        const extra = { ...cfg, 'admin.enableServer': 'true', 'admin.serverAddress': '127.0.0.1', 'admin.serverPort': String(adminPortOf(port)) };
        const s = await startServer('zkts', { port, dataDir, tickTime: 300, maxSessionTimeout: 12_000, extra: i === 3 ? { ...extra, peerType: 'observer' } : extra });
        servers.push(s);
        return s;
      }),
    );
    const idOf = (s: ServerHandle): number => members.indexOf(s) + 1;
    const roles = async (): Promise<Map<number, string> | undefined> => {
      const modes = await Promise.all(members.map((s) => (s.exited ? Promise.resolve('dead') : memberMode(s.port))));
      const leaders = modes.filter((m) => m === 'leader').length;
      const followers = modes.filter((m) => m === 'follower').length;
      const live = modes.filter((m) => m !== 'dead').length;
      if (leaders !== 1 || modes[3] !== 'observer' || followers !== live - 2) return undefined;
      return new Map(modes.map((m, i) => [i + 1, m ?? 'unknown']));
    };
    const first = await eventually('a leader, two followers and an observer', roles, 60_000);
    const leader = members[[...first.values()].indexOf('leader')]!;
    const observer = members[3]!;

    const client = createClient(leader.connectString, { sessionTimeoutMs: 10_000 });
    clients.push(client);
    await client.waitConnected(10_000);
    const { stat } = await client.create2('/status-ensemble', 'x');
    const zxid = hex(stat.czxid);

    // The leader's page: every member, its configured role and its mode; each one's zxid (asked
    // over its client port) and, for the followers, the zxid Zab has seen it ack.
    await openPage(adminPortOf(leader.port));
    await eventually('every member on the leader page with the write', async () => {
      for (const [id, mode] of first) {
        if ((await memberField(id, 'mode')) !== mode) return undefined;
        if ((await memberField(id, 'zxid')) !== zxid) return undefined;
        if (mode === 'follower' && (await memberField(id, 'acked')) !== zxid) return undefined;
      }
      return true;
    }, 60_000);
    for (const id of [1, 2, 3]) assert.equal(await memberField(id, 'role'), 'participant');
    assert.equal(await memberField(4, 'role'), 'observer');
    assert.equal(await textAt(`#leaders tbody tr td[data-field="leader"]`), String(idOf(leader)));
    await saveScreenshot('ensemble-leader');

    // The observer's page sees the same members, by asking each one.
    await openPage(adminPortOf(observer.port));
    await eventually('every member on the observer page', async () => {
      for (const [id, mode] of first) if ((await memberField(id, 'mode')) !== mode || (await memberField(id, 'zxid')) !== zxid) return undefined;
      return true;
    }, 60_000);
    // Each member's sessions per session worker (zkts's mntr row): the leader holds the client's
    // global session on one of its workers.
    await eventually('the leader\'s sessions per worker on the observer page', async () => {
      const cellText = await memberField(idOf(leader), 'workers');
      const globals = [...(cellText ?? '').matchAll(/\d+: \d+ \/ (\d+)/g)].map((m) => Number(m[1]));
      return globals.length > 0 && globals.reduce((a, b) => a + b, 0) >= 1 ? true : undefined;
    }, 30_000);
    assert.equal(await textAt('#leaders tbody tr td[data-field="as"]'), 'observer');
    await saveScreenshot('ensemble-observer');

    // The leader dies: the new leader's page shows it unknown, and the two leader changes it saw
    // (newest first: itself, then the old leader, whom it followed).
    await leader.kill();
    const second = await eventually('a new leader', roles, 60_000);
    const newLeader = members[[...second.values()].indexOf('leader')]!;
    await openPage(adminPortOf(newLeader.port));
    await eventually('the failover on the new leader page', async () => {
      if ((await memberField(idOf(leader), 'mode')) !== 'unknown') return undefined;
      if (!/^no answer: /.test((await memberField(idOf(leader), 'note')) ?? '')) return undefined;
      const rows = await page().evaluate<string[][]>(
        "[...document.querySelectorAll('#leaders tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))",
      );
      if (rows.length < 2) return undefined;
      assert.deepEqual([rows[0]![2], rows[0]![3]], [String(idOf(newLeader)), 'leader']);
      assert.deepEqual([rows[1]![2], rows[1]![3]], [String(idOf(leader)), 'follower']);
      assert.ok(Number(rows[0]![1]) > Number(rows[1]![1]), 'a later epoch');
      return true;
    }, 60_000);
    await saveScreenshot('ensemble-failover');
  });
});
