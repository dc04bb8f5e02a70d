// Unit tests of src/main/storage/inspect.ts: `zkts log`, `zkts snapshot` and `zkts check` output.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpCode } from '../../../src/common/zk.js';
import type { StorageError } from '../../../src/main/storage/errors.js';
import { checkDataDir, formatLog, formatSnapshot } from '../../../src/main/storage/inspect.js';
import { versionDir } from '../../../src/main/storage/layout.js';
import { scanLog } from '../../../src/main/storage/log-format.js';
import { recover } from '../../../src/main/storage/recovery.js';
import { SyncStage } from '../../../src/main/storage/sync-stage.js';
import { MiniPipeline, bytes, newDb, removeDir, tempDir } from './harness/helpers.js';

const noFatal = (e: StorageError): void => assert.fail(`unexpected fatal: ${e.message}`);

/** A small history: a session, a few nodes, a snapshot, a roll, more writes. */
async function small(dir: string): Promise<void> {
  const db = newDb();
  const r = recover(db, { dataDir: dir, dataLogDir: dir });
  const stage = new SyncStage({
    dataDir: dir,
    dataLogDir: dir,
    db,
    sessions: r.sessions,
    lastZxid: r.lastZxid,
    onFatal: noFatal,
    preAllocBytes: 1 << 16,
  });
  const p = new MiniPipeline(db, stage);
  const acl = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
  await p.write(0x55n, [{ op: OpCode.createSession, req: null, timeOut: 9000 }]);
  await p.write(0x55n, [
    { op: OpCode.create, req: { path: '/app', data: bytes('hello'), acl, flags: 0 } },
    { op: OpCode.create, req: { path: '/app/e', data: Uint8Array.of(0, 1, 2), acl, flags: 1 } },
    { op: OpCode.setData, req: { path: '/app', data: bytes('world'), version: -1 } },
  ]);
  await stage.snapshot();
  stage.log.rollLog();
  await p.write(0x55n, [{ op: OpCode.delete, req: { path: '/nope', version: -1 } }]);
  await p.write(0x55n, [{ op: OpCode.create, req: { path: '/app/x', data: null, acl, flags: 0 } }]);
  await stage.close();
}

describe('inspect', () => {
  it('formatLog: one line per txn, then how the file ends', async () => {
    const dir = tempDir();
    try {
      await small(dir);
      const text = formatLog(join(versionDir(dir), 'log.1'));
      const lines = text.trim().split('\n');
      assert.equal(
        lines[0],
        'ZooKeeper Transactional Log File with dbid 0 txnlog format version 2',
      );
      assert.match(lines[1] ?? '', /^\S+Z session 0x55 cxid 0x1 zxid 0x1 createSession 9000$/);
      assert.match(lines[2] ?? '', / zxid 0x2 create \/app,hello,\[31:world:anyone\],false,\d+$/);
      assert.match(
        lines[3] ?? '',
        / zxid 0x3 create \/app\/e,#000102,\[31:world:anyone\],true,\d+$/,
      );
      assert.match(lines[4] ?? '', / zxid 0x4 setData \/app,world,1$/);
      assert.equal(lines[5], 'EOF reached after 4 txns.');
      const second = formatLog(join(versionDir(dir), 'log.5'));
      assert.match(second, / zxid 0x5 error -101\n/);
    } finally {
      removeDir(dir);
    }
  });

  it('formatLog reports where a damaged file stops', async () => {
    const dir = tempDir();
    try {
      await small(dir);
      const file = join(versionDir(dir), 'log.1');
      const b = readFileSync(file);
      b[81] = (b[81] ?? 0) ^ 0xff; // inside the second record (the first ends at 61)
      writeFileSync(file, b);
      assert.match(formatLog(file), /DAMAGED after 1 txns: checksum at offset \d+/);
    } finally {
      removeDir(dir);
    }
  });

  it('formatSnapshot: nodes with stats, sessions, zxid, checksum and digest', async () => {
    const dir = tempDir();
    try {
      await small(dir);
      const text = formatSnapshot(join(versionDir(dir), 'snapshot.4'));
      assert.match(text, /^ZNode Details \(count=6\):/);
      assert.match(text, /\n\/app\n {2}cZxid = 0x2\n/);
      assert.match(text, /\n\/app\/e\n[\s\S]*?ephemeralOwner = 0x55\n/);
      assert.match(text, /Session Details \(sid, timeout, ephemeralCount\):\n0x55, 9000, 1\n/);
      assert.match(text, /Last zxid: 0x4\n/);
      assert.match(text, /Checksum: ok \(Adler-32\)\nDigest: zxid 0x4, version 2, value -?\d+/);
    } finally {
      removeDir(dir);
    }
  });

  it('checkDataDir: clean, a torn tail (repairable), a hole (not recoverable)', async () => {
    const dir = tempDir();
    try {
      await small(dir);
      const clean = checkDataDir(dir, dir);
      assert.equal(clean.recoverable, true, clean.text);
      assert.deepEqual(clean.problems, []);
      assert.match(clean.text, /snapshot\.4: ok \(6 nodes, 1 sessions, digest at 0x4\)/);
      assert.match(clean.text, /recovery: .*snapshot\.4, then the log up to 0x6/);
      const file = join(versionDir(dir), 'log.5');
      const b = readFileSync(file);
      b[91] = (b[91] ?? 0) ^ 0xff; // inside the last record of the last file (from 61)
      writeFileSync(file, b);
      const torn = checkDataDir(dir, dir);
      assert.equal(torn.recoverable, true, torn.text);
      assert.equal(torn.problems.length, 1);
      // A hole: without the snapshot and the first log, the log starts at 0x5.
      unlinkSync(join(versionDir(dir), 'snapshot.4'));
      unlinkSync(join(versionDir(dir), 'log.1'));
      const hole = checkDataDir(dir, dir);
      assert.equal(hole.recoverable, false, hole.text);
      assert.match(hole.problems.join('\n'), /gap: after 0x0 comes 0x5/);
      assert.match(hole.text, /recoverable: NO\n$/);
    } finally {
      removeDir(dir);
    }
  });

  it('checkDataDir: a damaged record with valid records after it is corruption, not a torn tail', async () => {
    const dir = tempDir();
    try {
      await small(dir);
      const file = join(versionDir(dir), 'log.5');
      const pristine = readFileSync(file);
      const records: number[] = [];
      scanLog(pristine, file, (_h, _t, offset) => void records.push(offset));
      assert.equal(records.length, 2);
      const first = records[0] ?? -1;
      const b = Buffer.from(pristine);
      b[first + 20] = (b[first + 20] ?? 0) ^ 0x01; // inside the first of two records
      writeFileSync(file, b);
      const report = checkDataDir(dir, dir);
      assert.equal(report.recoverable, false, report.text);
      assert.match(
        report.problems.join('\n'),
        new RegExp(`log\\.5: corrupt at offset ${first} \\(checksum\\), valid records follow from offset ${records[1]}`),
      );
      assert.match(report.text, new RegExp(`CORRUPT at offset ${first}: a valid record follows the damage \\(at offset ${records[1]}\\)`));
      assert.match(report.text, /recoverable: NO\n$/);
      assert.deepEqual(readFileSync(file), b, 'check changes nothing');
    } finally {
      removeDir(dir);
    }
  });
});
