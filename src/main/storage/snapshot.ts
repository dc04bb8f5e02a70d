// Fuzzy snapshots, as ZooKeeper takes them (ZooKeeperServer.takeSnapshot, FileSnap): taken while
// writes keep flowing. The file is named by the last zxid applied when the snapshot STARTS; the
// tree keeps changing while it is walked, so it holds each node as it was when visited. Recovery
// loads it and replays the log from that zxid on; replay is idempotent over such a state
// (DataTree's leniency: a create of an existing node, a delete of a missing one, cversion and
// pzxid that only move forward), which is what makes the snapshot usable.
//
// The work is split so that the main thread, which owns the tree and keeps applying writes, is
// never held for long:
//   main thread, in slices (sliceNodes / sliceMs per setImmediate turn): walk the tree parents
//     first and copy each node straight into jute bytes, in ~4 MiB chunks. Encoding IS the copy:
//     building an object per node to encode later would allocate more on this thread, and
//     handing objects to a worker would pay structured clone on this thread too.
//   snapshot worker (piscina, one coarse task per snapshot; the chunks are moved, not copied):
//     checksum, seals, digest, write, fsync, rename, fsync of the directory. An image of at
//     most snapshotWriteInlineBytesMax is checksummed on the main thread and written with
//     asynchronous fs calls instead: the pool thread (an isolate) starts only for a larger one.
//
// The ACL map comes before the nodes in the file but is written last: it holds exactly the ACL
// lists the visited nodes referred to (ids are never reused by the tree's ACL cache, so each id
// names one list forever). A map taken at the start would miss an ACL that a node got after the
// start (setACL), and a restore would not know the node's ACL number.

import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { ACL } from '../../protocol/types.js';
import { JuteWriter } from '../../protocol/jute/index.js';
import { assert } from '../../common/assert.js';
import { openAclId } from '../tree/acl-cache.js';
import { adler32Initial, adler32Update } from './adler32.js';
import type { DataTree } from '../tree/data-tree.js';
import { digestVersion } from '../tree/digest.js';
import { silentLogger, StorageError, StorageErrorCode, type StorageLogger } from './errors.js';
import { snapshotDbId, snapshotMagic, writeFileHeader } from './layout.js';
import {
  snapshotChunkBytes,
  snapshotSliceCheckNodes,
  snapshotSliceMsDefault,
  snapshotSliceNodesDefault,
  snapshotWorkerIdleMs,
  snapshotWriteInlineBytesMax,
} from './limits.js';
import {
  buildTrailer,
  endPath,
  writeAclEntry,
  writeNode,
  writeSession,
} from './snapshot-format.js';
import {
  writeSnapshotAsync,
  type SnapshotWriteResult,
  type SnapshotWriteTask,
} from './snapshot-worker.js';

/** What a snapshot reads: ZkDatabase satisfies it (the tree and DataTree.lastProcessedZxid). */
export interface SnapshotSource {
  readonly tree: DataTree;
  readonly lastZxid: number;
}

/** Runs the write task off the main thread; `transfer` lists the buffers to move. */
export type SnapshotWriteRunner = (
  task: SnapshotWriteTask,
  transfer: ArrayBuffer[],
) => Promise<SnapshotWriteResult>;

export interface SnapshotterOptions {
  /** dataDir/version-2 */
  dir: string;
  logger?: StorageLogger;
  sliceNodes?: number;
  sliceMs?: number;
  /** Default: an image up to inlineWriteBytesMax is written from this thread with async fs
   *  calls (writeSnapshotAsync); a larger one by a piscina pool of one thread running
   *  snapshot-worker.js, started on first use. */
  runner?: SnapshotWriteRunner;
  /** Default snapshotWriteInlineBytesMax. */
  inlineWriteBytesMax?: number;
  nowMs?: () => number;
  /** How the walk gives the event loop back between slices; default one setImmediate turn. */
  yieldTurn?: () => Promise<void>;
  /**
   * Resolves once the txn log is durable up to `zxid`. A snapshot holds every txn applied by the
   * end of its walk, and recovery replays the log from the snapshot on: the file must never be
   * written before the log has those txns, or a crash leaves a snapshot ahead of its log. A
   * standalone server applies only durable txns, but an ensemble member applies a txn once a
   * quorum has it, possibly before its own fsync. Default: nothing to wait for.
   */
  logDurableTo?: (zxid: number) => Promise<void>;
}

export interface SnapshotInfo {
  file: string;
  zxid: number;
  nodes: number;
  sessions: number;
  bytes: number;
  /** Main-thread walk: wall time from start to the last slice, and the longest slice. */
  walkMs: number;
  sliceMsMax: number;
  writeMs: number;
}

/** Counters for mntr / metrics. */
export class SnapshotStats {
  taken = 0;
  failed = 0;
  skippedBusy = 0;
  inProgress = false;
  lastZxid = -1;
  lastNodes = 0;
  lastBytes = 0;
  lastWalkMs = 0;
  lastSliceMsMax = 0;
  lastWriteMs = 0;
  /** Snapshots the default runner wrote without the pool thread (small images). */
  writtenInline = 0;
}

const workerFile = fileURLToPath(new URL('./snapshot-worker.js', import.meta.url));

export class Snapshotter {
  readonly stats = new SnapshotStats();
  private readonly dir: string;
  private readonly logger: StorageLogger;
  private readonly sliceNodes: number;
  private readonly sliceMs: number;
  private readonly nowMs: () => number;
  private readonly runner: SnapshotWriteRunner;
  private readonly yieldTurn: () => Promise<void>;
  private readonly logDurableTo: (zxid: number) => Promise<void>;
  private readonly inlineWriteBytesMax: number;
  private pool: Piscina<SnapshotWriteTask, SnapshotWriteResult> | null = null;
  private current: Promise<SnapshotInfo> | null = null;
  private closed = false;
  /** Bumped by abandon(): a walk that sees it change stops (the tree it walks was replaced). */
  private generation = 0;

  constructor(opts: SnapshotterOptions) {
    this.dir = opts.dir;
    this.logger = opts.logger ?? silentLogger;
    this.sliceNodes = opts.sliceNodes ?? snapshotSliceNodesDefault;
    this.sliceMs = opts.sliceMs ?? snapshotSliceMsDefault;
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.runner = opts.runner ?? ((task, transfer) => this.write(task, transfer));
    this.inlineWriteBytesMax = opts.inlineWriteBytesMax ?? snapshotWriteInlineBytesMax;
    this.yieldTurn = opts.yieldTurn ?? nextTurn;
    this.logDurableTo = opts.logDurableTo ?? (() => Promise.resolve());
  }

  get running(): boolean {
    return this.current !== null;
  }

  /**
   * Starts a fuzzy snapshot of `source` with the global sessions `sessions` (id -> timeout ms);
   * both keep changing while it runs. One at a time: a second call while one runs rejects with
   * ZKTS_ERR_SNAPSHOT_BUSY. The promise resolves once the file is durable under its name.
   */
  take(source: SnapshotSource, sessions: ReadonlyMap<bigint, number>): Promise<SnapshotInfo> {
    if (this.closed) {
      return Promise.reject(new StorageError(StorageErrorCode.closed, 'snapshotter closed'));
    }
    if (this.current !== null) {
      this.stats.skippedBusy++;
      return Promise.reject(new StorageError(StorageErrorCode.snapshotBusy, 'snapshot running'));
    }
    this.stats.inProgress = true;
    const run = this.run(source, sessions).finally(() => {
      this.current = null;
      this.stats.inProgress = false;
    });
    this.current = run;
    return run;
  }

  /**
   * The live state is being replaced (SNAP sync installs the leader's tree): a walk in progress
   * stops at its next slice instead of mixing two trees into one file. A walk already finished
   * is a consistent image of the old state and is left to complete.
   */
  abandon(): void {
    this.generation++;
  }

  /** Refuses new snapshots, waits for a running one (its outcome is ignored) and stops the
   *  worker thread. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.current !== null) await this.current.catch(() => undefined);
    const pool = this.pool;
    this.pool = null;
    if (pool !== null) await pool.destroy();
  }

  private async run(
    source: SnapshotSource,
    sessions: ReadonlyMap<bigint, number>,
  ): Promise<SnapshotInfo> {
    const zxid = source.lastZxid;
    const started = this.nowMs();
    const walk = new SnapshotWalk(sessions);
    const generation = this.generation;
    let sliceMsMax = 0;
    for (;;) {
      await this.yieldTurn();
      if (generation !== this.generation) {
        this.logger.info({ zxid }, 'snapshot abandoned: the state was replaced (SNAP sync)');
        throw new StorageError(StorageErrorCode.closed, `snapshot 0x${zxid.toString(16)} abandoned`);
      }
      const sliceStart = this.nowMs();
      const done = walk.step(source.tree, this.sliceNodes, sliceStart + this.sliceMs, this.nowMs);
      sliceMsMax = Math.max(sliceMsMax, this.nowMs() - sliceStart);
      if (done) break;
    }
    // Same turn as the walk's end: the digest and zxid describe one state of the tree.
    const digest = {
      zxid: source.lastZxid,
      version: digestVersion,
      digest: source.tree.treeDigest(),
    };
    const parts = walk.finish();
    const walkMs = this.nowMs() - started;
    await this.logDurableTo(digest.zxid);
    if (generation !== this.generation) {
      this.logger.info({ zxid }, 'snapshot abandoned: the state was replaced (SNAP sync)');
      throw new StorageError(StorageErrorCode.closed, `snapshot 0x${zxid.toString(16)} abandoned`);
    }
    const task: SnapshotWriteTask = { dir: this.dir, zxid, parts, digest };
    let result: SnapshotWriteResult;
    try {
      result = await this.runner(task, parts.map((p) => p.buffer as ArrayBuffer));
    } catch (e) {
      this.stats.failed++;
      throw new StorageError(
        StorageErrorCode.snapshotWrite,
        `snapshot 0x${zxid.toString(16)}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    const info: SnapshotInfo = {
      file: result.file,
      zxid,
      nodes: walk.nodes,
      sessions: walk.sessionCount,
      bytes: result.bytes,
      walkMs,
      sliceMsMax,
      writeMs: result.writeMs,
    };
    this.record(info);
    return info;
  }

  private record(info: SnapshotInfo): void {
    const s = this.stats;
    s.taken++;
    s.lastZxid = info.zxid;
    s.lastNodes = info.nodes;
    s.lastBytes = info.bytes;
    s.lastWalkMs = info.walkMs;
    s.lastSliceMsMax = info.sliceMsMax;
    s.lastWriteMs = info.writeMs;
    this.logger.info(
      {
        file: info.file,
        nodes: info.nodes,
        sessions: info.sessions,
        bytes: info.bytes,
        walkMs: Math.round(info.walkMs),
        sliceMsMax: Math.round(info.sliceMsMax * 10) / 10,
        writeMs: Math.round(info.writeMs),
      },
      'snapshot written',
    );
  }

  /** Whether the pool thread was ever started (and not yet destroyed by close). */
  get poolStarted(): boolean {
    return this.pool !== null;
  }

  private write(task: SnapshotWriteTask, transfer: ArrayBuffer[]): Promise<SnapshotWriteResult> {
    let bytes = 0;
    for (const part of task.parts) bytes += part.length;
    if (bytes > this.inlineWriteBytesMax) return this.runInPool(task, transfer);
    this.stats.writtenInline++;
    return writeSnapshotAsync(task);
  }

  private async runInPool(
    task: SnapshotWriteTask,
    transfer: ArrayBuffer[],
  ): Promise<SnapshotWriteResult> {
    if (this.pool === null) {
      // piscina itself is loaded on first use too: a server whose snapshots all stay small
      // (write()) never pays for its modules (~1 MB of heap on the main thread).
      const { Piscina } = await import('piscina');
      this.pool ??= new Piscina<SnapshotWriteTask, SnapshotWriteResult>({
        filename: workerFile,
        minThreads: 0,
        maxThreads: 1,
        idleTimeout: snapshotWorkerIdleMs,
      });
    }
    return this.pool.run(task, { transferList: transfer });
  }
}

/**
 * The state as one complete snapshot image (file bytes, trailer included) in a single
 * synchronous walk: not fuzzy, so the image is exactly the state at `zxid` and its digest is the
 * tree's now. SNAP sync sends it (ensemble/snap-transfer.ts); the learner writes it as its
 * snapshot file and loads it (recovery.loadSnapshotImage). The caller must not let the tree
 * change meanwhile, which a synchronous call on the main thread guarantees.
 */
export function serializeSnapshot(
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  zxid: number,
): Uint8Array {
  const walk = new SnapshotWalk(sessions);
  const done = walk.step(tree, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY, () => 0);
  assert(done, 'an unbounded snapshot walk finishes in one step');
  const parts = walk.finish();
  let adler = adler32Initial;
  let length = 0;
  for (const part of parts) {
    adler = adler32Update(adler, part);
    length += part.length;
  }
  const trailer = buildTrailer(adler, { zxid, version: digestVersion, digest: tree.treeDigest() });
  const out = new Uint8Array(length + trailer.length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  out.set(trailer, at);
  return out;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The state of one walk: sessions first (live Map iteration: entries added or removed meanwhile
 * are the fuzziness that replay repairs), then the nodes, parents first (a node's children are
 * pushed when it is visited, so a parent is always written before its children, as
 * DataTree.restoreNode needs). A node deleted before its turn is skipped; one created after its
 * parent was visited is missed; the log replay covers both.
 */
export class SnapshotWalk {
  nodes = 0;
  sessionCount = 0;
  private readonly head = new JuteWriter(64 * 1024);
  private readonly countAt: number;
  private sessionIter: Iterator<[bigint, number]> | null;
  private readonly stack: string[] = ['/'];
  private readonly acls = new Map<number, readonly ACL[]>();
  private chunk = newChunk();
  private readonly chunks: Uint8Array[] = [];

  constructor(sessions: ReadonlyMap<bigint, number>) {
    writeFileHeader(this.head, snapshotMagic, snapshotDbId);
    this.countAt = this.head.length;
    this.head.writeInt(0); // the session count, patched in finish()
    this.sessionIter = sessions.entries();
  }

  /** Does one slice: up to `budget` items or until `deadlineMs`. Returns true when done. */
  step(tree: DataTree, budget: number, deadlineMs: number, nowMs: () => number): boolean {
    let n = 0;
    while (n < budget) {
      if (n % snapshotSliceCheckNodes === snapshotSliceCheckNodes - 1 && nowMs() >= deadlineMs) {
        return false;
      }
      n++;
      if (this.sessionIter !== null) {
        const next = this.sessionIter.next();
        if (next.done === true) {
          this.sessionIter = null;
        } else {
          writeSession(this.head, next.value[0], next.value[1]);
          this.sessionCount++;
        }
        continue;
      }
      const path = this.stack.pop();
      if (path === undefined) return true;
      this.visit(tree, path);
    }
    return this.sessionIter === null && this.stack.length === 0;
  }

  private visit(tree: DataTree, path: string): void {
    const node = tree.getNode(path);
    if (node === undefined) return;
    const aclId = tree.aclIdOf(node);
    if (aclId !== openAclId && !this.acls.has(aclId)) this.acls.set(aclId, node.acl);
    writeNode(this.chunk, path, node, aclId);
    this.nodes++;
    if (node.children !== null) {
      const prefix = path === '/' ? '/' : `${path}/`;
      for (const name of node.children) this.stack.push(prefix + name);
    }
    if (this.chunk.length >= snapshotChunkBytes) {
      this.chunks.push(this.chunk.bytes());
      this.chunk = newChunk();
    }
  }

  /** The body in file order: header + sessions, ACL map, node chunks ending with "/". */
  finish(): Uint8Array[] {
    this.head.patchInt(this.countAt, this.sessionCount);
    this.chunk.writeString(endPath);
    this.chunks.push(this.chunk.bytes());
    const acl = new JuteWriter(4096);
    const ids = [...this.acls.keys()].sort((a, b) => a - b);
    acl.writeInt(ids.length);
    for (const id of ids) writeAclEntry(acl, id, this.acls.get(id) ?? []);
    return [this.head.bytes(), acl.bytes(), ...this.chunks];
  }
}

function newChunk(): JuteWriter {
  // Room for a full chunk plus one large node, so a chunk rarely grows (growing copies it).
  return new JuteWriter(snapshotChunkBytes + 64 * 1024);
}
