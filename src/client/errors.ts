// ZkError: what every failed client call rejects with. `code` is ZooKeeper's KeeperException code
// (the ReplyHeader err, or the client's own connectionLoss / sessionExpired / badArguments /
// noWatcher / authFailed), `codeName` its name in src/common/zk.ts's Err table.

import { Err, errName } from '../common/zk.js';

/** One result of a failed multi, as ZkError.results carries it (see ZkClient.multi). */
export interface ZkErrorResult {
  readonly type: string;
}

/** A ZkError's optional parts beyond its code and path. */
export interface ZkErrorDetail {
  /** Default: "<codeName> (<code>)", with " for <path>" when there is a path. */
  readonly message?: string | undefined;
  readonly results?: readonly ZkErrorResult[] | undefined;
}

export class ZkError extends Error {
  /** KeeperException code (negative; see Err). */
  readonly code: number;
  /** Err's name for the code ('noNode', 'connectionLoss', ...). */
  readonly codeName: string;
  /** The client path the failed request named, when it named one. */
  readonly path?: string;
  /** multi only: every op's result, the failed ones as { type: 'error', code }. */
  readonly results?: readonly ZkErrorResult[];

  constructor(code: number, path?: string, detail?: ZkErrorDetail) {
    const message = detail?.message;
    const results = detail?.results;
    const codeName = errName(code);
    super(message ?? (path === undefined ? `${codeName} (${code})` : `${codeName} (${code}) for ${path}`));
    this.name = 'ZkError';
    this.code = code;
    this.codeName = codeName;
    if (path !== undefined) this.path = path;
    if (results !== undefined) this.results = results;
  }
}

/** True when `e` is a ZkError, and (if given) of code `code`. */
export function isZkError(e: unknown, code?: number): e is ZkError {
  return e instanceof ZkError && (code === undefined || e.code === code);
}

/** Codes after which retrying the same request on the same client may succeed. */
export function isRetryable(e: unknown): boolean {
  return e instanceof ZkError && (e.code === Err.connectionLoss || e.code === Err.operationTimeout);
}

/** A listener's or watcher's exception goes to the process (as an uncaught exception on the next
 *  tick), never into the client's protocol code. */
export function rethrowLater(e: unknown): void {
  process.nextTick(() => {
    throw e;
  });
}
