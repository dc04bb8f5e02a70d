// Unit tests of src/main/tree: the built-in nodes and stats as a fresh ZooKeeper 3.8 shows them,
// stat bookkeeping on create / delete / setData / setACL, the replay leniency of DataTree, the
// ephemeral / container / TTL sets, counts and sizes, the digest against golden values computed
// by ZooKeeper 3.8's own DataTree, and the snapshot walk + restore.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openAclUnsafe, readAclUnsafe, type ACL } from '../../../src/common/acl.js';
import { Err, EventType } from '../../../src/common/zk.js';
import { DataTree, type PersistedNode } from '../../../src/main/tree/data-tree.js';
import { crc32 } from '../../../src/main/tree/digest.js';
import { containerOwner, ttlOwner } from '../../../src/main/tree/ephemeral.js';
import { DataNode, type WatchTrigger } from '../../../src/main/tree/node.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const digestAcl: ACL[] = [{ perms: 31, id: { scheme: 'digest', id: 'u:h' } }];

function mustNode(tree: DataTree, path: string): DataNode {
  const n = tree.getNode(path);
  assert.ok(n, `no node ${path}`);
  return n;
}

function create(
  tree: DataTree,
  path: string,
  zxid: number,
  owner = 0n,
  data: Uint8Array | null = null,
): DataNode {
  const n = tree.createNode(path, data, openAclUnsafe, owner, -1, zxid, 1000 + zxid, null);
  assert.ok(n instanceof DataNode, `create ${path}: ${String(n)}`);
  return n;
}

describe('a fresh tree', () => {
  const tree = new DataTree({ extendedTypesEnabled: false });
  it('has the stats ZooKeeper 3.8 reports for the four built-in nodes', () => {
    const zero = {
      czxid: 0,
      mzxid: 0,
      ctime: 0,
      mtime: 0,
      version: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 0,
      pzxid: 0,
    };
    assert.deepEqual(tree.statOf(mustNode(tree, '/')), { ...zero, cversion: -1, numChildren: 1 });
    assert.deepEqual(tree.statOf(mustNode(tree, '/zookeeper')), {
      ...zero,
      cversion: -2,
      numChildren: 2,
    });
    assert.deepEqual(tree.statOf(mustNode(tree, '/zookeeper/quota')), {
      ...zero,
      cversion: 0,
      numChildren: 0,
    });
    assert.deepEqual(tree.statOf(mustNode(tree, '/zookeeper/config')), {
      ...zero,
      aversion: -1,
      cversion: 0,
      numChildren: 0,
    });
  });
  it('root data is empty, not null; "" is the root too', () => {
    assert.deepEqual(mustNode(tree, '/').data, new Uint8Array(0));
    assert.equal(tree.getNode(''), tree.getNode('/'));
  });
  it('ACLs: open everywhere but /zookeeper/config, which is world-readable only', () => {
    assert.deepEqual(mustNode(tree, '/').acl, openAclUnsafe);
    assert.deepEqual(mustNode(tree, '/zookeeper').acl, openAclUnsafe);
    assert.deepEqual(mustNode(tree, '/zookeeper/config').acl, readAclUnsafe);
  });
  it('counts as mntr does: znode_count 5, approximate_data_size 44', () => {
    assert.equal(tree.nodeCount, 4);
    assert.equal(tree.zkNodeCount, 5);
    assert.equal(tree.approximateDataSize, 44);
    assert.equal(tree.getAllChildrenNumber('/'), 3);
    assert.equal(tree.getAllChildrenNumber('/zookeeper'), 2);
  });
  it('has ZooKeeper 3.8.0 DataTree digest of a fresh tree', () => {
    assert.equal(tree.treeDigest(), 1371985504n);
  });
});

describe('digest (DigestCalculator v2)', () => {
  it('crc32 is java.util.zip.CRC32', () => {
    assert.equal(crc32(bytes('123456789')), 0xcbf43926);
  });
  it('matches ZooKeeper 3.8.0 DataTree.getTreeDigest after each step', () => {
    // The same calls run through org.apache.zookeeper.server.DataTree gave these values.
    const t = new DataTree({ extendedTypesEnabled: false });
    t.createNode('/a', bytes('hello'), openAclUnsafe, 0n, -1, 2, 1700000000000, null);
    assert.equal(t.treeDigest(), 4124795797n);
    t.createNode('/a/b', null, openAclUnsafe, 0x0123456789abcdefn, 1, 3, 1700000000001, null);
    assert.equal(t.treeDigest(), 8442061243n);
    t.createNode(
      '/a/\u00e9\u20ac\ud83d\ude00',
      new Uint8Array([1, 2, 3]),
      openAclUnsafe,
      containerOwner,
      2,
      4,
      1700000000002,
      null,
    );
    assert.equal(t.treeDigest(), 6900047977n);
    t.setData('/a', bytes('world'), 1, 5, 1700000000003, null);
    assert.equal(t.treeDigest(), 8087535911n);
    t.deleteNode('/a/b', 6, null);
    assert.equal(t.treeDigest(), 3734003978n);
    t.setACL('/a', readAclUnsafe, 1);
    assert.equal(t.treeDigest(), 4052045131n);
    t.createNode('/zookeeper/x', null, openAclUnsafe, 0n, -1, 7, 1700000000004, null);
    assert.equal(t.treeDigest(), 5500959989n);
    assert.equal(t.approximateDataSize, 73);
    assert.equal(t.zkNodeCount, 8);
    assert.deepEqual(t.statOf(mustNode(t, '/a')), {
      czxid: 2,
      mzxid: 5,
      ctime: 1700000000000,
      mtime: 1700000000003,
      version: 1,
      cversion: 3,
      aversion: 1,
      ephemeralOwner: 0n,
      dataLength: 5,
      numChildren: 1,
      pzxid: 6,
    });
  });
  it('is the same for the same history, different otherwise', () => {
    const build = (v: string): bigint => {
      const t = new DataTree({ extendedTypesEnabled: false });
      create(t, '/x', 1, 0n, bytes(v));
      return t.treeDigest();
    };
    assert.equal(build('a'), build('a'));
    assert.notEqual(build('a'), build('b'));
  });
});

describe('create / delete bookkeeping', () => {
  it('create sets the stat and moves the parent cversion and pzxid', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    const a = create(t, '/a', 2, 0n, bytes('x'));
    assert.deepEqual(t.statOf(a), {
      czxid: 2,
      mzxid: 2,
      ctime: 1002,
      mtime: 1002,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 1,
      numChildren: 0,
      pzxid: 2,
    });
    create(t, '/a/b', 3);
    // ZooKeeper: after create /a/b, stat /a shows cversion 1, pzxid 3;
    // after delete /a/b, cversion 2, pzxid 4.
    assert.equal(t.statOf(a).cversion, 1);
    assert.equal(t.statOf(a).pzxid, 3);
    assert.equal(t.statOf(a).mzxid, 2);
    assert.equal(t.deleteNode('/a/b', 4, null), Err.ok);
    assert.equal(t.statOf(a).cversion, 2);
    assert.equal(t.statOf(a).pzxid, 4);
    assert.equal(t.statOf(a).numChildren, 0);
    assert.equal(a.cversion, 1, 'persisted cversion counts creates');
  });
  it('raises created / deleted events, each followed by children-changed on the parent', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    const triggers: WatchTrigger[] = [];
    t.createNode('/a', null, digestAcl, 0n, -1, 1, 1, triggers);
    t.createNode('/a/b', null, openAclUnsafe, 0n, -1, 2, 2, triggers);
    t.setData('/a/b', bytes('z'), 1, 3, 3, triggers);
    t.setACL('/a/b', digestAcl, 1);
    t.deleteNode('/a/b', 4, triggers);
    assert.deepEqual(
      triggers.map((x) => [x.path, x.type]),
      [
        ['/a', EventType.nodeCreated],
        ['/', EventType.nodeChildrenChanged],
        ['/a/b', EventType.nodeCreated],
        ['/a', EventType.nodeChildrenChanged],
        ['/a/b', EventType.nodeDataChanged],
        ['/a/b', EventType.nodeDeleted],
        ['/a', EventType.nodeChildrenChanged],
      ],
    );
    // Each event carries the ACL of its node (the parent's for children-changed).
    assert.deepEqual(triggers[0]?.acl, digestAcl);
    assert.deepEqual(triggers[1]?.acl, openAclUnsafe);
    assert.deepEqual(triggers[3]?.acl, digestAcl);
    assert.deepEqual(triggers[5]?.acl, digestAcl, 'NodeDeleted carries the node ACL as it was');
  });
  it('create: NoNode without a parent; NodeExists on a node, which takes the new ACL', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    assert.equal(t.createNode('/x/y', null, openAclUnsafe, 0n, -1, 1, 1, null), Err.noNode);
    create(t, '/x', 2);
    const triggers: WatchTrigger[] = [];
    assert.equal(t.createNode('/x', null, digestAcl, 0n, -1, 3, 3, triggers), Err.nodeExists);
    assert.deepEqual(mustNode(t, '/x').acl, digestAcl);
    assert.equal(triggers.length, 0);
  });
  it('a replayed create never moves the parent cversion back', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    create(t, '/p', 1);
    create(t, '/p/a', 2);
    create(t, '/p/b', 3);
    assert.equal(mustNode(t, '/p').cversion, 2);
    t.createNode('/p/c', null, openAclUnsafe, 0n, 1, 4, 4, null);
    assert.equal(mustNode(t, '/p').cversion, 2);
    assert.equal(mustNode(t, '/p').pzxid, 3);
    assert.equal(t.setCversionPzxid('/p/', 7, 9), Err.ok);
    assert.equal(mustNode(t, '/p').cversion, 7);
    assert.equal(mustNode(t, '/p').pzxid, 9);
    assert.equal(t.setCversionPzxid('/nope', 7, 9), Err.noNode);
  });
  it('delete of a missing node still bumps the parent pzxid (fuzzy snapshot replay)', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    create(t, '/p', 1);
    assert.equal(t.deleteNode('/p/gone', 5, null), Err.noNode);
    assert.equal(mustNode(t, '/p').pzxid, 5);
    assert.equal(t.deleteNode('/p/gone', 3, null), Err.noNode);
    assert.equal(mustNode(t, '/p').pzxid, 5, 'pzxid only moves forward');
    assert.equal(t.deleteNode('/nope/x', 6, null), Err.noNode);
  });
  it('setData and setACL report NoNode for a missing node', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    assert.equal(t.setData('/x', null, 1, 1, 1, null), Err.noNode);
    assert.equal(t.setACL('/x', openAclUnsafe, 1), Err.noNode);
  });
});

describe('sizes and counts', () => {
  it('approximate data size follows path and data lengths', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    create(t, '/abc', 1, 0n, bytes('12345'));
    assert.equal(t.approximateDataSize, 44 + 4 + 5);
    t.setData('/abc', bytes('1'), 1, 2, 2, null);
    assert.equal(t.approximateDataSize, 44 + 4 + 1);
    t.setData('/abc', null, 2, 3, 3, null);
    assert.equal(t.approximateDataSize, 44 + 4);
    t.deleteNode('/abc', 4, null);
    assert.equal(t.approximateDataSize, 44);
  });
  it('getAllChildrenNumber counts the whole subtree', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    create(t, '/a', 1);
    create(t, '/a/b', 2);
    create(t, '/a/b/c', 3);
    create(t, '/a/d', 4);
    create(t, '/ab', 5);
    assert.equal(t.getAllChildrenNumber('/a'), 3);
    assert.equal(t.getAllChildrenNumber('/a/b/c'), 0);
    assert.equal(t.getAllChildrenNumber('/'), 8);
  });
});

describe('ephemerals, containers and TTL nodes', () => {
  it('tracks ephemerals per session, signed or unsigned ids alike', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    const unsigned = 0x8100000000000001n;
    create(t, '/e1', 1, unsigned);
    create(t, '/e2', 2, BigInt.asIntN(64, unsigned));
    create(t, '/f', 3, 7n);
    assert.deepEqual([...(t.ephemeralsOf(unsigned) ?? [])], ['/e1', '/e2']);
    assert.equal(t.ephemeralsCount, 3);
    assert.deepEqual(t.getEphemerals(unsigned, '/e1'), ['/e1']);
    assert.deepEqual(t.getEphemerals(unsigned, ' / '), ['/e1', '/e2']);
    assert.deepEqual(t.getEphemerals(unsigned, ''), ['/e1', '/e2']);
    assert.deepEqual(t.getEphemerals(unsigned, '/e'), ['/e1', '/e2'], 'a string prefix');
    assert.deepEqual(t.getEphemerals(99n, ''), []);
    assert.equal(t.statOf(mustNode(t, '/e1')).ephemeralOwner, BigInt.asIntN(64, unsigned));
    t.deleteNode('/e1', 4, null);
    assert.deepEqual([...(t.ephemeralsOf(unsigned) ?? [])], ['/e2']);
  });
  it('killSession deletes the listed paths and any other ephemeral of the session', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    create(t, '/p', 1);
    create(t, '/p/e1', 2, 5n);
    create(t, '/p/e2', 3, 5n);
    create(t, '/p/other', 4, 6n);
    const triggers: WatchTrigger[] = [];
    t.killSession(5n, 10, ['/p/e2', '/p/gone'], triggers);
    assert.equal(t.getNode('/p/e1'), undefined);
    assert.equal(t.getNode('/p/e2'), undefined);
    assert.ok(t.getNode('/p/other'));
    assert.equal(t.ephemeralsOf(5n), undefined);
    assert.deepEqual(
      triggers.map((x) => [x.path, x.type]),
      [
        ['/p/e2', EventType.nodeDeleted],
        ['/p', EventType.nodeChildrenChanged],
        ['/p/e1', EventType.nodeDeleted],
        ['/p', EventType.nodeChildrenChanged],
      ],
    );
    assert.equal(mustNode(t, '/p').pzxid, 10);
  });
  it('containers and TTL nodes are tracked and show ephemeralOwner 0', () => {
    const t = new DataTree({ extendedTypesEnabled: true });
    create(t, '/c', 1, containerOwner);
    create(t, '/t', 2, ttlOwner(5000));
    assert.deepEqual([...t.containers], ['/c']);
    assert.deepEqual([...t.ttls], ['/t']);
    assert.equal(t.statOf(mustNode(t, '/c')).ephemeralOwner, 0n);
    assert.equal(t.statOf(mustNode(t, '/t')).ephemeralOwner, 0n);
    assert.equal(t.ephemeralsCount, 0);
    t.deleteNode('/c', 3, null);
    t.deleteNode('/t', 4, null);
    assert.equal(t.containers.size + t.ttls.size, 0);
  });
  it('without extended types a TTL-looking owner is a plain ephemeral', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    create(t, '/t', 2, ttlOwner(5000));
    assert.equal(t.ttls.size, 0);
    assert.equal(t.ephemeralsCount, 1);
  });
});

describe('ACL cache', () => {
  it('shares one entry per distinct ACL and frees it with its last node', () => {
    const t = new DataTree({ extendedTypesEnabled: false });
    const before = t.aclCacheSize;
    t.createNode('/a', null, digestAcl, 0n, -1, 1, 1, null);
    t.createNode(
      '/b',
      null,
      [{ perms: 31, id: { scheme: 'digest', id: 'u:h' } }],
      0n,
      -1,
      2,
      2,
      null,
    );
    assert.equal(t.aclCacheSize, before + 1);
    assert.equal(mustNode(t, '/a').aclEntry, mustNode(t, '/b').aclEntry);
    t.deleteNode('/a', 3, null);
    assert.equal(t.aclCacheSize, before + 1);
    t.setACL('/b', openAclUnsafe, 1);
    assert.equal(t.aclCacheSize, before + 1, 'open ACL from a client gets its own entry');
    t.deleteNode('/b', 4, null);
    assert.equal(t.aclCacheSize, before);
  });
});

describe('snapshot walk and restore', () => {
  it('visits parents first and restores an identical tree', () => {
    const t = new DataTree({ extendedTypesEnabled: true });
    create(t, '/a', 1, 0n, bytes('A'));
    t.createNode('/a/b', bytes('B'), digestAcl, 0n, -1, 2, 2, null);
    create(t, '/a/b/c', 3, 9n);
    create(t, '/d', 4, containerOwner);
    create(t, '/e', 5, ttlOwner(100));
    t.setData('/a', bytes('AA'), 1, 6, 6, null);
    const visited: [string, PersistedNode][] = [];
    t.forEachNode((path, n) =>
      visited.push([
        path,
        {
          data: n.data,
          aclId: t.aclIdOf(n),
          czxid: n.czxid,
          mzxid: n.mzxid,
          ctime: n.ctime,
          mtime: n.mtime,
          version: n.version,
          cversion: n.cversion,
          aversion: n.aversion,
          ephemeralOwner: n.ephemeralOwner,
          pzxid: n.pzxid,
        },
      ]),
    );
    const paths = visited.map(([p]) => p);
    assert.equal(paths[0], '/');
    for (const p of paths.slice(1)) {
      const parent = p.slice(0, p.lastIndexOf('/')) || '/';
      assert.ok(paths.indexOf(parent) < paths.indexOf(p), `${parent} before ${p}`);
    }
    const r = new DataTree({ extendedTypesEnabled: true });
    r.beginRestore(t.aclTable());
    for (const [p, n] of visited) r.restoreNode(p, n);
    r.endRestore();
    assert.equal(r.treeDigest(), t.treeDigest());
    assert.equal(r.approximateDataSize, t.approximateDataSize);
    assert.equal(r.nodeCount, t.nodeCount);
    assert.deepEqual(r.statOf(mustNode(r, '/a')), t.statOf(mustNode(t, '/a')));
    assert.deepEqual(mustNode(r, '/a/b').acl, digestAcl);
    assert.deepEqual([...(r.ephemeralsOf(9n) ?? [])], ['/a/b/c']);
    assert.deepEqual([...r.containers], ['/d']);
    assert.deepEqual([...r.ttls], ['/e']);
    assert.deepEqual(mustNode(r, '/zookeeper/config').acl, readAclUnsafe);
  });
});
