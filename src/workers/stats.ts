// Statistics a worker reports for the four-letter words (types in src/shm/admin.ts): per
// connection as ServerCnxn keeps them (cons, crst), per worker as ServerStats (srvr, stat, mntr,
// srst), and the watch reports (wchs, wchc, wchp).

import { OpCode } from '../common/zk.js';
import { MetricsHistogram } from '../shm/metrics.js';

// The report types live in src/shm/admin.ts (the main thread imports them without importing
// src/workers); re-exported here for the worker side.
export type { ConnectionStats, WatchStats, WorkerCounts, WorkerStats } from '../shm/admin.js';
import type {
  ConnectionStats,
  StatsRequestMessage,
  StatsSection,
  WatchStats,
  WorkerCounts,
  WorkerStats,
} from '../shm/admin.js';
import type { Conn, IoCounters } from './conn.js';
import type { ClientConn } from './connections/client-conn.js';
import type { ConnRegistry } from './connections/registry.js';
import { sessionlessConnectionTimeoutMs } from './limits.js';
import type { SessionTable } from './session/table.js';
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

/** ServerCnxn.updateStatsForResponse + ServerStats.updateLatency (`worker`: the worker-wide
 *  latency). */
export function noteResponse(
  conn: Conn,
  worker: Latency,
  op: number,
  xid: number,
  zxid: number,
  latencyMs: number,
): void {
  if (xid >= 0) conn.lastCxid = xid;
  conn.lastZxid = zxid;
  conn.lastOp = lastOpName(op);
  conn.lastResponseMs = Date.now();
  conn.latency.add(latencyMs);
  worker.add(latencyMs);
}

/** The exporter's histogram of an answered request (ServerStats.updateLatency): requests that
 *  make a txn count as updates (updatelatency), the rest, pings included, as reads. */
export function latencyHistogramOf(op: number): MetricsHistogram {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
    case OpCode.delete:
    case OpCode.deleteContainer:
    case OpCode.setData:
    case OpCode.setACL:
    case OpCode.multi:
    case OpCode.reconfig:
    case OpCode.closeSession:
      return MetricsHistogram.updateLatencyUs;
    default:
      return MetricsHistogram.readLatencyUs;
  }
}

/** Where a worker's report comes from. */
export interface WorkerStatsSources {
  workerIndex: number;
  conns: ConnRegistry;
  sessions: SessionTable<ClientConn>;
  watches: WatchTable;
  /** Packets in and out of all connections (ServerStats). */
  counters: IoCounters;
  /** Worker-wide latency (ServerStats). */
  latency: Latency;
  /** Requests of this worker's sessions in flight at the main thread. */
  outstanding(): number;
  /** Authentications this worker refused. */
  authFailed(): number;
}

/** The report a `stats` message asks for, after the reset it asks for (crst, srst). */
export function workerStats(
  src: WorkerStatsSources,
  req: Pick<StatsRequestMessage, 'reset' | 'sections'> = {},
): WorkerStats {
  if (req.reset === 'connections') {
    for (const c of src.conns.values()) resetConnectionStats(c, c.latency);
  }
  if (req.reset === 'server') resetServerStats(src);
  const sections = req.sections;
  const want = (s: StatsSection): boolean => sections === undefined || sections.includes(s);
  const out: WorkerStats = { workerIndex: src.workerIndex };
  if (want('connections')) {
    out.connections = [...src.conns.values()].map(clientConnStats);
  }
  if (want('counts')) out.counts = workerCounts(src);
  const bySession = want('watchesBySession');
  const byPath = want('watchesByPath');
  if (want('watches') || bySession || byPath) {
    const name = (slot: number): string => src.sessions.at(slot)?.hex ?? `slot:${slot}`;
    out.watches = watchStats(src.watches, name, { bySession, byPath });
  }
  return out;
}

function clientConnStats(c: ClientConn): ConnectionStats {
  const s = c.session;
  return connectionStats({
    conn: c,
    latency: c.latency,
    sid: s === null ? null : s.hex,
    timeoutMs: s === null ? sessionlessConnectionTimeoutMs : s.timeoutMs,
    queued: s === null ? 0 : s.fifo.countFor(c.id),
    local: s?.local === true,
  });
}

export function workerCounts(src: WorkerStatsSources): WorkerCounts {
  const l = src.latency;
  return {
    packetsReceived: src.counters.packetsReceived,
    packetsSent: src.counters.packetsSent,
    aliveConnections: src.conns.aliveCount(),
    outstandingRequests: src.outstanding(),
    minLatencyMs: l.minOrZero,
    avgLatencyMs: l.count === 0 ? 0 : l.total / l.count,
    maxLatencyMs: l.max,
    latencyTotalMs: l.total,
    latencyCount: l.count,
    localSessions: src.sessions.localCount,
    globalSessions: src.sessions.globalCount,
    responseSizeLast: src.counters.responseSizes?.last ?? -1,
    responseSizeMin: src.counters.responseSizes?.min ?? -1,
    responseSizeMax: src.counters.responseSizes?.max ?? -1,
    authFailed: src.authFailed(),
  };
}

function resetServerStats(src: WorkerStatsSources): void {
  src.counters.packetsReceived = 0;
  src.counters.packetsSent = 0;
  src.counters.responseSizes?.reset(); // ServerStats.reset: clientResponseStats.reset()
  src.latency.reset();
}
