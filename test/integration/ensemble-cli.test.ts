// `zkts ensemble`: 3 voters + 1 observer as child processes of one `zkts ensemble` process.
// A write through the observer (node-zookeeper-client) is readable on every member; srvr on the
// observer says Mode: observer and exactly one member says leader; SIGTERM to the ensemble
// process stops every member (their client ports are free afterwards).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, nzkClose, nzkConnect, type Client } from './harness/nzk.js';
import { fourLetter, portInUse, repoRoot } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';
import { eventually, memberMode } from './harness/ensemble.js';

const dirs: string[] = [];
const clients: Client[] = [];
let ensemble: ChildProcess | null = null;
const memberPids: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(async () => {
  for (const c of clients) await nzkClose(c, 2000).catch(() => undefined);
  if (ensemble !== null && ensemble.exitCode === null && ensemble.signalCode === null) ensemble.kill('SIGKILL');
  for (const pid of memberPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('zkts ensemble', () => {
  test('3 voters + 1 observer: write through the observer, modes, SIGTERM stops all', async () => {
    const base = suitePort(SUITE_PORTS.ensembleCli, 0);
    const ports = [0, 1, 2, 3].map((i) => base + 10 * i);
    const dir = mkdtempSync(join(tmpdir(), 'zkts-ensemble-cli-'));
    dirs.push(dir);
    const child = spawn(
      process.execPath,
      [join(repoRoot(), 'bin', 'zkts.js'), 'ensemble', '--voters', '3', '--observers', '1', '--base-port', String(base), '--dir', dir, '--tick-time', '200', '--start-timeout', '30'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    ensemble = child;
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    await eventually('the ensemble to be ready', async () => (/^ready:/m.test(out) ? true : undefined), 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${out}`);
    });
    // The table: id, role, client port, pid.
    const rows = [...out.matchAll(/^(\d+)\s+(voter|observer)\s+(\d+)\s+(\d+)\s/gm)];
    assert.equal(rows.length, 4, out);
    assert.deepEqual(rows.map((r) => [Number(r[1]), r[2], Number(r[3])]), [
      [1, 'voter', ports[0]],
      [2, 'voter', ports[1]],
      [3, 'voter', ports[2]],
      [4, 'observer', ports[3]],
    ]);
    for (const r of rows) memberPids.push(Number(r[4]));
    assert.match(out, new RegExp(`connect string: ${ports.map((p) => `127\\.0\\.0\\.1:${p}`).join(',')}`));

    // Roles: the observer observes, exactly one voter leads.
    assert.equal(await memberMode(ports[3]!), 'observer');
    const modes = await eventually('one leader, two followers', async () => {
      const m = await Promise.all(ports.slice(0, 3).map(memberMode));
      return m.filter((x) => x === 'leader').length === 1 && m.filter((x) => x === 'follower').length === 2 ? m : undefined;
    });
    assert.equal(modes.filter((x) => x === 'leader').length, 1);
    const mntr = await fourLetter(ports[3]!, 'mntr', 2000);
    assert.match(mntr, /zk_server_state\tobserver/);
    const leaderPort = ports[modes.indexOf('leader')]!;
    // Each member has its own AdminServer at client port + 3 (not all on 8080).
    for (const [i, p] of ports.entries()) {
      const r = await fetch(`http://127.0.0.1:${p + 3}/commands/zabstate`);
      assert.equal(((await r.json()) as { myid: number }).myid, i + 1);
    }
    await eventually('the leader to count its synced learners', async () => {
      const m = await fourLetter(leaderPort, 'mntr', 2000);
      return /zk_synced_followers\t2\n/.test(m) && /zk_synced_observers\t1\n/.test(m) ? true : undefined;
    });

    // A write through the observer (forwarded to the leader), readable on every member.
    const oc = await nzkConnect(`127.0.0.1:${ports[3]}`);
    clients.push(oc);
    await call((cb) => oc.create('/via-observer', Buffer.from('hello'), cb));
    const [own] = await call<[Buffer | undefined]>((cb) => oc.getData('/via-observer', cb));
    assert.equal(own?.toString(), 'hello');
    for (const p of ports) {
      const c = await nzkConnect(`127.0.0.1:${p}`);
      clients.push(c);
      const data = await eventually(`/via-observer on ${p}`, async () => {
        const [d] = await call<[Buffer | undefined]>((cb) => c.getData('/via-observer', cb));
        return d;
      });
      assert.equal(data.toString(), 'hello');
    }
    for (const c of clients.splice(0)) await nzkClose(c, 2000);

    // SIGTERM the ensemble: every member goes, and the ensemble process exits 0.
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 20_000)))]);
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.match(out, /stopped/);
    for (const pid of memberPids) assert.equal(alive(pid), false, `member pid ${pid} still alive`);
    for (const p of ports) {
      await eventually(`port ${p} free`, async () => ((await portInUse(p)) ? undefined : true), 5000);
    }
  });
});
