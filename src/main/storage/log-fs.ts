// The file operations the txn log performs, as an injected interface: production passes nodeLogFs
// (node:fs's callback API, which runs on libuv's thread pool and never blocks the main thread);
// tests wrap it to count fdatasync calls or to inject EIO / ENOSPC. No test hooks live in the log.

import * as fs from 'node:fs';

export type IoCallback = (err: NodeJS.ErrnoException | null) => void;

export interface LogFs {
  open(
    path: string,
    flags: string,
    cb: (err: NodeJS.ErrnoException | null, fd: number) => void,
  ): void;
  write(
    fd: number,
    bytes: Uint8Array,
    offset: number,
    length: number,
    position: number,
    cb: (err: NodeJS.ErrnoException | null, written: number) => void,
  ): void;
  fdatasync(fd: number, cb: IoCallback): void;
  fsync(fd: number, cb: IoCallback): void;
  ftruncate(fd: number, bytes: number, cb: IoCallback): void;
  close(fd: number, cb: IoCallback): void;
}

/** Log files are created readable by the owner and the group, as ZooKeeper's umask usually
 *  leaves them. */
const logFileMode = 0o644;

export const nodeLogFs: LogFs = {
  open: (path, flags, cb) => fs.open(path, flags, logFileMode, cb),
  write: (fd, bytes, offset, length, position, cb) =>
    fs.write(fd, bytes, offset, length, position, (err, written) => cb(err, written)),
  fdatasync: (fd, cb) => fs.fdatasync(fd, cb),
  fsync: (fd, cb) => fs.fsync(fd, cb),
  ftruncate: (fd, bytes, cb) => fs.ftruncate(fd, bytes, cb),
  close: (fd, cb) => fs.close(fd, cb),
};

/**
 * Makes a new file's directory entry durable: fsync on the file covers its data and size, not
 * the name in its directory, so a power cut could lose a freshly created log (with acknowledged
 * txns in it) without this. ZooKeeper does not do it; ext4 and xfs need it.
 */
export function fsyncDir(io: LogFs, dir: string, cb: IoCallback): void {
  io.open(dir, 'r', (err, fd) => {
    if (err !== null) return cb(err);
    io.fsync(fd, (syncErr) => {
      io.close(fd, (closeErr) => cb(syncErr ?? closeErr));
    });
  });
}

/** fsyncDir for synchronous callers (start-up recovery, the snapshot worker, log removal). */
export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
