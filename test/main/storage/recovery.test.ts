// Unit tests of src/main/storage/recovery.ts: a torn tail (nothing valid after the damage) is
// truncated at the last good record (logged with file and offset); damage with a valid record
// after it, in the same file or a later one, stops start-up and changes nothing; a bad newest snapshot falls back to an older one plus the log; a hole in the
// zxids stops start-up naming the missing range; session txns rebuild the sessions map.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { OpCode } from '../../../src/common/zk.js';
import { StorageError, StorageErrorCode } from '../../../src/main/storage/errors.js';
import { ensureVersionDirs, versionDir } from '../../../src/main/storage/layout.js';
import { scanLog } from '../../../src/main/storage/log-format.js';
import { readLogPrefix, recover } from '../../../src/main/storage/recovery.js';
import { SyncStage } from '../../../src/main/storage/sync-stage.js';
import { TxnLog } from '../../../src/main/storage/txnlog.js';
import {
  MemoryLogger,
  MiniPipeline,
  Workload,
  mulberry32,
  newDb,
  removeDir,
  tempDir,
  treeDump,
  txnAt,
} from './harness/helpers.js';

const noFatal = (e: StorageError): void => assert.fail(`unexpected fatal: ${e.message}`);

/** Writes txns from..to into the log (one batch each `rollEvery`, rolling between batches). */
async function writeLog(
  dir: string,
  from: number,
  to: number,
  opts: { preAllocBytes?: number; rollEvery?: number } = {},
): Promise<void> {
  ensureVersionDirs(dir, dir);
  const log = new TxnLog({
    dir: versionDir(dir),
    onFatal: noFatal,
    preAllocBytes: opts.preAllocBytes ?? 0,
    lastZxid: from - 1,
  });
  const rollEvery = opts.rollEvery ?? Number.MAX_SAFE_INTEGER;
  for (let z = from; z <= to; z++) {
    log.append(txnAt(z));
    if ((z - from + 1) % rollEvery === 0 || z === to) {
      await new Promise<void>((r) => log.flush(r));
      log.rollLog();
    }
  }
  await log.close();
}

/** Offsets of the records of a log file, by zxid. */
function offsets(file: string): Map<number, number> {
  const out = new Map<number, number>();
  scanLog(readFileSync(file), file, (hdr, _txn, offset) => out.set(hdr.zxid, offset));
  return out;
}

function logPath(dir: string, name: string): string {
  return join(versionDir(dir), name);
}

/** Where the last record of a log file ends (the scan's good end). */
function lastRecordEnd(file: string): number {
  return scanLog(readFileSync(file), file, null).goodEnd;
}

function rewrite(file: string, at: number, patch: Uint8Array): void {
  const bytes = readFileSync(file);
  bytes.set(patch, at);
  writeFileSync(file, bytes);
}

describe('recovery: the log tail', () => {
  it('a record cut short: truncated at its last good record, logged with file+offset', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30);
      const file = logPath(dir, 'log.1');
      const at30 = offsets(file).get(30) ?? -1;
      truncateSync(file, at30 + 10);
      const logger = new MemoryLogger();
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir, logger });
      assert.equal(r.lastZxid, 29);
      assert.deepEqual(
        r.truncated.map((t) => [t.file, t.offset, t.reason]),
        [[file, at30, 'torn']],
      );
      const warn = logger.find('warn', 'truncated at the last good record');
      assert.deepEqual(
        [(warn?.obj as { file: string }).file, (warn?.obj as { offset: number }).offset],
        [file, at30],
      );
      assert.equal(statSync(file).size, at30);
      // The server goes on from 30: a new file, and both recover.
      await writeLog(dir, 30, 31);
      assert.equal(recover(newDb(), { dataDir: dir, dataLogDir: dir }).lastZxid, 31);
    } finally {
      removeDir(dir);
    }
  });

  it('a zero-filled preallocated tail is a clean end (nothing to truncate)', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30, { preAllocBytes: 1 << 20 });
      const file = logPath(dir, 'log.1');
      const at29 = offsets(file).get(29) ?? -1;
      // Records 29 and 30 never reached the disk: their bytes are still the preallocated zeros.
      const size = statSync(file).size;
      rewrite(file, at29, new Uint8Array(size - at29));
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.equal(r.lastZxid, 28);
      assert.deepEqual(r.truncated, []);
      assert.equal(statSync(file).size, 1 << 20);
    } finally {
      removeDir(dir);
    }
  });

  it('zeros, then a piece of a later record (a torn write landed out of order): a torn tail, truncated', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30, { preAllocBytes: 1 << 20 });
      const file = logPath(dir, 'log.1');
      const at = offsets(file);
      const at28 = at.get(28) ?? -1;
      const at30 = at.get(30) ?? -1;
      const end = lastRecordEnd(file);
      // 28 never landed; of 29 only its second half did; 30 never landed.
      const mid29 = at28 + Math.floor((at30 - at28) * 0.75);
      rewrite(file, at28, new Uint8Array(mid29 - at28));
      rewrite(file, at30, new Uint8Array(end - at30));
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.equal(r.lastZxid, 27);
      assert.equal(r.truncated[0]?.offset, at28);
      assert.equal(r.truncated[0]?.reason, 'garbage-after-end');
      assert.equal(statSync(file).size, at28);
    } finally {
      removeDir(dir);
    }
  });

  it('zeros, then whole valid records: corruption, start-up stops and nothing is truncated', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30, { preAllocBytes: 1 << 20 });
      const file = logPath(dir, 'log.1');
      const at = offsets(file);
      const at28 = at.get(28) ?? -1;
      rewrite(file, at28, new Uint8Array((at.get(29) ?? 0) - at28)); // 28 gone, 29 and 30 whole
      const before = readFileSync(file);
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === StorageErrorCode.logCorrupt &&
          e.message.includes(file) &&
          e.message.includes(`offset ${at28}`) &&
          e.message.includes(`valid record follows at offset ${at.get(29)}`),
      );
      assert.deepEqual(readFileSync(file), before, 'the file is untouched');
    } finally {
      removeDir(dir);
    }
  });

  it('a flipped byte in a record with valid records after it: start-up stops naming file and offset, nothing truncated', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30, { preAllocBytes: 1 << 20 });
      const file = logPath(dir, 'log.1');
      const at20 = offsets(file).get(20) ?? -1;
      const bytes = readFileSync(file);
      rewrite(file, at20 + 30, Uint8Array.of((bytes[at20 + 30] ?? 0) ^ 0x5a));
      const before = readFileSync(file);
      const logger = new MemoryLogger();
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir, logger }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === StorageErrorCode.logCorrupt &&
          e.message.includes(`${file} is corrupt at offset ${at20} (checksum`),
      );
      assert.deepEqual(readFileSync(file), before, 'the file is untouched');
      assert.equal(logger.find('warn', 'truncated'), undefined);
    } finally {
      removeDir(dir);
    }
  });

  it('a flipped byte in each field of a middle record is corruption; in the last record a torn tail', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 12, { preAllocBytes: 1 << 16 });
      const file = logPath(dir, 'log.1');
      const pristine = readFileSync(file);
      const at = offsets(file);
      const at6 = at.get(6) ?? -1;
      const at7 = at.get(7) ?? -1;
      const at12 = at.get(12) ?? -1;
      const end = lastRecordEnd(file);
      // checksum, length (both ways), payload, end-of-record byte of record 6
      for (const offset of [at6 + 5, at6 + 10, at6 + 11, at6 + 20, at7 - 1]) {
        for (const flip of [0x01, 0x80]) {
          const bytes = Buffer.from(pristine);
          bytes[offset] = (bytes[offset] ?? 0) ^ flip;
          writeFileSync(file, bytes);
          assert.throws(
            () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
            (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.logCorrupt,
            `flip ${flip} at ${offset - at6} into record 6`,
          );
          assert.deepEqual(readFileSync(file), bytes, 'untouched');
        }
      }
      // The same damage in the last record, zeros after it: a torn tail.
      for (const offset of [at12 + 5, at12 + 20, end - 1]) {
        const bytes = Buffer.from(pristine);
        bytes[offset] = (bytes[offset] ?? 0) ^ 0x01;
        writeFileSync(file, bytes);
        const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
        assert.equal(r.lastZxid, 11, `flip at ${offset - at12} into record 12`);
        assert.equal(statSync(file).size, at12);
      }
    } finally {
      removeDir(dir);
    }
  });

  it('a tail file with no good record is removed, so its name can be taken again', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 11, { rollEvery: 10, preAllocBytes: 1 << 16 });
      const file = logPath(dir, 'log.b');
      const at11 = offsets(file).get(11) ?? -1;
      rewrite(file, at11 + 20, Uint8Array.of(0xff, 0xff));
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.equal(r.lastZxid, 10);
      assert.ok(!existsSync(file));
      assert.deepEqual(r.removedFiles, [file]);
      await writeLog(dir, 11, 12);
      assert.equal(recover(newDb(), { dataDir: dir, dataLogDir: dir }).lastZxid, 12);
    } finally {
      removeDir(dir);
    }
  });

  it('damage at the end of a file before records in a later file is not a tail: start-up stops', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30, { rollEvery: 10 });
      const file = logPath(dir, 'log.b');
      const at20 = offsets(file).get(20) ?? -1;
      rewrite(file, at20 + 25, Uint8Array.of(0x00, 0x13));
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === StorageErrorCode.logCorrupt &&
          e.message.includes(`offset ${at20}`) &&
          e.message.includes('log.15'),
      );
    } finally {
      removeDir(dir);
    }
  });
});

describe('recovery: holes', () => {
  it('a missing log file between two others stops start-up naming the range', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 30, { rollEvery: 10 });
      assert.deepEqual(readdirSync(versionDir(dir)).sort(), ['log.1', 'log.15', 'log.b']);
      unlinkSync(logPath(dir, 'log.b'));
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === StorageErrorCode.logGap &&
          e.message.includes('missing 0xb..0x14'),
      );
    } finally {
      removeDir(dir);
    }
  });

  it('a log that does not start at the first txn (and no snapshot) is a hole too', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 20, { rollEvery: 10 });
      unlinkSync(logPath(dir, 'log.1'));
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
        (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.logGap,
      );
    } finally {
      removeDir(dir);
    }
  });
});

describe('recovery: snapshots', () => {
  async function run(dir: string, seed: number, plan: ('write' | 'snap')[]): Promise<{
    db: ReturnType<typeof newDb>;
    stage: SyncStage;
  }> {
    const db = newDb();
    const r = recover(db, { dataDir: dir, dataLogDir: dir });
    const stage = new SyncStage({
      dataDir: dir,
      dataLogDir: dir,
      db,
      sessions: r.sessions,
      lastZxid: r.lastZxid,
      onFatal: noFatal,
      snapCount: 1_000_000,
      preAllocBytes: 1 << 16,
    });
    const pipeline = new MiniPipeline(db, stage);
    const work = new Workload(mulberry32(seed));
    for (const step of plan) {
      if (step === 'snap') {
        await stage.snapshot();
        continue;
      }
      for (let i = 0; i < 150; i++) {
        const b = work.next();
        await pipeline.write(b.session, b.requests);
      }
    }
    return { db, stage };
  }

  it('a damaged newest snapshot falls back to an older one plus the log', async () => {
    const dir = tempDir();
    try {
      const { db, stage } = await run(dir, 11, ['write', 'snap', 'write', 'snap', 'write']);
      const sessions = new Map(stage.sessions);
      await stage.close();
      const snaps = readdirSync(versionDir(dir)).filter((n) => n.startsWith('snapshot.')).sort(
        (a, b) => parseInt(a.slice(9), 16) - parseInt(b.slice(9), 16),
      );
      assert.equal(snaps.length, 2);
      const newest = logPath(dir, snaps[1] ?? '');
      const bytes = readFileSync(newest);
      rewrite(newest, bytes.length >> 1, Uint8Array.of((bytes[bytes.length >> 1] ?? 0) ^ 1));
      const logger = new MemoryLogger();
      const back = newDb();
      const r = recover(back, { dataDir: dir, dataLogDir: dir, logger });
      assert.equal(r.snapshot?.file, logPath(dir, snaps[0] ?? ''));
      assert.deepEqual(r.skippedSnapshots.map((s) => s.file), [newest]);
      assert.ok(logger.find('warn', 'snapshot damaged'));
      assert.equal(r.lastZxid, db.lastZxid);
      assert.equal(back.tree.treeDigest(), db.tree.treeDigest());
      assert.deepEqual(treeDump(back), treeDump(db));
      assert.deepEqual(r.sessions, sessions);
      assert.equal(r.digest, 'match');
    } finally {
      removeDir(dir);
    }
  });

  it('no valid snapshot at all stops start-up (the log alone is not trusted)', async () => {
    const dir = tempDir();
    try {
      const { stage } = await run(dir, 12, ['write', 'snap', 'write']);
      await stage.close();
      for (const n of readdirSync(versionDir(dir))) {
        if (n.startsWith('snapshot.')) truncateSync(logPath(dir, n), 100);
      }
      assert.throws(
        () => recover(newDb(), { dataDir: dir, dataLogDir: dir }),
        (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.snapshotNoneValid,
      );
    } finally {
      removeDir(dir);
    }
  });

  it('a snapshot taken with no write during its walk recovers alone', async () => {
    const dir = tempDir();
    try {
      const { stage } = await run(dir, 13, ['write', 'snap', 'write']);
      await stage.close();
      // Keep only the snapshot: the log it needs (and everything after) is gone.
      for (const n of readdirSync(versionDir(dir))) {
        if (n.startsWith('log.')) unlinkSync(logPath(dir, n));
      }
      // The snapshot's digest zxid is its own zxid (no write during the walk): the snapshot is
      // a complete state by itself. (snapshot.test.ts checks the fuzzy case, which is a hole.)
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.equal(r.replayed, 0);
      assert.equal(r.digest, 'match');
    } finally {
      removeDir(dir);
    }
  });

  it('session txns rebuild the sessions map (createSession adds, closeSession drops)', async () => {
    const dir = tempDir();
    try {
      ensureVersionDirs(dir, dir);
      const db = newDb();
      const log = new TxnLog({ dir: versionDir(dir), onFatal: noFatal, preAllocBytes: 0 });
      const pipeline = new MiniPipeline(db, log);
      const big = 0xff00000000000001n; // beyond 2^63: the map keeps it unsigned
      await pipeline.write(0x11n, [{ op: OpCode.createSession, req: null, timeOut: 4000 }]);
      await pipeline.write(big, [{ op: OpCode.createSession, req: null, timeOut: 6000 }]);
      await pipeline.write(0x22n, [{ op: OpCode.createSession, req: null, timeOut: 8000 }]);
      await pipeline.write(0x11n, [{ op: OpCode.closeSession, req: null }]);
      await log.close();
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.deepEqual(
        [...r.sessions].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
        [
          [0x22n, 8000],
          [big, 6000],
        ],
      );
    } finally {
      removeDir(dir);
    }
  });
});

describe('readLogPrefix', () => {
  it('scanning the prefix says exactly what scanning the whole file says, for any damage', async () => {
    const dir = tempDir();
    try {
      await writeLog(dir, 1, 40, { preAllocBytes: 3 << 20 });
      const path = join(versionDir(dir), 'log.1');
      const clean = readFileSync(path);
      const recordAt = [...offsets(path).values()];
      const last = recordAt[recordAt.length - 1]!;
      const end = scanLog(clean, path, null).goodEnd;
      const random = mulberry32(11);
      const variants: [string, (b: Buffer) => Buffer][] = [
        ['clean', (b) => b],
        ['not preallocated', (b) => b.subarray(0, end)],
        ['empty', () => Buffer.alloc(0)],
        ['all zero', (b) => Buffer.alloc(b.length)],
        ['header only', (b) => Buffer.concat([b.subarray(0, 16), Buffer.alloc(b.length - 16)])],
        ['last record torn', (b) => { b.fill(0, last + 20); return b; }],
        ['last end-of-record byte zero', (b) => { b[end - 1] = 0; return b; }],
        ['checksum flipped', (b) => { b[last + 7] = (b[last + 7] ?? 0) ^ 1; return b; }],
        ['garbage right after the end', (b) => { b[end + 12] = 9; return b; }],
        ['garbage deep in the tail', (b) => { b[b.length - 1 - Math.floor(random() * 1000)] = 1; return b; }],
        ['garbage at a block edge', (b) => { b[b.length - (1 << 20)] = 1; return b; }],
        ['a length that runs into the tail', (b) => { b.writeInt32BE(1 << 20, last + 8); return b; }],
      ];
      for (const [name, damage] of variants) {
        const bytes = damage(Buffer.from(clean));
        writeFileSync(path, bytes);
        const whole = scanLog(readFileSync(path), path, null);
        const { bytes: prefix, size } = readLogPrefix(path);
        assert.equal(size, bytes.length, name);
        assert.ok(prefix.length <= end + 64 || name.startsWith('garbage') || name === 'all zero', `${name}: prefix of ${prefix.length} bytes`);
        const part = scanLog(prefix, path, null, size);
        assert.deepEqual(part, whole, name);
      }
    } finally {
      removeDir(dir);
    }
  });
});
