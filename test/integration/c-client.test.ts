// Interop with the ZooKeeper C client (libzookeeper-mt 3.8, Debian libzookeeper-mt-dev), the
// library under the C, Python-zkpython, Perl and many other bindings.
//
// harness/c-client.ts compiles a small program over the synchronous C API with gcc (once per
// source, cached under the temp dir) and runs one scenario per test; it prints JSON. Why a
// program and not cli_mt: see the harness header (cli_mt's output interleaves).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compileCClient, runCClient } from './harness/c-client.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort, targetKind } from './harness/target.js';

let server: ServerHandle;
let bin: string;

before(async () => {
  bin = compileCClient();
  server = await startServer(targetKind(), { port: suitePort(SUITE_PORTS.cclient) });
});

after(async () => {
  await server?.stop();
});

// C API return codes
const ZOK = 0;
const ZRUNTIMEINCONSISTENCY = -2;
const ZNONODE = -101;
const ZBADVERSION = -103;
const ZNODEEXISTS = -110;
const ZNOTEMPTY = -111;

describe('C client (libzookeeper-mt)', () => {
  test('session, create/get/ls/set/exists/delete, sync, multi', async () => {
    const r = await runCClient<Record<string, unknown>>(bin, server.connectString, 'basic', '/c-basic');
    assert.match(String(r['sessionId']), /^0x[0-9a-f]+$/);
    assert.notEqual(r['sessionId'], '0x0', 'a session was established');
    const { sessionId: _sid, ...rest } = r;
    assert.deepEqual(rest, {
      timeout: 10000,
      state: 'CONNECTED',
      create2Rc: ZOK,
      created: '/c-basic/a',
      createStat: {
        version: 0,
        cversion: 0,
        aversion: 0,
        dataLength: 5,
        numChildren: 0,
        ephemeralOwner: '0x0',
        czxidEqMzxid: true,
        pzxidEqCzxid: true,
      },
      getRc: ZOK,
      data: 'hello',
      len: 5,
      nullDataLen: -1, // created with NULL data: zoo_get reports length -1
      lsRc: ZOK,
      ls: ['a', 'empty'],
      rootHasZookeeper: 1,
      rootHasBase: 1,
      setRc: ZOK,
      setVersion: 1,
      setBadVersionRc: ZBADVERSION,
      dataAfterSet: 'world',
      existsRc: ZOK,
      existsVersion: 1,
      existsMissingRc: ZNONODE,
      createExistsRc: ZNODEEXISTS,
      createNoParentRc: ZNONODE,
      ephemeralSeq: '/c-basic/e-0000000002',
      ephemeralOwnerIsSession: 1,
      deleteNotEmptyRc: ZNOTEMPTY,
      deleteBadVersionRc: ZBADVERSION,
      deleteRc: ZOK,
      existsAfterDeleteRc: ZNONODE,
      deleteMissingRc: ZNONODE,
      syncRc: ZOK,
      syncPath: '/c-basic',
      multiRc: ZOK,
      multiCreated: '/c-basic/m',
      multiErrs: [ZOK, ZOK, ZOK],
      // a failed multi: ops before the failing one report ZOK, the failing one its error,
      // the ones after it ZRUNTIMEINCONSISTENCY; nothing is applied
      multiFailRc: ZBADVERSION,
      multiFailErrs: [ZOK, ZBADVERSION, ZRUNTIMEINCONSISTENCY],
      neverExistsRc: ZNONODE,
      lsEnd: ['e-0000000002', 'empty', 'm'],
      closeRc: ZOK,
    });
  });

  test('watches: data, child, exists (created and deleted), one-shot; ephemeral gone on close', async () => {
    const r = await runCClient<Record<string, unknown>>(bin, server.connectString, 'watches', '/c-watches');
    const B = '/c-watches';
    const fired = [
      `data CHANGED CONNECTED ${B}/d`, // only once for two sets: watches are one-shot
      `exists CREATED CONNECTED ${B}/later`, // the node's own event comes before its parent's
      `child CHILD CONNECTED ${B}`,
      `gone DELETED CONNECTED ${B}/d`,
    ];
    assert.deepEqual(r, {
      wgetRc: ZOK,
      wlsRc: ZOK,
      wexistsMissingRc: ZNONODE, // a watch is still set on the missing node
      afterSet: 1,
      afterCreate: 3,
      wexistsRc: ZOK,
      events: fired,
      ephExistsRc: ZOK,
      ephAfterCloseRc: ZNONODE,
      eventsAfterClose: [...fired, `eph DELETED CONNECTED ${B}/eph`],
    });
  });
});
