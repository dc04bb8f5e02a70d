// Interop with Apache Curator 5.4 (Debian libcurator-{client,framework,recipes}-java), the
// recipes library most Java users put on top of ZooKeeper.
//
// test/integration/java/CuratorProbe.java is compiled once (harness/java.ts, cached under the
// temp dir by source hash) and run once per scenario, each under its own base path; it prints
// JSON with what it saw. Curator 5 uses the 3.6+ requests: addWatch (persistent and persistent
// recursive watches, also under CuratorCache), createContainers (CONTAINER nodes), multi.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compileJava, CURATOR_CLASSPATH, runJavaProbe } from './harness/java.js';
import { startServer, type ServerHandle } from './harness/server.js';
import { SUITE_PORTS, suitePort, targetKind } from './harness/target.js';

let server: ServerHandle;
let classDir: string;

before(async () => {
  classDir = compileJava(['CuratorProbe.java'], CURATOR_CLASSPATH);
  server = await startServer(targetKind(), { port: suitePort(SUITE_PORTS.curator) });
});

after(async () => {
  await server?.stop();
});

function probe<T>(scenario: string): Promise<T> {
  return runJavaProbe<T>(classDir, CURATOR_CLASSPATH, 'CuratorProbe', [server.connectString, scenario, '/cur-' + scenario]);
}

describe('Curator 5.4', () => {
  test('CuratorFramework CRUD, creatingParentsIfNeeded, createContainers, errors', async () => {
    const r = await probe<Record<string, unknown>>('crud');
    assert.deepEqual(r, {
      ensuredExists: true,
      ensuredParentEphemeralOwner: '0',
      created: '/cur-crud/a/b/c',
      data: 'hello',
      stat: {
        version: 0,
        cversion: 0,
        dataLength: 5,
        numChildren: 0,
        ephemeralOwner: '0',
        czxid: (r['stat'] as { czxid: number }).czxid,
        mzxid: (r['stat'] as { czxid: number }).czxid,
      },
      parentChildren: ['c'],
      setVersion: 1,
      badVersion: 'BADVERSION',
      dataAfter: 'world',
      nodeExists: 'NODEEXISTS',
      noParent: 'NONODE',
      seq: '/cur-crud/a/seq-0000000001',
      seqOwnerIsSession: true,
      ephemeralChild: 'NOCHILDRENFOREPHEMERALS',
      aChildren: ['b', 'seq-0000000001'],
      notEmpty: 'NOTEMPTY',
      afterDelete: true,
      deleteMissing: 'NONODE',
      deleteQuietly: null,
      ttlCreated: '/cur-crud/ttl',
      ttlData: 't',
      // the server stores 0xff00000000000000 | ttl as the owner, but clients see 0
      ttlOwner: '0',
    });
  });

  test('InterProcessMutex: two clients, two threads, mutual exclusion', async () => {
    const r = await probe<Record<string, unknown>>('mutex');
    assert.deepEqual(r, {
      counter: 30,
      expected: 30,
      maxInside: 1,
      errors: [],
      leftover: 0,
      reentrant: true,
      otherWhileHeld: false,
      heldNodes: 1,
      otherAfterRelease: true,
    });
  });

  test('LeaderLatch among three clients: one leader, another after it closes', async () => {
    const r = await probe<{
      leaders1: string[];
      reported1: string;
      participants1: number;
      closed: string;
      leaders2: string[];
      reported2: string;
      participants2: number;
    }>('leader');
    assert.equal(r.leaders1.length, 1, `exactly one leader: ${JSON.stringify(r.leaders1)}`);
    assert.equal(r.reported1, r.leaders1[0], 'getLeader() names the latch that has leadership');
    assert.equal(r.participants1, 3);
    assert.equal(r.closed, r.leaders1[0]);
    assert.equal(r.leaders2.length, 1, `exactly one new leader: ${JSON.stringify(r.leaders2)}`);
    assert.notEqual(r.leaders2[0], r.closed);
    assert.equal(r.reported2, r.leaders2[0]);
    assert.equal(r.participants2, 2);
  });

  test('CuratorCache: initial load, create, update, nested create, delete', async () => {
    const r = await probe<Record<string, unknown>>('cache');
    assert.deepEqual(r, {
      initial: ['create /cur-cache/root ', 'create /cur-cache/root/pre p'],
      afterCreate: ['create /cur-cache/root/x 1'],
      afterSet: ['change /cur-cache/root/x 1->2'],
      afterDeep: ['create /cur-cache/root/x/y deep'],
      afterDelete: ['delete /cur-cache/root/x 2', 'delete /cur-cache/root/x/y deep'],
      extra: [],
      cachedPre: 'p',
      size: 2,
    });
  });

  test('DistributedAtomicLong: 4 clients x 20 increments sum to 80; compareAndSet', async () => {
    const r = await probe<Record<string, unknown>>('atomic');
    assert.deepEqual(r, {
      final: 80,
      expected: 80,
      failed: 0,
      errors: [],
      postValuesAre1toN: true,
      casOk: true,
      casStale: false,
      afterCas: 1000,
    });
  });

  test('watchers().add(): PERSISTENT_RECURSIVE and PERSISTENT (addWatch), then removal', async () => {
    const r = await probe<Record<string, unknown>>('watch');
    const B = '/cur-watch/w';
    assert.deepEqual(r, {
      // recursive: every change below the path, no NodeChildrenChanged, fires again and again
      recursive: [
        `NodeCreated ${B}/a`,
        `NodeCreated ${B}/a/b`,
        `NodeDataChanged ${B}/a/b`,
        `NodeDataChanged ${B}/a/b`,
        `NodeDeleted ${B}/a/b`,
        `NodeDataChanged ${B}`,
      ],
      // persistent: the node's data and children events, not those of grandchildren
      persistent: [`NodeChildrenChanged ${B}`, `NodeDataChanged ${B}`],
      recursiveAgain: [`NodeDataChanged ${B}/a`],
      removedEvent: [`PersistentWatchRemoved ${B}`],
      removeAgain: 'NOWATCHER',
      recursiveAfterRemove: [],
      persistentAfter: [`NodeChildrenChanged ${B}`],
    });
  });

  test('PersistentNode (ephemeral) is created again after its session is expired', async () => {
    const r = await probe<Record<string, unknown>>('persistentNode');
    assert.deepEqual(r, {
      firstOwnerIsSession: true,
      newSession: true,
      secondOwnerIsNewSession: true,
      data: 'me',
      lost: true,
      reconnected: true,
      goneAfterClose: true,
    });
  });

  test('transaction().forOperations(): results per op; a failing op applies nothing', async () => {
    const r = await probe<Record<string, unknown>>('transaction');
    const B = '/cur-transaction/t';
    assert.deepEqual(r, {
      results: [
        { type: 'CREATE', forPath: `${B}/n`, resultPath: `${B}/n`, version: null, error: 0 },
        { type: 'CREATE', forPath: `${B}/s-`, resultPath: `${B}/s-0000000002`, version: null, error: 0 },
        { type: 'SET_DATA', forPath: B, resultPath: null, version: 1, error: 0 },
        { type: 'CHECK', forPath: `${B}/n`, resultPath: null, version: null, error: 0 },
        { type: 'DELETE', forPath: `${B}/old`, resultPath: null, version: null, error: 0 },
      ],
      children: ['n', 's-0000000002'],
      tData: '1',
      badErr: 'BADVERSION',
      childrenAfterFailed: ['n', 's-0000000002'],
      tDataAfterFailed: '1',
    });
  });
});
