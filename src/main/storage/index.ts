// Storage: the durable txn log, fuzzy snapshots, recovery, purge and the operator tools. The
// server uses recover() at start, then a SyncStage as the pipeline's LogStage, and a
// PurgeScheduler; the command line uses inspect.ts.

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
