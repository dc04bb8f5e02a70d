// The Zab epoch files (dataDir/version-2/acceptedEpoch and currentEpoch, as ZooKeeper keeps
// them): a decimal number and a newline, replaced whole by write-to-temp, fsync, rename, and an
// fsync of the directory, so that a power cut leaves the old epoch or the new one, and a new
// one that was acted on (an ACKEPOCH sent after it) is still there after the restart.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync } from './log-fs.js';

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
