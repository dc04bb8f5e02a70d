// Unit tests of src/main/storage/purge.ts: the newest N snapshots are kept with every log needed
// to recover from the oldest of them, so recovery still works when the newer ones are damaged;
// snapRetainCount is at least 3; half-written snapshots do not count; the scheduler.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageError } from '../../../src/main/storage/errors.js';
import { versionDir, zxidFromName } from '../../../src/main/storage/layout.js';
import { purge, PurgeScheduler } from '../../../src/main/storage/purge.js';
import { recover } from '../../../src/main/storage/recovery.js';
import { SyncStage } from '../../../src/main/storage/sync-stage.js';
import {
  MemoryLogger,
  MiniPipeline,
  Workload,
  mulberry32,
  newDb,
  removeDir,
  tempDir,
  treeDump,
} from './harness/helpers.js';

const noFatal = (e: StorageError): void => assert.fail(`unexpected fatal: ${e.message}`);

/** A data dir with many snapshots and logs (snapCount 60: a roll + snapshot every ~45 txns). */
async function history(dir: string, txns: number): Promise<ReturnType<typeof newDb>> {
  const db = newDb();
  const r = recover(db, { dataDir: dir, dataLogDir: dir });
  const stage = new SyncStage({
    dataDir: dir,
    dataLogDir: dir,
    db,
    sessions: r.sessions,
    lastZxid: r.lastZxid,
    onFatal: noFatal,
    snapCount: 60,
    random: mulberry32(1),
    preAllocBytes: 1 << 16,
  });
  const pipeline = new MiniPipeline(db, stage);
  const work = new Workload(mulberry32(2));
  while (stage.log.stats.txns < txns) {
    const b = work.next();
    await pipeline.write(b.session, b.requests);
    while (stage.snapshots.running) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await stage.close();
  return db;
}

function names(dir: string, prefix: string): string[] {
  return readdirSync(versionDir(dir))
    .filter((n) => zxidFromName(n, prefix) >= 0)
    .sort((a, b) => zxidFromName(a, prefix) - zxidFromName(b, prefix));
}

function damage(file: string): void {
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x10;
  writeFileSync(file, bytes);
}

describe('purge', () => {
  it('keeps the newest 3 snapshots and the logs the oldest of them needs', async () => {
    const dir = tempDir();
    try {
      const db = await history(dir, 600);
      const snapsBefore = names(dir, 'snapshot');
      const logsBefore = names(dir, 'log');
      assert.ok(snapsBefore.length >= 6, `only ${snapsBefore.length} snapshots`);
      const result = await purge({ dataDir: dir, dataLogDir: dir, snapRetainCount: 3 });
      const kept = snapsBefore.slice(-3);
      assert.deepEqual(names(dir, 'snapshot'), kept);
      const least = zxidFromName(kept[0] ?? '', 'snapshot');
      assert.equal(result.leastZxid, least);
      // The log that holds the txns right after the oldest kept snapshot survives.
      const logsAfter = names(dir, 'log');
      const first = logsAfter[0] ?? '';
      assert.ok(zxidFromName(first, 'log') <= least + 1, `${first} starts after ${least}`);
      assert.ok(logsAfter.length < logsBefore.length, 'some logs were purged');
      // Recovery from the newest, then with the two newest damaged, from the oldest kept.
      const a = newDb();
      assert.equal(recover(a, { dataDir: dir, dataLogDir: dir }).lastZxid, db.lastZxid);
      for (const s of kept.slice(1)) damage(join(versionDir(dir), s));
      const b = newDb();
      const r = recover(b, { dataDir: dir, dataLogDir: dir });
      assert.equal(r.snapshot?.file, join(versionDir(dir), kept[0] ?? ''));
      assert.deepEqual(treeDump(b), treeDump(db));
    } finally {
      removeDir(dir);
    }
  });

  it('snapRetainCount below 3 is raised to 3; too few snapshots purges nothing', async () => {
    const dir = tempDir();
    try {
      await history(dir, 600);
      const before = names(dir, 'snapshot');
      await purge({ dataDir: dir, dataLogDir: dir, snapRetainCount: 1 });
      assert.deepEqual(names(dir, 'snapshot'), before.slice(-3));
      const logs = names(dir, 'log');
      const result = await purge({ dataDir: dir, dataLogDir: dir, snapRetainCount: 10 });
      assert.deepEqual(result.removed, []);
      assert.deepEqual(names(dir, 'log'), logs);
    } finally {
      removeDir(dir);
    }
  });

  it('half-written snapshots do not count towards the ones kept', async () => {
    const dir = tempDir();
    try {
      await history(dir, 600);
      const snaps = names(dir, 'snapshot');
      const newest = snaps.slice(-2);
      for (const s of newest) truncateSync(join(versionDir(dir), s), 200);
      await purge({ dataDir: dir, dataLogDir: dir, snapRetainCount: 3 });
      // The 3 newest complete ones are kept (and the 2 broken ones, which are newer).
      assert.deepEqual(names(dir, 'snapshot'), snaps.slice(-5));
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.equal(r.skippedSnapshots.length, 2);
    } finally {
      removeDir(dir);
    }
  });

  it('the scheduler purges at start and is off with purgeInterval 0', async () => {
    const dir = tempDir();
    try {
      await history(dir, 400);
      const logger = new MemoryLogger();
      const off = new PurgeScheduler({
        dataDir: dir,
        dataLogDir: dir,
        snapRetainCount: 3,
        purgeIntervalHours: 0,
        logger,
      });
      off.start();
      await off.stop();
      assert.ok(logger.find('info', 'not scheduled'));
      const before = names(dir, 'snapshot').length;
      const on = new PurgeScheduler({
        dataDir: dir,
        dataLogDir: dir,
        snapRetainCount: 2,
        purgeIntervalHours: 1,
        logger,
      });
      on.start();
      await on.stop();
      assert.ok(logger.find('warn', 'snapRetainCount'));
      assert.equal(names(dir, 'snapshot').length, Math.min(before, 3));
    } finally {
      removeDir(dir);
    }
  });
});
