// Unit tests of src/main/storage/epoch-file.ts: the Zab epoch files are replaced whole, and the
// directory is fsynced after the rename (issue 9 item 3), so the new name survives a power cut.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  acceptedEpochFile,
  currentEpochFile,
  readEpochFile,
  startingEpochs,
  writeEpochFile,
} from '../../../src/main/storage/epoch-file.js';
import { removeDir, tempDir } from './harness/helpers.js';

describe('epoch files', () => {
  it('are written through a temp file and a rename, then the directory is fsynced', () => {
    const dir = tempDir('zkts-epoch-');
    try {
      const synced: string[] = [];
      writeEpochFile(dir, 'acceptedEpoch', 7, (d) => {
        // Called after the rename: the new content is in place under its name, no temp left.
        assert.equal(readFileSync(join(d, 'acceptedEpoch'), 'utf8'), '7\n');
        assert.deepEqual(readdirSync(d), ['acceptedEpoch']);
        synced.push(d);
      });
      assert.deepEqual(synced, [dir]);
      assert.equal(readEpochFile(dir, 'acceptedEpoch'), 7);
      writeEpochFile(dir, 'acceptedEpoch', 8); // the real fsync of a directory works
      assert.equal(readEpochFile(dir, 'acceptedEpoch'), 8);
      assert.equal(existsSync(join(dir, 'acceptedEpoch.tmp')), false);
    } finally {
      removeDir(dir);
    }
  });

  it('a missing file is null; a damaged one throws', () => {
    const dir = tempDir('zkts-epoch-');
    try {
      assert.equal(readEpochFile(dir, 'currentEpoch'), null);
      writeFileSync(join(dir, 'currentEpoch'), 'x\n');
      assert.throws(() => readEpochFile(dir, 'currentEpoch'), /not an epoch/);
    } finally {
      removeDir(dir);
    }
  });

  it('a member starts from the files, never below its recovered epoch, current never above accepted', () => {
    const dir = tempDir('zkts-epoch-');
    const zxid = (epoch: number, n: number): number => epoch * 0x100000000 + n;
    try {
      // No files: both are the recovered history's epoch.
      assert.deepEqual(startingEpochs(dir, zxid(3, 7)), { acceptedEpoch: 3, currentEpoch: 3 });
      writeEpochFile(dir, acceptedEpochFile, 5);
      writeEpochFile(dir, currentEpochFile, 4);
      assert.deepEqual(startingEpochs(dir, zxid(3, 7)), { acceptedEpoch: 5, currentEpoch: 4 });
      // Files behind the log: the log's epoch wins.
      assert.deepEqual(startingEpochs(dir, zxid(6, 1)), { acceptedEpoch: 6, currentEpoch: 6 });
      // currentEpoch ahead of acceptedEpoch is cut to it.
      writeEpochFile(dir, currentEpochFile, 9);
      assert.deepEqual(startingEpochs(dir, zxid(3, 7)), { acceptedEpoch: 5, currentEpoch: 5 });
    } finally {
      removeDir(dir);
    }
  });
});
