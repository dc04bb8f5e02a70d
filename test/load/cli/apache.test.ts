// `zkts load` against Apache ZooKeeper 3.8 (the Debian package): the harness is not zkts-only.
// Skipped when the package is not installed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { runLoad } from '../../../src/load/cli.js';
import { startServer, type ServerHandle } from '../../integration/harness/server.js';

const jar = process.env['ZKTS_APACHE_CLASSPATH'] !== undefined || fs.existsSync('/usr/share/java/zookeeper.jar');
const quietIo = { stdout: (): void => undefined, stderr: (): void => undefined };
let server: ServerHandle | undefined;

before(async () => {
  if (!jar) return;
  // 23010-23018 (Apache also takes port+1 and +2 in some modes: step by 3); a busy port is skipped.
  for (let port = 23010; ; port += 3) {
    try {
      server = await startServer('apache', { port, maxClientCnxns: 0 });
      break;
    } catch (e) {
      if (port >= 23016 || !/already in use/.test((e as Error).message)) throw e;
    }
  }
});

after(async () => {
  await server?.stop();
});

test('connect, watch and herd against Apache ZooKeeper', { skip: !jar && 'Apache ZooKeeper is not installed' }, async () => {
  const cs = (server as ServerHandle).connectString;
  const c = await runLoad(['connect', '-c', cs, '-n', '100', '-w', '2', '--quiet'], quietIo);
  assert.equal(c.code, 0, JSON.stringify(c.result?.problems));
  assert.equal((c.result?.summary as { open: { opened: number } }).open.opened, 100);
  const w = await runLoad(['watch', '-c', cs, '-n', '50', '-w', '1', '--quiet'], quietIo);
  assert.equal(w.code, 0, JSON.stringify(w.result?.problems));
  assert.equal((w.result?.summary as { notified: number }).notified, 50);
  const h = await runLoad(['herd', '-c', cs, '-n', '50', '-w', '1', '--session-timeout', '10000', '--quiet'], quietIo);
  assert.equal(h.code, 0, JSON.stringify(h.result?.problems));
  assert.equal((h.result?.summary as { herd: { resumed: number } }).herd.resumed, 50);
});
