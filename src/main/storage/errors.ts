// Typed storage errors (ZKTS_ERR_* codes) and the small logger interface storage writes through.
// Operating errors only: a broken invariant still fails an assertion (common/assert.ts).

export const StorageErrorCode = {
  /** A write to the txn log failed (ENOSPC included): fail-stop. */
  logWrite: 'ZKTS_ERR_LOG_WRITE',
  /** fsync / fdatasync of the txn log (or its directory) failed: fail-stop. */
  logFsync: 'ZKTS_ERR_LOG_FSYNC',
  /** A new log file could not be created (or preallocated): fail-stop. */
  logOpen: 'ZKTS_ERR_LOG_OPEN',
  /** A log file does not start with a ZKLG version-2 header. */
  logBadHeader: 'ZKTS_ERR_LOG_BAD_HEADER',
  /** Corruption before the tail (later files still hold records): recovery must not guess. */
  logCorrupt: 'ZKTS_ERR_LOG_CORRUPT',
  /** A record whose checksum holds but whose contents zkts cannot decode. */
  logUndecodable: 'ZKTS_ERR_LOG_UNDECODABLE',
  /** Transactions missing between the snapshot and the log, or between two log records. */
  logGap: 'ZKTS_ERR_LOG_GAP',
  /** Snapshot files exist but none of them verifies. */
  snapshotNoneValid: 'ZKTS_ERR_SNAPSHOT_NONE_VALID',
  /** One snapshot file is damaged (recovery falls back to an older one). */
  snapshotCorrupt: 'ZKTS_ERR_SNAPSHOT_CORRUPT',
  /** Writing a snapshot failed (the log still holds everything; the server carries on). */
  snapshotWrite: 'ZKTS_ERR_SNAPSHOT_WRITE',
  /** A snapshot was asked for while one is running. */
  snapshotBusy: 'ZKTS_ERR_SNAPSHOT_BUSY',
  /** The storage component was used after close() or after a fatal error. */
  closed: 'ZKTS_ERR_STORAGE_CLOSED',
  /** A storage setting is out of range (autopurge.snapRetainCount, snapCount, preAllocSize). */
  config: 'ZKTS_ERR_STORAGE_CONFIG',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

/** Brand check that survives duplicate module copies (as undici's errors do). */
export function isStorageError(e: unknown): e is StorageError {
  if (!(e instanceof Error)) return false;
  const code: unknown = (e as Error & { code?: unknown }).code;
  return typeof code === 'string' && storageCodes.has(code);
}

const storageCodes: ReadonlySet<string> = new Set(Object.values(StorageErrorCode));

/** What storage logs through: a subset of pino's Logger (pass the server's logger). */
export interface StorageLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything (tools and tests). */
export const silentLogger: StorageLogger = {
  info() {},
  warn() {},
  error() {},
};

/** The errno code of a Node I/O error, or 'unknown'. */
export function errnoCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown';
}
