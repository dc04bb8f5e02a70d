// The log line of a write that passes a quota limit (ZooKeeperServer.checkQuota's RATE_LOGGER):
// "Quota exceeded: /a [current count=4, hardCountLimit=3]", at most one line per quota and kind
// per interval, with the number held back since the last one. A client writing in a loop under a
// full quota must not turn into a log flood.

import type { Logger } from '../logger.js';
import type { QuotaExceededNote } from './quota.js';

/** One line per (quota, count|bytes) per this many ms. */
export const quotaLogIntervalMs = 60_000;
/** Quotas remembered for rate limiting; past this the memory starts over. */
export const quotaLogKeysMax = 1024;

export class QuotaLog {
  private readonly last = new Map<string, { atMs: number; held: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  exceeded(note: QuotaExceededNote): void {
    const key = `${note.what}\u0000${note.quota}`;
    const nowMs = this.now();
    const seen = this.last.get(key);
    if (seen !== undefined && nowMs - seen.atMs < quotaLogIntervalMs) {
      seen.held++;
      return;
    }
    if (seen === undefined && this.last.size >= quotaLogKeysMax) this.last.clear();
    const held = seen?.held ?? 0;
    this.last.set(key, { atMs: nowMs, held: 0 });
    const kind = note.hard ? 'hard' : 'soft';
    const limitName = note.what === 'count' ? 'CountLimit' : 'ByteLimit';
    this.logger.warn(
      { quota: note.quota, [note.what]: note.current, limit: note.limit, hard: note.hard, refused: note.refused, heldBack: held },
      `Quota exceeded: ${note.quota} [current ${note.what}=${note.current}, ${kind}${limitName}=${note.limit}]`,
    );
  }
}
