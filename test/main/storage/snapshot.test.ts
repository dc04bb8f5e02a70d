// Unit tests of src/main/storage/snapshot.ts and sync-stage.ts (with the real piscina worker):
// a snapshot round trip, written inline (a small image) and on the pool thread; FUZZY snapshots taken while writes keep flowing recover the exact tree
// (digest and every node); an ACL first used during the walk; one snapshot at a time; snapCount
// triggering with a log roll; the sessions map following durable session txns only.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { OpCode } from '../../../src/common/zk.js';
import { StorageError, StorageErrorCode } from '../../../src/main/storage/errors.js';
import { versionDir } from '../../../src/main/storage/layout.js';
import { recover } from '../../../src/main/storage/recovery.js';
import { verifySeals } from '../../../src/main/storage/snapshot-format.js';
import { SyncStage, type SyncStageOptions } from '../../../src/main/storage/sync-stage.js';
import type { WriteRequest, ZkDatabase } from '../../../src/main/pipeline/database.js';
import {
  MiniPipeline,
  Workload,
  bytes,
  ctxOf,
  mulberry32,
  newDb,
  removeDir,
  tempDir,
  treeDump,
} from './harness/helpers.js';

const noFatal = (e: StorageError): void => assert.fail(`unexpected fatal: ${e.message}`);

interface Rig {
  dir: string;
  db: ZkDatabase;
  stage: SyncStage;
  pipeline: MiniPipeline;
}

/** `interleave`: the walk takes its next slice only after the next write batch applied. */
function rig(dir: string, opts: Partial<SyncStageOptions> = {}, interleave = false): Rig {
  const db = newDb();
  const r = recover(db, { dataDir: dir, dataLogDir: dir });
  let pipeline: MiniPipeline | null = null;
  const yieldToWrites = (): Promise<void> => pipeline?.nextApplied() ?? Promise.resolve();
  const stage = new SyncStage({
    dataDir: dir,
    dataLogDir: dir,
    db,
    sessions: r.sessions,
    lastZxid: r.lastZxid,
    onFatal: noFatal,
    snapCount: 1_000_000,
    preAllocBytes: 1 << 20,
    ...(interleave ? { snapshotYield: yieldToWrites } : {}),
    ...opts,
  });
  pipeline = new MiniPipeline(db, stage);
  return { dir, db, stage, pipeline };
}

/** A wide tree: `count` nodes under /wide/gN (100 per group), written in batches of 100. */
async function grow(r: Rig, count: number): Promise<void> {
  const node = (path: string, data: Uint8Array | null): WriteRequest => ({
    op: OpCode.create,
    req: { path, data, acl: open(), flags: 0 },
  });
  await r.pipeline.write(1n, [node('/wide', null)]);
  for (let g = 0; g * 100 < count; g++) {
    const batch = [node(`/wide/g${g}`, null)];
    for (let i = 0; i < 100 && g * 100 + i < count; i++) {
      batch.push(node(`/wide/g${g}/n${i}`, bytes(`v${i}`)));
    }
    await r.pipeline.write(1n, batch);
  }
}

function open(): { perms: number; id: { scheme: string; id: string } }[] {
  return [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
}

function snapshotFiles(dir: string): string[] {
  return readdirSync(versionDir(dir))
    .filter((n) => /^snapshot\.[0-9a-f]+$/.test(n))
    .sort((a, b) => parseInt(a.slice(9), 16) - parseInt(b.slice(9), 16));
}

function recovered(dir: string): { db: ZkDatabase; result: ReturnType<typeof recover> } {
  const db = newDb();
  const result = recover(db, { dataDir: dir, dataLogDir: dir });
  return { db, result };
}

describe('snapshots', () => {
  // A small image is written from the main thread with async fs calls, without starting the
  // pool thread (snapshotWriteInlineBytesMax); a larger one goes to the pool thread. Same file.
  for (const [way, inlineMax] of [['inline, no pool thread', undefined], ['on the pool thread', 0]] as const) {
  it(`round trip (${way}): the snapshot alone rebuilds the tree, ACLs and sessions`, async () => {
    const dir = tempDir();
    try {
      const r = rig(dir, inlineMax === undefined ? {} : { snapshotInlineWriteBytesMax: inlineMax });
      const work = new Workload(mulberry32(3));
      for (let i = 0; i < 400; i++) {
        const b = work.next();
        await r.pipeline.write(b.session, b.requests);
      }
      const info = await r.stage.snapshot();
      assert.equal(info.zxid, r.db.lastZxid);
      assert.equal(r.stage.snapshots.stats.writtenInline, inlineMax === undefined ? 1 : 0);
      assert.equal(r.stage.snapshots.poolStarted, inlineMax !== undefined, 'the pool thread starts only for a large image');
      const sessions = new Map(r.stage.sessions);
      await r.stage.close();
      for (const n of readdirSync(versionDir(dir))) {
        if (n.startsWith('log.')) unlinkSync(join(versionDir(dir), n));
      }
      const back = recovered(dir);
      assert.equal(back.result.replayed, 0);
      assert.equal(back.result.digest, 'match');
      assert.deepEqual(treeDump(back.db), treeDump(r.db));
      assert.equal(back.db.tree.treeDigest(), r.db.tree.treeDigest());
      assert.deepEqual(back.result.sessions, sessions);
      assert.ok(sessions.size > 0);
    } finally {
      removeDir(dir);
    }
  });
  }

  it('an inline write that fails leaves no file and rejects with snapshotWrite', async () => {
    const dir = tempDir();
    try {
      const r = rig(dir);
      await grow(r, 50);
      rmSync(versionDir(dir), { recursive: true, force: true }); // the snapshot directory is gone
      await assert.rejects(
        r.stage.snapshot(),
        (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.snapshotWrite && /ENOENT/.test(e.message),
      );
      assert.equal(r.stage.snapshots.stats.failed, 1);
      assert.equal(r.stage.snapshots.poolStarted, false);
      await r.stage.close();
    } finally {
      removeDir(dir);
    }
  });

  for (const seed of [21, 22, 23]) {
    it(`fuzzy: taken while writes flow, it recovers the exact tree (seed ${seed})`, async () => {
      const dir = tempDir();
      try {
        // 20 nodes a slice, each after a write batch applied: some 300 batches land during
        // the walk, however slow the disk is.
        const r = rig(dir, { snapshotSliceNodes: 20 }, true);
        await grow(r, 6000);
        const work = new Workload(mulberry32(seed));
        const taking = r.stage.snapshot();
        while (r.stage.snapshots.running) {
          const b = work.next();
          await r.pipeline.write(b.session, b.requests);
        }
        const info = await taking;
        for (let i = 0; i < 50; i++) {
          const b = work.next();
          await r.pipeline.write(b.session, b.requests);
        }
        const sessions = new Map(r.stage.sessions);
        await r.stage.close();
        // It really was fuzzy: the digest was taken at a later zxid than the name's.
        const seal = verifySeals(readFileSync(info.file))[0];
        assert.ok((seal?.digest?.zxid ?? 0) > info.zxid, 'no write landed during the walk');
        const back = recovered(dir);
        assert.equal(back.result.snapshot?.file, info.file);
        assert.equal(back.result.digest, 'match');
        assert.equal(back.result.lastZxid, r.db.lastZxid);
        assert.equal(back.db.tree.treeDigest(), r.db.tree.treeDigest());
        assert.deepEqual(treeDump(back.db), treeDump(r.db));
        assert.deepEqual(back.result.sessions, sessions);
      } finally {
        removeDir(dir);
      }
    });
  }

  it('an ACL first used during the walk is in the snapshot (ACL map written last)', async () => {
    const dir = tempDir();
    try {
      const r = rig(dir, { snapshotSliceNodes: 20 }, true);
      await grow(r, 3000);
      const taking = r.stage.snapshot();
      // Give every node a brand-new ACL, one batch per turn, while the walk goes on.
      let g = 0;
      while (r.stage.snapshots.running) {
        const acl = [{ perms: 31, id: { scheme: 'ip', id: `10.1.${g % 250}.${g >> 8}` } }];
        await r.pipeline.write(1n, [
          { op: OpCode.setACL, req: { path: `/wide/g${g % 30}/n${g % 100}`, acl, version: -1 } },
        ]);
        g++;
      }
      const info = await taking;
      await r.stage.close();
      // Recover from this snapshot alone up to its digest zxid: rebuild the live tree.
      const back = recovered(dir);
      assert.equal(back.result.snapshot?.file, info.file);
      assert.equal(back.result.digest, 'match');
      assert.deepEqual(treeDump(back.db), treeDump(r.db));
    } finally {
      removeDir(dir);
    }
  });

  it('a fuzzy snapshot without the log up to its digest zxid is a hole', async () => {
    const dir = tempDir();
    try {
      const r = rig(dir, { snapshotSliceNodes: 20 }, true);
      await grow(r, 3000);
      const taking = r.stage.snapshot();
      const work = new Workload(mulberry32(5));
      while (r.stage.snapshots.running) {
        const b = work.next();
        await r.pipeline.write(b.session, b.requests);
      }
      await taking;
      await r.stage.close();
      for (const n of readdirSync(versionDir(dir))) {
        if (n.startsWith('log.')) unlinkSync(join(versionDir(dir), n));
      }
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === StorageErrorCode.logGap &&
          /the log ends at 0x[0-9a-f]+ but the snapshot/.test(e.message),
      );
    } finally {
      removeDir(dir);
    }
  });

  it('one snapshot at a time: a second request while one runs is refused', async () => {
    const dir = tempDir();
    try {
      const r = rig(dir, { snapshotSliceNodes: 100 });
      await grow(r, 1000);
      const first = r.stage.snapshot();
      await assert.rejects(
        r.stage.snapshot(),
        (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.snapshotBusy,
      );
      await first;
      await r.stage.snapshot(); // and the next one is fine
      assert.equal(r.stage.snapshots.stats.taken, 2);
      await r.stage.close();
    } finally {
      removeDir(dir);
    }
  });

  it('snapCount: the log rolls and a snapshot starts every snapCount/2 + random txns', async () => {
    const dir = tempDir();
    try {
      const r = rig(dir, { snapCount: 100, random: () => 0.5 }); // every 50 + 25 = 76th txn
      const work = new Workload(mulberry32(9));
      while (r.stage.log.stats.txns < 400) {
        const b = work.next();
        await r.pipeline.write(b.session, b.requests);
        // A slow disk would make the next trigger find this snapshot still running ("Too busy
        // to snap"): wait, so that each trigger gets its snapshot.
        while (r.stage.snapshots.running) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await r.stage.close();
      const logs = readdirSync(versionDir(dir)).filter((n) => n.startsWith('log.'));
      assert.ok(logs.length >= 5, `logs: ${logs.join(' ')}`);
      assert.ok(snapshotFiles(dir).length >= 3, `snapshots: ${snapshotFiles(dir).join(' ')}`);
      const back = recovered(dir);
      assert.equal(back.result.lastZxid, r.db.lastZxid);
      assert.deepEqual(treeDump(back.db), treeDump(r.db));
    } finally {
      removeDir(dir);
    }
  });

  it('dataDir and dataLogDir apart: snapshots in one, logs in the other', async () => {
    const dataDir = tempDir();
    const dataLogDir = tempDir();
    try {
      const db = newDb();
      const r0 = recover(db, { dataDir, dataLogDir });
      const stage = new SyncStage({
        dataDir,
        dataLogDir,
        db,
        sessions: r0.sessions,
        lastZxid: r0.lastZxid,
        onFatal: noFatal,
        preAllocBytes: 1 << 16,
      });
      const pipeline = new MiniPipeline(db, stage);
      const work = new Workload(mulberry32(31));
      for (let i = 0; i < 100; i++) {
        const b = work.next();
        await pipeline.write(b.session, b.requests);
        if (i === 50) await stage.snapshot();
      }
      await stage.close();
      assert.deepEqual(
        readdirSync(versionDir(dataDir)).map((n) => n.split('.')[0]),
        ['snapshot'],
      );
      assert.ok(readdirSync(versionDir(dataLogDir)).every((n) => n.startsWith('log.')));
      const back = newDb();
      const r = recover(back, { dataDir, dataLogDir });
      assert.equal(r.lastZxid, db.lastZxid);
      assert.deepEqual(treeDump(back), treeDump(db));
    } finally {
      removeDir(dataDir);
      removeDir(dataLogDir);
    }
  });

  it('the sessions map takes a session txn only once it is durable', async () => {
    const dir = tempDir();
    try {
      const r = rig(dir);
      const p = r.db.prepare(
        { sessionId: 0x77n, cxid: 0, authIds: [], isLocalSession: false },
        { op: OpCode.createSession, req: null, timeOut: 5000 },
        1,
      );
      r.stage.append(p);
      assert.equal(r.stage.sessions.has(0x77n), false);
      await new Promise<void>((resolve) => r.stage.flush(resolve));
      assert.equal(r.stage.sessions.get(0x77n), 5000);
      await r.stage.close();
    } finally {
      removeDir(dir);
    }
  });

  it('a txn applied before its log fsync (an ensemble member) is durable before the snapshot file is written', async () => {
    const dir = tempDir();
    try {
      let durableAtWrite = -1;
      let r: Rig | null = null;
      r = rig(dir, {
        snapshotRunner: () => {
          durableAtWrite = r!.stage.log.durableZxid;
          return Promise.reject(new Error('(test) the file is not written'));
        },
      });
      await grow(r, 50);
      // As a follower does when a quorum commits before its own fsync: logged, applied, not flushed.
      const p = r.db.prepare(ctxOf(1n, 9), { op: OpCode.create, req: { path: '/early', data: bytes('e'), acl: open(), flags: 0 } }, Date.now());
      r.stage.append(p);
      r.db.apply(p);
      assert.ok(r.stage.log.durableZxid < p.hdr.zxid);
      await assert.rejects(r.stage.snapshot());
      assert.ok(durableAtWrite >= p.hdr.zxid, `the snapshot was written with the log durable to ${durableAtWrite} < ${p.hdr.zxid}`);
      await r.stage.close();
    } finally {
      removeDir(dir);
    }
  });
});
