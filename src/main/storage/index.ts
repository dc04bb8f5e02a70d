// Storage: the durable txn log, fuzzy snapshots, recovery, purge and the operator tools, in
// ZooKeeper's on-disk formats (dataDir/version-2/snapshot.<zxid>, dataLogDir/version-2/log.<zxid>).
//
// How the server uses it (start-up, in this order):
//   const db = new ZkDatabase(...);
//   const rec = recover(db, { dataDir, dataLogDir, logger });   // throws StorageError: exit 1
//   const stage = new SyncStage({ dataDir, dataLogDir, db, sessions: rec.sessions,
//     lastZxid: rec.lastZxid, snapCount, preAllocBytes, logger, onFatal });
//   new Core({ db, log: stage, ... })                             // stage is the LogStage
//   rebuild the global sessions from rec.sessions (id -> timeout ms), then
//   void stage.snapshot().catch(() => {})                        // as ZooKeeperServer.loadData
//   new PurgeScheduler({ dataDir, dataLogDir, snapRetainCount, purgeIntervalHours }).start();
// onFatal(err): log synchronously and exit; never reply to anything not durable (txnlog.ts).
// Shutdown: after the workers stop, `await stage.close()` and `await purger.stop()`.
// Command line: formatLog(file), formatSnapshot(file), checkDataDir(dataDir, dataLogDir).

export {
  recover,
  type RecoverOptions,
  type RecoveryResult,
  type RecoveryTarget,
} from './recovery.js';
export { SyncStage, type SyncStageOptions } from './sync-stage.js';
export { TxnLog, TxnLogStats, type TxnLogOptions } from './txnlog.js';
export { Snapshotter, SnapshotStats, type SnapshotInfo, type SnapshotSource } from './snapshot.js';
export { purge, PurgeScheduler, type PurgeOptions, type PurgeSchedulerOptions } from './purge.js';
export { checkDataDir, formatLog, formatSnapshot, type CheckReport } from './inspect.js';
export { StorageError, StorageErrorCode, isStorageError, type StorageLogger } from './errors.js';
export { nodeLogFs, type LogFs } from './log-fs.js';
export { ensureVersionDirs, versionDir } from './layout.js';
export { preAllocBytesDefault, snapCountTxnsDefault, snapRetainCountMin } from './limits.js';
