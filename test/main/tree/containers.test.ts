// Unit tests of src/main/tree/containers.ts (ContainerManager.getCandidates) and the deleteContainer
// round trip the driver runs with its candidates.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, Err, OpCode } from '../../../src/common/zk.js';
import { containersToDelete } from '../../../src/main/tree/containers.js';
import {
  bytes,
  create,
  createTTL,
  ctx,
  del,
  delContainer,
  newDb,
  node,
  ok,
  prep,
  setData,
  write,
} from '../harness/zk-db.js';

const anon = ctx();
const system = ctx(0n, { cxid: 0 });

describe('containers', () => {
  it('an empty container goes only after it has had a child', () => {
    const db = newDb(false);
    ok(db, anon, create('/c', { op: OpCode.createContainer, flags: CreateMode.container }));
    const later = node(db, '/c').mtime + 10 * 60_000;
    assert.deepEqual(containersToDelete(db.tree, later), []);
    ok(db, anon, create('/c/x'));
    assert.deepEqual(containersToDelete(db.tree, later), [], 'not while it has children');
    ok(db, anon, del('/c/x'));
    assert.deepEqual(containersToDelete(db.tree, later), ['/c']);
  });
  it('maxNeverUsedIntervalMs removes containers that never had a child', () => {
    const db = newDb(false);
    ok(db, anon, create('/c', { op: OpCode.createContainer, flags: CreateMode.container }));
    const mtime = node(db, '/c').mtime;
    const opts = { maxNeverUsedIntervalMs: 1000 };
    assert.deepEqual(containersToDelete(db.tree, mtime + 1000, opts), []);
    assert.deepEqual(containersToDelete(db.tree, mtime + 1001, opts), ['/c']);
  });
  it('deleteContainer removes it; a child arriving first makes it NotEmpty', () => {
    const db = newDb(false);
    ok(db, anon, create('/c', { op: OpCode.createContainer, flags: CreateMode.container }), create('/c/x'), del('/c/x'));
    const [path] = containersToDelete(db.tree, Date.UTC(2030, 0));
    assert.equal(path, '/c');
    const racing = prep(db, anon, create('/c/y'));
    assert.equal(prep(db, system, delContainer('/c')).txn.type, -1);
    db.apply(racing);
    ok(db, anon, del('/c/y'));
    const r = write(db, system, delContainer('/c'));
    assert.equal(r.err, Err.ok);
    assert.equal(db.tree.getNode('/c'), undefined);
    assert.equal(db.tree.containers.size, 0);
    assert.equal(r.triggers.length, 2);
  });
});

describe('TTL nodes', () => {
  it('go once childless and unchanged for longer than their TTL; setData renews them', () => {
    const db = newDb(true);
    ok(db, anon, createTTL('/t', 1000), createTTL('/u', 5000));
    const t = node(db, '/t').mtime;
    assert.deepEqual(containersToDelete(db.tree, t + 1000), []);
    assert.deepEqual(containersToDelete(db.tree, t + 1001), ['/t']);
    ok(db, anon, setData('/t', bytes('renew')));
    const renewed = node(db, '/t').mtime;
    assert.deepEqual(containersToDelete(db.tree, renewed + 500), []);
    ok(db, anon, create('/t/child'));
    assert.deepEqual(
      containersToDelete(db.tree, renewed + 10_000),
      ['/u'],
      'not while it has children',
    );
    ok(db, anon, del('/t/child'));
    assert.deepEqual(containersToDelete(db.tree, renewed + 10_000), ['/t', '/u']);
    assert.equal(write(db, system, delContainer('/t')).err, Err.ok);
    assert.deepEqual([...db.tree.ttls], ['/u']);
  });
  it('containers come before TTL nodes', () => {
    const db = newDb(true);
    ok(
      db,
      anon,
      createTTL('/t', 1),
      create('/c', { op: OpCode.createContainer, flags: CreateMode.container }),
      create('/c/x'),
      del('/c/x'),
    );
    assert.deepEqual(containersToDelete(db.tree, node(db, '/c').mtime + 100), ['/c', '/t']);
  });
});
