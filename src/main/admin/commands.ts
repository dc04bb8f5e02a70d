// The AdminServer's commands (org.apache.zookeeper.server.admin.Commands, 3.8): every name and
// alias, and each answer with ZooKeeper's JSON field names. The figures come from the same
// methods the four-letter words format as text (four-letter.ts), and the ensemble's from the
// driver's read-only accessors (EnsembleFacts).
//
// As in ZooKeeper, every answer carries "command" (the primary name) and "error" (null, or what
// went wrong), and a command that needs a serving server answers "This ZooKeeper instance is not
// currently serving requests" while an ensemble member is electing. zkts adds one rule (issue 12):
// the commands that change state (crst, srst, orst, stmk) and dump/cons are refused unless the
// 4lw whitelist (4lw.commands.whitelist) enables their four-letter word.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, release, type as osType, userInfo } from 'node:os';
import { join } from 'node:path';
import { zxidCounter, zxidEpoch } from '../../common/ids.js';
import type { ConnectionStats } from '../../shm/admin.js';
import type { ServerConfig, ServerEntry } from '../config.js';
import type { FedLearner, ZabStateName } from '../ensemble/metrics.js';
import { type FourLetterWords, startedAtMs, zkVersion } from '../four-letter.js';
import { digestVersion, type DigestLog } from './digest-log.js';
import { JavaDouble, type JsonValue } from './json.js';
import { traceMaskTextCharsMax } from './limits.js';

/** What an ensemble member shows the AdminServer (the driver's read-only accessors). */
export interface EnsembleFacts {
  /** leader, follower, observer or looking. */
  mode(): string;
  leaderId(): number;
  zabState(): ZabStateName;
  fedLearners(): (FedLearner & { sinceMs: number })[];
  proposalSizeStats(): { last: number; min: number; max: number };
}

export interface AdminSources {
  readonly cfg: ServerConfig;
  readonly words: FourLetterWords;
  /** null: standalone. */
  readonly ensemble: EnsembleFacts | null;
  /** This member's id (myid); 0 standalone. */
  readonly myId: number;
  readonly digests: DigestLog;
  /** The text of the config file as read at start (initial_configuration). */
  readonly initialConfig: string;
  lastZxid(): number;
  nodeCount(): number;
  storageMetrics(): Record<string, number>;
}

export type Fields = Record<string, JsonValue>;

export interface AdminCommand {
  /** The primary name first, then the aliases (CommandBase's names). */
  readonly names: readonly string[];
  /** Answered only while the server serves (CommandBase.isServerRequired). */
  readonly serverRequired: boolean;
  /** The four-letter word whose whitelist entry enables this command; none: always enabled. */
  readonly whitelistWord?: string;
  run(src: AdminSources, kwargs: ReadonlyMap<string, string>): Fields | Promise<Fields>;
}

export const notServing = 'This ZooKeeper instance is not currently serving requests';

/** NopCommand's text for a word off the whitelist, as the 4lw answers it. */
export function notWhitelisted(name: string): string {
  return `${name} is not executed because it is not in the whitelist.`;
}

/** FourLetterCommands.isEnabled: `*` enables every word, and srvr is always enabled. */
export function whitelistAllows(whitelist: readonly string[], word: string): boolean {
  return word === 'srvr' || whitelist.some((w) => w.trim() === '*' || w.trim() === word);
}

/** The config file's text as read at start (initial_configuration); '' when there is none. */
export function readInitialConfig(source: string): string {
  try {
    return readFileSync(source, 'utf8');
  } catch {
    return '';
  }
}

/** A session id (hex, '0x…') as the Java long Jackson writes. */
function sessionIdLong(hex: string | bigint | null): bigint {
  if (hex === null) return 0n;
  return BigInt.asIntN(64, typeof hex === 'bigint' ? hex : BigInt(hex));
}

/** A figure zkts does not measure: -1, as ZooKeeper's BufferStats shows one with no data. */
const unmeasured = -1;

/** ServerCnxn.getConnectionInfo(brief). */
function connectionInfo(c: ConnectionStats, brief: boolean): Fields {
  const info: Fields = {
    remote_socket_address: c.remote,
    interest_ops: 1, // OP_READ: a connection zkts holds is read unless throttled
    outstanding_requests: c.queued,
    packets_received: c.recved,
    packets_sent: c.sent,
  };
  if (brief) return info;
  return {
    ...info,
    session_id: sessionIdLong(c.sid),
    last_operation: c.lop,
    established: c.est,
    session_timeout: c.to,
    last_cxid: c.lcxid,
    last_zxid: c.lzxid,
    last_response_time: c.lresp,
    last_latency: c.llat,
    min_latency: c.minlat,
    avg_latency: c.avglat,
    max_latency: c.maxlat,
  };
}

const bufferStats = (last: number, min: number, max: number): Fields => ({ last_buffer_size: last, min_buffer_size: min, max_buffer_size: max });

/** SrvrCommand (and StatCommand with the connections). */
async function serverStats(src: AdminSources, withConnections: boolean): Promise<Fields> {
  const { words } = src;
  const { counts: c, connections } = await words.serverCounts(withConnections);
  const dirs = words.dirSizes();
  const clientResponse = bufferStats(unmeasured, unmeasured, unmeasured);
  const out: Fields = {
    version: zkVersion,
    read_only: false,
    server_stats: {
      packets_sent: c.packetsSent,
      packets_received: c.packetsReceived,
      fsync_threshold_exceed_count: src.storageMetrics()['fsync_threshold_exceed_count'] ?? 0,
      client_response_stats: clientResponse,
      data_dir_size: dirs.datadir,
      log_dir_size: dirs.logdir,
      provider_null: false,
      server_state: words.serverState(),
      last_processed_zxid: src.lastZxid(),
      outstanding_requests: c.outstandingRequests,
      avg_latency: new JavaDouble(Math.round(c.avgLatencyMs * 10000) / 10000),
      max_latency: c.maxLatencyMs,
      min_latency: c.minLatencyMs,
      num_alive_client_connections: c.aliveConnections,
      uptime: Date.now() - startedAtMs,
      auth_failed_count: unmeasured,
      non_mtlsremote_conn_count: 0,
      non_mtlslocal_conn_count: 0,
    },
    client_response: clientResponse,
  };
  const e = src.ensemble;
  if (e !== null && e.mode() === 'leader') {
    const p = e.proposalSizeStats();
    out['proposal_stats'] = bufferStats(p.last, p.min, p.max);
  }
  out['node_count'] = src.nodeCount();
  if (withConnections) {
    out['connections'] = connections.map((conn) => connectionInfo(conn, true));
    out['secure_connections'] = [];
  }
  return out;
}

/** mntr's rows as the monitor command's fields: the same figures, without the zk_ prefix. */
async function monitor(src: AdminSources): Promise<Fields> {
  const out: Fields = {};
  for (const [k, v] of await src.words.monitorRows()) {
    const key = k.startsWith('zk_') ? k.slice(3) : k;
    if (typeof v === 'number') out[key] = Number.isInteger(v) ? v : new JavaDouble(v);
    else out[key] = /^-?\d+\.\d+$/.test(v) ? new JavaDouble(Number(v)) : v;
  }
  return out;
}

/** The newest snapshot file in dataDir/version-2: its zxid and its time (s). */
function lastSnapshot(dataDir: string): Fields {
  let best = -1;
  let name = '';
  try {
    for (const f of readdirSync(join(dataDir, 'version-2'))) {
      const m = /^snapshot\.([0-9a-f]+)$/.exec(f);
      if (m === null) continue;
      const zxid = Number.parseInt(m[1]!, 16);
      if (zxid > best) {
        best = zxid;
        name = f;
      }
    }
  } catch {
    // no snapshot directory yet
  }
  if (best < 0) return { zxid: 'ffffffffffffffff', timestamp: -1 };
  let timestamp = -1;
  try {
    timestamp = Math.floor(statSync(join(dataDir, 'version-2', name)).mtimeMs / 1000);
  } catch {
    // purged since
  }
  return { zxid: best.toString(16), timestamp };
}

function serverOf(cfg: ServerConfig, id: number): ServerEntry | undefined {
  return cfg.servers.find((s) => s.id === id);
}

/** A MultipleAddresses as Jackson writes it (zabstate's quorum_address, election_address). */
function multipleAddresses(host: string, port: number): Fields {
  const a = `${host}:${port}`;
  return {
    empty: false,
    all_addresses: [a],
    all_reachable_addresses: [a],
    one: a,
    reachable_address: a,
    wildcard_addresses: [`0.0.0.0:${port}`],
    all_ports: [port],
    all_host_strings: [host],
    all_reachable_addresses_or_all: [a],
    reachable_or_one: a,
  };
}

function clientAddress(cfg: ServerConfig): string {
  return `${cfg.clientPortAddress === '' ? '0.0.0.0' : cfg.clientPortAddress}:${cfg.clientPort}`;
}

/** System.getProperties, as far as a Node process has them. */
function systemProperties(): Fields {
  const user = userInfo();
  const props: Record<string, string> = {
    'file.separator': '/',
    'line.separator': '\n',
    'path.separator': ':',
    'node.version': process.version,
    'node.exec.path': process.execPath,
    'os.arch': process.arch,
    'os.name': osType(),
    'os.version': release(),
    'user.dir': process.cwd(),
    'user.home': homedir(),
    'user.name': user.username,
    'user.timezone': Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
  const sorted: Fields = {};
  for (const k of Object.keys(props).sort()) sorted[k] = props[k]!;
  return sorted;
}

function readOnly(): Fields {
  return { read_only: false };
}

/** Long.parseLong's accepted text, within a Java long. */
function parseJavaLong(text: string): bigint | null {
  if (text.length > traceMaskTextCharsMax || !/^[+-]?\d+$/.test(text)) return null;
  const v = BigInt(text);
  return v === BigInt.asIntN(64, v) ? v : null;
}

/** Every command of ZooKeeper 3.8's Commands, in its registration order. */
export const adminCommands: readonly AdminCommand[] = [
  {
    names: ['connection_stat_reset', 'crst'],
    serverRequired: true,
    whitelistWord: 'crst',
    run: async (src) => {
      await src.words.resetStats('connections');
      return {};
    },
  },
  {
    names: ['configuration', 'conf', 'config'],
    serverRequired: true,
    run: (src) => {
      const c = src.cfg;
      return {
        client_port: c.clientPort,
        data_dir: join(c.dataDir, 'version-2'),
        data_log_dir: join(c.dataLogDir, 'version-2'),
        tick_time: c.tickTimeMs,
        max_client_cnxns: c.maxClientCnxns,
        min_session_timeout: c.minSessionTimeoutMs,
        max_session_timeout: c.maxSessionTimeoutMs,
        server_id: src.myId,
        client_port_listen_backlog: -1, // as conf's text: the JVM's default, not configured
      };
    },
  },
  {
    names: ['connections', 'cons'],
    serverRequired: true,
    whitelistWord: 'cons',
    run: async (src) => ({
      connections: (await src.words.connections()).map((c) => connectionInfo(c, false)),
      secure_connections: [],
    }),
  },
  {
    names: ['hash'],
    serverRequired: true,
    run: (src) => ({
      digests: src.digests.list().map((d) => ({ zxid: d.zxid, digest_version: digestVersion, digest: d.digest })),
    }),
  },
  {
    names: ['dirs'],
    serverRequired: true,
    run: (src) => {
      const d = src.words.dirSizes();
      return { datadir_size: d.datadir, logdir_size: d.logdir };
    },
  },
  {
    names: ['dump'],
    serverRequired: true,
    whitelistWord: 'dump',
    run: (src) => {
      const { sessions, ephemerals } = src.words.sessionsAndEphemerals();
      const byExpiry = new Map<string, bigint[]>();
      for (const s of [...sessions].sort((a, b) => a.expiresAtMs - b.expiresAtMs)) {
        const k = String(s.expiresAtMs);
        byExpiry.set(k, [...(byExpiry.get(k) ?? []), sessionIdLong(s.id)]);
      }
      const byOwner = new Map<string, JsonValue>();
      for (const e of ephemerals) byOwner.set(String(sessionIdLong(e.owner)), e.paths);
      return { expiry_time_to_session_ids: byExpiry, session_id_to_ephemeral_paths: byOwner };
    },
  },
  {
    names: ['environment', 'env', 'envi'],
    serverRequired: false,
    run: (src) => Object.fromEntries(src.words.environment()),
  },
  {
    names: ['get_trace_mask', 'gtmk'],
    serverRequired: false,
    run: (src) => ({ tracemask: src.words.traceMask }),
  },
  {
    names: ['initial_configuration', 'icfg'],
    serverRequired: true,
    run: (src) => ({ initial_configuration: src.initialConfig }),
  },
  { names: ['is_read_only', 'isro'], serverRequired: true, run: readOnly },
  { names: ['last_snapshot', 'lsnp'], serverRequired: true, run: (src) => lastSnapshot(src.cfg.dataDir) },
  {
    names: ['leader', 'lead'],
    serverRequired: true,
    run: (src) => {
      const e = src.ensemble;
      if (e === null) return { error: 'server is not initialized' };
      const id = e.leaderId();
      return { is_leader: e.mode() === 'leader', leader_id: id, leader_ip: serverOf(src.cfg, id)?.host ?? '' };
    },
  },
  { names: ['monitor', 'mntr'], serverRequired: false, run: monitor },
  {
    names: ['observer_connection_stat_reset', 'orst'],
    serverRequired: true,
    // No four-letter word of its own: it resets connection statistics, as crst does.
    whitelistWord: 'crst',
    // zkts keeps no per-learner packet counters (observers shows them as -1): nothing to reset.
    run: () => ({}),
  },
  { names: ['ruok'], serverRequired: true, run: () => ({}) },
  {
    names: ['set_trace_mask', 'stmk'],
    serverRequired: false,
    whitelistWord: 'stmk',
    run: (src, kwargs) => {
      const text = kwargs.get('traceMask');
      if (text === undefined) return { error: 'setTraceMask requires long traceMask argument' };
      const mask = parseJavaLong(text);
      if (mask === null) return { error: `setTraceMask requires long traceMask argument, got ${text}` };
      src.words.traceMask = Number(mask);
      return { tracemask: mask };
    },
  },
  { names: ['server_stats', 'srvr'], serverRequired: true, run: (src) => serverStats(src, false) },
  { names: ['stats', 'stat'], serverRequired: true, run: (src) => serverStats(src, true) },
  {
    names: ['stat_reset', 'srst'],
    serverRequired: true,
    whitelistWord: 'srst',
    run: async (src) => {
      await src.words.resetStats('server');
      return {};
    },
  },
  {
    names: ['observers', 'obsr'],
    serverRequired: true,
    run: (src) => {
      const e = src.ensemble;
      const mode = e?.mode();
      if (e === null || (mode !== 'leader' && mode !== 'follower')) return { synced_observers: 0, observers: [] };
      const observers = e.fedLearners().filter((l) => l.observer && l.active);
      return {
        synced_observers: observers.length,
        observers: observers.map((l) => {
          const s = serverOf(src.cfg, l.id);
          return {
            remote_socket_address: s === undefined ? '' : `/${s.host}:${s.quorumPort}`,
            sid: l.id,
            established: l.sinceMs,
            queued_packets: unmeasured,
            queued_packets_size: unmeasured,
            packets_received: unmeasured,
            packets_sent: unmeasured,
            requests: unmeasured,
            last_zxid: l.lastZxid,
          };
        }),
      };
    },
  },
  { names: ['system_properties', 'sysp'], serverRequired: false, run: systemProperties },
  {
    names: ['voting_view'],
    serverRequired: true,
    run: (src) => {
      const view = new Map<string, JsonValue>();
      if (src.ensemble !== null) {
        const me = src.myId;
        for (const s of [...src.cfg.servers].sort((a, b) => a.id - b.id)) {
          if (s.role !== 'participant') continue;
          const client = s.id === me ? clientAddress(src.cfg) : s.clientPort === null ? '' : `${s.host}:${s.clientPort}`;
          view.set(String(s.id), {
            server_addresses: [`${s.host}:${s.quorumPort}`],
            election_addresses: [`${s.host}:${s.electionPort}`],
            client_address: client,
            learner_type: 'participant',
          });
        }
      }
      return { current_config: view };
    },
  },
  {
    names: ['watches', 'wchc'],
    serverRequired: true,
    run: async (src) => {
      const out = new Map<string, JsonValue>();
      for (const e of await src.words.watchesBySession()) out.set(String(sessionIdLong(e.sid)), e.paths);
      return { session_id_to_watched_paths: out };
    },
  },
  {
    names: ['watches_by_path', 'wchp'],
    serverRequired: true,
    run: async (src) => {
      const out = new Map<string, JsonValue>();
      for (const [path, sids] of await src.words.watchesByPath()) out.set(path, sids.map((sid) => sessionIdLong(sid)));
      return { path_to_session_ids: out };
    },
  },
  {
    names: ['watch_summary', 'wchs'],
    serverRequired: true,
    run: async (src) => {
      const w = await src.words.watchSummary();
      return { num_connections: w.connections, num_paths: w.paths, num_total_watches: w.total };
    },
  },
  {
    names: ['zabstate'],
    serverRequired: false,
    run: (src) => {
      const e = src.ensemble;
      if (e === null) return { voting: false, zabstate: '' };
      const me = serverOf(src.cfg, src.myId);
      const zxid = src.lastZxid();
      return {
        myid: src.myId,
        is_leader: e.mode() === 'leader',
        quorum_address: me === undefined ? null : multipleAddresses(me.host, me.quorumPort),
        election_address: me === undefined ? null : multipleAddresses(me.host, me.electionPort),
        client_address: clientAddress(src.cfg),
        voting: me?.role === 'participant',
        last_zxid: `0x${zxid.toString(16)}`,
        zab_epoch: zxidEpoch(zxid),
        zab_counter: zxidCounter(zxid),
        zabstate: e.zabState(),
      };
    },
  },
];

const byName = new Map<string, AdminCommand>();
for (const c of adminCommands) {
  for (const n of c.names) {
    if (byName.has(n)) throw new Error(`admin command name ${n} registered twice`);
    byName.set(n, c);
  }
}

export function adminCommand(name: string): AdminCommand | undefined {
  return byName.get(name);
}

/** The primary names, sorted (the command list's links). */
export function primaryNames(): string[] {
  return adminCommands.map((c) => c.names[0]!).sort();
}
