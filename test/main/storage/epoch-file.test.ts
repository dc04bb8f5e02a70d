// Unit tests of src/main/storage/epoch-file.ts: the Zab epoch files are replaced whole, and the
// directory is fsynced after the rename (issue 9 item 3), so the new name survives a power cut.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEpochFile, writeEpochFile } from '../../../src/main/storage/epoch-file.js';
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
});
