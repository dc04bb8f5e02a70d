// The Zab epoch files (dataDir/version-2/acceptedEpoch and currentEpoch, as ZooKeeper keeps
// them): a decimal number and a newline, replaced whole by write-to-temp, fsync, rename, and an
// fsync of the directory, so that a power cut leaves the old epoch or the new one, and a new
// one that was acted on (an ACKEPOCH sent after it) is still there after the restart.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { zxidEpoch } from '../../common/ids.js';
import { fsyncDirSync } from './log-fs.js';

/** ZooKeeper's file names (QuorumPeer.ACCEPTED_EPOCH_FILENAME / CURRENT_EPOCH_FILENAME). */
export const acceptedEpochFile = 'acceptedEpoch';
export const currentEpochFile = 'currentEpoch';

/**
 * The epochs an ensemble member starts with, from the files in `dir` (dataDir/version-2) and the
 * recovered history that ends at `lastZxid`: neither below that history's epoch (a missing file
 * is that epoch), and currentEpoch never above acceptedEpoch.
 */
export function startingEpochs(dir: string, lastZxid: number): { acceptedEpoch: number; currentEpoch: number } {
  const lastEpoch = zxidEpoch(lastZxid);
  const acceptedEpoch = Math.max(readEpochFile(dir, acceptedEpochFile) ?? lastEpoch, lastEpoch);
  const currentEpoch = Math.min(Math.max(readEpochFile(dir, currentEpochFile) ?? lastEpoch, lastEpoch), acceptedEpoch);
  return { acceptedEpoch, currentEpoch };
}

/** The epoch in `dir/name`, or null if there is no such file. Throws on anything else. */
export function readEpochFile(dir: string, name: string): number | null {
  const path = join(dir, name);
  if (!existsSync(path)) return null;
  const n = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${path}: not an epoch`);
  return n;
}

/**
 * Replaces `dir/name` by `epoch`, durably: the rename only changes the directory, and without
 * the directory's fsync the old name could come back after a power cut (ZooKeeper's
 * AtomicFileOutputStream does not do it; ext4 and xfs need it). `syncDir` is for tests.
 */
export function writeEpochFile(
  dir: string,
  name: string,
  epoch: number,
  syncDir: (dir: string) => void = fsyncDirSync,
): void {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${epoch}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}
