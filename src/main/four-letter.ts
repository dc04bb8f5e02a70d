// Four-letter words: the session worker that took the connection forwards the word here; the
// answer combines the main thread's state (tree, sessions, zxid) with every worker's statistics,
// in the formats of ZooKeeper's 3.8 commands (StatCommand, MonitorCommand, ConfCommand, ...).
// The figures are gathered here once, as data (the public methods below); the 4lw text is one
// formatter of them, the AdminServer's JSON (admin/commands.ts) the other.

import { freemem, homedir, hostname, release, totalmem, type as osType, userInfo } from 'node:os';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { sessionIdHex, zxidHex } from '../common/ids.js';
import type {
  ConnectionStats,
  FourLetterMessage,
  StatsReplyMessage,
  StatsSection,
  WorkerCounts,
  WorkerStats,
  WorkerToMainMessage,
} from '../shm/admin.js';
import type { ServerConfig } from './config.js';
import type { Core } from './core.js';
import type { Logger } from './logger.js';

export const zkVersion = '3.8.0-zkts-0.1.0, built on 2026-11-21 00:00 UTC';
/** When this process started serving (zk_uptime, the AdminServer's uptime). */
export const startedAtMs = Date.now();
/** ZooTrace's default text trace mask (CLIENT_REQUEST | CLIENT_DATA_PACKET | ... : 0b100110010). */
export const traceMaskDefault = 306;

export interface FourLetterWordsOptions {
  cfg: ServerConfig;
  core: Core;
  workers: (Worker | MessagePort)[];
  logger: Logger;
  storageMetrics: () => Record<string, number>;
  /** Handle the records the workers published without waking us (new local sessions) first. */
  catchUp?: () => void;
  /** standalone (the default), or an ensemble member's role (leader, follower, observer, looking). */
  mode?: () => string;
  /** Ensemble metrics for mntr (the leader's zk_learners, zk_synced_followers...); none by default. */
  ensembleMetrics?: () => Record<string, number | string>;
  /** The connection throttle's metrics for mntr (ZooKeeper's connection_rejected ...); none by default. */
  connectionMetrics?: () => Record<string, number>;
  /** conf's serverId: an ensemble member's myid; 0 standalone (ZooKeeperServer's default). */
  serverId?: number;
}

export class FourLetterWords {
  private readonly cfg: ServerConfig;
  private readonly core: Core;
  private readonly workers: (Worker | MessagePort)[];
  private readonly logger: Logger;
  private readonly storageMetrics: () => Record<string, number>;
  private readonly catchUp: () => void;
  private readonly mode: () => string;
  private readonly ensembleMetrics: () => Record<string, number | string>;
  private readonly connectionMetrics: () => Record<string, number>;
  private readonly serverId: number;
  /** gtmk / stmk (ZooTrace's text trace mask): kept and reported; zkts traces nothing by it. */
  traceMask = traceMaskDefault;
  private nextReqId = 1;
  private readonly pending = new Map<number, { stats: WorkerStats[]; left: number; done: (s: WorkerStats[]) => void }>();

  constructor(o: FourLetterWordsOptions) {
    this.cfg = o.cfg;
    this.core = o.core;
    this.workers = o.workers;
    this.logger = o.logger;
    this.storageMetrics = o.storageMetrics;
    this.catchUp = o.catchUp ?? (() => {});
    this.mode = o.mode ?? (() => 'standalone');
    this.ensembleMetrics = o.ensembleMetrics ?? (() => ({}));
    this.connectionMetrics = o.connectionMetrics ?? (() => ({}));
    this.serverId = o.serverId ?? 0;
  }

  attach(): void {
    for (const w of this.workers) {
      w.on('message', (m: WorkerToMainMessage) => {
        if (m.type === 'fourLetter') void this.answer(w, m);
        else if (m.type === 'statsReply') this.onStats(m);
      });
    }
  }

  private async answer(w: Worker | MessagePort, m: FourLetterMessage): Promise<void> {
    let text: string;
    try {
      this.catchUp();
      text = await this.run(m.word);
    } catch (e) {
      this.logger.error({ word: m.word, err: e }, 'four-letter word failed');
      text = `Error processing ${m.word}\n`;
    }
    w.postMessage({ type: 'fourLetterReply', reqId: m.reqId, text });
  }

  /** Ask every worker for its statistics and wait for all of them. */
  collect(sections: StatsSection[], reset?: 'connections' | 'server'): Promise<WorkerStats[]> {
    const reqId = this.nextReqId++;
    return new Promise((resolve) => {
      this.pending.set(reqId, { stats: [], left: this.workers.length, done: resolve });
      for (const w of this.workers) {
        w.postMessage({ type: 'stats', reqId, sections, ...(reset === undefined ? {} : { reset }) });
      }
    });
  }

  private onStats(m: StatsReplyMessage): void {
    const p = this.pending.get(m.reqId);
    if (p === undefined) return;
    p.stats.push(m.stats);
    if (--p.left === 0) {
      this.pending.delete(m.reqId);
      p.done(p.stats.sort((a, b) => a.workerIndex - b.workerIndex));
    }
  }

  async run(word: string): Promise<string> {
    switch (word) {
      case 'srvr':
        return this.srvr(false);
      case 'stat':
        return this.srvr(true);
      case 'mntr':
        return this.mntr();
      case 'cons':
        return this.cons(await this.connections());
      case 'crst':
        await this.resetStats('connections');
        return 'Connection stats reset.\n';
      case 'srst':
        await this.resetStats('server');
        return 'Server stats reset.\n';
      case 'conf':
        return this.conf();
      case 'envi':
        return this.envi();
      case 'dirs': {
        const d = this.dirSizes();
        return `datadir_size: ${d.datadir}\nlogdir_size: ${d.logdir}\n`;
      }
      case 'wchs':
        return this.wchs();
      case 'wchc':
        return this.wchc();
      case 'wchp':
        return this.wchp();
      case 'dump':
        return this.dump();
      case 'isro':
        return 'rw';
      case 'gtmk':
        return String(this.traceMask); // TraceMaskCommand: pw.print(long), no newline
      default:
        return `Unknown command: ${word}\n`;
    }
  }

  /** Server-wide counts (summed over the workers), and each connection when asked. */
  async serverCounts(withConnections: boolean): Promise<{ counts: WorkerCounts; connections: ConnectionStats[] }> {
    const stats = await this.collect(withConnections ? ['counts', 'connections'] : ['counts']);
    const connections: ConnectionStats[] = [];
    for (const s of stats) for (const c of s.connections ?? []) connections.push(c);
    return { counts: sumCounts(stats), connections };
  }

  /** Every connection, with its session's figures (cons). */
  async connections(): Promise<ConnectionStats[]> {
    const stats = await this.collect(['connections']);
    return stats.flatMap((s) => s.connections ?? []);
  }

  /** crst: every connection's counters; srst: the server-wide ones. */
  async resetStats(what: 'connections' | 'server'): Promise<void> {
    await this.collect(['counts'], what);
  }

  /** Mode: standalone, or the ensemble role. */
  serverState(): string {
    return this.mode();
  }

  private async srvr(withClients: boolean): Promise<string> {
    const { counts: c, connections } = await this.serverCounts(withClients);
    let out = `Zookeeper version: ${zkVersion}\n`;
    if (withClients) {
      out += 'Clients:\n';
      for (const conn of connections) out += ` /${conn.remote}[1](queued=${conn.queued},recved=${conn.recved},sent=${conn.sent})\n`;
      out += '\n';
    }
    out += `Latency min/avg/max: ${c.minLatencyMs}/${round(c.avgLatencyMs)}/${c.maxLatencyMs}\n`;
    out += `Received: ${c.packetsReceived}\nSent: ${c.packetsSent}\n`;
    out += `Connections: ${c.aliveConnections}\nOutstanding: ${c.outstandingRequests}\n`;
    out += `Zxid: ${zxidHex(this.core.db.lastZxid)}\nMode: ${this.mode()}\n`;
    out += `Node count: ${this.core.db.tree.zkNodeCount}\n`;
    return out;
  }

  private async mntr(): Promise<string> {
    const rows = await this.monitorRows();
    return rows.map(([k, v]) => `${k}\t${v}\n`).join('');
  }

  /** mntr's rows (MonitorCommand's keys, zk_ prefixed, in its order), for the 4lw, the
   *  AdminServer's monitor command and the Prometheus exporter alike. */
  async monitorRows(): Promise<[string, string | number][]> {
    const stats = await this.collect(['counts', 'watches']);
    const watchCount = stats.reduce((n, s) => n + (s.watches?.watchCount ?? 0), 0);
    const rows = this.rows({ counts: sumCounts(stats), watchCount });
    // zkts's own row (a string, so numeric readers and the exporter leave it to its zkts_sessions
    // gauges): each session worker's local/global sessions, in worker order, for the status
    // pages of the other members (status-page/peers.ts).
    rows.push(['zk_worker_sessions', workerSessionsText(stats)]);
    return rows;
  }

  /** mntr's rows that the main thread knows by itself, without asking the workers (the
   *  exporter reads the workers' figures from shared memory instead: src/shm/metrics.ts). */
  mainRows(): [string, string | number][] {
    return this.rows(null);
  }

  private rows(w: { counts: WorkerCounts; watchCount: number } | null): [string, string | number][] {
    const tree = this.core.db.tree;
    const sessions = this.core.sessions.counts;
    const c = w?.counts;
    const rows: [string, string | number][] = [['zk_version', zkVersion], ['zk_server_state', this.mode()]];
    if (c !== undefined) {
      rows.push(
        ['zk_avg_latency', round(c.avgLatencyMs)],
        ['zk_max_latency', c.maxLatencyMs],
        ['zk_min_latency', c.minLatencyMs],
        ['zk_packets_received', c.packetsReceived],
        ['zk_packets_sent', c.packetsSent],
        ['zk_num_alive_connections', c.aliveConnections],
        ['zk_outstanding_requests', c.outstandingRequests],
      );
    }
    rows.push(['zk_znode_count', tree.zkNodeCount]);
    if (w !== null) rows.push(['zk_watch_count', w.watchCount]);
    rows.push(
      ['zk_ephemerals_count', tree.ephemeralsCount],
      ['zk_approximate_data_size', tree.approximateDataSize],
      ['zk_open_file_descriptor_count', openFileDescriptors()],
      ['zk_max_file_descriptor_count', maxFileDescriptors()],
      ['zk_uptime', Date.now() - startedAtMs],
      ['zk_global_sessions', sessions.global],
      ['zk_local_sessions', sessions.local],
      ['zk_last_proposal_size', -1],
      ['zk_zxid', zxidHex(this.core.db.lastZxid)],
    );
    if (c !== undefined) {
      // ZooKeeperServer's gauges from ServerStats (BufferStats of the packets sent; -1 before any).
      rows.push(
        ['zk_last_client_response_size', c.responseSizeLast],
        ['zk_max_client_response_size', c.responseSizeMax],
        ['zk_min_client_response_size', c.responseSizeMin],
        ['zk_auth_failed_count', c.authFailed],
      );
    }
    for (const [k, v] of Object.entries(this.ensembleMetrics())) {
      const key = `zk_${k}`;
      const at = rows.findIndex((r) => r[0] === key); // an ensemble figure replaces a standalone one
      if (at >= 0) rows[at] = [key, v];
      else rows.push([key, v]);
    }
    for (const [k, v] of Object.entries(this.storageMetrics())) rows.push([`zk_${k}`, Number.isInteger(v) ? v : round(v)]);
    for (const [k, v] of Object.entries(this.connectionMetrics())) rows.push([`zk_${k}`, Number.isInteger(v) ? v : round(v)]);
    return rows;
  }

  private cons(connections: ConnectionStats[]): string {
    let out = '';
    for (const c of connections) {
      out += ` /${c.remote}[1](queued=${c.queued},recved=${c.recved},sent=${c.sent}`;
      if (c.sid !== null) {
        out += `,sid=${c.sid},lop=${c.lop},est=${c.est},to=${c.to}`;
        if (c.lcxid >= 0) out += `,lcxid=0x${c.lcxid.toString(16)}`;
        out += `,lzxid=0x${Math.max(0, c.lzxid).toString(16)},lresp=${c.lresp}`;
        out += `,llat=${c.llat},minlat=${c.minlat},avglat=${c.avglat},maxlat=${c.maxlat}`;
      }
      out += ')\n';
    }
    return `${out}\n`;
  }

  private conf(): string {
    const c = this.cfg;
    const quorum = this.quorumConf();
    return [
      `clientPort=${c.clientPort}`,
      `secureClientPort=${c.secureClientPort ?? -1}`,
      `dataDir=${join(c.dataDir, 'version-2')}`,
      `dataDirSize=${dirBytes(c.dataDir)}`,
      `dataLogDir=${join(c.dataLogDir, 'version-2')}`,
      `dataLogSize=${dirBytes(c.dataLogDir)}`,
      `tickTime=${c.tickTimeMs}`,
      `maxClientCnxns=${c.maxClientCnxns}`,
      `minSessionTimeout=${c.minSessionTimeoutMs}`,
      `maxSessionTimeout=${c.maxSessionTimeoutMs}`,
      'clientPortListenBacklog=-1',
      `serverId=${this.serverId}`,
      // QuorumMaj.toString ends without a newline, and dumpConf prints it with print().
      ...(quorum.length === 0 ? [''] : quorum),
    ].join('\n');
  }

  /** QuorumZooKeeperServer.dumpConf's lines after ZooKeeperServer's, on an ensemble member:
   *  limits, electionAlg (3, the only one), its ports, peerType (LearnerType's ordinal), and
   *  the membership as QuorumMaj prints it (a static config: version 0; the `;client` part of a
   *  server line is not printed). */
  private quorumConf(): string[] {
    const c = this.cfg;
    const me = c.servers.find((e) => e.id === this.serverId);
    if (me === undefined) return [];
    return [
      `initLimit=${c.initLimitTicks}`,
      `syncLimit=${c.syncLimitTicks}`,
      'electionAlg=3',
      `electionPort=${me.electionPort}`,
      `quorumPort=${me.quorumPort}`,
      `peerType=${me.role === 'observer' ? 1 : 0}`,
      'membership: ',
      ...[...c.servers].sort((a, b) => a.id - b.id).map((e) => `server.${e.id}=${e.host}:${e.quorumPort}:${e.electionPort}:${e.role}`),
      'version=0',
    ];
  }

  /** Bytes in dataDir/version-2 and dataLogDir/version-2 (dirs). */
  dirSizes(): { datadir: number; logdir: number } {
    return { datadir: dirBytes(this.cfg.dataDir), logdir: dirBytes(this.cfg.dataLogDir) };
  }

  /** Environment.list()'s entries, with Node's figures where ZooKeeper has the JVM's. */
  environment(): [string, string][] {
    return [
      ['zookeeper.version', zkVersion],
      ['host.name', hostname()],
      ['node.version', process.version],
      ['os.name', osType()],
      ['os.arch', process.arch],
      ['os.version', release()],
      ['user.name', userInfo().username],
      ['user.home', homedir()],
      ['user.dir', process.cwd()],
      ['os.memory.free', `${Math.round(freemem() / 1048576)}MB`],
      ['os.memory.max', `${Math.round(totalmem() / 1048576)}MB`],
      ['os.memory.total', `${Math.round(process.memoryUsage().rss / 1048576)}MB`],
      ['process.pid', String(process.pid)],
      ['zkts.sessionWorkers', String(this.cfg.sessionWorkers)],
    ];
  }

  private envi(): string {
    return `Environment:\n${this.environment().map(([k, v]) => `${k}=${v}\n`).join('')}`;
  }

  /** wchs: sessions watching, paths watched, watches in all. */
  async watchSummary(): Promise<{ connections: number; paths: number; total: number }> {
    const stats = await this.collect(['watches']);
    let connections = 0;
    let paths = 0;
    let total = 0;
    for (const s of stats) {
      connections += s.watches?.watchingSessions ?? 0;
      paths += s.watches?.watchedPaths ?? 0;
      total += s.watches?.watchCount ?? 0;
    }
    return { connections, paths, total };
  }

  /** wchc: session id (hex) -> the paths it watches. */
  async watchesBySession(): Promise<{ sid: string; paths: string[] }[]> {
    const stats = await this.collect(['watchesBySession']);
    return stats.flatMap((s) => s.watches?.bySession ?? []);
  }

  /** wchp: path -> the session ids (hex) that watch it, across workers. */
  async watchesByPath(): Promise<Map<string, string[]>> {
    const stats = await this.collect(['watchesByPath']);
    const byPath = new Map<string, string[]>();
    for (const s of stats) {
      for (const entry of s.watches?.byPath ?? []) {
        byPath.set(entry.path, [...(byPath.get(entry.path) ?? []), ...entry.sids]);
      }
    }
    return byPath;
  }

  /** dump: the global sessions (with their expiry bucket, wall ms) and the ephemerals by owner. */
  sessionsAndEphemerals(): {
    sessions: { id: bigint; timeoutMs: number; expiresAtMs: number }[];
    ephemerals: { owner: bigint; paths: string[] }[];
  } {
    const table = this.core.sessions;
    const sessions = [...table.all()]
      .filter((s) => !s.local)
      .map((s) => ({ id: s.id, timeoutMs: s.timeoutMs, expiresAtMs: table.expiryOf(s) }));
    const tree = this.core.db.tree;
    const ephemerals = [...tree.sessionsWithEphemerals()].map((owner) => ({
      owner,
      paths: [...(tree.ephemeralsOf(owner) ?? [])].sort(),
    }));
    return { sessions, ephemerals };
  }

  private async wchs(): Promise<string> {
    const w = await this.watchSummary();
    return `${w.connections} connections watching ${w.paths} paths\nTotal watches:${w.total}\n`;
  }

  private async wchc(): Promise<string> {
    let out = '';
    for (const entry of await this.watchesBySession()) {
      out += `${entry.sid}\n${entry.paths.map((p) => `\t${p}\n`).join('')}`;
    }
    return `${out}\n`;
  }

  private async wchp(): Promise<string> {
    let out = '';
    for (const [path, sids] of await this.watchesByPath()) out += `${path}\n${sids.map((sid) => `\t${sid}\n`).join('')}`;
    return `${out}\n`;
  }

  private dump(): string {
    const { sessions, ephemerals } = this.sessionsAndEphemerals();
    let out = 'SessionTracker dump:\n';
    out += `Global Sessions(${sessions.length}):\n`;
    for (const s of sessions) out += `${sessionIdHex(s.id)}\t${s.timeoutMs}ms\n`;
    out += 'ephemeral nodes dump:\n';
    out += `Sessions with Ephemerals (${ephemerals.length}):\n`;
    for (const e of ephemerals) {
      out += `${sessionIdHex(e.owner)}:\n`;
      for (const path of e.paths) out += `\t${path}\n`;
    }
    return out;
  }
}

/** `local/global` of each worker, comma-separated in worker order ("0/3,1/2"). */
export function workerSessionsText(stats: readonly WorkerStats[]): string {
  return [...stats]
    .sort((a, b) => a.workerIndex - b.workerIndex)
    .map((s) => `${s.counts?.localSessions ?? 0}/${s.counts?.globalSessions ?? 0}`)
    .join(',');
}

export function sumCounts(stats: WorkerStats[]): WorkerCounts {
  const total: WorkerCounts = {
    packetsReceived: 0,
    packetsSent: 0,
    aliveConnections: 0,
    outstandingRequests: 0,
    minLatencyMs: 0,
    avgLatencyMs: 0,
    maxLatencyMs: 0,
    latencyTotalMs: 0,
    latencyCount: 0,
    localSessions: 0,
    globalSessions: 0,
    responseSizeLast: -1,
    responseSizeMin: -1,
    responseSizeMax: -1,
    authFailed: 0,
  };
  let min = Infinity;
  for (const s of stats) {
    const c = s.counts;
    if (c === undefined) continue;
    total.packetsReceived += c.packetsReceived;
    total.packetsSent += c.packetsSent;
    total.aliveConnections += c.aliveConnections;
    total.outstandingRequests += c.outstandingRequests;
    total.latencyTotalMs += c.latencyTotalMs;
    total.latencyCount += c.latencyCount;
    total.maxLatencyMs = Math.max(total.maxLatencyMs, c.maxLatencyMs);
    if (c.latencyCount > 0) min = Math.min(min, c.minLatencyMs);
    total.localSessions += c.localSessions;
    total.globalSessions += c.globalSessions;
    total.authFailed += c.authFailed;
    // Sizes: min over the workers that sent any, max; the last of the highest worker that sent
    // any (the exporter's MetricsReader.serverStats picks the same one).
    if (c.responseSizeMin >= 0 && (total.responseSizeMin < 0 || c.responseSizeMin < total.responseSizeMin)) {
      total.responseSizeMin = c.responseSizeMin;
    }
    total.responseSizeMax = Math.max(total.responseSizeMax, c.responseSizeMax);
    if (c.responseSizeLast >= 0) total.responseSizeLast = c.responseSizeLast;
  }
  total.minLatencyMs = min === Infinity ? 0 : min;
  total.avgLatencyMs = total.latencyCount === 0 ? 0 : total.latencyTotalMs / total.latencyCount;
  return total;
}

function round(ms: number): string {
  return (Math.round(ms * 10000) / 10000).toString().includes('.') ? String(Math.round(ms * 10000) / 10000) : `${ms}.0`;
}

export function openFileDescriptors(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/** The process's open-file limit (soft), as ZooKeeper's UnixOperatingSystemMXBean reports it. */
export function maxFileDescriptors(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m === null) return -1;
    return m[1] === 'unlimited' ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

export function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(join(dir, 'version-2'))) {
      total += statSync(join(dir, 'version-2', name)).size;
    }
  } catch {
    return 0;
  }
  return total;
}
