// Unit tests of src/main/storage/txnlog.ts (with layout, log-format, adler32): the record format,
// append/flush/recover round trips, group commit (one write + one fdatasync per batch, flushes
// coalesced while an fsync runs, callbacks in order), preallocation, rolling, and fail-stop on
// write and fsync errors.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { adler32 } from '../../../src/main/storage/adler32.js';
import { StorageErrorCode, type StorageError } from '../../../src/main/storage/errors.js';
import {
  ensureVersionDirs,
  logDbId,
  logFileName,
  logMagic,
  versionDir,
  writeFileHeader,
  zxidFromName,
} from '../../../src/main/storage/layout.js';
import { encodeTxnHeader, JuteWriter } from '../../../src/protocol/jute/index.js';
import { LogStop, scanLog } from '../../../src/main/storage/log-format.js';
import { recover } from '../../../src/main/storage/recovery.js';
import { TxnLog } from '../../../src/main/storage/txnlog.js';
import {
  bytes,
  countingFs,
  failingFs,
  newDb,
  removeDir,
  tempDir,
  txnAt,
} from './harness/helpers.js';

function setup(): { dir: string; logDir: string; cleanup: () => void } {
  const dir = tempDir();
  ensureVersionDirs(dir, dir);
  return { dir, logDir: versionDir(dir), cleanup: () => removeDir(dir) };
}

const noFatal = (e: StorageError): void => assert.fail(`unexpected fatal: ${e.message}`);
const flushed = (log: TxnLog): Promise<void> => new Promise((resolve) => log.flush(resolve));

describe('adler32', () => {
  it('matches known values (RFC 1950, java.util.zip.Adler32)', () => {
    assert.equal(adler32(new Uint8Array(0)), 1);
    assert.equal(adler32(bytes('Wikipedia')), 0x11e60398);
    const big = new Uint8Array(100_000).fill(0xff);
    // Reference computed bytewise without blocking (exact, small numbers).
    let a = 1;
    let b = 0;
    for (const x of big) {
      a = (a + x) % 65521;
      b = (b + a) % 65521;
    }
    assert.equal(adler32(big), ((b << 16) | a) >>> 0);
  });
});

describe('layout', () => {
  it('names files as ZooKeeper does and parses only exact names', () => {
    assert.equal(logFileName(0x100000001), 'log.100000001');
    assert.equal(zxidFromName('log.1a', 'log'), 0x1a);
    assert.equal(zxidFromName('snapshot.0', 'snapshot'), 0);
    assert.equal(zxidFromName('log.1a.fixed', 'log'), -1);
    assert.equal(zxidFromName('snapshot.1a.tmp', 'snapshot'), -1);
    assert.equal(zxidFromName('log.zz', 'log'), -1);
  });
});

describe('log records', () => {
  it("reads ZooKeeper's body-less closeSession followed by a TxnDigest", () => {
    const w = new JuteWriter(256);
    writeFileHeader(w, logMagic, logDbId);
    const start = w.length;
    w.writeLong(0);
    w.beginFrame();
    encodeTxnHeader(w, { clientId: 0x42n, cxid: 7, zxid: 9, time: 1, type: -11 });
    w.writeInt(2); // TxnDigest: version 2, then the tree digest
    w.writeLongBig(0x7123456789abcdefn);
    w.endFrame();
    w.writeBool(false);
    const b = w.bytes();
    b.writeUInt32BE(adler32(b, start + 12, b.length - 1), start + 4);
    b[b.length - 1] = 0x42;
    const seen: unknown[] = [];
    const scan = scanLog(b, 'log.9', (hdr, txn) => seen.push([hdr.zxid, txn]));
    assert.equal(scan.stop, LogStop.end);
    assert.deepEqual(seen, [[9, { type: -11, paths2Delete: [] }]]);
  });
});

describe('TxnLog', () => {
  it('round trip: appended and flushed txns come back in order, byte for byte', async () => {
    const { dir, logDir, cleanup } = setup();
    try {
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, preAllocBytes: 1 << 20 });
      for (let z = 1; z <= 50; z++) log.append(txnAt(z, `/n${z}`, bytes(`data-${z}`)));
      await flushed(log);
      assert.equal(log.durableZxid, 50);
      await log.close();
      const files = readdirSync(logDir);
      assert.deepEqual(files, ['log.1']);
      const file = readFileSync(join(logDir, 'log.1'));
      assert.equal(file.length, 1 << 20, 'preallocated');
      assert.equal(file.readUInt32BE(0), 0x5a4b4c47, 'ZKLG');
      const seen: number[] = [];
      const scan = scanLog(file, 'log.1', (hdr, txn) => {
        seen.push(hdr.zxid);
        assert.equal(txn.type, 1);
        if (txn.type === 1) assert.deepEqual(txn.data, bytes(`data-${hdr.zxid}`));
      });
      assert.equal(scan.stop, LogStop.end);
      assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i + 1));
      const db = newDb();
      const r = recover(db, { dataDir: dir, dataLogDir: dir });
      assert.equal(r.lastZxid, 50);
      assert.ok(db.tree.getNode('/n50'));
    } finally {
      cleanup();
    }
  });

  it('onFsync hears each fsync with its time (the exporter\'s fsynctime)', async () => {
    const { logDir, cleanup } = setup();
    try {
      const heard: number[] = [];
      let t = 0;
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, preAllocBytes: 0, nowMs: () => (t += 3), onFsync: (ms) => heard.push(ms) });
      log.append(txnAt(1, '/a', bytes('x')));
      await flushed(log);
      log.append(txnAt(2, '/b', bytes('y')));
      await flushed(log);
      await log.close();
      assert.equal(heard.length, log.stats.fsyncs);
      assert.ok(heard.length >= 2, 'one per flush');
      assert.ok(heard.every((ms) => ms === 3), 'each the time between its start and end');
    } finally {
      cleanup();
    }
  });

  it('a non-zero byte anywhere after the end is found at its exact offset (garbage after the end)', async () => {
    const { logDir, cleanup } = setup();
    try {
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, preAllocBytes: 1 << 20 });
      for (let z = 1; z <= 3; z++) log.append(txnAt(z));
      await flushed(log);
      await log.close();
      const clean = readFileSync(join(logDir, 'log.1'));
      const end = scanLog(clean, 'log.1', null).goodEnd;
      assert.equal(scanLog(clean, 'log.1', null).stop, LogStop.end);
      // around the 256 KiB compare blocks, unaligned, and the very last byte
      for (const at of [end + 12, end + 13, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 3, 700_001, clean.length - 1]) {
        const dirty = Buffer.from(clean);
        dirty[at] = 0x01;
        const scan = scanLog(dirty, 'log.1', null);
        assert.equal(scan.stop, LogStop.garbageAfterEnd, `byte at ${at}`);
        assert.equal(scan.stopOffset, at);
        assert.equal(scan.records, 3);
      }
    } finally {
      cleanup();
    }
  });

  it('group commit: a batch of 1000 appends costs one write and one fdatasync', async () => {
    const { logDir, cleanup } = setup();
    try {
      const { fs, counts } = countingFs();
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, fs, preAllocBytes: 1 << 20 });
      log.append(txnAt(1));
      await flushed(log); // creates the file: fsync + directory fsync
      assert.equal(counts.fsync, 2);
      const before = { ...counts };
      for (let z = 2; z <= 1001; z++) log.append(txnAt(z));
      await flushed(log);
      assert.equal(counts.write - before.write, 1);
      assert.equal(counts.fdatasync - before.fdatasync, 1);
      assert.equal(counts.fsync - before.fsync, 0);
      assert.equal(log.stats.txns, 1001);
      await log.close();
    } finally {
      cleanup();
    }
  });

  it('flushes asked for during an fsync are coalesced into the next one, in order', async () => {
    const { logDir, cleanup } = setup();
    try {
      const { fs, counts } = countingFs();
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, fs, preAllocBytes: 1 << 20 });
      log.append(txnAt(1));
      await flushed(log);
      const base = counts.fdatasync;
      const order: number[] = [];
      const all: Promise<void>[] = [];
      let zxid = 2;
      for (let i = 0; i < 20; i++) {
        log.append(txnAt(zxid++));
        all.push(new Promise((resolve) => log.flush(() => (order.push(i), resolve()))));
      }
      await Promise.all(all);
      assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
      // The first flush starts a batch; the 19 asked for while it ran share the next one.
      assert.equal(counts.fdatasync - base, 2);
      assert.equal(log.durableZxid, 21);
      await log.close();
    } finally {
      cleanup();
    }
  });

  it('a flush with nothing new completes once earlier batches are durable', async () => {
    const { logDir, cleanup } = setup();
    try {
      const { fs, counts } = countingFs();
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, fs, preAllocBytes: 0 });
      log.append(txnAt(1));
      const order: string[] = [];
      log.flush(() => order.push('first'));
      log.flush(() => order.push('second'));
      await flushed(log);
      assert.deepEqual(order, ['first', 'second']);
      const syncs = counts.fdatasync + counts.fsync;
      await flushed(log);
      assert.equal(counts.fdatasync + counts.fsync, syncs, 'no sync for an empty flush');
      await log.close();
    } finally {
      cleanup();
    }
  });

  it('grows the preallocated file in blocks and rolls to log.<zxid> on rollLog()', async () => {
    const { dir, logDir, cleanup } = setup();
    try {
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, preAllocBytes: 64 * 1024 });
      const big = new Uint8Array(10_000).fill(7);
      for (let z = 1; z <= 20; z++) log.append(txnAt(z, `/n${z}`, big));
      await flushed(log);
      const size = statSync(join(logDir, 'log.1')).size;
      assert.equal(size % (64 * 1024), 0);
      assert.ok(size >= 200_000 + 4096, `grown to ${size}`);
      log.rollLog();
      log.append(txnAt(21));
      log.rollLog();
      log.append(txnAt(22));
      await flushed(log);
      await log.close();
      assert.deepEqual(readdirSync(logDir).sort(), ['log.1', 'log.15', 'log.16']);
      const r = recover(newDb(), { dataDir: dir, dataLogDir: dir });
      assert.equal(r.lastZxid, 22);
      assert.equal(r.replayed, 22);
    } finally {
      cleanup();
    }
  });

  it('fsync failure is fail-stop: onFatal once, no pending or later flush completes', async () => {
    const { logDir, cleanup } = setup();
    try {
      const fatal: StorageError[] = [];
      const log = new TxnLog({
        dir: logDir,
        onFatal: (e) => fatal.push(e),
        fs: failingFs('fdatasync', 'EIO'),
        preAllocBytes: 0,
      });
      log.append(txnAt(1));
      await flushed(log); // the first batch uses fsync (new file), which works
      let completed = 0;
      log.append(txnAt(2));
      log.flush(() => completed++);
      log.append(txnAt(3));
      log.flush(() => completed++);
      await new Promise((r) => setTimeout(r, 50));
      log.append(txnAt(4));
      log.flush(() => completed++);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(completed, 0);
      assert.equal(fatal.length, 1);
      assert.equal(fatal[0]?.code, StorageErrorCode.logFsync);
      assert.match(fatal[0]?.message ?? '', /EIO/);
      assert.equal(log.durableZxid, 1);
      assert.ok(log.failed);
    } finally {
      cleanup();
    }
  });

  it('ENOSPC on write is fail-stop too (not read-only mode)', async () => {
    const { logDir, cleanup } = setup();
    try {
      const fatal: StorageError[] = [];
      const log = new TxnLog({
        dir: logDir,
        onFatal: (e) => fatal.push(e),
        fs: failingFs('write', 'ENOSPC', 1),
        preAllocBytes: 0,
      });
      log.append(txnAt(1));
      await flushed(log);
      let completed = false;
      log.append(txnAt(2));
      log.flush(() => (completed = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(completed, false);
      assert.equal(fatal[0]?.code, StorageErrorCode.logWrite);
      assert.equal((fatal[0]?.cause as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      cleanup();
    }
  });

  it('refuses appends out of zxid order (a pipeline bug, not an I/O error)', () => {
    const { logDir, cleanup } = setup();
    try {
      const log = new TxnLog({ dir: logDir, onFatal: noFatal, lastZxid: 10 });
      assert.throws(() => log.append(txnAt(10)), /log append 10 after 10/);
      log.append(txnAt(11));
      assert.throws(() => log.append(txnAt(11)));
    } finally {
      cleanup();
    }
  });
});
