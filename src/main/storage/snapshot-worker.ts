// The piscina task that finishes a snapshot off the main thread: checksum (Adler-32 over every
// byte, as SnapStream's CheckedOutputStream), seals and digest, write, fsync, then the atomic
// rename (AtomicFileOutputStream's idea: a crash never leaves a half-written file under a
// snapshot name) and an fsync of the directory so the name itself is durable. Synchronous fs calls
// are right here: this thread exists to block on the disk so the main thread does not.
//
// One task per snapshot: the main thread has already copied the node records into large chunks
// (moved here without copying), so the task is coarse and the thread pool stays idle otherwise.
// A small image (at most snapshotWriteInlineBytesMax) takes the same steps on the main thread
// with asynchronous fs calls instead (writeSnapshotAsync), and the pool thread never starts.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirSync } from './log-fs.js';
import { adler32Update, adler32Initial } from './adler32.js';
import { snapshotFileName, tempSuffix } from './layout.js';
import { buildTrailer, type ZxidDigest } from './snapshot-format.js';

export interface SnapshotWriteTask {
  /** dataDir/version-2 */
  dir: string;
  /** The zxid that names the file (the last applied when the walk started). */
  zxid: number;
  /** The body in file order: header + sessions, ACL map, node chunks (the last ends with "/"). */
  parts: Uint8Array[];
  digest: ZxidDigest;
}

export interface SnapshotWriteResult {
  file: string;
  bytes: number;
  checksum: number;
  writeMs: number;
}

export default function writeSnapshot(task: SnapshotWriteTask): SnapshotWriteResult {
  const started = performance.now();
  let adler = adler32Initial;
  for (const part of task.parts) adler = adler32Update(adler, part);
  const trailer = buildTrailer(adler, task.digest);
  const file = join(task.dir, snapshotFileName(task.zxid));
  const temp = file + tempSuffix;
  let bytes = 0;
  const fd = openSync(temp, 'w', 0o644);
  try {
    for (const part of task.parts) bytes += writeAllSync(fd, part, bytes);
    bytes += writeAllSync(fd, trailer, bytes);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(temp);
    throw describe(e, temp);
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
    fsyncDirSync(task.dir);
  } catch (e) {
    unlinkQuietly(temp);
    throw describe(e, file);
  }
  return { file, bytes, checksum: adler, writeMs: performance.now() - started };
}

/**
 * writeSnapshot's steps on the calling thread, with asynchronous fs calls (libuv's pool): for a
 * small image (snapshot.ts: snapshotWriteInlineBytesMax) the main thread checksums it and waits
 * for the disk without blocking, and no pool thread is started. Same file, same durability:
 * temp file, fsync, rename, fsync of the directory.
 */
export async function writeSnapshotAsync(task: SnapshotWriteTask): Promise<SnapshotWriteResult> {
  const started = performance.now();
  let adler = adler32Initial;
  for (const part of task.parts) adler = adler32Update(adler, part);
  const trailer = buildTrailer(adler, task.digest);
  const file = join(task.dir, snapshotFileName(task.zxid));
  const temp = file + tempSuffix;
  let bytes = 0;
  let handle: FileHandle | null = null;
  let at = temp; // the file an error names, as writeSnapshot's do
  try {
    handle = await open(temp, 'w', 0o644);
    for (const part of task.parts) bytes += await writeAll(handle, part, bytes);
    bytes += await writeAll(handle, trailer, bytes);
    await handle.sync();
    await handle.close();
    handle = null;
    at = file;
    await rename(temp, file);
    await fsyncDir(task.dir);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw describe(e, at);
  }
  return { file, bytes, checksum: adler, writeMs: performance.now() - started };
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) {
      throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    }
    done += bytesWritten;
  }
  return done;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a complete snapshot image (SNAP sync: the leader's serializeSnapshot bytes) as
 * dir/snapshot.<zxid>, durably: temp file, fsync, rename, fsync of the directory. Synchronous,
 * on the calling thread: the txn log runs it inside its I/O chain (txnlog.ts rebase), where
 * nothing else touches the data files. Its temp name differs from the fuzzy snapshots' so that
 * a fuzzy snapshot finishing at the same zxid cannot interleave with it; recovery removes both
 * kinds of leftovers (snapshot.*.tmp).
 */
export function writeSnapshotImageSync(dir: string, zxid: number, image: Uint8Array): string {
  const file = join(dir, snapshotFileName(zxid));
  const temp = `${file}.sync${tempSuffix}`;
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeAllSync(fd, image, 0);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(temp);
    throw e;
  }
  closeSync(fd);
  renameSync(temp, file);
  fsyncDirSync(dir);
  return file;
}

function writeAllSync(fd: number, bytes: Uint8Array, position: number): number {
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, bytes.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += n;
  }
  return done;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the disk is failing: the temp name is cleaned at the next start
  }
}

/** Errors cross the thread as messages: keep the errno code and the file in the text. */
function describe(e: unknown, file: string): Error {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`${typeof code === 'string' ? code : 'EIO'}: ${file}: ${msg}`);
}
