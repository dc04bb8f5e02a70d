// Storage for the ensemble driver's sync paths (src/main/driver.ts): durable truncation (TRUNC:
// TxnLog.truncateAfter / SyncStage.truncate), SNAP images (serializeSnapshot / loadSnapshotImage)
// and installing one (SyncStage.installSnapshot: TxnLog.rebase). Each case ends in recover(),
// which must see exactly the history the ensemble kept: no truncated txn replayed, nothing lost,
// nothing misordered.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpCode } from '../../../src/common/zk.js';
import { StorageError } from '../../../src/main/storage/errors.js';
import { ensureVersionDirs, snapshotFileName, versionDir } from '../../../src/main/storage/layout.js';
import { loadSnapshotImage, recover } from '../../../src/main/storage/recovery.js';
import { serializeSnapshot } from '../../../src/main/storage/snapshot.js';
import { SyncStage } from '../../../src/main/storage/sync-stage.js';
import { TxnLog } from '../../../src/main/storage/txnlog.js';
import type { PreparedTxn } from '../../../src/main/pipeline/prep.js';
import { ctxOf, newDb, removeDir, tempDir, treeDump, txnAt } from './harness/helpers.js';

const epoch2 = 2 * 0x100000000;

function setup(): { dir: string; cleanup: () => void } {
  const dir = tempDir('zkts-ensemble-storage-');
  ensureVersionDirs(dir, dir);
  return { dir, cleanup: () => removeDir(dir) };
}

function newLog(dir: string, lastZxid = 0, preAllocBytes = 4096): TxnLog {
  return new TxnLog({
    dir: versionDir(dir),
    lastZxid,
    preAllocBytes,
    onFatal: (e) => assert.fail(`unexpected fatal: ${e.message}`),
  });
}

function flushed(log: { flush(done: () => void): void }): Promise<void> {
  return new Promise((resolve) => log.flush(resolve));
}

function recoveredPaths(dir: string): { paths: string[]; lastZxid: number; sessions: Map<bigint, number> } {
  const db = newDb();
  const r = recover(db, { dataDir: dir, dataLogDir: dir });
  const paths = treeDump(db)
    .map((line) => line.split(' ')[0]!)
    .filter((p) => p.startsWith('/n'));
  return { paths: paths.sort(), lastZxid: r.lastZxid, sessions: r.sessions };
}

function names(zxids: number[]): string[] {
  return zxids.map((z) => `/n${z}`).sort();
}

describe('durable truncation (TRUNC)', () => {
  it('cuts the file at the record boundary and drops later files; a restart does not replay them', async () => {
    const { dir, cleanup } = setup();
    try {
      const log = newLog(dir);
      for (let z = 1; z <= 5; z++) log.append(txnAt(z));
      await flushed(log);
      log.rollLog(); // 6.. in a second file, 9.. in a third
      for (let z = 6; z <= 8; z++) log.append(txnAt(z));
      await flushed(log);
      log.rollLog();
      for (let z = 9; z <= 10; z++) log.append(txnAt(z));
      await flushed(log);
      assert.equal(readdirSync(versionDir(dir)).filter((n) => n.startsWith('log.')).length, 3);
      log.truncateAfter(6);
      assert.equal(log.lastAppendedZxid, 6);
      // The new leader's history continues in its own epoch.
      log.append(txnAt(epoch2 + 1));
      await flushed(log);
      assert.equal(log.durableZxid, epoch2 + 1);
      await log.close();
      const files = readdirSync(versionDir(dir)).filter((n) => n.startsWith('log.')).sort();
      assert.deepEqual(files, ['log.1', 'log.200000001', 'log.6']);
      const r = recoveredPaths(dir);
      assert.deepEqual(r.paths, names([1, 2, 3, 4, 5, 6, epoch2 + 1]));
      assert.equal(r.lastZxid, epoch2 + 1);
    } finally {
      cleanup();
    }
  });

  it('is ordered with appends not yet flushed, and removes a file left without records', async () => {
    const { dir, cleanup } = setup();
    try {
      const log = newLog(dir);
      for (let z = 1; z <= 3; z++) log.append(txnAt(z));
      await flushed(log);
      log.rollLog();
      // Appended, not flushed: written first, then cut by the truncation in the same batch.
      for (let z = 4; z <= 7; z++) log.append(txnAt(z));
      log.truncateAfter(3);
      log.append(txnAt(epoch2 + 1));
      log.append(txnAt(epoch2 + 2));
      await flushed(log);
      await log.close();
      const files = readdirSync(versionDir(dir)).filter((n) => n.startsWith('log.')).sort();
      assert.deepEqual(files, ['log.1', 'log.200000001']);
      const r = recoveredPaths(dir);
      assert.deepEqual(r.paths, names([1, 2, 3, epoch2 + 1, epoch2 + 2]));
    } finally {
      cleanup();
    }
  });

  it('truncating to the end of the log changes nothing; to 0 empties it', async () => {
    const { dir, cleanup } = setup();
    try {
      const log = newLog(dir);
      for (let z = 1; z <= 4; z++) log.append(txnAt(z));
      log.truncateAfter(4);
      await flushed(log);
      assert.deepEqual(recoveredPaths(dir).paths, names([1, 2, 3, 4]));
      log.truncateAfter(0);
      await flushed(log);
      await log.close();
      assert.deepEqual(readdirSync(versionDir(dir)).filter((n) => n.startsWith('log.')), []);
      assert.equal(recoveredPaths(dir).lastZxid, 0);
    } finally {
      cleanup();
    }
  });

  it('SyncStage.truncate forgets the session changes above the point', async () => {
    const { dir, cleanup } = setup();
    try {
      const db = newDb();
      const sessions = new Map<bigint, number>();
      const stage = new SyncStage({ dataDir: dir, dataLogDir: dir, db, sessions, lastZxid: 0, onFatal: () => assert.fail('fatal') });
      const create = (zxid: number, id: bigint): PreparedTxn => ({
        hdr: { clientId: id, cxid: 0, zxid, time: 1, type: OpCode.createSession },
        txn: { type: OpCode.createSession, timeOut: 5000 },
      });
      stage.append(create(1, 0x11n));
      stage.append(create(2, 0x22n));
      stage.truncate(1);
      await flushed(stage);
      assert.deepEqual([...sessions.keys()], [0x11n]);
      await stage.close();
      assert.deepEqual([...recoveredPaths(dir).sessions.keys()], [0x11n]);
    } finally {
      cleanup();
    }
  });
});

describe('SNAP images', () => {
  it('round-trip the tree and sessions exactly, digest included', () => {
    const leader = newDb();
    leader.apply(leader.prepare(ctxOf(0x77n), { op: OpCode.createSession, req: null, timeOut: 9000 }, 1));
    for (let i = 0; i < 50; i++) {
      const p = leader.prepare(ctxOf(0x77n, i), { op: OpCode.create, req: { path: `/n${i}`, data: Buffer.from(`d${i}`), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: i % 5 === 0 ? 1 : 0 } }, 100 + i);
      leader.apply(p);
    }
    const sessions = new Map([[0x77n, 9000], [0x88n, 4000]]);
    const image = serializeSnapshot(leader.tree, sessions, leader.lastZxid);
    const learner = newDb();
    learner.apply(txnAt(1, '/old'));
    const loaded = loadSnapshotImage(learner.tree, image, leader.lastZxid);
    assert.equal(loaded.digest, 'match');
    assert.deepEqual(loaded.sessions, sessions);
    assert.deepEqual(treeDump(learner), treeDump(leader));
    assert.equal(learner.tree.getNode('/old'), undefined);
  });

  it('a damaged image is refused before the tree is touched', () => {
    const leader = newDb();
    leader.apply(txnAt(1));
    const image = serializeSnapshot(leader.tree, new Map(), 1);
    image[image.length >> 1]! ^= 0xff;
    const learner = newDb();
    learner.apply(txnAt(1, '/mine'));
    assert.throws(() => loadSnapshotImage(learner.tree, image, 1), StorageError);
    assert.notEqual(learner.tree.getNode('/mine'), undefined);
  });
});

describe('installing a SNAP image (SyncStage.installSnapshot)', () => {
  it('writes the snapshot, drops the old log durably, and the log continues after it', async () => {
    const { dir, cleanup } = setup();
    try {
      // The learner: an old log with a tail the leader never had (1..6, of which 5 and 6 are
      // an uncommitted suffix), then SNAP at the leader's (2, 3).
      const db = newDb();
      const sessions = new Map<bigint, number>([[0x99n, 1000]]);
      const stage = new SyncStage({ dataDir: dir, dataLogDir: dir, db, sessions, lastZxid: 0, preAllocBytes: 4096, onFatal: () => assert.fail('fatal') });
      for (let z = 1; z <= 6; z++) stage.append(txnAt(z));
      await flushed(stage);
      for (let z = 1; z <= 4; z++) db.apply(txnAt(z));

      const leader = newDb();
      for (const z of [1, 2, 3, 4, epoch2 + 1, epoch2 + 2, epoch2 + 3]) leader.apply(txnAt(z));
      const snapZxid = epoch2 + 3;
      const image = serializeSnapshot(leader.tree, new Map([[0x55n, 7000]]), snapZxid);
      const loaded = loadSnapshotImage(db.tree, image, snapZxid);
      db.lastZxid = snapZxid;
      db.resetPipeline(snapZxid);
      stage.installSnapshot(snapZxid, image, loaded.sessions);
      assert.deepEqual([...sessions], [[0x55n, 7000]]);
      // Entries after the snapshot, in the same batch as the install.
      stage.append(txnAt(epoch2 + 4));
      await flushed(stage);
      const files = readdirSync(versionDir(dir)).sort();
      assert.ok(files.includes(snapshotFileName(snapZxid)), files.join(','));
      assert.deepEqual(files.filter((n) => n.startsWith('log.')), ['log.200000004']);
      assert.ok(!files.some((n) => n.endsWith('.tmp')));
      stage.append(txnAt(epoch2 + 5));
      await flushed(stage);
      await stage.close();

      const r = recoveredPaths(dir);
      assert.deepEqual(r.paths, names([1, 2, 3, 4, epoch2 + 1, epoch2 + 2, epoch2 + 3, epoch2 + 4, epoch2 + 5]));
      assert.equal(r.lastZxid, epoch2 + 5);
      assert.deepEqual([...r.sessions], [[0x55n, 7000]]);
    } finally {
      cleanup();
    }
  });

  it('a crash after the snapshot was written but before the old logs went recovers from it', async () => {
    const { dir, cleanup } = setup();
    try {
      // What TxnLog.rebase leaves between its second and third step: the snapshot at 8, old logs
      // holding nothing above it (the first step truncated them).
      const log = newLog(dir);
      for (let z = 1; z <= 8; z++) log.append(txnAt(z));
      await flushed(log);
      await log.close();
      const leader = newDb();
      for (let z = 1; z <= 8; z++) leader.apply(txnAt(z));
      leader.apply(txnAt(9, '/only-in-snapshot'));
      // (named 9 so that replay skips every old record; the image holds 9's effect)
      writeFileSync(join(versionDir(dir), snapshotFileName(9)), serializeSnapshot(leader.tree, new Map(), 9));
      const db = newDb();
      const r = recover(db, { dataDir: dir, dataLogDir: dir });
      assert.equal(r.lastZxid, 9);
      assert.equal(r.replayed, 0);
      assert.notEqual(db.tree.getNode('/only-in-snapshot'), undefined);
      assert.ok(existsSync(join(versionDir(dir), 'log.1')));
    } finally {
      cleanup();
    }
  });
});
