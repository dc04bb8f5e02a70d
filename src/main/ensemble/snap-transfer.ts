// SNAP sync's two ends: the leader serialises its applied state as one ZooKeeper snapshot image,
// and a learner checks a received image and installs it (state, in-memory log, snapshot file).

import { zxidHex } from '../../common/ids.js';
import type { Core } from '../core.js';
import type { Logger } from '../logger.js';
import type { ZkDatabase } from '../pipeline/database.js';
import { loadSnapshotImage } from '../storage/recovery.js';
import { serializeSnapshot } from '../storage/snapshot.js';
import { verifySeals } from '../storage/snapshot-format.js';
import type { SyncStage } from '../storage/sync-stage.js';
import type { InstallSnapshot } from '../zab/messages.js';
import type { MemoryLogView } from './memory-log-view.js';
import type { PayloadCache } from './payload-cache.js';

export interface SnapTransferOptions {
  db: ZkDatabase;
  stage: SyncStage;
  logger: Logger;
  /** The in-memory log the Zab core reads: an installed snapshot becomes its base. */
  log: MemoryLogView;
  /** Txns decoded for the log: an installed snapshot drops them. */
  payloads: PayloadCache;
  /** Fail-stop (the driver's). */
  fatal: (why: string) => never;
}

/**
 * A received SNAP's data: false when it is damaged in transit or not a snapshot (its checksum or
 * seal does not verify), so that it is refused before the core installs it (installing an image
 * that does not load stops this member).
 */
export function snapImageVerifies(data: Uint8Array): boolean {
  return verifySeals(data).length > 0;
}

export class SnapTransfer {
  constructor(private readonly o: SnapTransferOptions) {}

  /**
   * Leader side: the applied state (tree + global sessions) as a ZooKeeper snapshot image
   * (storage/snapshot.ts serializeSnapshot), exactly at `zxid`. Synchronous on the main thread:
   * the tree cannot change under the walk (session workers keep pinging meanwhile).
   */
  image(core: Core, zxid: number): Uint8Array {
    if (this.o.db.lastZxid !== zxid) {
      this.o.fatal(`SNAP at ${zxidHex(zxid)} asked while the tree is at ${zxidHex(this.o.db.lastZxid)}`);
    }
    const started = performance.now();
    const image = serializeSnapshot(this.o.db.tree, core.globalSessions(), zxid);
    this.o.logger.info({ zxid: zxidHex(zxid), bytes: image.length, ms: Math.round(performance.now() - started) }, 'snapshot image for SNAP sync');
    return image;
  }

  /**
   * Learner side (Ready.installSnapshot): the tree and sessions become the leader's image now;
   * the image becomes the durable snapshot file and the old log goes in the txn log's I/O chain
   * (SyncStage.installSnapshot), durable with this batch's flush, which then steps
   * snapshotInstalled. An image that fails its checksum cannot be installed: stop (the leader
   * sent garbage, or memory is corrupt) rather than serve a tree that differs from the leader's.
   */
  install(core: Core, snap: InstallSnapshot): void {
    const started = performance.now();
    let digest = 'unchecked';
    let sessions: ReadonlyMap<bigint, number> = new Map();
    try {
      core.replaceState(snap.zxid, () => {
        const loaded = loadSnapshotImage(this.o.db.tree, snap.data, snap.zxid);
        digest = loaded.digest;
        sessions = loaded.sessions;
        return loaded.sessions;
      });
    } catch (e) {
      this.o.fatal(`cannot install the leader's snapshot at ${zxidHex(snap.zxid)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (digest === 'mismatch') this.o.logger.error({ zxid: zxidHex(snap.zxid) }, 'snapshot from the leader: tree digest differs after loading');
    this.o.log.install(snap.zxid);
    this.o.payloads.clear();
    this.o.stage.installSnapshot(snap.zxid, snap.data, sessions);
    this.o.logger.warn(
      { zxid: zxidHex(snap.zxid), bytes: snap.data.length, sessions: sessions.size, digest, ms: Math.round(performance.now() - started) },
      'installed a snapshot from the leader (SNAP sync)',
    );
  }
}
