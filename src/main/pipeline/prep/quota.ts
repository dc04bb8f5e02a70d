// Prep's quota checks (ZooKeeperServer.checkQuota): a create or setData under a quota'd path is
// checked against its limits and stats nodes. Past a hard limit it fails with QuotaExceeded when
// enforceQuota is on (off by default, as zookeeper.enforceQuota); a limit passed is reported
// either way (a log line). ZooKeeper reads the stats the apply step last wrote, so writes in
// flight can pass a hard limit together; zkts also keeps the stats that writes in flight will
// make as outstanding records of the stats node, so the count stays within the limit.

import { Err } from '../../../common/zk.js';
import type { DataTree } from '../../tree/data-tree.js';
import type { NodeState } from '../../tree/node.js';
import { quotaLimitPath, quotaStatPath, StatsTrack, type QuotaExceededNote } from '../../tree/quota.js';
import { ChangeRecord, type OutstandingChanges } from '../outstanding.js';

/** How the quota checks read a node: the preparer's view, outstanding changes before the tree. */
export interface RecordReader {
  /** The newest outstanding record of `path`, else the tree's node; null if none. */
  recordFor(path: string): NodeState | null;
}

export interface QuotaGuardOptions {
  /** zookeeper.enforceQuota: refuse writes past a hard limit. */
  enforceQuota: boolean;
  /** Told of every write that takes a quota past a limit. */
  onQuotaExceeded: ((note: QuotaExceededNote) => void) | null;
}

/** The quota checks of the writes Prep prepares, and the stats their changes will make. */
export class QuotaGuard {
  private readonly enforceQuota: boolean;
  private readonly onQuotaExceeded: ((note: QuotaExceededNote) => void) | null;

  constructor(
    private readonly tree: DataTree,
    private readonly outstanding: OutstandingChanges,
    opts: QuotaGuardOptions,
  ) {
    this.enforceQuota = opts.enforceQuota;
    this.onQuotaExceeded = opts.onQuotaExceeded;
  }

  /**
   * ZooKeeperServer.checkQuota for a change of `countDiff` nodes and `bytesDiff` data bytes at
   * `path`: Err.quotaExceeded when it passes a hard limit and enforceQuota is on, else Err.ok.
   * The count is checked first; only a limit that is set, for a diff that is not 0, is checked.
   */
  check(records: RecordReader, path: string, bytesDiff: number, countDiff: number): number {
    const quota = this.tree.quotas.quotaOf(path);
    if (quota === null) return Err.ok;
    const limitNode = records.recordFor(quotaLimitPath(quota));
    if (limitNode === null) return Err.ok; // ZooKeeper logs "Missing limit node"
    const limits = StatsTrack.parse(limitNode.data);
    const checkCount = countDiff !== 0 && (limits.count > -1 || limits.countHardLimit > -1);
    const checkBytes = bytesDiff !== 0 && (limits.bytes > -1 || limits.byteHardLimit > -1);
    if (!checkCount && !checkBytes) return Err.ok;
    const statNode = records.recordFor(quotaStatPath(quota));
    if (statNode === null) return Err.ok; // ZooKeeper logs "Missing node for stat"
    const stats = StatsTrack.parse(statNode.data);
    if (checkCount) {
      const hard = limits.countHardLimit > -1;
      const err = this.overLimit(quota, 'count', stats.count + countDiff, hard ? limits.countHardLimit : limits.count, hard);
      if (err !== Err.ok) return err;
    }
    if (checkBytes) {
      const hard = limits.byteHardLimit > -1;
      return this.overLimit(quota, 'bytes', stats.bytes + bytesDiff, hard ? limits.byteHardLimit : limits.bytes, hard);
    }
    return Err.ok;
  }

  private overLimit(quota: string, what: 'count' | 'bytes', current: number, limit: number, hard: boolean): number {
    if (current <= limit) return Err.ok;
    const refused = hard && this.enforceQuota;
    this.onQuotaExceeded?.({ quota, what, current, limit, hard, refused });
    return refused ? Err.quotaExceeded : Err.ok;
  }

  /**
   * With enforceQuota on, a change prepared under a quota moves that quota's stats as an
   * outstanding record of its stats node: the next write is checked against the stats every
   * write before it will make (the apply step writes the same numbers into the tree).
   */
  noteChange(records: RecordReader, path: string, bytesDiff: number, countDiff: number, zxid: number): void {
    if (!this.enforceQuota || (bytesDiff === 0 && countDiff === 0)) return;
    const quota = this.tree.quotas.quotaOf(path);
    if (quota === null) return;
    const statPath = quotaStatPath(quota);
    const statNode = records.recordFor(statPath);
    if (statNode === null) return;
    const stats = StatsTrack.parse(statNode.data);
    stats.count += countDiff;
    stats.bytes += bytesDiff;
    const record = ChangeRecord.of(zxid, statPath, statNode);
    record.data = stats.bytesOf();
    this.outstanding.add(record);
  }

  /** noteChange for the delete of `path`: one node and its data bytes fewer. */
  noteDelete(records: RecordReader, path: string, zxid: number): void {
    if (this.enforceQuota) {
      const node = records.recordFor(path);
      if (node !== null) this.noteChange(records, path, -(node.data === null ? 0 : node.data.length), -1, zxid);
    }
  }
}
