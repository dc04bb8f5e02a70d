// The session worker's non-ring interface: what the main thread passes in `workerData` and the
// few postMessage shapes on `parentPort` (start-up, four-letter words, stats, stop). None of this
// is on a hot path, so it stays plain objects; the hot traffic is the ring records of records.ts.
//
// Types only: src/main imports this file to spawn and talk to workers without importing
// src/workers (DESIGN.md: the two never import each other).

import type { ClientTlsInit, TlsKeyOptions } from './tls.js';

/** How a worker gets its listening socket. */
export type ListenSpec = {
  host: string;
  port: number;
  /** clientPortListenBacklog: the listen(2) backlog of this worker's socket (mode reusePort); a
   *  launcher's socket (mode fd) was bound with the same value. */
  backlog: number;
} & (
  | {
      /** Each worker binds its own SO_REUSEPORT socket (Node >= 22.12; the kernel spreads
       *  connections). On older Node the option is ignored: fine for one worker, not for more. */
      mode: 'reusePort';
    }
  | {
      /** A duplicate of the listening socket given to this worker alone (a launcher passes it
       *  through child_process.spawn's stdio, e.g. fds 3..3+N-1). Never share one fd number
       *  between workers: the first worker to exit would close it for all of them. */
      mode: 'fd';
      fd: number;
    }
);

/** `workerData` of a session worker (src/workers/worker.ts). */
export interface WorkerInit {
  workerIndex: number;
  workerCount: number;
  /** 0..255 (standalone: 0); the top byte of every session id this worker creates. */
  serverId: number;
  /** The two rings, as src/shm/channel.ts `createChannelDescriptor` makes them. */
  channel: { toMain: SharedArrayBuffer; toWorker: SharedArrayBuffer };
  /** src/shm/status.ts SharedStatus buffer (lastZxid, serving). */
  status: SharedArrayBuffer;
  /** src/shm/ipcount.ts table (`createIpCountTable(slots).buffer`), shared by all workers. */
  ipCounts: SharedArrayBuffer;
  /** src/shm/connthrottle.ts bucket (`createConnThrottle(settings, now).buffer`), shared by all
   *  workers: the server-wide connection throttle. */
  connThrottle: SharedArrayBuffer;
  /** src/shm/metrics.ts rows (`createMetricsBuffer(workerCount)`): this worker writes row
   *  workerIndex, the Prometheus exporter reads them all. */
  metrics: SharedArrayBuffer;
  /** The plain client port; null when only secureClientPort is configured. */
  listen: ListenSpec | null;
  /** secureClientPort (TLS); null when not configured. */
  secureListen: ListenSpec | null;
  /** The TLS settings of secureListen (src/shm/tls.ts); null without it. */
  tls: ClientTlsInit | null;
  /** createTlsCounters(): the TLS port's counters, shared by all workers (TlsCounter). */
  tlsCounters: SharedArrayBuffer;
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Per client IP across all workers; 0 = unlimited. */
  maxClientCnxns: number;
  /** Requests in flight server-wide (SharedStatus.requestsInFlight) above which a connection
   *  with a request in flight is not read until it has none or the total drops (ZooKeeper's
   *  globalOutstandingLimit). */
  globalOutstandingLimit: number;
  /** A frame longer than this closes the connection (jute.maxbuffer). */
  juteMaxBufferBytes: number;
  localSessionsEnabled: boolean;
  localSessionsUpgradingEnabled: boolean;
  /** Enabled four-letter words, e.g. ['srvr', 'stat', 'ruok'], or ['*'] for all. */
  fourLetterWhitelist: string[];
  /** Session passwords are the first 16 bytes of HMAC-SHA256(secret, session id, 8 bytes BE).
   *  '' while the main thread does not know it yet: connects wait for a SessionSecretMessage. */
  sessionSecret: string;
  /**
   * DigestAuthenticationProvider.superDigest: "super:<base64 sha1>"; a digest auth whose id
   * equals it also gets the super id, which passes every ACL check. null: none.
   */
  superDigest: string | null;
  /** pino level ('warn' by default: quiet). */
  logLevel: string;
  /** The WebSocket client transport (src/workers/ws-transport.ts); null or absent: off. */
  webSocket?: WebSocketSpec | null;
}

/** Where the workers serve the client frames over WebSockets (webSocketPort, webSocketPath). */
export interface WebSocketSpec {
  host: string;
  port: number;
  /** The upgrade path, e.g. /zookeeper. */
  path: string;
  /** httpEngine: 'auto' | 'uws' | 'node' (src/http/app.ts). */
  engine: 'auto' | 'uws' | 'node';
}

// ---- main → worker --------------------------------------------------------------------------

/** Stop accepting, close every connection, release the ring doorbells; the thread then exits. */
export interface StopMessage {
  type: 'stop';
}

/** The text to write back for a four-letter word the worker forwarded (then it closes). */
export interface FourLetterReplyMessage {
  type: 'fourLetterReply';
  reqId: number;
  text: string;
}

/** Sections of WorkerStats; `counts` is cheap, the others walk every connection / watch. */
export type StatsSection =
  | 'connections'
  | 'counts'
  | 'watches'
  | 'watchesBySession'
  | 'watchesByPath';

/**
 * Ask a worker for its statistics. `reset: 'connections'` (crst) resets every connection's
 * counters, `reset: 'server'` (srst) the worker-wide ones; the reply shows the state after the
 * reset. `sections` (zkts extension) limits the work: omitted = every section.
 */
export interface StatsRequestMessage {
  type: 'stats';
  reqId: number;
  reset?: 'connections' | 'server';
  sections?: readonly StatsSection[];
}

/** The session secret, once known or when it changed (src/main/sessions/secret.ts). */
export interface SessionSecretMessage {
  type: 'sessionSecret';
  secret: string;
}

/** The certificate reload (client.certReload): new key, certificate and CAs for secureClientPort;
 *  connections already up keep theirs. */
export interface TlsReloadMessage {
  type: 'tlsReload';
  keys: TlsKeyOptions;
}

export type MainToWorkerMessage =
  | TlsReloadMessage
  | StopMessage
  | FourLetterReplyMessage
  | StatsRequestMessage
  | SessionSecretMessage;

// ---- worker → main --------------------------------------------------------------------------

/** Sent once the listener accepts connections (port: the bound port, useful with port 0). */
export interface ListeningMessage {
  type: 'listening';
  workerIndex: number;
  host: string;
  port: number;
}

/** A client sent a whitelisted four-letter word other than ruok; answer with fourLetterReply. */
export interface FourLetterMessage {
  type: 'fourLetter';
  workerIndex: number;
  word: string;
  reqId: number;
  /** 'ip:port' of the client. */
  remote: string;
}

export interface StatsReplyMessage {
  type: 'statsReply';
  reqId: number;
  workerIndex: number;
  stats: WorkerStats;
}

/** Sent after a stop: sockets closed, doorbells released. */
export interface StoppedMessage {
  type: 'stopped';
  workerIndex: number;
}

export type WorkerToMainMessage =
  | ListeningMessage
  | FourLetterMessage
  | StatsReplyMessage
  | StoppedMessage;

// ---- statistics ---------------------------------------------------------------------------

/** One connection, as ServerCnxn.dumpConnectionInfo prints it for `cons`. Times and latencies
 *  in whole ms (avglat: integer division, as ServerCnxn.getAvgLatency). */
export interface ConnectionStats {
  /** 'ip:port' (ZooKeeper prints '/ip:port'). */
  remote: string;
  /** Requests sent to the main thread and not answered yet. */
  queued: number;
  recved: number;
  sent: number;
  /** '0x…' lower-case hex, or null before the session is established. */
  sid: string | null;
  /** Last operation, ZooKeeper's short names ('GETD', 'PING', …); 'NA' before any. */
  lop: string;
  /** Established: wall-clock ms since the epoch. */
  est: number;
  /** Negotiated session timeout (ms). */
  to: number;
  /** Last cxid (-1 before any). */
  lcxid: number;
  /** Last zxid answered (-1 before any). */
  lzxid: number;
  /** Wall-clock ms of the last response (0 before any). */
  lresp: number;
  llat: number;
  minlat: number;
  avglat: number;
  maxlat: number;
  local: boolean;
}

/** Worker-wide counters; sum / min / max them across workers for srvr, stat, mntr. */
export interface WorkerCounts {
  packetsReceived: number;
  packetsSent: number;
  aliveConnections: number;
  outstandingRequests: number;
  /** Latency of requests answered by this worker (whole ms; the average is a float, as
   *  ServerStats.getAvgLatency); 0 when none yet. */
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  /** For averaging across workers: sum of latencies (ms) and their count. */
  latencyTotalMs: number;
  latencyCount: number;
  localSessions: number;
  globalSessions: number;
  /** Client response sizes in bytes (ServerStats' BufferStats: -1 before any). */
  responseSizeLast: number;
  responseSizeMin: number;
  responseSizeMax: number;
  /** Authentications refused (AuthFailed). */
  authFailed: number;
}

export interface WatchStats {
  /** ZooKeeper's watch count (zk_watch_count, wchs "Total watches"): dataWatches.size() +
   *  childWatches.size(), so a session's data and child watch on one path count 2. */
  watchCount: number;
  watchedPaths: number;
  watchingSessions: number;
  /** wchc: session id hex → paths (present when the section was asked for). */
  bySession?: { sid: string; paths: string[] }[];
  /** wchp: path → session ids hex. */
  byPath?: { path: string; sids: string[] }[];
}

export interface WorkerStats {
  workerIndex: number;
  connections?: ConnectionStats[];
  counts?: WorkerCounts;
  watches?: WatchStats;
}
