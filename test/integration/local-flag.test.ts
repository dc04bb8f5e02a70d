// Local sessions asked for at connect (seed 000, option 1): the zkts client sends a trailing
// `localSession` byte in its ConnectRequest, which stock clients never send. Such a session lives
// only on the session worker that holds it: no transaction, nothing on disk; it cannot own
// ephemerals; and it cannot come back once it has expired. This is zkts-only behaviour, so the
// suite always runs against zkts, with localSessionsEnabled left off (stock clients get global
// sessions on the same server).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, Err, createClient, isZkError, type ZkClient } from '../../src/client/index.js';
import { fourLetter, startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort } from './harness/target.js';

let server: ServerHandle;

before(async () => {
  server = await startServer('zkts', { port: suitePort(SUITE_PORTS.localFlag), tickTime: 200 });
});
after(async () => {
  await server?.stop();
});

async function connect(opts: Parameters<typeof createClient>[1]): Promise<ZkClient> {
  const c = createClient(server.connectString, opts);
  await c.waitConnected(5000);
  return c;
}

async function mntr(key: string): Promise<number> {
  const line = (await fourLetter(server.port, 'mntr')).split('\n').find((l) => l.startsWith(`${key}\t`));
  assert.ok(line !== undefined, `mntr has ${key}`);
  return Number(line.split('\t')[1]);
}

describe('the localSession connect flag', () => {
  test('gives a local session next to global ones, without a transaction', async () => {
    const zxidBefore = (await fourLetter(server.port, 'srvr')).match(/Zxid: (0x[0-9a-f]+)/)?.[1];
    const local = await connect({ localSession: true, sessionTimeoutMs: 2000 });
    const zxidAfter = (await fourLetter(server.port, 'srvr')).match(/Zxid: (0x[0-9a-f]+)/)?.[1];
    assert.equal(zxidAfter, zxidBefore, 'a local session takes no zxid: no createSession txn');
    const global = await connect({ sessionTimeoutMs: 2000 });
    assert.equal(await mntr('zk_local_sessions'), 1);
    assert.equal(await mntr('zk_global_sessions'), 1);
    // It reads and writes like any session...
    await local.create('/lf', 'v');
    assert.equal((await global.getData('/lf')).data?.toString(), 'v');
    // ...but cannot own an ephemeral (localSessionsUpgradingEnabled is off).
    await assert.rejects(local.create('/lf-e', null, { mode: CreateMode.ephemeral }), (e: unknown) => {
      assert.ok(isZkError(e));
      assert.equal(e.code, Err.ephemeralOnLocalSession);
      return true;
    });
    await local.close();
    await global.close();
  });

  test('resumes on the same server within its timeout, and is gone after it', async () => {
    const local = await connect({ localSession: true, sessionTimeoutMs: 1000 });
    const sessionId = local.sessionId;
    const password = local.sessionPassword;
    await local.close({ closeSession: false });
    const back = await connect({ localSession: true, sessionTimeoutMs: 1000, sessionId, password });
    assert.equal(back.sessionId, sessionId, 'resumed within the timeout');
    await back.close({ closeSession: false });
    await new Promise((r) => setTimeout(r, 2000));
    const late = createClient(server.connectString, { localSession: true, sessionTimeoutMs: 1000, sessionId, password });
    const outcome = await new Promise<string>((resolve) => {
      late.once('expired', () => resolve('expired'));
      late.once('connected', () => resolve('connected'));
      setTimeout(() => resolve('timeout'), 5000);
    });
    assert.equal(outcome, 'expired', 'an expired local session cannot be re-established');
    await late.close().catch(() => {});
  });
});
