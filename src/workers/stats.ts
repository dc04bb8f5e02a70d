// Statistics a worker reports for the four-letter words (types in src/shm/admin.ts): per
// connection as ServerCnxn keeps them (cons, crst), per worker as ServerStats (srvr, stat, mntr,
// srst), and the watch reports (wchs, wchc, wchp).

import { OpCode } from '../common/zk.js';

// The report types live in src/shm/admin.ts (the main thread imports them without importing
// src/workers); re-exported here for the worker side.
export type { ConnectionStats, WatchStats, WorkerCounts, WorkerStats } from '../shm/admin.js';
import type { ConnectionStats, WatchStats } from '../shm/admin.js';
import type { Conn } from './conn.js';
import type { WatchTable } from './watches/table.js';

/** ZooKeeper's short names of the last operation (FinalRequestProcessor lastOp). */
const lastOpNames = new Map<number, string>([
  [OpCode.ping, 'PING'],
  [OpCode.closeSession, 'CLOS'],
  [OpCode.multi, 'MULT'],
  [OpCode.multiRead, 'MLTR'],
  [OpCode.create, 'CREA'],
  [OpCode.create2, 'CREA'],
  [OpCode.createTTL, 'CREA'],
  [OpCode.createContainer, 'CREA'],
  [OpCode.delete, 'DELE'],
  [OpCode.deleteContainer, 'DELE'],
  [OpCode.setData, 'SETD'],
  [OpCode.reconfig, 'RECO'],
  [OpCode.setACL, 'SETA'],
  [OpCode.sync, 'SYNC'],
  [OpCode.check, 'CHEC'],
  [OpCode.exists, 'EXIS'],
  [OpCode.getData, 'GETD'],
  [OpCode.setWatches, 'SETW'],
  [OpCode.setWatches2, 'STW2'],
  [OpCode.addWatch, 'ADDW'],
  [OpCode.getACL, 'GETA'],
  [OpCode.getChildren, 'GETC'],
  [OpCode.getChildren2, 'GETC'],
  [OpCode.getAllChildrenNumber, 'GETACN'],
  [OpCode.getEphemerals, 'GETE'],
  [OpCode.checkWatches, 'CHKW'],
  [OpCode.removeWatches, 'REMW'],
  [OpCode.whoAmI, 'HOMI'],
]);

export function lastOpName(op: number): string {
  return lastOpNames.get(op) ?? 'NA';
}

/** Request latencies in whole milliseconds (ServerStats / ServerCnxn). */
export class Latency {
  min = Number.MAX_VALUE;
  max = 0;
  total = 0;
  count = 0;
  last = 0;

  add(ms: number): void {
    this.last = ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.total += ms;
    this.count++;
  }

  reset(): void {
    this.min = Number.MAX_VALUE;
    this.max = 0;
    this.total = 0;
    this.count = 0;
    this.last = 0;
  }

  get minOrZero(): number {
    return this.count === 0 ? 0 : this.min;
  }
}

/** What a connection row needs beyond the transport's counters. */
export interface ConnStatsSource {
  conn: Conn;
  latency: Latency;
  sid: string | null;
  timeoutMs: number;
  queued: number;
  local: boolean;
}

/** One `cons` row (ServerCnxn.dumpConnectionInfo); avglat is a long division, as there. */
export function connectionStats(s: ConnStatsSource): ConnectionStats {
  const c = s.conn;
  const l = s.latency;
  return {
    remote: c.remote,
    queued: s.queued,
    recved: c.recved,
    sent: c.sent,
    sid: s.sid,
    lop: c.lastOp,
    est: c.establishedMs,
    to: s.timeoutMs,
    lcxid: c.lastCxid,
    lzxid: c.lastZxid,
    lresp: c.lastResponseMs,
    llat: l.last,
    minlat: l.minOrZero,
    avglat: l.count === 0 ? 0 : Math.floor(l.total / l.count),
    maxlat: l.max,
    local: s.local,
  };
}

/** ServerCnxn.resetStats (crst). */
export function resetConnectionStats(c: Conn, latency: Latency): void {
  c.recved = 0;
  c.sent = 0;
  c.lastOp = 'NA';
  c.lastCxid = -1;
  c.lastZxid = -1;
  c.lastResponseMs = 0;
  latency.reset();
}

/** wchs / wchc / wchp material; `hexOf(slot)` names a session. */
export function watchStats(
  w: WatchTable,
  hexOf: (slot: number) => string,
  want: { bySession: boolean; byPath: boolean },
): WatchStats {
  const out: WatchStats = {
    watchCount: w.watchCount,
    watchedPaths: w.pathCount,
    watchingSessions: w.sessionCount,
  };
  if (want.bySession) {
    out.bySession = [...w.sessions()].map(([slot, paths]) => ({
      sid: hexOf(slot),
      paths: [...paths],
    }));
  }
  if (want.byPath) {
    out.byPath = [...w.paths()].map((e) => ({ path: e.path, sids: e.slots.map(hexOf) }));
  }
  return out;
}
