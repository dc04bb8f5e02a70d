// Four-letter words: the session worker that took the connection forwards the word here; the
// answer combines the main thread's state (tree, sessions, zxid) with every worker's statistics,
// in the formats of ZooKeeper's 3.8 commands (StatCommand, MonitorCommand, ConfCommand, ...).

import { freemem, homedir, hostname, release, totalmem, type as osType, userInfo } from 'node:os';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort, Worker } from 'node:worker_threads';
import { sessionIdHex, zxidHex } from '../common/ids.js';
import type {
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
const startedAtMs = Date.now();

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
        return this.cons(await this.collect(['connections']));
      case 'crst':
        await this.collect(['counts'], 'connections');
        return 'Connection stats reset.\n';
      case 'srst':
        await this.collect(['counts'], 'server');
        return 'Server stats reset.\n';
      case 'conf':
        return this.conf();
      case 'envi':
        return this.envi();
      case 'dirs':
        return `datadir_size: ${dirBytes(this.cfg.dataDir)}\nlogdir_size: ${dirBytes(this.cfg.dataLogDir)}\n`;
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
      default:
        return `Unknown command: ${word}\n`;
    }
  }

  private async srvr(withClients: boolean): Promise<string> {
    const stats = await this.collect(withClients ? ['counts', 'connections'] : ['counts']);
    const c = sumCounts(stats);
    let out = `Zookeeper version: ${zkVersion}\n`;
    if (withClients) {
      out += 'Clients:\n';
      for (const s of stats) for (const conn of s.connections ?? []) out += ` /${conn.remote}[1](queued=${conn.queued},recved=${conn.recved},sent=${conn.sent})\n`;
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
    const c = sumCounts(stats);
    const watchCount = stats.reduce((n, s) => n + (s.watches?.watchCount ?? 0), 0);
    const tree = this.core.db.tree;
    const sessions = this.core.sessions.counts;
    const rows: [string, string | number][] = [
      ['zk_version', zkVersion],
      ['zk_server_state', this.mode()],
      ['zk_avg_latency', round(c.avgLatencyMs)],
      ['zk_max_latency', c.maxLatencyMs],
      ['zk_min_latency', c.minLatencyMs],
      ['zk_packets_received', c.packetsReceived],
      ['zk_packets_sent', c.packetsSent],
      ['zk_num_alive_connections', c.aliveConnections],
      ['zk_outstanding_requests', c.outstandingRequests],
      ['zk_znode_count', tree.zkNodeCount],
      ['zk_watch_count', watchCount],
      ['zk_ephemerals_count', tree.ephemeralsCount],
      ['zk_approximate_data_size', tree.approximateDataSize],
      ['zk_open_file_descriptor_count', openFileDescriptors()],
      ['zk_max_file_descriptor_count', maxFileDescriptors()],
      ['zk_uptime', Date.now() - startedAtMs],
      ['zk_global_sessions', sessions.global],
      ['zk_local_sessions', sessions.local],
      ['zk_last_proposal_size', -1],
      ['zk_zxid', zxidHex(this.core.db.lastZxid)],
    ];
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

  private cons(stats: WorkerStats[]): string {
    let out = '';
    for (const s of stats) {
      for (const c of s.connections ?? []) {
        out += ` /${c.remote}[1](queued=${c.queued},recved=${c.recved},sent=${c.sent}`;
        if (c.sid !== null) {
          out += `,sid=${c.sid},lop=${c.lop},est=${c.est},to=${c.to}`;
          if (c.lcxid >= 0) out += `,lcxid=0x${c.lcxid.toString(16)}`;
          out += `,lzxid=0x${Math.max(0, c.lzxid).toString(16)},lresp=${c.lresp}`;
          out += `,llat=${c.llat},minlat=${c.minlat},avglat=${c.avglat},maxlat=${c.maxlat}`;
        }
        out += ')\n';
      }
    }
    return `${out}\n`;
  }

  private conf(): string {
    const c = this.cfg;
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
      'serverId=0',
      '',
    ].join('\n');
  }

  private envi(): string {
    return [
      'Environment:',
      `zookeeper.version=${zkVersion}`,
      `host.name=${hostname()}`,
      `node.version=${process.version}`,
      `os.name=${osType()}`,
      `os.arch=${process.arch}`,
      `os.version=${release()}`,
      `user.name=${userInfo().username}`,
      `user.home=${homedir()}`,
      `user.dir=${process.cwd()}`,
      `os.memory.free=${Math.round(freemem() / 1048576)}MB`,
      `os.memory.max=${Math.round(totalmem() / 1048576)}MB`,
      `os.memory.total=${Math.round(process.memoryUsage().rss / 1048576)}MB`,
      `process.pid=${process.pid}`,
      `zkts.sessionWorkers=${this.cfg.sessionWorkers}`,
      '',
    ].join('\n');
  }

  private async wchs(): Promise<string> {
    const stats = await this.collect(['watches']);
    let sessions = 0;
    let paths = 0;
    let total = 0;
    for (const s of stats) {
      sessions += s.watches?.watchingSessions ?? 0;
      paths += s.watches?.watchedPaths ?? 0;
      total += s.watches?.watchCount ?? 0;
    }
    return `${sessions} connections watching ${paths} paths\nTotal watches:${total}\n`;
  }

  private async wchc(): Promise<string> {
    const stats = await this.collect(['watchesBySession']);
    let out = '';
    for (const s of stats) {
      for (const entry of s.watches?.bySession ?? []) {
        out += `${entry.sid}\n${entry.paths.map((p) => `\t${p}\n`).join('')}`;
      }
    }
    return `${out}\n`;
  }

  private async wchp(): Promise<string> {
    const stats = await this.collect(['watchesByPath']);
    const byPath = new Map<string, string[]>();
    for (const s of stats) {
      for (const entry of s.watches?.byPath ?? []) {
        byPath.set(entry.path, [...(byPath.get(entry.path) ?? []), ...entry.sids]);
      }
    }
    let out = '';
    for (const [path, sids] of byPath) out += `${path}\n${sids.map((sid) => `\t${sid}\n`).join('')}`;
    return `${out}\n`;
  }

  private dump(): string {
    const tree = this.core.db.tree;
    const globals = [...this.core.sessions.all()].filter((s) => !s.local);
    let out = 'SessionTracker dump:\n';
    out += `Global Sessions(${globals.length}):\n`;
    for (const s of globals) out += `${sessionIdHex(s.id)}\t${s.timeoutMs}ms\n`;
    const owners = [...tree.sessionsWithEphemerals()];
    out += 'ephemeral nodes dump:\n';
    out += `Sessions with Ephemerals (${owners.length}):\n`;
    for (const owner of owners) {
      out += `${sessionIdHex(owner)}:\n`;
      for (const path of [...(tree.ephemeralsOf(owner) ?? [])].sort()) out += `\t${path}\n`;
    }
    return out;
  }
}

function sumCounts(stats: WorkerStats[]): WorkerCounts {
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
  }
  total.minLatencyMs = min === Infinity ? 0 : min;
  total.avgLatencyMs = total.latencyCount === 0 ? 0 : total.latencyTotalMs / total.latencyCount;
  return total;
}

function round(ms: number): string {
  return (Math.round(ms * 10000) / 10000).toString().includes('.') ? String(Math.round(ms * 10000) / 10000) : `${ms}.0`;
}

function openFileDescriptors(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

/** The process's open-file limit (soft), as ZooKeeper's UnixOperatingSystemMXBean reports it. */
function maxFileDescriptors(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m === null) return -1;
    return m[1] === 'unlimited' ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

function dirBytes(dir: string): number {
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
